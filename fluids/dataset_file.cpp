#include "fluids/dataset_file.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "fluids/msgpack_numpy.h"

namespace lagrad {
namespace {

namespace mn = msgpack_numpy;

// Limits (docs/dataset_format.md, "Limits"): a corrupted header or a "zip bomb" must not make us
// allocate far more than the data needs. Particle data compresses 1.2-3x (masses and
// viscosities are constant), so a stream may expand at most kMaxCompressionRatio times (never
// below kMinDecompressedLimit), and never past kMaxDecompressedBytes.
constexpr std::size_t kMaxDecompressedBytes = std::size_t{16} << 30;
constexpr std::size_t kMaxCompressionRatio = 64;
constexpr std::size_t kMinDecompressedLimit = std::size_t{16} << 20;

std::size_t decompressed_limit(std::size_t compressed) {
  const std::size_t by_ratio = compressed > kMaxDecompressedBytes / kMaxCompressionRatio
                                   ? kMaxDecompressedBytes
                                   : compressed * kMaxCompressionRatio;
  return std::min(kMaxDecompressedBytes, std::max(kMinDecompressedLimit, by_ratio));
}

std::string file_ctx(const std::string& name) { return "dataset file '" + name + "'"; }
std::string frame_ctx(const std::string& name, std::size_t frame) {
  return file_ctx(name) + ": frame " + std::to_string(frame);
}

struct Decompressed {
  std::string bytes;
  std::string error;  // empty when the whole input decoded cleanly
};

// Decodes as much as possible; a failure is reported in `error` together with what came before,
// so that the caller can name the first frame the damage reaches.
Decompressed decompress_partial(std::string_view src) {
  Decompressed out;
  if (src.empty()) {
    out.error = "empty file (0 bytes)";
    return out;
  }
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) throw std::runtime_error("zstd: cannot create a decompression context");
  const std::size_t limit = decompressed_limit(src.size());
  const unsigned long long declared = ZSTD_getFrameContentSize(src.data(), src.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR && declared <= limit) {
    out.bytes.reserve(static_cast<std::size_t>(declared));
  }
  const std::size_t chunk = ZSTD_DStreamOutSize();
  ZSTD_inBuffer in{src.data(), src.size(), 0};
  std::size_t last = 0;
  for (;;) {
    const std::size_t old = out.bytes.size();
    out.bytes.resize(old + chunk);
    ZSTD_outBuffer ob{&out.bytes[old], chunk, 0};
    last = ZSTD_decompressStream(dctx.get(), &ob, &in);
    out.bytes.resize(old + ob.pos);
    if (ZSTD_isError(last)) {
      out.error = std::string("zstd: ") + ZSTD_getErrorName(last);
      return out;
    }
    if (out.bytes.size() > limit) {
      out.error = "decompressed data exceeds " + std::to_string(limit) + " bytes (" +
                  std::to_string(kMaxCompressionRatio) + " times the " + std::to_string(src.size()) +
                  " compressed bytes): corrupt or not a lagrad dataset";
      return out;
    }
    // Done when all input is consumed and the decoder had nothing more to flush.
    if (in.pos == in.size && ob.pos < chunk) break;
  }
  if (last != 0) out.error = "zstd: truncated stream (the data ends inside a zstd frame)";
  return out;
}

// Reads the top-level msgpack array header (fixarray, array16, array32).
std::size_t read_list_header(std::string_view bytes, std::size_t& off, const std::string& name) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.empty()) throw std::runtime_error(file_ctx(name) + ": no data (expected a list of frames)");
  const unsigned char b = byte(0);
  std::size_t width = 0, n = 0;
  if ((b & 0xf0) == 0x90) {
    n = b & 0x0f;
  } else if (b == 0xdc) {
    width = 2;
  } else if (b == 0xdd) {
    width = 4;
  } else {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", b);
    throw std::runtime_error(file_ctx(name) + ": expected a msgpack list of frames, got type byte " + hex);
  }
  if (bytes.size() < 1 + width) throw std::runtime_error(file_ctx(name) + ": truncated list header");
  for (std::size_t i = 0; i < width; ++i) n = (n << 8) | byte(1 + i);
  off = 1 + width;
  return n;
}

// Bin and str payloads stay in the decompressed buffer (no copy into the msgpack zone).
bool reference_everything(msgpack::type::object_type, std::size_t, void*) { return true; }

