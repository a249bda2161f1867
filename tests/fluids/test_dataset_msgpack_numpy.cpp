#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "fluids/msgpack_numpy.h"
#include "test_dataset_util.h"

using namespace lagrad;
using lagrad::test::Node;
using lagrad::test::PyStyle;

namespace {

std::string packed_float_array(const std::vector<float>& v, const Shape& shape) {
  msgpack::sbuffer buf;
  msgpack_numpy::Packer pk(buf);
  msgpack_numpy::pack_float_array(pk, v.data(), shape);
  return std::string(buf.data(), buf.size());
}

msgpack::object_handle unpack(const std::string& bytes) {
  return msgpack::unpack(bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("msgpack_numpy: float array bytes match what msgpack-numpy writes") {
  // {b'nd': True, b'type': '<f4', b'kind': b'', b'shape': (1, 3), b'data': <12 bytes>} packed by
  // msgpack >= 1.0 with use_bin_type=True, written out by hand from the msgpack spec.
  const std::string expected = std::string("\x85", 1) +
                               "\xc4\x02nd\xc3" +
                               "\xc4\x04type\xa3<f4" +
                               std::string("\xc4\x04kind\xc4\x00", 8) +
                               "\xc4\x05shape\x92\x01\x03" +
                               "\xc4\x04" "data\xc4\x0c" +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40", 12);
  CHECK(packed_float_array({1.0f, 2.0f, 3.0f}, {1, 3}) == expected);
}

TEST_CASE("msgpack_numpy: int64 scalar bytes match what msgpack-numpy writes for np.int64") {
  msgpack::sbuffer buf;
  msgpack_numpy::Packer pk(buf);
  msgpack_numpy::pack_int64_scalar(pk, 7);
  const std::string expected = std::string("\x83\xc4\x02nd\xc2\xc4\x04type\xa3<i8\xc4\x04" "data\xc4\x08") +
                               std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8);
  CHECK(std::string(buf.data(), buf.size()) == expected);
}

TEST_CASE("msgpack_numpy: float array round trip keeps every bit, large arrays use bin32") {
  std::vector<float> v(70000);  // > 65535 bytes: bin32
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::ldexp(static_cast<float>(i) - 3e4f, -130 + int(i % 200));
  v[1] = -0.0f;
  v[2] = std::numeric_limits<float>::denorm_min();
  const auto h = unpack(packed_float_array(v, {35000, 2}));
  const auto arr = msgpack_numpy::unpack_float_array(h.get(), "ctx");
  CHECK(arr.shape == Shape{35000, 2});
  CHECK(test::same_bits(arr.values, v));
}

TEST_CASE("msgpack_numpy: decoder accepts the legacy layout (str keys, no kind, str data)") {
  const std::vector<float> v = {1.5f, -2.25f, 3.0f, 4.0f};
  for (PyStyle style : {PyStyle::kCurrent, PyStyle::kLegacy}) {
    const auto h = unpack(test::encode_node(test::numpy_array(style, v, {2, 2})));
    const auto arr = msgpack_numpy::unpack_float_array(h.get(), "ctx");
    CHECK(arr.shape == Shape{2, 2});
    CHECK(test::same_bits(arr.values, v));
  }
}

TEST_CASE("msgpack_numpy: big-endian '>f4' data is byte-swapped") {
  Node n = test::numpy_array(PyStyle::kCurrent, {}, {2}, ">f4");
  n.find("data")->bytes = std::string("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8);  // 1.0, -2.0 big-endian
  const auto h = unpack(test::encode_node(n));
  const auto arr = msgpack_numpy::unpack_float_array(h.get(), "ctx");
  REQUIRE(arr.values.size() == 2);
  CHECK(arr.values[0] == 1.0f);
  CHECK(arr.values[1] == -2.0f);
}

TEST_CASE("msgpack_numpy: integers from plain msgpack ints and numpy scalars of any int dtype") {
  msgpack::sbuffer buf;
  msgpack::pack(buf, -12345);
  CHECK(msgpack_numpy::unpack_integer(unpack(std::string(buf.data(), buf.size())).get(), "c") == -12345);

  CHECK(msgpack_numpy::unpack_integer(unpack(test::encode_node(test::numpy_int64(PyStyle::kCurrent, -3))).get(), "c") == -3);
  CHECK(msgpack_numpy::unpack_integer(unpack(test::encode_node(test::numpy_int64(PyStyle::kLegacy, 1LL << 40))).get(), "c") == (1LL << 40));

  Node i4 = test::numpy_int64(PyStyle::kCurrent, 0);
  i4.find("type")->bytes = "<i4";
  i4.find("data")->bytes = std::string("\xfe\xff\xff\xff", 4);  // int32 -2
  CHECK(msgpack_numpy::unpack_integer(unpack(test::encode_node(i4)).get(), "c") == -2);
  Node u2 = i4;
  u2.find("type")->bytes = ">u2";
  u2.find("data")->bytes = std::string("\x01\x02", 2);
  CHECK(msgpack_numpy::unpack_integer(unpack(test::encode_node(u2)).get(), "c") == 258);
}

TEST_CASE("msgpack_numpy: decoding errors say what is wrong, prefixed with the context") {
  const std::vector<float> v = {1.0f, 2.0f};
  {
    const auto h = unpack(test::encode_node(test::numpy_array(PyStyle::kCurrent, v, {1, 2}, "<f8")));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "key 'pos'"),
                         "key 'pos': expected dtype float32 ('<f4'), got '<f8'", std::runtime_error);
  }
  {
    const auto h = unpack(test::encode_node(test::numpy_array(PyStyle::kCurrent, v, {3})));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "k"),
                         "k: data holds 8 bytes, shape [3] of float32 needs 12", std::runtime_error);
  }
  {
    Node n = test::numpy_array(PyStyle::kCurrent, v, {2});
    n.erase("shape");
    const auto h = unpack(test::encode_node(n));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "k"),
                         "k: msgpack-numpy key 'shape' missing", std::runtime_error);
  }
  {
    Node n = test::numpy_array(PyStyle::kCurrent, v, {2});
    n.find("kind")->bytes = "O";
    const auto h = unpack(test::encode_node(n));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "k"),
                         "k: unsupported array kind 'O' (object/structured)", std::runtime_error);
  }
  {
    const auto h = unpack(test::encode_node(test::numpy_int64(PyStyle::kCurrent, 1)));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "k"),
                         "k: expected an ndarray, got a numpy scalar ('nd' is False)", std::runtime_error);
  }
  {
    const auto h = unpack(test::encode_node(Node::str("hello")));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_float_array(h.get(), "k"),
                         "k: expected a msgpack-numpy array (a map with 'nd', 'type', 'data'), got str",
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_integer(h.get(), "k"), "k: expected an integer, got str",
                         std::runtime_error);
  }
  {
    Node f = test::numpy_int64(PyStyle::kCurrent, 0);
    f.find("type")->bytes = "<f8";
    const auto h = unpack(test::encode_node(f));
    CHECK_THROWS_WITH_AS(msgpack_numpy::unpack_integer(h.get(), "k"), "k: expected an integer dtype, got '<f8'",
                         std::runtime_error);
  }
  CHECK_THROWS_WITH_AS(msgpack_numpy::check_finite({1.0f, 2.0f, NAN}, "key 'm'"),
                       "key 'm': non-finite value nan at element 2", std::runtime_error);
  CHECK_THROWS_WITH_AS(msgpack_numpy::check_finite({-INFINITY}, "k"), "k: non-finite value -inf at element 0",
                       std::runtime_error);
}
