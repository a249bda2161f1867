#include "fluids/msgpack_numpy.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace lagrad::msgpack_numpy {
namespace {

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

void reverse_items(char* bytes, std::size_t count, std::size_t item_size) {
  for (std::size_t i = 0; i < count; ++i) {
    char* p = bytes + i * item_size;
    for (std::size_t a = 0, b = item_size - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
  }
}

void pack_bin_key(Packer& pk, std::string_view key) {
  pk.pack_bin(static_cast<std::uint32_t>(key.size()));
  pk.pack_bin_body(key.data(), static_cast<std::uint32_t>(key.size()));
}

void pack_bin_bytes(Packer& pk, const char* data, std::size_t size, const char* what) {
  if (size > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument(std::string("msgpack_numpy: ") + what + " of " +
                                std::to_string(size) + " bytes exceeds the 4 GiB msgpack limit");
  }
  pk.pack_bin(static_cast<std::uint32_t>(size));
  pk.pack_bin_body(data, static_cast<std::uint32_t>(size));
}

const char* type_name(const msgpack::object& obj) {
  switch (obj.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "str";
    case msgpack::type::BIN: return "bin";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "unknown";
}

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw std::runtime_error(what + ": " + problem);
}

// The raw bytes of a str or bin object (old packers store byte strings as str).
std::string_view as_bytes(const msgpack::object& obj, const std::string& what) {
  if (obj.type == msgpack::type::BIN) return {obj.via.bin.ptr, obj.via.bin.size};
  if (obj.type == msgpack::type::STR) return {obj.via.str.ptr, obj.via.str.size};
  fail(what, std::string("expected bytes (bin or str), got ") + type_name(obj));
}

// A parsed numpy dtype string such as '<f4': byte order, kind letter, item size.
struct Dtype {
  char order;
  char kind;
  std::size_t size;
};

Dtype parse_dtype(const std::string& s, const std::string& what) {
  const bool ok = s.size() >= 3 && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=') &&
                  s.find_first_not_of("0123456789", 2) == std::string::npos && s.size() <= 4;
  if (!ok) fail(what, "unsupported dtype '" + s + "'");
  return {s[0], s[1], static_cast<std::size_t>(std::stoul(s.substr(2)))};
}

// Whether bytes of this dtype must be reversed to get host order.
bool needs_swap(const Dtype& dt) {
  if (dt.size == 1 || dt.order == '|' || dt.order == '=') return false;
  return (dt.order == '<') != host_is_little_endian();
}

// Checks the 'nd' flag and the optional 'kind'; returns the dtype string.
std::string check_numpy_header(const msgpack::object& obj, bool want_array,
                               const std::string& what) {
  if (obj.type != msgpack::type::MAP) {
    fail(what, std::string("expected a msgpack-numpy ") + (want_array ? "array" : "scalar") +
                   " (a map with 'nd', 'type', 'data'), got " + type_name(obj));
  }
  const msgpack::object* nd = find_key(obj, "nd", what);
  if (nd == nullptr) fail(what, "not a msgpack-numpy value: key 'nd' missing");
  if (nd->type != msgpack::type::BOOLEAN) {
    fail(what, std::string("'nd' must be a bool, got ") + type_name(*nd));
  }
  if (nd->via.boolean != want_array) {
    fail(what, want_array ? "expected an ndarray, got a numpy scalar ('nd' is False)"
                          : "expected a numpy scalar, got an ndarray ('nd' is True)");
  }
  if (const msgpack::object* kind = find_key(obj, "kind", what)) {
    const std::string_view k = as_bytes(*kind, what + ": 'kind'");
    if (!k.empty()) fail(what, "unsupported array kind '" + std::string(k) + "' (object/structured)");
  }
  const msgpack::object* type = find_key(obj, "type", what);
  if (type == nullptr) fail(what, "msgpack-numpy key 'type' missing");
  return as_text(*type, what + ": 'type'");
}

std::string_view data_bytes(const msgpack::object& obj, const std::string& what) {
  const msgpack::object* data = find_key(obj, "data", what);
  if (data == nullptr) fail(what, "msgpack-numpy key 'data' missing");
  return as_bytes(*data, what + ": 'data'");
}

}  // namespace

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_float_array(Packer& pk, const float* data, const Shape& shape) {
  const std::size_t count = static_cast<std::size_t>(shape_numel(shape));
  pk.pack_map(5);
  pack_bin_key(pk, "nd");
  pk.pack_true();
  pack_bin_key(pk, "type");
  pack_str(pk, "<f4");
  pack_bin_key(pk, "kind");
  pack_bin_bytes(pk, "", 0, "kind");
  pack_bin_key(pk, "shape");
  pk.pack_array(static_cast<std::uint32_t>(shape.size()));
  for (Index d : shape) pk.pack_uint64(static_cast<std::uint64_t>(d));
  pack_bin_key(pk, "data");
  if (host_is_little_endian()) {
    pack_bin_bytes(pk, reinterpret_cast<const char*>(data), count * sizeof(float), "array data");
  } else {
    std::vector<char> le(reinterpret_cast<const char*>(data),
                         reinterpret_cast<const char*>(data) + count * sizeof(float));
    reverse_items(le.data(), count, sizeof(float));
    pack_bin_bytes(pk, le.data(), le.size(), "array data");
  }
}

void pack_int64_scalar(Packer& pk, std::int64_t value) {
  char bytes[sizeof(value)];
  std::memcpy(bytes, &value, sizeof(value));
  if (!host_is_little_endian()) reverse_items(bytes, 1, sizeof(value));
  pk.pack_map(3);
  pack_bin_key(pk, "nd");
  pk.pack_false();
  pack_bin_key(pk, "type");
  pack_str(pk, "<i8");
  pack_bin_key(pk, "data");
  pack_bin_bytes(pk, bytes, sizeof(bytes), "scalar data");
}

std::string as_text(const msgpack::object& obj, const std::string& what) {
  if (obj.type != msgpack::type::STR && obj.type != msgpack::type::BIN) {
    fail(what, std::string("expected a string (str or bin), got ") + type_name(obj));
  }
  return std::string(as_bytes(obj, what));
}

const msgpack::object* find_key(const msgpack::object& map, std::string_view key,
                                const std::string& what) {
  if (map.type != msgpack::type::MAP) fail(what, std::string("expected a map, got ") + type_name(map));
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object& k = map.via.map.ptr[i].key;
    std::string_view name;
    if (k.type == msgpack::type::STR) {
      name = {k.via.str.ptr, k.via.str.size};
    } else if (k.type == msgpack::type::BIN) {
      name = {k.via.bin.ptr, k.via.bin.size};
    } else {
      continue;  // integer or other keys never name our fields
    }
    if (name == key) return &map.via.map.ptr[i].val;
  }
  return nullptr;
}