std::vector<float> take_array(const msgpack::object& frame, const char* key, const Shape& want,
                              const std::string& ctx, bool required = true) {
  const std::string what = ctx + ": key '" + key + "'";
  const msgpack::object* obj = mn::find_key(frame, key, ctx);
  if (obj == nullptr) {
    if (!required) return {};
    throw std::runtime_error(what + ": missing");
  }
  mn::FloatArray arr = mn::unpack_float_array(*obj, what);
  bool ok = arr.shape.size() == want.size();
  for (std::size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == arr.shape[i];
  if (!ok) {
    std::string expect = "[";
    for (std::size_t i = 0; i < want.size(); ++i) {
      expect += (i ? ", " : "") + (want[i] < 0 ? std::string(i == 0 ? "n" : "?") : std::to_string(want[i]));
    }
    throw std::runtime_error(what + ": expected shape " + expect + "], got " + shape_str(arr.shape));
  }
  mn::check_finite(arr.values, what);
  return std::move(arr.values);
}

Frame decode_frame(const msgpack::object& obj, const std::string& ctx) {
  if (obj.type != msgpack::type::MAP) throw std::runtime_error(ctx + ": expected a map of arrays");
  Frame f;
  f.pos = take_array(obj, "pos", {-1, 3}, ctx);
  const Index n = static_cast<Index>(f.pos.size() / 3);
  f.vel = take_array(obj, "vel", {n, 3}, ctx);
  f.mass = take_array(obj, "m", {n}, ctx);
  f.viscosity = take_array(obj, "viscosity", {n}, ctx);
  const msgpack::object* id = mn::find_key(obj, "frame_id", ctx);
  if (id == nullptr) throw std::runtime_error(ctx + ": key 'frame_id': missing");
  f.frame_id = mn::unpack_integer(*id, ctx + ": key 'frame_id'");
  const msgpack::object* scene = mn::find_key(obj, "scene_id", ctx);
  if (scene == nullptr) throw std::runtime_error(ctx + ": key 'scene_id': missing");
  f.scene_id = mn::as_text(*scene, ctx + ": key 'scene_id'");
  return f;
}

void check_array(const std::vector<float>& v, std::size_t expected, const std::string& ctx,
                 const char* key, const char* shape) {
  if (v.size() != expected) {
    throw std::invalid_argument(ctx + ": '" + key + "' expected " + std::to_string(expected) +
                                " floats (" + shape + "), got " + std::to_string(v.size()));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      throw std::invalid_argument(ctx + ": '" + key + "' has a non-finite value at element " +
                                  std::to_string(i));
    }
  }
}

void pack_array(mn::Packer& pk, const char* key, const std::vector<float>& v, Index cols) {
  mn::pack_str(pk, key);
  const Index rows = static_cast<Index>(v.size()) / cols;
  mn::pack_float_array(pk, v.data(), cols == 1 ? Shape{rows} : Shape{rows, cols});
}

}  // namespace

void validate_sequence(const Sequence& seq) {
  if (seq.frames.empty()) throw std::invalid_argument("write dataset: the sequence has no frames");
  if (seq.box.size() % 3 != 0) {
    throw std::invalid_argument("write dataset: 'box' size " + std::to_string(seq.box.size()) +
                                " is not a multiple of 3");
  }
  check_array(seq.box, seq.box.size(), "write dataset", "box", "[k, 3]");
  check_array(seq.box_normals, seq.box.size(), "write dataset", "box_normals", "[k, 3] like 'box'");
  for (std::size_t i = 0; i < seq.frames.size(); ++i) {
    const Frame& f = seq.frames[i];
    const std::string ctx = "write dataset: frame " + std::to_string(i);
    const std::size_t n = f.mass.size();
    check_array(f.pos, 3 * n, ctx, "pos", "[n, 3] with n from 'm'");
    check_array(f.vel, 3 * n, ctx, "vel", "[n, 3] with n from 'm'");
    check_array(f.mass, n, ctx, "m", "[n]");
    check_array(f.viscosity, n, ctx, "viscosity", "[n] with n from 'm'");
  }
}

std::string encode_frames_msgpack(const Sequence& seq) {
  validate_sequence(seq);
  msgpack::sbuffer buffer;
  mn::Packer pk(buffer);
  pk.pack_array(static_cast<std::uint32_t>(seq.frames.size()));
  for (std::size_t i = 0; i < seq.frames.size(); ++i) {
    const Frame& f = seq.frames[i];
    // Key order of DLF's record tool: boundary (first frame only), ids, then particle arrays.
    pk.pack_map(i == 0 ? 8 : 6);
    if (i == 0) {
      pack_array(pk, "box", seq.box, 3);
      pack_array(pk, "box_normals", seq.box_normals, 3);
    }
    mn::pack_str(pk, "frame_id");
    mn::pack_int64_scalar(pk, f.frame_id);
    mn::pack_str(pk, "scene_id");
    mn::pack_str(pk, f.scene_id);
    pack_array(pk, "pos", f.pos, 3);
    pack_array(pk, "vel", f.vel, 3);
    pack_array(pk, "m", f.mass, 1);
    pack_array(pk, "viscosity", f.viscosity, 1);
  }
  return std::string(buffer.data(), buffer.size());
}

