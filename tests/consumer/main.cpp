// Builds against the installed package exactly as a user would: one umbrella include, one
// target, and none of lagrad's own compile flags. run_consumer_test.cmake configures it without
// -march; lagrad itself was built with LAGRAD_NATIVE_ARCH (AVX on the test machines).
#include <lagrad/lagrad.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

// -march=native must stay lagrad's own: the x86-64 baseline has no AVX, so __AVX__ here means
// the flag leaked through the exported targets.
#if defined(__AVX__)
#error "lagrad's -march flags leaked into the consumer (__AVX__ is defined)"
#endif
// Installed headers are reached as <lagrad/...> only; include/lagrad must not be on the path.
#if __has_include("core/tensor.h")
#error "\"core/tensor.h\" resolves: include/lagrad is on the consumer's include path"
#endif
#if !__has_include(<lagrad/core/tensor.h>)
#error "<lagrad/core/tensor.h> does not resolve"
#endif
// The Eigen ABI that lagrad was compiled with reaches the consumer (lagrad::lagrad's INTERFACE
// compile definitions): same heap and static alignment on both sides of the library boundary.
static_assert(EIGEN_MAX_ALIGN_BYTES == 64 && EIGEN_MAX_STATIC_ALIGN_BYTES == 64,
              "lagrad's EIGEN_MAX_ALIGN_BYTES / EIGEN_MAX_STATIC_ALIGN_BYTES did not reach the consumer");
static_assert(EIGEN_DEFAULT_ALIGN_BYTES == 64, "Eigen's default alignment differs from lagrad's");

namespace {

int failures = 0;

void check_close(const char* what, const std::vector<float>& got, const std::vector<double>& want) {
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i)
    ok = std::abs(got[i] - want[i]) <= 1e-5 * (1.0 + std::abs(want[i]));
  std::printf("consumer: %-28s %s\n", what, ok ? "ok" : "WRONG");
  if (!ok) {
    ++failures;
    for (size_t i = 0; i < got.size() || i < want.size(); ++i)
      std::printf("  [%zu] got %.7g want %.7g\n", i, i < got.size() ? got[i] : NAN,
                  i < want.size() ? want[i] : NAN);
  }
}

std::vector<float> values(const lagrad::Tensor& t) { return t.to_vector(); }

// Fills a tensor through its Eigen view: Tensor::matrix() is an Eigen::Map the consumer writes.
void fill(const lagrad::Tensor& t, const std::vector<float>& v) {
  lagrad::MatrixMap m = t.matrix();
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) m(r, c) = v[static_cast<size_t>(r * m.cols() + c)];
}

// Tensor storage comes from Eigen::aligned_allocator inside lagrad; with the agreed ABI its data
// is aligned to EIGEN_MAX_ALIGN_BYTES whichever side asks.
void check_tensor_views() {
  lagrad::Tensor a = lagrad::Tensor::zeros({3, 5});
  fill(a, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  const bool aligned = reinterpret_cast<std::uintptr_t>(a.data()) % EIGEN_MAX_ALIGN_BYTES == 0;
  std::printf("consumer: %-28s %s\n", "tensor data 64-byte aligned", aligned ? "ok" : "WRONG");
  failures += aligned ? 0 : 1;
  // The consumer's own Eigen product of lagrad's view against a lagrad op.
  const lagrad::RowMatrix mine = a.matrix() * a.matrix().transpose();
  lagrad::Tensor theirs = lagrad::matmul(a, lagrad::Tensor::from_vector({5, 3}, [&] {
    std::vector<float> t(15);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 5; ++c) t[c * 3 + r] = a.at({r, c});
    return t;
  }()));
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 5; ++k) s += double(5 * i + k + 1) * double(5 * j + k + 1);
      want.push_back(s);
    }
  check_close("matmul vs direct sum", values(theirs), want);
  check_close("Eigen on matrix() views", std::vector<float>(mine.data(), mine.data() + 9), want);
}

