#include "optim/checkpoint.h"

#include <cereal/archives/json.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/crc32.h"
#include "core/read_file.h"

namespace lagrad {

namespace {

constexpr char kMagic[] = "lagrad-checkpoint";

// Every length prefix of the binary encoding is checked against the bytes left in the file
// before anything is allocated: an element takes at least `min_bytes` on disk, so a count that
// needs more than what remains is corrupt. Allocation stays below a small multiple of the file.
thread_local std::istream* t_in = nullptr;
thread_local std::uint64_t t_size = 0;

std::uint64_t read_count(cereal::PortableBinaryInputArchive& ar, std::uint64_t min_bytes, const char* what) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  const std::streamoff at = t_in ? static_cast<std::streamoff>(t_in->tellg()) : 0;
  const std::uint64_t left = at >= 0 && static_cast<std::uint64_t>(at) <= t_size ? t_size - at : 0;
  if (n > left / min_bytes)
    throw std::runtime_error("truncated or corrupted length field: " + std::string(what) + " of " +
                             std::to_string(n) + " elements, only " + std::to_string(left) + " bytes left");
  return n;
}

void load_string(cereal::PortableBinaryInputArchive& ar, std::string& s) {
  s.resize(static_cast<size_t>(read_count(ar, 1, "string")));
  if (!s.empty()) ar(cereal::binary_data(&s[0], s.size()));
}

template <class T>
void load_vector_guarded(cereal::PortableBinaryInputArchive& ar, std::vector<T>& v, const char* what) {
  v.resize(static_cast<size_t>(read_count(ar, sizeof(T), what)));
  for (auto& x : v) ar(x);
}

// rapidjson (inside cereal) parses recursively: a file nested a million deep would overflow the
// stack. A checkpoint nests 4 deep; anything past kMaxJsonDepth is refused before parsing.
constexpr int kMaxJsonDepth = 32;

void check_json_depth(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw std::runtime_error("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte " +
                                 std::to_string(i));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// The serialized form of one named tensor.
struct TensorRecord {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
  template <class Archive>
  void save(Archive& ar) const {
    ar(cereal::make_nvp("name", name), cereal::make_nvp("shape", shape), cereal::make_nvp("data", data));
  }
  template <class Archive>
  void load(Archive& ar) {
    if constexpr (std::is_same_v<Archive, cereal::PortableBinaryInputArchive>) {
      load_string(ar, name);
      load_vector_guarded(ar, shape, "tensor shape");
      load_vector_guarded(ar, data, "tensor data");
    } else {  // JSON arrays carry their real length
      ar(cereal::make_nvp("name", name), cereal::make_nvp("shape", shape), cereal::make_nvp("data", data));
    }
  }
};

// A tensor record takes at least its three 8-byte length prefixes.
void load_records(cereal::PortableBinaryInputArchive& ar, std::vector<TensorRecord>& v) {
  v.resize(static_cast<size_t>(read_count(ar, 24, "tensor list")));
  for (auto& r : v) r.load(ar);
}

struct Record {
  std::string magic = kMagic;
  std::uint32_t version = Checkpoint::kFormatVersion;
  std::int64_t step = 0;
  std::vector<TensorRecord> model, optimizer;
  std::int64_t optimizer_step = 0;
  std::string schedule, rng_state, config;
  std::map<std::string, std::string> metadata;
  std::uint32_t checksum = 0;

  // Magic and version come first so that a foreign file fails early with a clear message.
  template <class Archive>
  void save(Archive& ar) const {
    ar(CEREAL_NVP(magic), CEREAL_NVP(version), CEREAL_NVP(step), CEREAL_NVP(model), CEREAL_NVP(optimizer),
       CEREAL_NVP(optimizer_step), CEREAL_NVP(schedule), CEREAL_NVP(rng_state), CEREAL_NVP(config),
       CEREAL_NVP(metadata), CEREAL_NVP(checksum));
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(CEREAL_NVP(magic));
    if (magic != kMagic) throw std::runtime_error("not a lagrad checkpoint");
    ar(CEREAL_NVP(version));
    if (version != Checkpoint::kFormatVersion)
      throw std::runtime_error("unsupported checkpoint format version " + std::to_string(version) +
                               " (this build reads version " + std::to_string(Checkpoint::kFormatVersion) + ")");
    if constexpr (std::is_same_v<Archive, cereal::PortableBinaryInputArchive>) {
      ar(step);
      load_records(ar, model);
      load_records(ar, optimizer);
      ar(optimizer_step);
      load_string(ar, schedule);
      load_string(ar, rng_state);
      load_string(ar, config);
      const std::uint64_t n = read_count(ar, 16, "metadata");  // two length prefixes per entry
      for (std::uint64_t i = 0; i < n; ++i) {
        std::string k, v;
        load_string(ar, k);
        load_string(ar, v);
        if (!metadata.emplace(std::move(k), std::move(v)).second)
          throw std::runtime_error("duplicate metadata key");
      }
      ar(checksum);
    } else {
      ar(CEREAL_NVP(step), CEREAL_NVP(model), CEREAL_NVP(optimizer), CEREAL_NVP(optimizer_step),
         CEREAL_NVP(schedule), CEREAL_NVP(rng_state), CEREAL_NVP(config), CEREAL_NVP(metadata), CEREAL_NVP(checksum));
    }
  }
};

std::vector<TensorRecord> to_records(const NamedTensors& tensors) {
  std::vector<TensorRecord> out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.push_back({name, t.shape(), t.to_vector()});
  return out;
}

NamedTensors from_records(const std::vector<TensorRecord>& records, const std::string& path) {
  NamedTensors out;
  std::set<std::string> names;
  for (const auto& r : records) {
    for (auto d : r.shape)
      if (d < 0) throw std::runtime_error(path + ": tensor '" + r.name + "' has a negative dimension");
    if (!names.insert(r.name).second)
      throw std::runtime_error(path + ": tensor '" + r.name + "' appears twice (corrupted or hand-edited file)");
    Index numel = 0;
    try {
      numel = shape_numel(r.shape);
    } catch (const std::invalid_argument&) {
      throw std::runtime_error(path + ": tensor '" + r.name + "' has shape " + shape_str(r.shape) +
                               ", more elements than int64 can count");
    }
    if (static_cast<Index>(r.data.size()) != numel)
      throw std::runtime_error(path + ": tensor '" + r.name + "' has " + std::to_string(r.data.size()) +
                               " values for shape " + shape_str(r.shape));
    out.emplace_back(r.name, Tensor::from_vector(r.shape, r.data));
  }
  return out;
}

// CRC over every field in a fixed byte order, identical for both encodings.
std::uint32_t content_checksum(const Record& r) {
  std::uint32_t c = 0;
  auto bytes = [&](const void* p, size_t n) { c = crc32(p, n, c); };
  auto str = [&](const std::string& s) {
    const std::uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  };
  auto tensors = [&](const std::vector<TensorRecord>& ts) {
    const std::uint64_t n = ts.size();
    bytes(&n, sizeof n);
    for (const auto& t : ts) {
      str(t.name);
      bytes(t.shape.data(), t.shape.size() * sizeof(std::int64_t));
      bytes(t.data.data(), t.data.size() * sizeof(float));
    }
  };
  bytes(&r.version, sizeof r.version);
  bytes(&r.step, sizeof r.step);
  tensors(r.model);
  tensors(r.optimizer);
  bytes(&r.optimizer_step, sizeof r.optimizer_step);
  str(r.schedule);
  str(r.rng_state);
  str(r.config);
  for (const auto& [k, v] : r.metadata) {
    str(k);
    str(v);
  }
  return c;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt, CheckpointFormat format) {
  Record r;
  r.step = ckpt.step;
  r.model = to_records(ckpt.model);
  r.optimizer = to_records(ckpt.optimizer);
  r.optimizer_step = ckpt.optimizer_step;
  r.schedule = ckpt.schedule;
  r.rng_state = ckpt.rng_state;
  r.config = ckpt.config;
  r.metadata = ckpt.metadata;
  r.checksum = content_checksum(r);
  std::ostringstream os;
  if (format == CheckpointFormat::Json) {
    cereal::JSONOutputArchive ar(os);
    ar(cereal::make_nvp("lagrad_checkpoint", r));
  } else {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(r);
  }
  const std::string bytes = os.str();
  write_file_atomically(path, {bytes}, "save_checkpoint");
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::string bytes = read_file_bytes(path, "cannot open checkpoint");
  if (bytes.empty()) throw std::runtime_error("checkpoint '" + path + "' is empty");
  Record r;
  struct ResetGuard {
    ~ResetGuard() { t_in = nullptr; }
  } reset_guard;
  // JSON checkpoints start with '{'; portable binary ones with cereal's endianness byte.
  const bool json = bytes.find_first_not_of(" \t\r\n") != std::string::npos &&
                    bytes[bytes.find_first_not_of(" \t\r\n")] == '{';
  try {
    std::istringstream is(bytes);
    t_in = &is;
    t_size = bytes.size();
    if (json) {
      check_json_depth(bytes);
      cereal::JSONInputArchive ar(is);
      ar(cereal::make_nvp("lagrad_checkpoint", r));
    } else {
      // Layout: one endianness byte, the magic's 8-byte length, the magic. Checking it before
      // cereal reads anything keeps a foreign file from claiming a gigabyte-long string.
      constexpr size_t kAt = 1 + 8;
      if (bytes.size() < kAt + sizeof(kMagic) - 1 || bytes.compare(kAt, sizeof(kMagic) - 1, kMagic) != 0)
        throw std::runtime_error("not a lagrad checkpoint");
      cereal::PortableBinaryInputArchive ar(is);
      ar(r);
    }
  } catch (const std::runtime_error& e) {
    // cereal::Exception derives from std::runtime_error: truncation and parse errors land here.
    const std::string what = e.what();
    if (!json && what.rfind("Failed to read", 0) == 0)
      throw std::runtime_error("cannot read checkpoint '" + path + "': truncated (the file ends inside the record, " +
                               std::to_string(bytes.size()) + " bytes)");
    throw std::runtime_error("cannot read checkpoint '" + path + "': " + what);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read checkpoint '" + path + "': corrupted (" + e.what() + ")");
  }
  if (content_checksum(r) != r.checksum)
    throw std::runtime_error("cannot read checkpoint '" + path + "': checksum mismatch (file corrupted)");
  Checkpoint c;
  c.step = r.step;
  c.model = from_records(r.model, path);
  c.optimizer = from_records(r.optimizer, path);
  c.optimizer_step = r.optimizer_step;
  c.schedule = r.schedule;
  c.rng_state = r.rng_state;
  c.config = r.config;
  c.metadata = r.metadata;
  return c;
}

NamedTensors model_state(const Module& model) {
  NamedTensors out;
  for (auto& [n, t] : model.named_parameters()) out.emplace_back(n, t.clone());
  for (auto& [n, t] : model.named_buffers()) out.emplace_back(n, t.clone());
  return out;
}

void load_model_state(Module& model, const NamedTensors& state) {
  const std::vector<std::string> unbuilt = model.unbuilt_modules();
  if (!unbuilt.empty()) {
    std::string names;
    for (const auto& n : unbuilt) names += (names.empty() ? "" : ", ") + (n.empty() ? "the module itself" : "'" + n + "'");
    throw std::logic_error("load_model_state: the model is not built: these lazy layers have no parameters to load "
                           "into yet: " + names + "; give their input widths in the options or "
                           "call build(width) (or run one forward pass) before loading");
  }
  NamedTensors targets = model.named_parameters();
  for (auto& b : model.named_buffers()) targets.push_back(b);
  std::vector<std::string> missing, unexpected, mismatched;
  std::vector<std::pair<Tensor, Tensor>> copies;
  for (auto& [name, target] : targets) {
    const Tensor* src = nullptr;
    for (auto& [sn, st] : state)
      if (sn == name) src = &st;
    if (!src) {
      missing.push_back(name);
    } else if (src->shape() != target.shape()) {
      mismatched.push_back(name + " (model " + shape_str(target.shape()) + ", saved " + shape_str(src->shape()) + ")");
    } else {
      copies.emplace_back(target, *src);
    }
  }
  for (auto& [sn, st] : state) {
    bool known = false;
    for (auto& [name, target] : targets) known |= name == sn;
    if (!known) unexpected.push_back(sn);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    std::string msg = "load_model_state: state does not match the model:";
    if (!missing.empty()) msg += " missing [" + join(missing) + "];";
    if (!unexpected.empty()) msg += " unexpected [" + join(unexpected) + "];";
    if (!mismatched.empty()) msg += " shape mismatch [" + join(mismatched) + "];";
    throw std::invalid_argument(msg);
  }
  for (auto& [dst, src] : copies) dst.copy_from(src);
}

}  // namespace lagrad
