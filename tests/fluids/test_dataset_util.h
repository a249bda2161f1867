#pragma once
// Helpers of the dataset tests: synthetic sequences, temporary directories, and an independent
// msgpack writer that builds files byte by byte the way Python's msgpack + msgpack-numpy +
// zstandard lay them out (so the reader is tested against the original format, not against our
// own writer).
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "fluids/frame.h"
#include "temp_files.h"

namespace lagrad::test {

// push_back of three values (vector::insert of an initializer list trips a GCC 12 false
// -Wstringop-overflow warning).
inline void push3(std::vector<float>& v, float x, float y, float z) {
  v.push_back(x);
  v.push_back(y);
  v.push_back(z);
}

// Values that identify their origin: scene s, frame f, particle i, component c.
inline Sequence make_sequence(const std::string& scene, int num_frames, int n, int k,
                              std::int64_t first_frame_id = 0, float scene_offset = 0.0f) {
  Sequence seq;
  for (int i = 0; i < k; ++i) {
    push3(seq.box, scene_offset + 0.5f * i, -1.0f + 0.25f * i, 2.0f - 0.125f * i);
    const float a = 0.3f * static_cast<float>(i);
    push3(seq.box_normals, std::cos(a), 0.0f, std::sin(a));
  }
  for (int f = 0; f < num_frames; ++f) {
    Frame fr;
    fr.frame_id = first_frame_id + f;
    fr.scene_id = scene;
    for (int i = 0; i < n; ++i) {
      const float base = scene_offset + static_cast<float>(first_frame_id + f) + 0.01f * i;
      push3(fr.pos, base, 0.5f * base - 3.0f, -base + 0.125f);
      push3(fr.vel, 0.1f * i, -9.81f * 0.02f * (first_frame_id + f), 0.3f);
      fr.mass.push_back(0.125f + 0.001f * i);
      fr.viscosity.push_back(i % 2 ? 0.01f : 0.0f);
    }
    seq.frames.push_back(std::move(fr));
  }
  return seq;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

inline bool same_frame(const Frame& a, const Frame& b) {
  return same_bits(a.pos, b.pos) && same_bits(a.vel, b.vel) && same_bits(a.mass, b.mass) &&
         same_bits(a.viscosity, b.viscosity) && a.frame_id == b.frame_id && a.scene_id == b.scene_id;
}

inline bool same_sequence(const Sequence& a, const Sequence& b) {
  if (!same_bits(a.box, b.box) || !same_bits(a.box_normals, b.box_normals)) return false;
  if (a.frames.size() != b.frames.size()) return false;
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    if (!same_frame(a.frames[i], b.frames[i])) return false;
  }
  return true;
}

// --- A msgpack value tree and its encoder, written from the msgpack spec ---
struct Node {
  enum Kind { kMap, kArray, kStr, kBin, kBool, kUInt } kind = kMap;
  std::vector<std::pair<Node, Node>> map;
  std::vector<Node> array;
  std::string bytes;  // str or bin payload
  bool boolean = false;
  std::uint64_t uint = 0;

  static Node str(std::string s) { Node n; n.kind = kStr; n.bytes = std::move(s); return n; }
  static Node bin(std::string s) { Node n; n.kind = kBin; n.bytes = std::move(s); return n; }
  static Node boolean_(bool b) { Node n; n.kind = kBool; n.boolean = b; return n; }
  static Node uint_(std::uint64_t v) { Node n; n.kind = kUInt; n.uint = v; return n; }

  // Map access by key text (str or bin keys).
  Node* find(const std::string& key) {
    for (auto& kv : map) if (kv.first.bytes == key) return &kv.second;
    return nullptr;
  }
  void erase(const std::string& key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.bytes == key) { map.erase(it); return; }
    }
    throw std::logic_error("test: no key " + key);
  }
};

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void encode_node(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::kMap:
      if (n.map.size() < 16) out.push_back(static_cast<char>(0x80 | n.map.size()));
      else { out.push_back(static_cast<char>(0xde)); put_be(out, n.map.size(), 2); }
      for (const auto& kv : n.map) { encode_node(kv.first, out); encode_node(kv.second, out); }
      break;
    case Node::kArray:
      if (n.array.size() < 16) out.push_back(static_cast<char>(0x90 | n.array.size()));
      else { out.push_back(static_cast<char>(0xdc)); put_be(out, n.array.size(), 2); }
      for (const Node& e : n.array) encode_node(e, out);
      break;
    case Node::kStr: {
      const std::size_t len = n.bytes.size();
      if (len < 32) out.push_back(static_cast<char>(0xa0 | len));
      else if (len < 256) { out.push_back(static_cast<char>(0xd9)); put_be(out, len, 1); }
      else if (len < 65536) { out.push_back(static_cast<char>(0xda)); put_be(out, len, 2); }
      else { out.push_back(static_cast<char>(0xdb)); put_be(out, len, 4); }
      out += n.bytes;
      break;
    }
    case Node::kBin: {
      const std::size_t len = n.bytes.size();
      if (len < 256) { out.push_back(static_cast<char>(0xc4)); put_be(out, len, 1); }
      else if (len < 65536) { out.push_back(static_cast<char>(0xc5)); put_be(out, len, 2); }
      else { out.push_back(static_cast<char>(0xc6)); put_be(out, len, 4); }
      out += n.bytes;
      break;
    }
    case Node::kBool:
      out.push_back(static_cast<char>(n.boolean ? 0xc3 : 0xc2));
      break;
    case Node::kUInt:
      if (n.uint < 128) out.push_back(static_cast<char>(n.uint));
      else if (n.uint < 256) { out.push_back(static_cast<char>(0xcc)); put_be(out, n.uint, 1); }
      else if (n.uint < 65536) { out.push_back(static_cast<char>(0xcd)); put_be(out, n.uint, 2); }
      else if (n.uint < (1ull << 32)) { out.push_back(static_cast<char>(0xce)); put_be(out, n.uint, 4); }
      else { out.push_back(static_cast<char>(0xcf)); put_be(out, n.uint, 8); }
      break;
  }
}

