#pragma once
// CRC-32 (IEEE 802.3, the zip/PNG polynomial), for integrity checks of files lagrad reads.
#include <cstddef>
#include <cstdint>

namespace lagrad {

// Continues a running CRC: crc32(data, n, crc32(prev...)). Start with crc = 0.
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace lagrad
