#include "fluids/pretrained_weights.h"

#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include "fluids/io/hdf5_handle.h"
#include "fluids/torch_pickle.h"
#include "fluids/zip_reader.h"

namespace lagrad {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("'" + path + "': " + what);
}

std::string ints_str(const std::vector<Index>& v) { return shape_str(v); }

// First bytes of the file (fewer if it is shorter); throws if it cannot be opened.
std::string leading_bytes(const std::string& path, std::size_t n) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, expected a weights file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  std::string s(n, '\0');
  in.read(&s[0], static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const std::string kZipMagic("PK\x03\x04", 4);
const std::string kEmptyZipMagic("PK\x05\x06", 4);
const std::string kHdf5Magic("\x89HDF\r\n\x1a\n", 8);

// ---------------------------------------------------------------- torch.save zip

// The archive's data.pkl: "<archive>/data.pkl" at the top level (torch names the folder
// after the file it saved to, so it is not known in advance).
const ZipEntry* find_pickle(const ZipReader& zip) {
  for (const ZipEntry& e : zip.entries()) {
    const std::size_t slash = e.name.find('/');
    if (e.name == "data.pkl" || (ends_with(e.name, "/data.pkl") && slash + 9 == e.name.size())) {
      return &e;
    }
  }
  return nullptr;
}

Index checked_numel(const std::string& path, const TorchTensorRef& t) {
  Index n = 1;
  for (Index d : t.size) {
    if (d < 0) fail(path, "tensor '" + t.name + "': negative size " + ints_str(t.size));
    if (d != 0 && n > std::numeric_limits<Index>::max() / 4 / d) {
      fail(path, "tensor '" + t.name + "': size " + ints_str(t.size) + " overflows");
    }
    n *= d;
  }
  return n;
}

// Checks the tensor against its storage entry and copies its numbers out.
Tensor tensor_from_storage(const std::string& path, const TorchTensorRef& t,
                           const std::string& entry, const std::vector<std::uint8_t>& bytes) {
  const std::string where = "tensor '" + t.name + "'";
  if (t.storage_type != "FloatStorage") {
    fail(path, where + ": storage type torch." + t.storage_type +
                   " is not supported (only float32, torch.FloatStorage)");
  }
  if (t.size.size() != t.stride.size()) {
    fail(path, where + ": size " + ints_str(t.size) + " and stride " + ints_str(t.stride) +
                   " have different ranks");
  }
  const Index numel = checked_numel(path, t);
  // Row-major strides; a dimension of size 1 may carry any stride (PyTorch's own rule).
  Index expected = 1;
  for (std::size_t i = t.size.size(); i-- > 0;) {
    if (numel != 0 && t.size[i] != 1 && t.stride[i] != expected) {
      fail(path, where + ": stride " + ints_str(t.stride) + " is not contiguous for size " +
                     ints_str(t.size) + " (only C-contiguous tensors are supported)");
    }
    if (numel != 0) expected *= t.size[i];  // with a zero dimension the others may be anything
  }
  if (t.storage_offset < 0 || t.storage_numel < 0 ||
      t.storage_offset > t.storage_numel - numel) {
    fail(path, where + ": storage '" + t.storage_key + "' holds " +
                   std::to_string(t.storage_numel) + " elements, too few for offset " +
                   std::to_string(t.storage_offset) + " + " + std::to_string(numel) +
                   " elements of size " + ints_str(t.size));
  }
  // Compared in elements: storage_numel * 4 could wrap around for a corrupted numel.
  if (bytes.size() % 4 != 0 || static_cast<std::uint64_t>(bytes.size() / 4) != static_cast<std::uint64_t>(t.storage_numel)) {
    fail(path, where + ": entry '" + entry + "' has " + std::to_string(bytes.size()) +
                   " bytes, the pickle declares " + std::to_string(t.storage_numel) + " float32" +
                   (t.storage_numel <= std::numeric_limits<Index>::max() / 4
                        ? " (" + std::to_string(t.storage_numel * 4) + " bytes)" : std::string()));
  }
  Tensor out(t.size);
  // torch.save writes little-endian storages; lagrad's targets (x86-64, aarch64) are too.
  if (numel > 0) {
    std::memcpy(out.data(), bytes.data() + t.storage_offset * 4,
                static_cast<std::size_t>(numel) * 4);
  }
  return out;
}

// ---------------------------------------------------------------- Keras HDF5

// HDF5 files carry no checksums over the data, so sizes are checked against the file itself:
// Keras writes weights uncompressed, so no dataset or attribute can hold more bytes than the
// file. This bounds what a corrupted header can make us allocate.
std::uint64_t file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff end = in ? static_cast<std::streamoff>(in.tellg()) : -1;
  if (end < 0) fail(path, "cannot determine the file size");
  return static_cast<std::uint64_t>(end);
}