// Dense forward and backward against y = x W^T + b and loss = sum(y^2) written out here.
void check_dense() {
  const int n = 4, in = 3, out = 2;
  lagrad::Dense dense(lagrad::DenseOptions(out).in_features(in));
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, 0.75f, -0.5f}, b = {0.1f, -0.2f};
  fill(dense.weight(), w);
  fill(dense.bias(), b);
  const std::vector<float> xv = {1, 2, 3, -1, 0.5f, 2, 0, -3, 1, 4, 1, -2};
  lagrad::Tensor x = lagrad::Tensor::from_vector({n, in}, xv);
  x.set_requires_grad();
  lagrad::Tensor y = dense.forward(x);
  lagrad::Tensor loss = lagrad::sum(lagrad::mul(y, y));
  lagrad::backward(loss);

  std::vector<double> want_y(n * out), want_dx(n * in, 0.0), want_dw(out * in, 0.0), want_db(out, 0.0);
  for (int r = 0; r < n; ++r)
    for (int o = 0; o < out; ++o) {
      double s = b[o];
      for (int i = 0; i < in; ++i) s += double(xv[r * in + i]) * w[o * in + i];
      want_y[r * out + o] = s;
      const double g = 2 * s;  // d loss / d y
      want_db[o] += g;
      for (int i = 0; i < in; ++i) {
        want_dw[o * in + i] += g * xv[r * in + i];
        want_dx[r * in + i] += g * w[o * in + i];
      }
    }
  check_close("Dense forward", values(y), want_y);
  check_close("Dense d/dx", values(x.grad()), want_dx);
  check_close("Dense d/dweight", values(dense.weight().grad()), want_dw);
  check_close("Dense d/dbias", values(dense.bias().grad()), want_db);
}

// ContinuousConv with a 1x1x1 kernel: every neighbor lands in the one cell, so with normalize
// the output is the mean over the points within extent/2 of f_i K, plus the bias.
void check_continuous_conv() {
  const int n = 5, in = 2, out = 3;
  const std::vector<float> pos = {0, 0, 0, 0.3f, 0, 0, 0, 0.35f, 0, 2, 2, 2, 2.2f, 2, 2};
  const std::vector<float> feat = {1, 2, -1, 0.5f, 3, -2, 0.25f, 1, -4, 2};
  const std::vector<float> k = {0.5f, -1, 2, 1.5f, 0.25f, -0.75f}, b = {0.5f, 0, -1};
  const float extent = 1.0f;  // radius 0.5
  lagrad::ContinuousConv conv(lagrad::ContinuousConvOptions(out, {1, 1, 1}).in_channels(in));
  fill(conv.kernel().view({in, out}), k);
  fill(conv.bias(), b);
  lagrad::Tensor p = lagrad::Tensor::from_vector({n, 3}, pos);
  lagrad::Tensor y = conv.forward(lagrad::Tensor::from_vector({n, in}, feat), p, p, extent);

  std::vector<double> want(n * out);
  for (int j = 0; j < n; ++j) {
    int count = 0;
    std::vector<double> acc(out, 0.0);
    for (int i = 0; i < n; ++i) {
      double d2 = 0;
      for (int a = 0; a < 3; ++a) d2 += std::pow(double(pos[i * 3 + a]) - pos[j * 3 + a], 2);
      if (d2 > 0.25) continue;
      ++count;
      for (int o = 0; o < out; ++o)
        for (int c = 0; c < in; ++c) acc[o] += double(feat[i * in + c]) * k[c * out + o];
    }
    for (int o = 0; o < out; ++o) want[j * out + o] = acc[o] / count + b[o];
  }
  check_close("ContinuousConv forward", values(y), want);
}

}  // namespace

int main() {
  try {
    check_tensor_views();
    check_dense();
    check_continuous_conv();
  } catch (const std::exception& e) {
    std::printf("consumer: error: %s\n", e.what());
    return 1;
  }
  std::printf("consumer: %s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
