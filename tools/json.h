#pragma once
// A small ordered JSON value for the tool's machine-readable output (bench, evaluate, info).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lagrad::tool {

class Json {
 public:
  Json() : kind_(Kind::Null) {}
  Json(bool b) : kind_(Kind::Bool), b_(b) {}
  Json(double d) : kind_(Kind::Number), d_(d) {}
  Json(int i) : kind_(Kind::Number), d_(i) {}
  Json(std::int64_t i) : kind_(Kind::Number), d_(static_cast<double>(i)) {}
  Json(const char* s) : kind_(Kind::String), s_(s) {}
  Json(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
  static Json object() { Json j; j.kind_ = Kind::Object; return j; }
  static Json array() { Json j; j.kind_ = Kind::Array; return j; }

  // Object: sets (or replaces) a key, keeping insertion order. Array: appends.
  Json& set(const std::string& key, Json value);
  Json& push(Json value);
  Json* find(const std::string& key);
  std::string dump(int indent = 2) const;

 private:
  enum class Kind { Null, Bool, Number, String, Array, Object } kind_;
  bool b_ = false;
  double d_ = 0;
  std::string s_;
  std::vector<std::pair<std::string, Json>> items_;  // object entries, or array items (empty keys)
  void dump_to(std::string& out, int indent, int depth) const;
};

}  // namespace lagrad::tool
