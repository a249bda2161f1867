// Force-included (-include) first into every lagrad translation unit when GCC older than 13
// compiles for the host CPU. GCC 12 reports -Wmaybe-uninitialized / -Wuninitialized inside its
// own avx512fintrin.h wherever an intrinsic built on _mm512_undefined_ps() gets inlined (GCC bug
// 105593, fixed in GCC 13): hundreds of reports through Eigen's GEMM kernels that say nothing
// about our code. Pragma states are tied to source locations, so ignoring the two warnings around
// the first inclusion of the intrinsics headers silences them for those header lines only; they
// stay active for every line of lagrad itself.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