void check_fits_file(const std::string& path, const std::string& where, const std::vector<hsize_t>& dims,
                     std::uint64_t item_bytes) {
  std::uint64_t n = item_bytes;
  for (hsize_t d : dims) {
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n) || n > file_bytes(path)) {
      fail(path, where + ": declared size " + ints_str(Shape(dims.begin(), dims.end())) + " of " +
                     std::to_string(item_bytes) + "-byte items is larger than the file (" +
                     std::to_string(file_bytes(path)) + " bytes): corrupt header");
    }
  }
}

// A string or string-array attribute (Keras writes fixed-length, null-padded byte strings;
// h5py may also write variable-length ones).
std::vector<std::string> read_string_attribute(const std::string& path, hid_t obj,
                                               const std::string& obj_name, const char* name) {
  const std::string where = "attribute '" + std::string(name) + "' of '" + obj_name + "'";
  if (H5Aexists(obj, name) <= 0) fail(path, "missing " + where + " (not a Keras weights file?)");
  H5Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) fail(path, "cannot open " + where);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  H5Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_STRING) {
    fail(path, where + " is not a string");
  }
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(path, "cannot read " + where);
  const std::size_t item = H5Tis_variable_str(type.get()) > 0 ? sizeof(char*) : H5Tget_size(type.get());
  check_fits_file(path, where, {static_cast<hsize_t>(n)}, std::max<std::size_t>(item, 1));
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
    const herr_t rc = H5Aread(attr.get(), mem.get(), ptrs.data());
    for (char* p : ptrs) {
      if (rc >= 0 && p) out.emplace_back(p);
      if (p) H5free_memory(p);
    }
    if (rc < 0) fail(path, "cannot read " + where);
  } else {
    const std::size_t len = H5Tget_size(type.get());
    std::vector<char> buf(static_cast<std::size_t>(n) * len);
    H5Handle mem(H5Tcopy(type.get()), H5Tclose);
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail(path, "cannot read " + where);
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * len, len);
      s.resize(std::min(s.find('\0'), s.size()));
      while (!s.empty() && s.back() == ' ') s.pop_back();  // space-padded strings
      out.push_back(std::move(s));
    }
  }
  return out;
}

Tensor read_float_dataset(const std::string& path, hid_t loc, const std::string& name) {
  const std::string where = "dataset '" + name + "'";
  H5Handle ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) fail(path, "cannot open " + where);
  H5Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (!type.valid() || H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != 4) {
    fail(path, where + " is not float32 (class " + std::to_string(H5Tget_class(type.get())) +
                   ", " + std::to_string(H5Tget_size(type.get())) + " bytes)");
  }
  H5Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0 || rank > 16) fail(path, "cannot read the shape of " + where);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  for (hsize_t d : dims)
    if (d > static_cast<hsize_t>(std::numeric_limits<Index>::max())) fail(path, where + ": dimension overflows");
  check_fits_file(path, where, dims, 4);
  Tensor t(Shape(dims.begin(), dims.end()));
  if (t.numel() > 0 &&
      H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0) {
    fail(path, "cannot read " + where + " (truncated or corrupt file?)");
  }
  return t;
}

Tensor transpose2d(const Tensor& t) {
  const Index rows = t.dim(0), cols = t.dim(1);
  Tensor out(Shape{cols, rows});
  const float* src = t.data();
  float* dst = out.data();
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
  return out;
}

bool has_name(const NamedTensors& v, const std::string& name) {
  return std::any_of(v.begin(), v.end(), [&](const auto& p) { return p.first == name; });
}

}  // namespace