inline std::string encode_node(const Node& n) {
  std::string out;
  encode_node(n, out);
  return out;
}

// How the Python side packed: current msgpack-numpy (>= 0.4.6 with msgpack >= 1.0) uses bin keys
// and an empty bin 'kind'; older releases / use_bin_type=False wrote every byte string as str
// and had no 'kind'.
enum class PyStyle { kCurrent, kLegacy };

inline Node bytes_node(PyStyle style, std::string s) {
  return style == PyStyle::kCurrent ? Node::bin(std::move(s)) : Node::str(std::move(s));
}

inline std::string le_bytes(const void* p, std::size_t size) {  // the test host is little-endian
  return std::string(static_cast<const char*>(p), size);
}

inline Node numpy_array(PyStyle style, const std::vector<float>& v, std::vector<std::uint64_t> shape,
                        const std::string& dtype = "<f4") {
  Node n;
  n.map.push_back({bytes_node(style, "nd"), Node::boolean_(true)});
  n.map.push_back({bytes_node(style, "type"), Node::str(dtype)});
  if (style == PyStyle::kCurrent) n.map.push_back({Node::bin("kind"), Node::bin("")});
  Node sh;
  sh.kind = Node::kArray;
  for (std::uint64_t d : shape) sh.array.push_back(Node::uint_(d));
  n.map.push_back({bytes_node(style, "shape"), sh});
  n.map.push_back({bytes_node(style, "data"), bytes_node(style, le_bytes(v.data(), v.size() * 4))});
  return n;
}

inline Node numpy_int64(PyStyle style, std::int64_t v) {
  Node n;
  n.map.push_back({bytes_node(style, "nd"), Node::boolean_(false)});
  n.map.push_back({bytes_node(style, "type"), Node::str("<i8")});
  n.map.push_back({bytes_node(style, "data"), bytes_node(style, le_bytes(&v, 8))});
  return n;
}

// A file's msgpack tree as DLF's record tool writes it (dict key order preserved).
// frame_id: a numpy int64 scalar as in DLF, or a plain msgpack int (legacy style; ids >= 0).
inline Node original_file_tree(const Sequence& seq, PyStyle style) {
  Node list;
  list.kind = Node::kArray;
  for (std::size_t i = 0; i < seq.frames.size(); ++i) {
    const Frame& f = seq.frames[i];
    const std::uint64_t n = f.mass.size();
    Node m;
    if (i == 0) {
      const std::uint64_t k = seq.box.size() / 3;
      m.map.push_back({Node::str("box"), numpy_array(style, seq.box, {k, 3})});
      m.map.push_back({Node::str("box_normals"), numpy_array(style, seq.box_normals, {k, 3})});
    }
    m.map.push_back({Node::str("frame_id"), style == PyStyle::kCurrent
                                                ? numpy_int64(style, f.frame_id)
                                                : Node::uint_(static_cast<std::uint64_t>(f.frame_id))});
    m.map.push_back({Node::str("scene_id"), Node::str(f.scene_id)});
    m.map.push_back({Node::str("pos"), numpy_array(style, f.pos, {n, 3})});
    m.map.push_back({Node::str("vel"), numpy_array(style, f.vel, {n, 3})});
    m.map.push_back({Node::str("m"), numpy_array(style, f.mass, {n})});
    m.map.push_back({Node::str("viscosity"), numpy_array(style, f.viscosity, {n})});
    list.array.push_back(std::move(m));
  }
  return list;
}

// Streaming compression as python-zstandard's stream writer does it: no content size in the
// frame header, data fed in small chunks; `frames` > 1 concatenates independent zstd frames.
inline std::string zstd_stream_compress(const std::string& raw, int frames = 1, int level = 3) {
  std::string out;
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  std::vector<char> buf(ZSTD_CStreamOutSize());
  const std::size_t part = raw.size() / frames + 1;
  for (std::size_t begin = 0; begin < raw.size(); begin += part) {
    const std::size_t end = std::min(raw.size(), begin + part);
    for (std::size_t pos = begin; pos < end;) {  // 1000-byte pieces, then end the frame
      const std::size_t piece = std::min<std::size_t>(1000, end - pos);
      ZSTD_inBuffer in{raw.data() + pos, piece, 0};
      const bool last = pos + piece == end;
      std::size_t remaining;
      do {
        ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
        remaining = ZSTD_compressStream2(cctx, &ob, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(remaining)) throw std::runtime_error(ZSTD_getErrorName(remaining));
        out.append(buf.data(), ob.pos);
      } while (last ? remaining != 0 : in.pos < in.size);
      pos += piece;
    }
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

}  // namespace lagrad::test
