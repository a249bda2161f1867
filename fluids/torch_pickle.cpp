#include "fluids/torch_pickle.h"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace lagrad {

namespace {

// The pickle values a state dict can hold. Tensors and storages are leaves built by the
// machine itself (REDUCE of _rebuild_tensor_v2, BINPERSID), never Python objects.
struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  std::int64_t number = 0;                             // Bool, Int
  std::string text;                                    // String; Global "module.name"
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  TorchTensorRef tensor;                               // Storage (storage_* fields), Tensor

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Releases nested containers iteratively: the default destructor recurses once per level,
  // and a pickle of a million nested lists would overflow the stack.
  ~Value() {
    std::vector<ValuePtr> pending;
    auto take_children = [&pending](Value& v) {
      for (ValuePtr& c : v.items) pending.push_back(std::move(c));
      for (auto& [k, c] : v.entries) {
        pending.push_back(std::move(k));
        pending.push_back(std::move(c));
      }
      v.items.clear();
      v.entries.clear();
    };
    take_children(*this);
    while (!pending.empty()) {
      ValuePtr v = std::move(pending.back());
      pending.pop_back();
      if (v && v.use_count() == 1) take_children(*v);  // the last owner: empty it before it dies
    }
  }
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::String: return "str";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "global";
    case Value::Kind::Storage: return "storage";
    case Value::Kind::Tensor: return "tensor";
  }
  return "?";
}

