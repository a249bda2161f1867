#pragma once
// msgpack-numpy array encoding on top of msgpack-c (an implementation header of the dataset
// reader and writer; it pulls in <msgpack.hpp>, so it is not part of the umbrella header).
//
// Python's msgpack-numpy stores a numpy array as the map
//   {b'nd': True, b'type': '<f4', b'kind': b'', b'shape': [d0, d1, ...], b'data': <raw bytes>}
// and a numpy scalar (np.int64, np.float32, ...) as {b'nd': False, b'type': '<i8', b'data': ...}.
// Older releases and use_bin_type=False packers differ: keys and byte strings may be msgpack
// str instead of bin, 'kind' may be missing. The decoders here accept every variant; the encoders
// write what current msgpack-numpy writes (bin keys, str dtype, empty bin kind).
//
// Decoders throw std::runtime_error("<what>: <problem>") where `what` is the caller's context
// (file, frame and key), so the message names where the bad value sits.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../core/shape.h"

namespace lagrad::msgpack_numpy {

using Packer = msgpack::packer<msgpack::sbuffer>;

// --- encoding (current msgpack-numpy layout) ---
// A float32 ndarray: fixmap of 5 in the order nd, type, kind, shape, data; dtype '<f4'.
void pack_float_array(Packer& pk, const float* data, const Shape& shape);
// A numpy int64 scalar (how np.int64 values such as DLF's frame_id are stored).
void pack_int64_scalar(Packer& pk, std::int64_t value);
// A msgpack str (Python str with use_bin_type=True).
void pack_str(Packer& pk, std::string_view s);

// --- decoding (all variants) ---
// A str or bin object as text; throws if it is neither.
std::string as_text(const msgpack::object& obj, const std::string& what);
// The value of `key` in a map whose keys are str or bin; nullptr when absent. Throws if `map`
// is not a map.
const msgpack::object* find_key(const msgpack::object& map, std::string_view key,
                                const std::string& what);

struct FloatArray {
  Shape shape;
  std::vector<float> values;
};
// A float32 ndarray ('<f4' or '>f4'; byte-swapped to the host order). Checks that the data size
// matches the shape; does not check the values (see check_finite).
FloatArray unpack_float_array(const msgpack::object& obj, const std::string& what);
// A plain msgpack integer or a numpy integer scalar ('<i8', '<u4', '|i1', ...).
std::int64_t unpack_integer(const msgpack::object& obj, const std::string& what);

// Throws "<what>: non-finite value <v> at element <i>" for the first NaN or Inf.
void check_finite(const std::vector<float>& values, const std::string& what);

}  // namespace lagrad::msgpack_numpy
