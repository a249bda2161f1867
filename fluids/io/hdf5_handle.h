#pragma once
// RAII for HDF5 C API ids, and a scope that keeps HDF5 from printing its error stack (errors are
// reported as exceptions). Used by the Keras weights reader and the LagrangeBench files.
#include <hdf5.h>

namespace lagrad {

// Owns an HDF5 id and closes it with the matching H5?close.
class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Handle() {
    if (id_ >= 0) close_(id_);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

class H5SilentErrors {
 public:
  H5SilentErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5SilentErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  H5SilentErrors(const H5SilentErrors&) = delete;
  H5SilentErrors& operator=(const H5SilentErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

}  // namespace lagrad
