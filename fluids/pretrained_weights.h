#pragma once
// Reading the published DeepLagrangianFluids weights without Python.
//
// Both files come out as a PyTorch-style state dict: dotted names and PyTorch layouts
// (dense `weight` [out, in], conv `kernel` [kd, kh, kw, in, out]), float32.
// See docs/pretrained_weights.md for the formats and the name mapping.
#include <string>

#include "../optim/optimizer.h"  // NamedTensors

namespace lagrad {

// A torch.save zip (PyTorch >= 1.6) holding a state dict of float32 CPU tensors, in the
// file's order. Throws std::runtime_error naming the file (and the entry or tensor) for a
// missing, truncated or corrupted file, an unsupported pickle opcode or global, a non-float32
// storage, a non-contiguous stride, or a storage too small for the tensor.
NamedTensors read_torch_state_dict(const std::string& path);

// A Keras (2.x, tf.keras) HDF5 weights file, mapped to PyTorch names and layouts:
// <layer>/.../kernel:0 of rank 2 -> "<layer>.weight" transposed to [out, in]; other kernels
// (rank 5 for ContinuousConv) -> "<layer>.kernel" as stored; bias:0 -> "<layer>.bias".
// What Keras does not store is filled as DeepLagrangianFluids' PyTorch model has it: a
// "gravity" buffer (0, -9.81, 0) first, and a zero "<layer>.offset" [3] after each conv's bias.
// Order: gravity, then the file's layer_names order. Throws std::runtime_error naming the file
// and the layer/dataset on any error.
NamedTensors read_keras_h5_weights(const std::string& path);

// Dispatches on the file's leading bytes: zip -> read_torch_state_dict, HDF5 ->
// read_keras_h5_weights; otherwise on the extension (.pt/.pth, .h5/.hdf5), else throws.
NamedTensors read_pretrained_weights(const std::string& path);

}  // namespace lagrad
