// Builds against the installed package: one umbrella include, one target.
#include <lagrad/lagrad.h>

#include <cstdio>

int main() {
  lagrad::Tensor x = lagrad::Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  x.set_requires_grad();
  lagrad::Tensor loss = lagrad::sum(lagrad::mul(x, x));
  lagrad::backward(loss);
  // d/dx sum(x^2) = 2x
  const bool ok = x.grad().to_vector() == std::vector<float>{2, 4, 6, 8};
  std::printf("consumer: loss=%g grad %s\n", loss.item(), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
