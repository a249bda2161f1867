#pragma once
// A minimal pickle interpreter for the data.pkl of a PyTorch state dict (torch.save, protocol 2).
//
// It runs the opcodes such a file uses (PROTO, GLOBAL, MARK, tuples, BININT*, LONG1,
// BINUNICODE, NONE/NEWTRUE/NEWFALSE, EMPTY_DICT/SETITEM(S), EMPTY_LIST/APPEND(S), BINPERSID,
// REDUCE, BUILD, the memo BINPUT/BINGET and their LONG_ forms, STOP) and knows only the globals
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and the torch.<Type>Storage
// classes. Anything else throws std::runtime_error naming the source, the opcode or global,
// and its byte offset. No Python object is ever built: tensors come out as references to
// storage entries, which the caller reads from the zip.
#include <cstdint>
#include <string>
#include <vector>

#include "../core/shape.h"

namespace lagrad {

// One tensor of the state dict: `size`/`stride` elements into the storage `storage_key`
// (the zip entry <archive>/data/<storage_key>) starting at `storage_offset`.
struct TorchTensorRef {
  std::string name;
  std::string storage_type;  // e.g. "FloatStorage"
  std::string storage_key;
  std::string device;        // e.g. "cpu"
  Index storage_numel = 0;   // elements in the whole storage
  Index storage_offset = 0;
  Shape size;
  std::vector<Index> stride;
  bool requires_grad = false;
};

// Parses a state-dict pickle: a (Ordered)dict of string -> tensor, in the file's order.
// `source` names the file in error messages (e.g. "'model.pt', entry 'archive/data.pkl'").
std::vector<TorchTensorRef> parse_torch_state_dict_pickle(const std::vector<std::uint8_t>& bytes,
                                                          const std::string& source);

}  // namespace lagrad
