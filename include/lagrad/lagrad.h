#pragma once
// lagrad: the umbrella header. Include this one file to use the library.
#include "core/neighbor_search.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "core/tensor.h"
#include "layers/initializer.h"
#include "layers/module.h"
#include "layers/regularizer.h"
