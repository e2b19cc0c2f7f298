// wgprune's native addon, the optimizer steps (not oneDNN's): SGD with momentum and Adam, in place on
// float32 arrays the caller owns, as src/native/kernels.ts defines them (arithmetic in double, as the
// JavaScript loops did, so that both give the same floats). A masked entry (mask 0) and its state are
// set to 0. Large tensors run in parallel (OpenMP); below kParallel entries the threads' start costs
// more than the loop. One call per parameter, where a JavaScript loop took 14 ns per weight (Adam).
#include <cmath>
#include "common.h"

using namespace wgprune;

namespace {

constexpr int64_t kParallel = 1 << 15;

// Reads `count` Float32Arrays of one length from argv (the last may be null: the mask), then `scalars` numbers.
bool optimizerArguments(napi_env env, napi_callback_info info, const char* name, int count, int scalars, float** arrays, double* values, int64_t& size) {
  napi_value argv[12];
  if (!arguments(env, info, count + scalars, argv, name)) return false;
  for (int i = 0; i < count; i++) {
    size_t length;
    if (!array(env, argv[i], &arrays[i], &length) || (!arrays[i] && i < count - 1) || (arrays[i] && i > 0 && int64_t(length) != size)) {
      fail(env, std::string(name) + ": Float32Arrays of one length expected (the mask may be null)");
      return false;
    }
    if (i == 0) size = int64_t(length);
  }
  for (int i = 0; i < scalars; i++)
    if (napi_get_value_double(env, argv[count + i], &values[i]) != napi_ok) { fail(env, std::string(name) + ": numbers expected"); return false; }
  return true;
}

}  // namespace

// sgdStep(w, grad, velocity, mask | null, lr, momentum, weightDecay).
napi_value wgprune::SgdStep(napi_env env, napi_callback_info info) {
  float* a[4];
  double s[3];
  int64_t size;
  if (!optimizerArguments(env, info, "sgdStep", 4, 3, a, s, size)) return nullptr;
  float *w = a[0], *grad = a[1], *velocity = a[2], *mask = a[3];
  const double lr = s[0], momentum = s[1], decay = s[2];
#pragma omp parallel for schedule(static) if (size > kParallel)
  for (int64_t i = 0; i < size; i++) {
    if (mask && mask[i] == 0) { w[i] = 0; velocity[i] = 0; continue; }
    const double v = momentum * velocity[i] + (grad[i] + decay * w[i]);
    velocity[i] = float(v);
    w[i] = float(w[i] - lr * v);
  }
  return nullptr;
}

// adamStep(w, grad, m, v, mask | null, lr, beta1, beta2, epsilon, weightDecay, step): PyTorch's Adam with L2 decay; step counts from 1.
napi_value wgprune::AdamStep(napi_env env, napi_callback_info info) {
  float* a[5];
  double s[6];
  int64_t size;
  if (!optimizerArguments(env, info, "adamStep", 5, 6, a, s, size)) return nullptr;
  float *w = a[0], *grad = a[1], *m = a[2], *v = a[3], *mask = a[4];
  const double lr = s[0], beta1 = s[1], beta2 = s[2], epsilon = s[3], decay = s[4];
  const double c1 = 1 - std::pow(beta1, s[5]), c2 = 1 - std::pow(beta2, s[5]);
#pragma omp parallel for schedule(static) if (size > kParallel)
  for (int64_t i = 0; i < size; i++) {
    if (mask && mask[i] == 0) { w[i] = 0; m[i] = 0; v[i] = 0; continue; }
    const double g = grad[i] + decay * w[i];
    const double mi = beta1 * m[i] + (1 - beta1) * g, vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = float(mi);
    v[i] = float(vi);
    w[i] = float(w[i] - lr * ((mi / c1) / (std::sqrt(vi / c2) + epsilon)));
  }
  return nullptr;
}