FloatArray unpack_float_array(const msgpack::object& obj, const std::string& what) {
  const std::string type = check_numpy_header(obj, true, what);
  const Dtype dt = parse_dtype(type, what);
  if (dt.kind != 'f' || dt.size != 4) {
    fail(what, "expected dtype float32 ('<f4'), got '" + type + "'");
  }
  const msgpack::object* shape_obj = find_key(obj, "shape", what);
  if (shape_obj == nullptr) fail(what, "msgpack-numpy key 'shape' missing");
  if (shape_obj->type != msgpack::type::ARRAY) {
    fail(what, std::string("'shape' must be an array of ints, got ") + type_name(*shape_obj));
  }
  FloatArray out;
  std::uint64_t count = 1;
  for (std::uint32_t i = 0; i < shape_obj->via.array.size; ++i) {
    const msgpack::object& d = shape_obj->via.array.ptr[i];
    if (d.type != msgpack::type::POSITIVE_INTEGER || d.via.u64 > (std::uint64_t{1} << 40)) {
      fail(what, "'shape' entry " + std::to_string(i) + " is not a valid dimension");
    }
    out.shape.push_back(static_cast<Index>(d.via.u64));
    count *= d.via.u64;
    if (count > (std::uint64_t{1} << 40)) fail(what, "array too large: " + shape_str(out.shape));
  }
  const std::string_view bytes = data_bytes(obj, what);
  if (bytes.size() != count * sizeof(float)) {
    fail(what, "data holds " + std::to_string(bytes.size()) + " bytes, shape " +
                   shape_str(out.shape) + " of float32 needs " +
                   std::to_string(count * sizeof(float)));
  }
  out.values.resize(count);
  if (count > 0) std::memcpy(out.values.data(), bytes.data(), bytes.size());
  if (needs_swap(dt)) reverse_items(reinterpret_cast<char*>(out.values.data()), count, sizeof(float));
  return out;
}

std::int64_t unpack_integer(const msgpack::object& obj, const std::string& what) {
  if (obj.type == msgpack::type::POSITIVE_INTEGER) {
    if (obj.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(what, "integer " + std::to_string(obj.via.u64) + " does not fit int64");
    }
    return static_cast<std::int64_t>(obj.via.u64);
  }
  if (obj.type == msgpack::type::NEGATIVE_INTEGER) return obj.via.i64;
  if (obj.type != msgpack::type::MAP) {
    fail(what, std::string("expected an integer, got ") + type_name(obj));
  }
  const std::string type = check_numpy_header(obj, false, what);
  const Dtype dt = parse_dtype(type, what);
  const bool int_kind = dt.kind == 'i' || dt.kind == 'u';
  if (!int_kind || (dt.size != 1 && dt.size != 2 && dt.size != 4 && dt.size != 8)) {
    fail(what, "expected an integer dtype, got '" + type + "'");
  }
  const std::string_view bytes = data_bytes(obj, what);
  if (bytes.size() != dt.size) {
    fail(what, "scalar data holds " + std::to_string(bytes.size()) + " bytes, dtype '" + type +
                   "' needs " + std::to_string(dt.size));
  }
  // Assemble the value from its bytes in significance order, independent of the host.
  std::uint64_t u = 0;
  const bool little = dt.order == '<' || dt.size == 1 ||
                      ((dt.order == '=' || dt.order == '|') && host_is_little_endian());
  for (std::size_t i = 0; i < dt.size; ++i) {
    const std::size_t b = little ? dt.size - 1 - i : i;
    u = (u << 8) | static_cast<unsigned char>(bytes[b]);
  }
  if (dt.kind == 'u') {
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(what, "integer " + std::to_string(u) + " does not fit int64");
    }
    return static_cast<std::int64_t>(u);
  }
  const unsigned bits = static_cast<unsigned>(dt.size * 8);
  if (bits < 64 && (u >> (bits - 1)) != 0) u |= ~std::uint64_t{0} << bits;  // sign-extend
  std::int64_t v;
  std::memcpy(&v, &u, sizeof(v));
  return v;
}

void check_finite(const std::vector<float>& values, const std::string& what) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      std::ostringstream os;
      os << "non-finite value " << values[i] << " at element " << i;
      fail(what, os.str());
    }
  }
}

}  // namespace lagrad::msgpack_numpy