// Names of every pickle opcode (protocols 0-5), for error messages about the ones we refuse.
const char* opcode_name(std::uint8_t op) {
  switch (op) {
    case '(': return "MARK";            case '.': return "STOP";
    case '0': return "POP";             case '1': return "POP_MARK";
    case '2': return "DUP";             case 'F': return "FLOAT";
    case 'I': return "INT";             case 'J': return "BININT";
    case 'K': return "BININT1";         case 'L': return "LONG";
    case 'M': return "BININT2";         case 'N': return "NONE";
    case 'P': return "PERSID";          case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";          case 'S': return "STRING";
    case 'T': return "BINSTRING";       case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";         case 'X': return "BINUNICODE";
    case 'a': return "APPEND";          case 'b': return "BUILD";
    case 'c': return "GLOBAL";          case 'd': return "DICT";
    case '}': return "EMPTY_DICT";      case 'e': return "APPENDS";
    case 'g': return "GET";             case 'h': return "BINGET";
    case 'i': return "INST";            case 'j': return "LONG_BINGET";
    case 'l': return "LIST";            case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";             case 'p': return "PUT";
    case 'q': return "BINPUT";          case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";         case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";     case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";        case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";  case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";         case 0x82: return "EXT1";
    case 0x83: return "EXT2";           case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";         case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";         case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";       case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";          case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";      case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";      case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";   case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";          case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string describe_opcode(std::uint8_t op) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", op);
  const char* name = opcode_name(op);
  return name ? std::string(name) + " (" + hex + ")" : std::string("unknown ") + hex;
}

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

ValuePtr make_int(std::int64_t n, Value::Kind kind = Value::Kind::Int) {
  ValuePtr v = make(kind);
  v->number = n;
  return v;
}

class Machine {
 public:
  Machine(const std::vector<std::uint8_t>& bytes, const std::string& source)
      : b_(bytes), source_(source) {}
  ~Machine() { release_all(); }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  void release_all() {
    stack_.clear();
    memo_.clear();
    for (const auto& w : containers_) {
      if (ValuePtr v = w.lock()) {
        std::vector<ValuePtr> items = std::move(v->items);
        std::vector<std::pair<ValuePtr, ValuePtr>> entries = std::move(v->entries);
        v->items.clear();
        v->entries.clear();
      }  // the children die here, one container at a time (Value's destructor is iterative)
    }
    containers_.clear();
  }

  ValuePtr run() {
    while (true) {
      op_pos_ = pos_;
      const std::uint8_t op = take(1)[0];
      switch (op) {
        case 0x80: take(1); break;  // PROTO: the opcodes themselves say what is supported
        case '.': return pop("STOP");
        case '(': marks_.push_back(stack_.size()); break;
        case ')': stack_.push_back(make(Value::Kind::Tuple)); break;
        case 't': stack_.push_back(tuple_of(pop_mark())); break;
        case 0x85: stack_.push_back(tuple_of(pop_n(1))); break;
        case 0x86: stack_.push_back(tuple_of(pop_n(2))); break;
        case 0x87: stack_.push_back(tuple_of(pop_n(3))); break;
        case ']': stack_.push_back(make(Value::Kind::List)); break;
        case 'a': append(pop_n(1)); break;
        case 'e': append(pop_mark()); break;
        case '}': stack_.push_back(make(Value::Kind::Dict)); break;
        case 's': set_items(pop_n(2)); break;
        case 'u': set_items(pop_mark()); break;
        case 'N': stack_.push_back(make(Value::Kind::None)); break;
        case 0x88: stack_.push_back(make_int(1, Value::Kind::Bool)); break;
        case 0x89: stack_.push_back(make_int(0, Value::Kind::Bool)); break;
        case 'K': stack_.push_back(make_int(take(1)[0])); break;
        case 'M': stack_.push_back(make_int(le(take(2), 2))); break;
        case 'J':
          stack_.push_back(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(le(take(4), 4)))));
          break;
        case 0x8a: stack_.push_back(make_int(long1())); break;
        case 'X': {
          const std::size_t n = static_cast<std::size_t>(le(take(4), 4));
          const std::uint8_t* p = take(n);
          ValuePtr v = make(Value::Kind::String);
          v->text.assign(reinterpret_cast<const char*>(p), n);
          stack_.push_back(v);
          break;
        }
        case 'c': stack_.push_back(global()); break;
        case 'Q': stack_.push_back(persistent_id(pop("BINPERSID"))); break;
        case 'R': {
          ValuePtr args = pop("REDUCE");
          ValuePtr callable = pop("REDUCE");
          stack_.push_back(reduce(callable, args));
          break;
        }
        case 'b': {
          ValuePtr state = pop("BUILD");
          // Only dicts are built: the OrderedDict's _metadata attribute, which is not needed.
          if (top("BUILD")->kind != Value::Kind::Dict) {
            fail(std::string("BUILD on a ") + kind_name(top("BUILD")->kind) + ", expected a dict");
          }
          break;
        }
        case 'q': memo_[le(take(1), 1)] = top("BINPUT"); break;
        case 'r': memo_[le(take(4), 4)] = top("LONG_BINPUT"); break;
        case 'h': stack_.push_back(memo_get(le(take(1), 1))); break;
        case 'j': stack_.push_back(memo_get(le(take(4), 4))); break;
        default:
          pos_ = op_pos_;
          fail("unsupported opcode " + describe_opcode(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": pickle: " + what + " at byte " +
                             std::to_string(op_pos_));
  }

  const std::uint8_t* take(std::size_t n) {
    if (n > b_.size() - pos_) {
      fail("truncated data: the opcode needs " + std::to_string(n) + " more bytes, only " +
           std::to_string(b_.size() - pos_) + " left");
    }
    const std::uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }

  static std::uint64_t le(const std::uint8_t* p, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }

  // LONG1: a little-endian two's-complement integer of n <= 8 bytes.
  std::int64_t long1() {
    const std::size_t n = take(1)[0];
    if (n > 8) fail("LONG1 integer of " + std::to_string(n) + " bytes does not fit int64");
    const std::uint8_t* p = take(n);
    if (n == 0) return 0;
    std::uint64_t v = le(p, static_cast<int>(n));
    if (n < 8 && (p[n - 1] & 0x80)) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(v);
  }

  std::string line() {
    std::string s;
    while (true) {
      const char c = static_cast<char>(take(1)[0]);
      if (c == '\n') return s;
      s.push_back(c);
    }
  }

  ValuePtr top(const char* op) {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) {
      fail(std::string(op) + " on an empty stack");
    }
    return stack_.back();
  }

  ValuePtr pop(const char* op) {
    ValuePtr v = top(op);
    stack_.pop_back();
    return v;
  }

  std::vector<ValuePtr> pop_n(std::size_t n) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("stack underflow");
    std::vector<ValuePtr> out(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return out;
  }

  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }

  ValuePtr tuple_of(std::vector<ValuePtr> items) {
    ValuePtr v = make(Value::Kind::Tuple);
    v->items = std::move(items);
    containers_.push_back(v);
    return v;
  }

  void append(std::vector<ValuePtr> items) {
    ValuePtr list = top("APPEND");
    if (list->kind != Value::Kind::List) fail(std::string("APPEND to a ") + kind_name(list->kind));
    for (ValuePtr& v : items) list->items.push_back(std::move(v));
    containers_.push_back(list);
  }

  void set_items(const std::vector<ValuePtr>& kv) {
    if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    ValuePtr dict = top("SETITEM");
    if (dict->kind != Value::Kind::Dict) fail(std::string("SETITEM on a ") + kind_name(dict->kind));
    for (std::size_t i = 0; i < kv.size(); i += 2) {
      if (kv[i]->kind != Value::Kind::String) {
        fail(std::string("dict key is a ") + kind_name(kv[i]->kind) + ", expected str");
      }
      bool replaced = false;
      for (auto& e : dict->entries) {
        if (e.first->text == kv[i]->text) {
          e.second = kv[i + 1];
          replaced = true;
        }
      }
      if (!replaced) dict->entries.emplace_back(kv[i], kv[i + 1]);
    }
    containers_.push_back(dict);
  }

  ValuePtr memo_get(std::uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }

  // GLOBAL: only the callables a state dict needs; the storage classes name the dtype.
  ValuePtr global() {
    const std::string module = line();
    const std::string name = line();
    const bool storage_class = module == "torch" && name.size() > 7 &&
                               name.compare(name.size() - 7, 7, "Storage") == 0;
    if (!(module == "collections" && name == "OrderedDict") &&
        !(module == "torch._utils" && name == "_rebuild_tensor_v2") && !storage_class) {
      fail("unsupported global '" + module + "." + name + "'");
    }
    ValuePtr v = make(Value::Kind::Global);
    v->text = module + "." + name;
    return v;
  }

  // PyTorch's persistent id for a storage: ('storage', torch.<Type>Storage, key, device, numel).
  ValuePtr persistent_id(const ValuePtr& pid) {
    const auto& t = pid->items;
    if (pid->kind != Value::Kind::Tuple || t.size() != 5 || t[0]->kind != Value::Kind::String ||
        t[0]->text != "storage" || t[1]->kind != Value::Kind::Global ||
        t[2]->kind != Value::Kind::String || t[3]->kind != Value::Kind::String ||
        t[4]->kind != Value::Kind::Int) {
      fail("persistent id is not ('storage', torch.<Type>Storage, key, device, numel)");
    }
    if (t[4]->number < 0) fail("storage numel " + std::to_string(t[4]->number) + " < 0");
    ValuePtr v = make(Value::Kind::Storage);
    v->tensor.storage_type = t[1]->text.substr(t[1]->text.find('.') + 1);
    v->tensor.storage_key = t[2]->text;
    v->tensor.device = t[3]->text;
    v->tensor.storage_numel = t[4]->number;
    return v;
  }

  std::vector<Index> int_tuple(const ValuePtr& v, const char* what) {
    if (v->kind != Value::Kind::Tuple) fail(std::string("tensor ") + what + " is not a tuple");
    std::vector<Index> out;
    for (const ValuePtr& x : v->items) {
      if (x->kind != Value::Kind::Int) fail(std::string("tensor ") + what + " holds a non-int");
      out.push_back(x->number);
    }
    return out;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::Global) {
      fail(std::string("REDUCE calls a ") + kind_name(callable->kind));
    }
    if (args->kind != Value::Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    if (callable->text == "collections.OrderedDict") {
      if (!a.empty()) fail("OrderedDict called with arguments");
      return make(Value::Kind::Dict);
    }
    if (callable->text == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() != 6 && a.size() != 7) {
        fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(a.size()));
      }
      if (a[0]->kind != Value::Kind::Storage) fail("_rebuild_tensor_v2: argument 0 is not a storage");
      if (a[1]->kind != Value::Kind::Int) fail("_rebuild_tensor_v2: storage offset is not an int");
      if (a[4]->kind != Value::Kind::Bool) fail("_rebuild_tensor_v2: requires_grad is not a bool");
      ValuePtr v = make(Value::Kind::Tensor);
      v->tensor = a[0]->tensor;
      v->tensor.storage_offset = a[1]->number;
      v->tensor.size = int_tuple(a[2], "size");
      v->tensor.stride = int_tuple(a[3], "stride");
      v->tensor.requires_grad = a[4]->number != 0;
      return v;
    }
    fail("REDUCE of '" + callable->text + "' is not supported");
  }

  // Containers that received items: a list appended to itself through the memo is a reference
  // cycle that shared_ptr never frees; release_all() empties them once the result is read.
  std::vector<std::weak_ptr<Value>> containers_;
  const std::vector<std::uint8_t>& b_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
};

}  // namespace

std::vector<TorchTensorRef> parse_torch_state_dict_pickle(const std::vector<std::uint8_t>& bytes,
                                                          const std::string& source) {
  Machine machine(bytes, source);
  const ValuePtr root = machine.run();  // released (cycles included) when `machine` goes
  if (root->kind != Value::Kind::Dict) {
    throw std::runtime_error(source + ": pickle holds a " + kind_name(root->kind) +
                             ", expected a state dict (a dict of name -> tensor)");
  }
  std::vector<TorchTensorRef> out;
  out.reserve(root->entries.size());
  for (const auto& [key, value] : root->entries) {
    if (value->kind != Value::Kind::Tensor) {
      throw std::runtime_error(source + ": state dict entry '" + key->text + "' is a " +
                               kind_name(value->kind) + ", expected a tensor");
    }
    TorchTensorRef t = value->tensor;
    t.name = key->text;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace lagrad
