// Module train/eval mode: on by default, set recursively on every descendant, inherited by a
// child registered later, and local to the subtree it is set on.
#include <doctest/doctest.h>

#include <memory>

#include "layers/continuous_conv.h"
#include "layers/dense.h"
#include "layers/module.h"

namespace lagrad {
namespace {

struct Tree {
  std::shared_ptr<Module> root = std::make_shared<Module>();
  std::shared_ptr<Module> child = std::make_shared<Module>();
  std::shared_ptr<Module> sibling = std::make_shared<Module>();
  std::shared_ptr<Module> grandchild = std::make_shared<Module>();
  Tree() {
    child->register_module("grandchild", grandchild);
    root->register_module("child", child);
    root->register_module("sibling", sibling);
  }
  bool all(bool training) const {
    return root->is_training() == training && child->is_training() == training &&
           sibling->is_training() == training && grandchild->is_training() == training;
  }
};

TEST_CASE("Module: train() and eval() reach every descendant") {
  Tree t;
  CHECK(t.all(true));  // training by default
  t.root->eval();
  CHECK(t.all(false));
  t.root->train();
  CHECK(t.all(true));
  t.root->train(false);
  CHECK(t.all(false));
  t.root->train(true);
  CHECK(t.all(true));
}

TEST_CASE("Module: the mode set on a subtree stays in it") {
  Tree t;
  t.child->eval();
  CHECK(t.root->is_training());
  CHECK(t.sibling->is_training());
  CHECK(!t.child->is_training());
  CHECK(!t.grandchild->is_training());
  t.root->train();  // the parent's call overrides the subtree's
  CHECK(t.all(true));
}

TEST_CASE("Module: a child registered into a module in eval mode takes its mode") {
  Module root;
  root.eval();
  auto late = std::make_shared<Module>();
  auto late_child = std::make_shared<Module>();
  late->register_module("x", late_child);
  CHECK(late_child->is_training());
  root.register_module("late", late);
  CHECK(!late->is_training());
  CHECK(!late_child->is_training());
}

TEST_CASE("Module: layers as children follow their parent's mode") {
  Module net;
  auto conv = net.register_module("conv", std::make_shared<ContinuousConv>(ContinuousConvOptions(2, {2, 2, 2})));
  auto head = net.register_module("head", std::make_shared<Dense>(DenseOptions(1).in_features(2)));
  net.eval();
  CHECK(!conv->is_training());
  CHECK(!head->is_training());
  net.train();
  CHECK(conv->is_training());
  CHECK(head->is_training());
}

}  // namespace
}  // namespace lagrad
