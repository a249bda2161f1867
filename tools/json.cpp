#include "json.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace lagrad::tool {

Json& Json::set(const std::string& key, Json value) {
  if (kind_ != Kind::Object) throw std::logic_error("Json::set on a non-object");
  for (auto& kv : items_)
    if (kv.first == key) {
      kv.second = std::move(value);
      return kv.second;
    }
  items_.emplace_back(key, std::move(value));
  return items_.back().second;
}

Json& Json::push(Json value) {
  if (kind_ != Kind::Array) throw std::logic_error("Json::push on a non-array");
  items_.emplace_back(std::string(), std::move(value));
  return items_.back().second;
}

Json* Json::find(const std::string& key) {
  for (auto& kv : items_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {
void escape(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}
}  // namespace

void Json::dump_to(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (kind_) {
    case Kind::Null: out += "null"; break;
    case Kind::Bool: out += b_ ? "true" : "false"; break;
    case Kind::Number: {
      if (!std::isfinite(d_)) {
        out += "null";  // JSON has no NaN/Inf
        break;
      }
      char buf[32];
      // Whole numbers (counts, steps) print exactly; others with 7 significant digits.
      if (d_ == std::floor(d_) && std::fabs(d_) < 9007199254740992.0)
        std::snprintf(buf, sizeof buf, "%.0f", d_);
      else
        std::snprintf(buf, sizeof buf, "%.7g", d_);
      out += buf;
      break;
    }
    case Kind::String: escape(out, s_); break;
    case Kind::Array:
    case Kind::Object: {
      const bool obj = kind_ == Kind::Object;
      out += obj ? '{' : '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        if (obj) {
          escape(out, items_[i].first);
          out += indent > 0 ? ": " : ":";
        }
        items_[i].second.dump_to(out, indent, depth + 1);
      }
      if (!items_.empty()) newline(depth);
      out += obj ? '}' : ']';
      break;
    }
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

}  // namespace lagrad::tool