NamedTensors read_torch_state_dict(const std::string& path) {
  const std::string head = leading_bytes(path, 2);
  if (head == std::string("\x80\x02", 2)) {
    fail(path, "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with "
               "torch.save(..., _use_new_zipfile_serialization=True)");
  }
  const ZipReader zip(path);
  const ZipEntry* pkl = find_pickle(zip);
  if (pkl == nullptr) fail(path, "no data.pkl entry: not a PyTorch checkpoint");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);  // "<archive>/"
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const std::vector<std::uint8_t> b = zip.read(*order);
    if (std::string(b.begin(), b.end()) != "little") {
      fail(path, "byteorder '" + std::string(b.begin(), b.end()) + "' is not supported");
    }
  }
  const std::vector<TorchTensorRef> refs =
      parse_torch_state_dict_pickle(zip.read(*pkl), "'" + path + "', entry '" + pkl->name + "'");

  std::map<std::string, std::vector<std::uint8_t>> storages;  // tensors may share storages
  NamedTensors out;
  out.reserve(refs.size());
  for (const TorchTensorRef& t : refs) {
    const std::string entry = prefix + "data/" + t.storage_key;
    auto it = storages.find(t.storage_key);
    if (it == storages.end()) {
      if (zip.find(entry) == nullptr) {
        fail(path, "tensor '" + t.name + "': storage entry '" + entry + "' is missing");
      }
      it = storages.emplace(t.storage_key, zip.read(entry)).first;
    }
    out.emplace_back(t.name, tensor_from_storage(path, t, entry, it->second));
  }
  return out;
}

NamedTensors read_keras_h5_weights(const std::string& path) {
  leading_bytes(path, 0);  // a clear "cannot open" for a missing file
  // libhdf5 1.10 leaks internal state on some corrupt superblocks and then prints "HDF5: infinite
  // loop closing library" at exit; skipping its atexit cleanup keeps stderr ours (the OS frees all).
  static const bool no_atexit = (H5dont_atexit(), true);
  (void)no_atexit;
  const H5SilentErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file");
  // Closing the file closes everything in it, even objects the library left open on a corrupt file.
  H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.valid()) fail(path, "cannot open the HDF5 file (truncated or corrupt?)");

  // Weights-only saves keep the layers at the root; whole-model saves under "model_weights".
  hid_t root = file.get();
  std::string root_name = "/";
  std::optional<H5Handle> model_weights;
  if (H5Aexists(root, "layer_names") <= 0 && H5Lexists(root, "model_weights", H5P_DEFAULT) > 0) {
    model_weights.emplace(H5Gopen2(root, "model_weights", H5P_DEFAULT), H5Gclose);
    if (!model_weights->valid()) fail(path, "cannot open group 'model_weights'");
    root = model_weights->get();
    root_name = "/model_weights";
  }

  NamedTensors out;
  const std::vector<std::string> layers = read_string_attribute(path, root, root_name, "layer_names");
  for (const std::string& layer : layers) {
    H5Handle group(H5Gopen2(root, layer.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) fail(path, "cannot open the group of layer '" + layer + "'");
    bool conv = false;
    for (const std::string& wname : read_string_attribute(path, group.get(), layer, "weight_names")) {
      // ".../<layer>/kernel:0" -> "kernel"
      std::string base = wname.substr(wname.rfind('/') + 1);
      base = base.substr(0, base.rfind(':'));
      Tensor t = read_float_dataset(path, group.get(), wname);
      if (base == "kernel" && t.rank() == 2) {
        out.emplace_back(layer + ".weight", transpose2d(t));  // Keras [in, out] -> [out, in]
        continue;
      }
      conv = conv || (base == "kernel" && t.rank() == 5);
      out.emplace_back(layer + "." + base, t);
    }
    if (conv && !has_name(out, layer + ".offset")) {
      out.emplace_back(layer + ".offset", Tensor::zeros({3}));
    }
  }
  if (!has_name(out, "gravity")) {
    out.insert(out.begin(), {"gravity", Tensor::from_vector({3}, {0.0f, -9.81f, 0.0f})});
  }
  return out;
}

NamedTensors read_pretrained_weights(const std::string& path) {
  const std::string head = leading_bytes(path, 8);
  if (starts_with(head, kZipMagic) || starts_with(head, kEmptyZipMagic)) {
    return read_torch_state_dict(path);
  }
  if (starts_with(head, kHdf5Magic)) return read_keras_h5_weights(path);
  std::string ext = path.substr(std::min(path.size(), path.rfind('.')));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".pt" || ext == ".pth") return read_torch_state_dict(path);
  if (ext == ".h5" || ext == ".hdf5") return read_keras_h5_weights(path);
  fail(path, "unrecognized weights format: neither a PyTorch zip (.pt) nor an HDF5 file (.h5)");
}

}  // namespace lagrad
