#include "optim/checkpoint.h"

#include <cereal/archives/json.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/crc32.h"

namespace lagrad {

namespace {

constexpr char kMagic[] = "lagrad-checkpoint";

// Upper bound for any element count read from a file being loaded (its size in bytes), so a
// corrupted length prefix fails cleanly instead of allocating gigabytes.
thread_local std::uint64_t t_max_count = UINT64_MAX;

template <class Archive, class T>
void load_vector_guarded(Archive& ar, std::vector<T>& v) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  if (n > t_max_count) throw std::runtime_error("corrupted length field (" + std::to_string(n) + " elements)");
  v.resize(static_cast<size_t>(n));
  for (auto& x : v) ar(x);
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
      ar(name);
      load_vector_guarded(ar, shape);
      load_vector_guarded(ar, data);
    } else {  // JSON arrays carry their real length
      ar(cereal::make_nvp("name", name), cereal::make_nvp("shape", shape), cereal::make_nvp("data", data));
    }
  }
};

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
    ar(CEREAL_NVP(step), CEREAL_NVP(model), CEREAL_NVP(optimizer), CEREAL_NVP(optimizer_step), CEREAL_NVP(schedule),
       CEREAL_NVP(rng_state), CEREAL_NVP(config), CEREAL_NVP(metadata), CEREAL_NVP(checksum));
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
  for (const auto& r : records) {
    for (auto d : r.shape)
      if (d < 0) throw std::runtime_error(path + ": tensor '" + r.name + "' has a negative dimension");
    if (static_cast<Index>(r.data.size()) != shape_numel(r.shape))
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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open checkpoint '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw std::runtime_error("checkpoint '" + path + "' is empty");
  Record r;
  t_max_count = bytes.size();
  struct ResetGuard {
    ~ResetGuard() { t_max_count = UINT64_MAX; }
  } reset_guard;
  // JSON checkpoints start with '{'; portable binary ones with cereal's endianness byte.
  const bool json = bytes.find_first_not_of(" \t\r\n") != std::string::npos &&
                    bytes[bytes.find_first_not_of(" \t\r\n")] == '{';
  try {
    std::istringstream is(bytes);
    if (json) {
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