Sequence decode_frames_msgpack(std::string_view bytes, const std::string& name) {
  std::size_t off = 0;
  const std::size_t count = read_list_header(bytes, off, name);
  if (count == 0) throw std::runtime_error(file_ctx(name) + ": the list of frames is empty");
  // Each element needs at least one byte: bounds the up-front allocations of msgpack-c.
  const msgpack::unpack_limit limit(bytes.size(), bytes.size() / 2 + 1, bytes.size(), bytes.size(),
                                    bytes.size(), 64);
  Sequence seq;
  seq.frames.reserve(std::min<std::size_t>(count, bytes.size() / 64));  // a frame takes > 64 bytes
  for (std::size_t i = 0; i < count; ++i) {
    const std::string ctx = frame_ctx(name, i);
    if (off >= bytes.size()) {
      throw std::runtime_error(ctx + ": data ends before this frame (the list claims " +
                               std::to_string(count) + " frames; truncated file?)");
    }
    msgpack::object_handle handle;
    try {
      handle = msgpack::unpack(bytes.data(), bytes.size(), off, &reference_everything, nullptr, limit);
    } catch (const msgpack::insufficient_bytes&) {
      throw std::runtime_error(ctx + ": data ends inside this frame (truncated file?)");
    } catch (const std::exception& e) {
      throw std::runtime_error(ctx + ": invalid msgpack (" + e.what() + ")");
    }
    const msgpack::object& obj = handle.get();
    seq.frames.push_back(decode_frame(obj, ctx));
    if (i == 0) {
      // The boundary is stored once, in the first frame, and holds for the whole file.
      seq.box = take_array(obj, "box", {-1, 3}, ctx);
      seq.box_normals = take_array(obj, "box_normals", {static_cast<Index>(seq.box.size() / 3), 3}, ctx);
    }
  }
  if (off != bytes.size()) {
    throw std::runtime_error(file_ctx(name) + ": " + std::to_string(bytes.size() - off) +
                             " unexpected bytes after frame " + std::to_string(count - 1));
  }
  return seq;
}

std::string zstd_compress(std::string_view raw, const DatasetWriteOptions& options) {
  const int lo = ZSTD_minCLevel() < 1 ? 1 : ZSTD_minCLevel();
  if (options.compression_level < lo || options.compression_level > ZSTD_maxCLevel()) {
    throw std::invalid_argument("zstd_compress: compression_level must be in [1, " +
                                std::to_string(ZSTD_maxCLevel()) + "], got " +
                                std::to_string(options.compression_level));
  }
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  if (!cctx) throw std::runtime_error("zstd: cannot create a compression context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options.compression_level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, options.checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const std::size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

std::string zstd_decompress(std::string_view compressed, const std::string& name) {
  Decompressed d = decompress_partial(compressed);
  if (!d.error.empty()) throw std::runtime_error(file_ctx(name) + ": " + d.error);
  return std::move(d.bytes);
}

Sequence decode_dataset_bytes(std::string_view compressed, const std::string& name) {
  const Decompressed d = decompress_partial(compressed);
  if (d.error.empty()) return decode_frames_msgpack(d.bytes, name);
  if (d.bytes.empty()) {
    throw std::runtime_error(file_ctx(name) + ": " + d.error +
                             (compressed.empty() ? "" : " (no frame could be decoded)"));
  }
  // Damaged compression: name the first frame the damage reaches when the intact prefix lets us.
  try {
    decode_frames_msgpack(d.bytes, name);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "; " + d.error);
  }
  throw std::runtime_error(file_ctx(name) + ": after the last frame: " + d.error);
}

Sequence read_dataset_file(const std::string& path) {
  return decode_dataset_bytes(read_file_bytes(path, "dataset file"), path);
}

void write_dataset_file(const std::string& path, const Sequence& seq,
                        const DatasetWriteOptions& options) {
  const std::string bytes = zstd_compress(encode_frames_msgpack(seq), options);
  write_file_atomically(path, {bytes}, "write dataset");
}

std::vector<std::string> write_sequence_files(const std::string& prefix, const Sequence& seq,
                                              int splits, const DatasetWriteOptions& options) {
  const std::size_t total = seq.frames.size();
  if (splits < 1 || static_cast<std::size_t>(splits) > total || splits > 100) {
    throw std::invalid_argument("write_sequence_files: splits must be in [1, min(100, frames=" +
                                std::to_string(total) + ")], got " + std::to_string(splits));
  }
  validate_sequence(seq);
  std::vector<std::string> paths;
  std::size_t begin = 0;
  for (int s = 0; s < splits; ++s) {
    // numpy.array_split: the first (total % splits) chunks get one extra frame.
    const std::size_t size = total / splits + (static_cast<std::size_t>(s) < total % splits ? 1 : 0);
    Sequence part;
    part.box = seq.box;
    part.box_normals = seq.box_normals;
    part.frames.assign(seq.frames.begin() + begin, seq.frames.begin() + begin + size);
    begin += size;
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), "_%02d.msgpack.zst", s);
    paths.push_back(prefix + suffix);
    write_dataset_file(paths.back(), part, options);
  }
  return paths;
}

}  // namespace lagrad
