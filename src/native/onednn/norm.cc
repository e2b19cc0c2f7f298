// wgprune's native addon, batch norm's training passes (not oneDNN's) on float32 NCHW arrays the caller
// owns, as src/cpu/reference.ts defines them: the batch mean, the biased variance (two passes), y =
// (x - mean) invStd gamma + beta; backward through the batch statistics. oneDNN's batch norm on plain
// NCHW arrays took twice PyTorch's time (resnet20 at 28x28, batch 64: 0.61 ms forward and 0.83 ms
// backward per layer against 0.36 and 0.34). Channels run in parallel (OpenMP); within a channel each
// sample's run of `spatial` values is summed in float (vectorized) and the runs in double.
#include <cmath>
#include <vector>
#include "common.h"

using namespace wgprune;

namespace {

// Reads (n, c, spatial, then `count` Float32Arrays, each [n, c, spatial] or [c] as `sizes` says: 'x' or 'c').
bool normArguments(napi_env env, napi_callback_info info, const char* name, const char* sizes, int64_t d[3], float** arrays, double* epsilon) {
  const int count = int(std::strlen(sizes)), first = epsilon ? 4 : 3;
  napi_value argv[12];
  if (!arguments(env, info, first + count, argv, name)) return false;
  for (int i = 0; i < 3; i++)
    if (napi_get_value_int64(env, argv[i], &d[i]) != napi_ok || d[i] < 1) { fail(env, std::string(name) + ": n, c and spatial must be positive integers"); return false; }
  if (epsilon && napi_get_value_double(env, argv[3], epsilon) != napi_ok) { fail(env, std::string(name) + ": epsilon must be a number"); return false; }
  for (int i = 0; i < count; i++) {
    size_t length;
    const int64_t want = sizes[i] == 'x' ? d[0] * d[1] * d[2] : d[1];
    if (!array(env, argv[first + i], &arrays[i], &length) || !arrays[i] || int64_t(length) != want) {
      fail(env, std::string(name) + ": argument " + std::to_string(first + i) + " must be a Float32Array of " + std::to_string(want));
      return false;
    }
  }
  return true;
}

// The sum of f(i) over one run of `spatial` values, in float (the compiler vectorizes it).
template <typename F>
inline float runSum(int64_t spatial, F f) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < spatial; i++) s += f(i);
  return s;
}

}  // namespace

// batchNormForward(n, c, spatial, epsilon, x, gamma, beta, y, mean, invStd, variance).
napi_value wgprune::BatchNormForward(napi_env env, napi_callback_info info) {
  int64_t d[3];
  float* a[7];
  double epsilon;
  if (!normArguments(env, info, "batchNormForward", "xccxccc", d, a, &epsilon)) return nullptr;
  const int64_t n = d[0], c = d[1], sp = d[2];
  const float *x = a[0], *gamma = a[1], *beta = a[2];
  float *y = a[3], *meanOut = a[4], *invStdOut = a[5], *varOut = a[6];
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < c; k++) {
    double sum = 0, squares = 0;
    for (int64_t b = 0; b < n; b++) {
      const float* run = x + (b * c + k) * sp;
      sum += runSum(sp, [&](int64_t i) { return run[i]; });
    }
    const float mean = float(sum / double(n * sp));
    for (int64_t b = 0; b < n; b++) {
      const float* run = x + (b * c + k) * sp;
      squares += runSum(sp, [&](int64_t i) { return (run[i] - mean) * (run[i] - mean); });
    }
    const double variance = squares / double(n * sp);
    const float invStd = float(1 / std::sqrt(variance + epsilon)), scale = invStd * gamma[k], shift = beta[k] - mean * scale;
    for (int64_t b = 0; b < n; b++) {
      const float* run = x + (b * c + k) * sp;
      float* out = y + (b * c + k) * sp;
#pragma omp simd
      for (int64_t i = 0; i < sp; i++) out[i] = run[i] * scale + shift;
    }
    meanOut[k] = mean;
    invStdOut[k] = invStd;
    varOut[k] = float(variance);
  }
  return nullptr;
}

// batchNormBackward(n, c, spatial, dy, x, gamma, mean, invStd, dx, dGamma, dBeta).
napi_value wgprune::BatchNormBackward(napi_env env, napi_callback_info info) {
  int64_t d[3];
  float* a[8];
  if (!normArguments(env, info, "batchNormBackward", "xxcccxcc", d, a, nullptr)) return nullptr;
  const int64_t n = d[0], c = d[1], sp = d[2];
  const float *dy = a[0], *x = a[1], *gamma = a[2], *means = a[3], *invStds = a[4];
  float *dx = a[5], *dGamma = a[6], *dBeta = a[7];
  const double count = double(n * sp);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < c; k++) {
    const float mean = means[k], invStd = invStds[k];
    double sumDy = 0, sumDyXHat = 0;
    for (int64_t b = 0; b < n; b++) {
      const float *g = dy + (b * c + k) * sp, *run = x + (b * c + k) * sp;
      sumDy += runSum(sp, [&](int64_t i) { return g[i]; });
      sumDyXHat += runSum(sp, [&](int64_t i) { return g[i] * ((run[i] - mean) * invStd); });
    }
    const float scale = gamma[k] * invStd, meanDy = float(sumDy / count), meanDyXHat = float(sumDyXHat / count);
    for (int64_t b = 0; b < n; b++) {
      const float *g = dy + (b * c + k) * sp, *run = x + (b * c + k) * sp;
      float* out = dx + (b * c + k) * sp;
#pragma omp simd
      for (int64_t i = 0; i < sp; i++) out[i] = scale * (g[i] - meanDy - (run[i] - mean) * invStd * meanDyXHat);
    }
    dBeta[k] = float(sumDy);
    dGamma[k] = float(sumDyXHat);
  }
  return nullptr;
}

// channelSum(n, c, spatial, x, sums): per channel, the sum over samples and positions (a bias's
// gradient), as batch norm's mean sums them. onnxruntime's ReduceSum took 0.1-0.2 ms per LeNet-5 layer
// at batch 64 (a session call and a fresh output array), most of a small model's bias gradients.
napi_value wgprune::ChannelSum(napi_env env, napi_callback_info info) {
  int64_t d[3];
  float* a[2];
  if (!normArguments(env, info, "channelSum", "xc", d, a, nullptr)) return nullptr;
  const int64_t n = d[0], c = d[1], spatial = d[2];
  const float* x = a[0];
#pragma omp parallel for schedule(static) if (n * c * spatial > (1 << 16))
  for (int64_t k = 0; k < c; k++) {
    double sum = 0;
    for (int64_t b = 0; b < n; b++) {
      const float* run = x + (b * c + k) * spatial;
      sum += runSum(spatial, [&](int64_t i) { return run[i]; });
    }
    a[1][k] = float(sum);
  }
  return nullptr;
}
