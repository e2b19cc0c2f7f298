// wgprune's native addon, max pooling (not oneDNN's): forward, with or without the backend's argmax (the flat index of each window's maximum in its input plane, as a float; -1 for a
// window wholly in the padding). oneDNN's max pooling keeps its argmax in an opaque workspace;
// onnxruntime's MaxPool with indices took 7 ms per call on vgg-small's [64, 32, 28, 28], and a float32
// loop in JavaScript was slower still (2.2 ms against onnxruntime's 1.1 on LeNet-5's first pool). Definition: reference.maxPool / maxPoolBackward (src/cpu/reference.ts): taps in
// row-major order, the first maximum wins ties. Planes (sample, channel) run in parallel (OpenMP); 2x2
// windows of stride 2 (VGG's, LeNet's) take a loop without bounds checks: 6x faster on LeNet-5's first pool.
#include <algorithm>
#include <string>
#include "common.h"

using namespace wgprune;

namespace {

// Reads (geometry, three float32 arrays), each array sized as `sizes` says: 'i' the input planes, 'o'
// the output planes. False, with a JavaScript error thrown, otherwise.
// A lower-case size letter marks an array that may be null.
bool poolArguments(napi_env env, napi_callback_info info, const char* name, const char* sizes, Window& w, float* arrays[3]) {
  napi_value argv[4];
  if (!arguments(env, info, 4, argv, name)) return false;
  int32_t* g;
  size_t count;
  bool ok = array(env, argv[0], &g, &count) && g && count == 13;
  if (ok) w = {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12]};
  for (int i = 0; ok && i < 3; i++) {
    size_t length;
    const int64_t want = (sizes[i] | 0x20) == 'i' ? w.planes * w.inH * w.inW : w.planes * w.outH * w.outW;
    const bool optional = sizes[i] >= 'a';
    ok = array(env, argv[i + 1], &arrays[i], &length) && (arrays[i] ? int64_t(length) == want : optional);
  }
  if (!ok) fail(env, std::string(name) + ": a geometry of 13 and Float32Arrays of its sizes expected");
  return ok;
}

}  // namespace

// One plane's windows: `y` (and `argmax`, where not null) its output plane.
void wgprune::maxPoolPlane(const Window& w, const float* in, float* y, float* argmax) {
  const bool pairs = w.kH == 2 && w.kW == 2 && w.sH == 2 && w.sW == 2 && w.pT == 0 && w.pL == 0 && w.dH == 1 && w.dW == 1;
  int64_t out = 0;
  if (pairs) {
    for (int64_t oy = 0; oy < w.outH; oy++) {
      const float *r0 = in + 2 * oy * w.inW, *r1 = r0 + w.inW;
      float *row = y + out, *at = argmax ? argmax + out : nullptr;
      // Row-major taps, the first maximum kept (a later tap must be larger), without branches: on
      // data they would mispredict half the time (4x slower). Indices are exact as floats below 2^24.
      const float top = float(2 * oy * w.inW), bottom = top + float(w.inW);
      if (at) {
#pragma omp simd
        // Vectorized by GCC with an int counter and -fno-trapping-math (scripts/build-onednn.mjs).
        for (int ox = 0; ox < int(w.outW); ox++) {
          const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1], x0 = float(2 * ox);
          float v = a, i = top + x0;
          i = b > v ? top + x0 + 1 : i; v = b > v ? b : v;
          i = c > v ? bottom + x0 : i; v = c > v ? c : v;
          i = d > v ? bottom + x0 + 1 : i; v = d > v ? d : v;
          row[ox] = v;
          at[ox] = i;
        }
      } else {
#pragma omp simd
        for (int64_t ox = 0; ox < w.outW; ox++) row[ox] = std::max(std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), r1[2 * ox]), r1[2 * ox + 1]);
      }
      out += w.outW;
    }
    return;
  }
  for (int64_t oy = 0; oy < w.outH; oy++)
    for (int64_t ox = 0; ox < w.outW; ox++, out++) {
      int64_t best = -1;
      float value = 0;
      for (int64_t ky = 0; ky < w.kH; ky++) {
        const int64_t iy = oy * w.sH - w.pT + ky * w.dH;
        if (iy < 0 || iy >= w.inH) continue;
        for (int64_t kx = 0; kx < w.kW; kx++) {
          const int64_t ix = ox * w.sW - w.pL + kx * w.dW;
          if (ix < 0 || ix >= w.inW) continue;
          const float v = in[iy * w.inW + ix];
          if (best < 0 || v > value) { best = iy * w.inW + ix; value = v; }
        }
      }
      y[out] = value;
      if (argmax) argmax[out] = float(best);
    }
}

// maxPool(geometry: Int32Array(13), x, y, argmax | null): without argmax, the values only (inference).
napi_value wgprune::MaxPool(napi_env env, napi_callback_info info) {
  Window w;
  float* arrays[3];
  if (!poolArguments(env, info, "maxPool", "IOo", w, arrays)) return nullptr;
  const float* x = arrays[0];
  float *y = arrays[1], *argmax = arrays[2];
  const int64_t outPlane = w.outH * w.outW;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < w.planes; p++) maxPoolPlane(w, x + p * w.inH * w.inW, y + p * outPlane, argmax ? argmax + p * outPlane : nullptr);
  return nullptr;
}

// maxPoolBackward(geometry: Int32Array(13), dy, argmax, dx): dx zeroed, then each dy added at its argmax.
napi_value wgprune::MaxPoolBackward(napi_env env, napi_callback_info info) {
  Window w;
  float* arrays[3];
  if (!poolArguments(env, info, "maxPoolBackward", "OOI", w, arrays)) return nullptr;
  const float *dy = arrays[0], *argmax = arrays[1];
  float* dx = arrays[2];
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < w.planes; p++) {
    float* plane = dx + p * w.inH * w.inW;
    for (int64_t i = 0; i < w.inH * w.inW; i++) plane[i] = 0;
    for (int64_t o = p * w.outH * w.outW, end = o + w.outH * w.outW; o < end; o++)
      if (argmax[o] >= 0) plane[int64_t(argmax[o])] += dy[o];
  }
  return nullptr;
}
