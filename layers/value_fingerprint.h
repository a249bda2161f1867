#pragma once
// A cheap 64-bit fingerprint of an array's bits, to tell whether two arrays hold the same
// values without keeping a copy (shared neighbor lists record the positions they were searched
// on this way). Not cryptographic: it guards against accidents, not against an adversary.
#include <cstddef>
#include <cstdint>

namespace lagrad {

// Of the bytes of data[0, size); equal bytes give equal fingerprints. Sequential and
// deterministic; about the speed of a memory read (several GB/s).
std::uint64_t value_fingerprint(const void* data, std::size_t size);

}  // namespace lagrad
