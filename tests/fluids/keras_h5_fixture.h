#pragma once
// Writes small Keras-layout .h5 weight files (layer_names, weight_names, float32 datasets) with
// libhdf5, for the reader's limit tests and the fuzz seeds. Datasets may declare dims far larger
// than the data written (chunked, never allocated), as a corrupted header would.
#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace lagrad::test {

inline void h5_string_attr(hid_t obj, const char* name, const std::vector<std::string>& values) {
  size_t len = 1;
  for (const auto& v : values) len = std::max(len, v.size());
  std::string buf(values.size() * len, '\0');
  for (size_t i = 0; i < values.size(); ++i) buf.replace(i * len, values[i].size(), values[i]);
  const hsize_t n = values.size();
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, len);
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, type, buf.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

// One dense layer "dense0" with kernel dims `kernel_dims` (written only if they hold few
// elements) and a bias of 2.
inline void write_keras_h5(const std::string& path, const std::vector<hsize_t>& kernel_dims) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) throw std::runtime_error("cannot create " + path);
  h5_string_attr(file, "layer_names", {"dense0"});
  const hid_t layer = H5Gcreate2(file, "dense0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string_attr(layer, "weight_names", {"dense0/kernel:0", "dense0/bias:0"});
  const hid_t inner = H5Gcreate2(layer, "dense0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  auto dataset = [&](const char* name, const std::vector<hsize_t>& dims) {
    double n = 1;
    for (hsize_t d : dims) n *= double(d);
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (n > 64) {  // a declared size far past the data: chunked, allocated on write only
      std::vector<hsize_t> chunk(dims.size(), 1);
      H5Pset_chunk(dcpl, static_cast<int>(dims.size()), chunk.data());
    }
    const hid_t ds = H5Dcreate2(inner, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0) throw std::runtime_error("cannot create dataset " + std::string(name));
    if (n <= 64) {
      std::vector<float> v(static_cast<size_t>(n));
      for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f + float(i);
      if (!v.empty()) H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    }
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  };
  dataset("kernel:0", kernel_dims);
  dataset("bias:0", {kernel_dims.empty() ? 1 : kernel_dims.back()});
  H5Gclose(inner);
  H5Gclose(layer);
  H5Fclose(file);
}

}  // namespace lagrad::test
