#include "optim/optimizer.h"

#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

namespace lagrad {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

}  // namespace

Optimizer::Optimizer(std::string kind, NamedTensors params, float lr)
    : kind_(std::move(kind)), params_(std::move(params)), lr_(0.0f) {
  if (params_.empty())
    throw std::invalid_argument(kind_ + ": no parameters to optimize (an empty list; a model's lazy layers create "
                                "theirs on the first forward or build(width))");
  std::map<std::string, int> seen;
  for (const auto& [n, t] : params_) {
    if (n.empty()) throw std::invalid_argument(kind_ + ": a parameter has an empty name");
    if (!t.defined()) throw std::invalid_argument(kind_ + ": parameter '" + n + "' is undefined");
    if (seen[n]++) throw std::invalid_argument(kind_ + ": parameter name '" + n + "' appears twice");
  }
  set_lr(lr);
}

void Optimizer::require(bool ok, const std::string& what, const std::string& range, double value) const {
  if (ok) return;
  std::ostringstream os;
  os << kind_ << ": " << what << " must be " << range << ", got " << value;
  throw std::invalid_argument(os.str());
}

void Optimizer::set_lr(float lr) {
  require(std::isfinite(lr) && lr >= 0.0f, "lr", "finite and >= 0", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.second.zero_grad();
}

Tensor Optimizer::add_state(size_t param_index, const std::string& slot) {
  const auto& [pname, p] = params_.at(param_index);
  Tensor t(p.shape());
  t.set_name(pname + "." + slot);
  state_.emplace_back(t.name(), t);
  return t;
}

NamedTensors Optimizer::state_tensors() const { return state_; }

void Optimizer::load_state(const NamedTensors& state, Index step_count) {
  std::vector<std::string> missing, unexpected, mismatched, duplicated;
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, t] : state) {
    if (given.count(n)) duplicated.push_back(n);
    given[n] = &t;
  }
  for (const auto& [n, t] : state_) {
    auto it = given.find(n);
    if (it == given.end()) {
      missing.push_back(n);
      continue;
    }
    const Tensor& g = *it->second;
    if (!g.defined() || g.shape() != t.shape())
      mismatched.push_back(n + " expected " + shape_str(t.shape()) + ", got " +
                           (g.defined() ? shape_str(g.shape()) : std::string("undefined")));
    given.erase(it);
  }
  for (const auto& kv : given) unexpected.push_back(kv.first);

  std::string msg;
  auto section = [&](const char* title, const std::vector<std::string>& items) {
    if (!items.empty()) msg += std::string(msg.empty() ? "" : "; ") + title + ": " + join(items);
  };
  section("missing", missing);
  section("unexpected", unexpected);
  section("shape mismatch", mismatched);
  section("duplicated", duplicated);
  if (step_count < 0) msg += std::string(msg.empty() ? "" : "; ") + "step count " + std::to_string(step_count) + " < 0";
  if (!msg.empty()) throw std::invalid_argument(kind_ + ": load_state: " + msg);

  // Everything checked: now copy (name lookups cannot fail any more).
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : state) by_name[n] = &t;
  for (auto& [n, t] : state_) t.copy_from(*by_name.at(n));
  step_ = step_count;
}

}  // namespace lagrad
