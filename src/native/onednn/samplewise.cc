// wgprune's native addon, a model's inference one sample at a time (NativeBackend.compileSamplewise): each
// thread takes a sample through every layer before the next, so that the maps between layers stay in its
// core's cache instead of crossing memory at every layer as a batch's do. A compacted ResNet-20 at batch
// 256 moves 8 MB per map of its first stage: op by op its 8 -> 8 convolutions ran at 113 GMAC/s where
// the same kernel on maps in cache runs 170 (scratch measurements, 2 AVX-512 cores; docs/backends.md).
// Convolutions run on direct-conv.cc (no dilation: any stride and groups), max pooling on pool.cc's plane
// loop; the other steps (pooling, a linear layer, sums, activations, channel copies and scales) are
// loops here.
// A plan is made once (samplewisePlan: the steps, the weights copied, each thread's maps and scratch
// allocated and zeroed) and run per batch (samplewiseRun).
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include "common.h"

using namespace wgprune;

namespace {

enum Op { kConv, kMaxPool, kGlobalAvgPool, kLinear, kAdd, kActivation, kPrelu, kAvgPool, kConcat, kScale, kGather, kOps };

// A step as the program encodes it (kStepInts ints; native/samplewise.ts): op, input slot (-1: the
// sample), second input (a residual, an addend, the channels concatenated after the input's, the
// channels' scales; -1: none), output slot, its function (convolution, linear layer, sum: 1 for a ReLU
// after it; activation: its code, backend.ts ACTIVATIONS' index), weight and bias (indices into the
// weights, -1: none: a layer's; an activation's alpha; PReLU's slopes; a gather's channel indices as
// floats), then the geometry of convolve() without its batch: inC, inH, inW, outC, outH, outW, groups,
// kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW (pools: their windows', average pooling's
// count-include-pad in place of groups; other steps: their input's and output's sizes).
constexpr int kStepInts = 7 + 17;

struct Step {
  int op, input, second, output, function;
  const float *weight = nullptr, *bias = nullptr;
  std::vector<int> g;
  DirectConv conv;     // kConv
  Window window{};     // kMaxPool
  size_t scratchAt = 0;  // kConv: where its scratch starts in a thread's scratch
};

struct Plan {
  std::vector<Step> steps;
  std::vector<int> slotFloats, outputSlots;
  std::vector<std::vector<float>> weights;
  size_t inputFloats = 0;
  std::vector<size_t> slotAt;  // where each slot starts in a thread's maps
  size_t mapFloats = 0, scratchFloats = 0;
  // Per thread: its maps (every slot) then every convolution's scratch, zeroed once (direct-conv.cc's
  // phases keep their padding zero).
  std::vector<std::vector<float>> threads;
};

size_t floatsOf(const std::vector<int>& g, bool output) { return size_t(output ? g[4] : g[1]) * (output ? g[5] : g[2]) * (output ? g[6] : g[3]); }

// Inlined into activateAll's loops with `code` a constant there, so that each loop keeps its own formula.
__attribute__((always_inline)) inline float activate(float v, int code, float alpha) {
  switch (code) {  // reference.activate (src/cpu/reference.ts)
    case 0: return std::max(0.f, v);
    case 1: return std::min(6.f, std::max(0.f, v));
    case 2: return v > 0 ? v : alpha * v;
    case 3: return 1 / (1 + std::exp(-v));
    case 4: return std::min(1.f, std::max(0.f, alpha * v + 0.5f));
    case 5: return v * std::min(1.f, std::max(0.f, v / 6 + 0.5f));
    case 6: return v / (1 + std::exp(-v));
    case 7: return 0.5f * v * (1 + std::erf(v * 0.70710678f));
    default: return 0.5f * v * (1 + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
  }
}

// `n` values, each through `f`.
template <typename F>
void mapValues(const float* in, float* out, size_t n, F f) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) out[i] = f(in[i]);
}
// The same for two inputs (a sum: with its ReLU's test inside the loop it took 24 ms a batch of 256
// 32x32x32 maps, 1.3 without it).
template <typename F>
void combineValues(const float* a, const float* b, float* out, size_t n, F f) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) out[i] = f(a[i], b[i]);
}

// `n` values through activation `code`, one loop per code: activate() called per value with the code a
// variable (a call and its switch per value) took 8-11 ms of a MobileNet pass's 77 on its ReLU6 steps
// (batch 256, 32x32; scratch).
template <int kCode>
void activateAs(const float* in, float* out, size_t n, float alpha) {
  mapValues(in, out, n, [alpha](float v) { return activate(v, kCode, alpha); });
}
void activateAll(const float* in, float* out, size_t n, int code, float alpha) {
  constexpr void (*kLoops[])(const float*, float*, size_t, float) = {
      activateAs<0>, activateAs<1>, activateAs<2>, activateAs<3>, activateAs<4>, activateAs<5>, activateAs<6>, activateAs<7>, activateAs<8>};
  kLoops[code](in, out, n, alpha);  // codes 0-8: checked when the plan is made
}

// The taps [first, last) of a window starting at `start` (stride, padding applied) with `k` taps `d`
// apart that land in [0, size).
std::pair<int, int> tapsInside(int start, int k, int d, int size) {
  if (d == 1) return {std::max(0, -start), std::max(std::max(0, -start), std::min(k, size - start))};  // no division
  const int first = start >= 0 ? 0 : (-start + d - 1) / d;
  const int last = start > size - 1 ? 0 : std::min(k, (size - 1 - start) / d + 1);
  return {first, std::max(first, last)};
}

// One average-pooling plane: reference.avgPool's divisor (the window within the padded input, or the
// pixels inside the image).
void averagePlane(const std::vector<int>& g, const float* in, float* out) {
  const int ih = g[2], iw = g[3], kh = g[8], kw = g[9];
  for (int oy = 0; oy < g[5]; oy++) {
    const int y0 = oy * g[10] - g[12];
    const auto rows = tapsInside(y0, kh, g[16], ih), paddedRows = tapsInside(y0 + g[12], kh, g[16], ih + g[14] + g[12]);
    for (int ox = 0; ox < g[6]; ox++) {
      const int x0 = ox * g[11] - g[13];
      const auto cols = tapsInside(x0, kw, g[17], iw), paddedCols = tapsInside(x0 + g[13], kw, g[17], iw + g[15] + g[13]);
      float sum = 0;
      for (int ky = rows.first; ky < rows.second; ky++) {
        const int row = (y0 + ky * g[16]) * iw + x0;
        for (int kx = cols.first; kx < cols.second; kx++) sum += in[row + kx * g[17]];
      }
      const int inside = (rows.second - rows.first) * (cols.second - cols.first);
      const int padded = (paddedRows.second - paddedRows.first) * (paddedCols.second - paddedCols.first);
      out[oy * g[6] + ox] = sum / float(g[7] ? padded : std::max(inside, 1));
    }
  }
}

void runStep(const Step& s, const float* in, const float* second, float* out, float* scratch) {
  const std::vector<int>& g = s.g;
  const size_t inPlane = size_t(g[2]) * g[3], outPlane = size_t(g[5]) * g[6], size = floatsOf(g, true);
  const bool relu = s.function == 1;
  switch (s.op) {
    case kConv: directImage(s.conv, in, s.weight, s.bias, relu, second, out, scratch); break;
    case kMaxPool:
      for (int c = 0; c < g[1]; c++) maxPoolPlane(s.window, in + c * inPlane, out + c * outPlane, nullptr);
      break;
    case kAvgPool:
      for (int c = 0; c < g[1]; c++) averagePlane(g, in + c * inPlane, out + c * outPlane);
      break;
    case kGlobalAvgPool:
      for (int c = 0; c < g[1]; c++) {
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (size_t i = 0; i < inPlane; i++) sum += in[c * inPlane + i];
        out[c] = sum / float(inPlane);
      }
      break;
    case kLinear:
      for (int o = 0; o < g[4]; o++) {
        const float* row = s.weight + size_t(o) * g[1];
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < g[1]; i++) sum += row[i] * in[i];
        if (s.bias) sum += s.bias[o];
        out[o] = relu ? std::max(0.f, sum) : sum;
      }
      break;
    case kAdd:
      if (relu) combineValues(in, second, out, size, [](float a, float b) { return std::max(0.f, a + b); });
      else combineValues(in, second, out, size, [](float a, float b) { return a + b; });
      break;
    case kActivation:
      activateAll(in, out, size, s.function, s.weight[0]);
      break;
    case kPrelu:  // each channel's slope read once (read per value, 20 ms a batch as the sum above)
      for (int c = 0; c < g[1]; c++) {
        const float slope = s.weight[c];
        mapValues(in + c * inPlane, out + c * inPlane, inPlane, [slope](float v) { return v > 0 ? v : slope * v; });
      }
      break;
    case kConcat:
      std::memcpy(out, in, floatsOf(g, false) * sizeof(float));
      std::memcpy(out + floatsOf(g, false), second, (size - floatsOf(g, false)) * sizeof(float));
      break;
    case kScale:
      for (int c = 0; c < g[1]; c++) {
        const float scale = second[c];
        mapValues(in + c * inPlane, out + c * inPlane, inPlane, [scale](float v) { return v * scale; });
      }
      break;
    case kGather:
      for (int c = 0; c < g[4]; c++) std::memcpy(out + c * outPlane, in + size_t(s.weight[c]) * inPlane, inPlane * sizeof(float));
      break;
  }
}

void deletePlan(napi_env, void* data, void*) { delete static_cast<Plan*>(data); }

// Why a program cannot run, or "" where it can.
std::string check(const Plan& p) {
  const int slots = int(p.slotFloats.size());
  std::vector<size_t> floats(p.slotFloats.begin(), p.slotFloats.end());
  for (size_t i = 0; i < p.steps.size(); i++) {
    const Step& s = p.steps[i];
    const std::vector<int>& g = s.g;
    const std::string at = "samplewisePlan: step " + std::to_string(i) + ": ";
    if (s.op < 0 || s.op >= kOps) return at + "unknown op " + std::to_string(s.op);
    if (s.input < -1 || s.input >= slots || s.second < -1 || s.second >= slots || s.output < 0 || s.output >= slots) return at + "a slot out of range";
    if (s.output == s.input || s.output == s.second) return at + "its output slot is one of its inputs";
    if (*std::min_element(g.begin(), g.end()) < 0 || g[1] < 1 || g[4] < 1) return at + "a negative or empty geometry";
    const size_t inFloats = s.input < 0 ? p.inputFloats : floats[s.input], outFloats = floatsOf(g, true);
    if (floatsOf(g, false) != inFloats || outFloats != floats[s.output]) return at + "its geometry does not match its slots' sizes";
    const bool paired = s.op == kAdd || s.op == kConcat || s.op == kScale || (s.op == kConv && s.second >= 0);
    if (paired && (s.second < 0 || floats[s.second] != (s.op == kConcat ? outFloats - inFloats : s.op == kScale ? size_t(g[1]) : outFloats)))
      return at + "its second input is missing or not the size it needs";
    if (s.op == kConv) {
      if (g[16] != 1 || g[17] != 1) return at + "a dilated convolution (the direct kernel has none)";
      if (g[7] < 1 || g[1] % g[7] || g[4] % g[7]) return at + "groups that do not divide the channels";
      if (g[10] < 1 || g[11] < 1 || g[8] < 1 || g[9] < 1) return at + "a kernel or stride below 1";
      // As conv.cc's rule for the direct kernel: it vectorises 16 output positions, and small maps leave
      // most lanes idle (ResNet-18's 2x2 maps at 64x64: 4x slower than op by op on oneDNN).
      if (g[5] * g[6] < kDirectMinPositions)
        return at + "a convolution with " + std::to_string(g[5] * g[6]) + " output positions (the direct kernel needs " + std::to_string(kDirectMinPositions) + ")";
    }
    if ((s.op == kMaxPool || s.op == kAvgPool) && (g[8] < 1 || g[9] < 1 || g[10] < 1 || g[11] < 1 || g[16] < 1 || g[17] < 1)) return at + "a window, stride or dilation below 1";
    if ((s.op == kConv || s.op == kLinear || s.op == kActivation || s.op == kPrelu || s.op == kGather) && !s.weight) return at + "no weight";
    if (s.op == kActivation && (s.function < 0 || s.function > 8)) return at + "unknown activation " + std::to_string(s.function);
    if (s.op == kGather)
      for (int c = 0; c < g[4]; c++)
        if (!(s.weight[c] >= 0 && s.weight[c] < g[1])) return at + "a channel index outside the input";
  }
  for (int slot : p.outputSlots)
    if (slot < 0 || slot >= slots) return "samplewisePlan: an output slot out of range";
  return "";
}

}  // namespace

// samplewisePlan(program: Int32Array, inputFloats, slotFloats: Int32Array, outputSlots: Int32Array,
// weights: (Float32Array | null)[]): the plan, an external value samplewiseRun takes. Each weight and
// bias must have the size its step's geometry gives (out x in x kH x kW; out).
napi_value wgprune::SamplewisePlan(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!arguments(env, info, 5, argv, "samplewisePlan")) return nullptr;
  if (!directConvSupported()) return fail(env, "samplewisePlan: this CPU has no AVX-512 (the direct convolution needs it)");
  int32_t *program, *slotFloats, *outputSlots;
  size_t programLength, slots, outputs;
  double inputFloats;
  uint32_t weightCount;
  if (!array(env, argv[0], &program, &programLength) || !program || programLength % kStepInts != 0 || napi_get_value_double(env, argv[1], &inputFloats) != napi_ok ||
      !array(env, argv[2], &slotFloats, &slots) || !slotFloats || !array(env, argv[3], &outputSlots, &outputs) || !outputSlots || napi_get_array_length(env, argv[4], &weightCount) != napi_ok)
    return fail(env, "samplewisePlan: (program: Int32Array, inputFloats, slotFloats: Int32Array, outputSlots: Int32Array, weights: array) expected");
  if (!(inputFloats >= 1)) return fail(env, "samplewisePlan: a sample of at least one value expected");
  auto plan = std::make_unique<Plan>();
  plan->inputFloats = size_t(inputFloats);
  plan->slotFloats.assign(slotFloats, slotFloats + slots);
  plan->outputSlots.assign(outputSlots, outputSlots + outputs);
  for (uint32_t i = 0; i < weightCount; i++) {
    napi_value v;
    float* data;
    size_t length;
    if (napi_get_element(env, argv[4], i, &v) != napi_ok || !array(env, v, &data, &length)) return fail(env, "samplewisePlan: weights must be Float32Arrays or null");
    plan->weights.emplace_back(data, data + length);
  }
  const auto weight = [&](int index, size_t floats, const float** to) {
    if (index < 0) return true;
    if (size_t(index) >= plan->weights.size() || plan->weights[index].size() != floats) return false;
    *to = plan->weights[index].data();
    return true;
  };
  for (size_t i = 0; i < programLength; i += kStepInts) {
    const int32_t* e = program + i;
    Step s{e[0], e[1], e[2], e[3], e[4]};
    s.g = std::vector<int>{1};
    s.g.insert(s.g.end(), e + 7, e + kStepInts);
    const std::vector<int>& g = s.g;
    // A 1x1 convolution of a 1x1 map (a squeeze-excitation's) is a matrix-vector product: the linear step.
    if (s.op == kConv && s.second < 0 && g[2] * g[3] * g[5] * g[6] * g[7] * g[8] * g[9] == 1 && g[12] + g[13] + g[14] + g[15] == 0) s.op = kLinear;
    const size_t weights = s.op == kConv ? size_t(g[4]) * (g[1] / std::max(1, g[7])) * g[8] * g[9] : s.op == kLinear ? size_t(g[4]) * g[1]
                           : s.op == kActivation ? 1 : s.op == kPrelu ? size_t(g[1]) : s.op == kGather ? size_t(g[4]) : 0;
    if (!weight(e[5], weights, &s.weight) || !weight(e[6], size_t(g[4]), &s.bias))
      return fail(env, "samplewisePlan: step " + std::to_string(i / kStepInts) + ": a weight or bias whose size does not match its geometry");
    plan->steps.push_back(std::move(s));
  }
  const std::string why = check(*plan);
  if (!why.empty()) return fail(env, why);
  for (Step& s : plan->steps) {
    const std::vector<int>& g = s.g;
    if (s.op == kConv) {
      s.conv = directPlan(g);
      s.scratchAt = plan->scratchFloats;
      plan->scratchFloats += s.conv.scratchFloats();
    }
    if (s.op == kMaxPool) s.window = {1, g[2], g[3], g[5], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[16], g[17]};
  }
  for (int floats : plan->slotFloats) {
    plan->slotAt.push_back(plan->mapFloats);
    plan->mapFloats += (size_t(floats) + 15) / 16 * 16;  // each map on its own cache lines
  }
  plan->threads.resize(omp_get_max_threads());
  for (auto& t : plan->threads) t.assign(plan->mapFloats + plan->scratchFloats, 0.f);
  napi_value result;
  if (napi_create_external(env, plan.get(), deletePlan, nullptr, &result) != napi_ok) return fail(env, "samplewisePlan: could not wrap the plan");
  plan.release();
  return result;
}

// samplewiseRun(plan, x: Float32Array (batch x inputFloats), outputs: Float32Array[] (one per output
// slot, batch x its floats)).
napi_value wgprune::SamplewiseRun(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!arguments(env, info, 3, argv, "samplewiseRun")) return nullptr;
  void* data;
  float* x;
  size_t length;
  uint32_t outputCount;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data || !array(env, argv[1], &x, &length) || !x || napi_get_array_length(env, argv[2], &outputCount) != napi_ok)
    return fail(env, "samplewiseRun: (plan, x: Float32Array, outputs: Float32Array[]) expected");
  Plan& p = *static_cast<Plan*>(data);
  if (p.threads.empty()) return fail(env, "samplewiseRun: the plan was released");
  if (length % p.inputFloats != 0) return fail(env, "samplewiseRun: x is not a whole batch of samples");
  const int batch = int(length / p.inputFloats);
  if (outputCount != p.outputSlots.size()) return fail(env, "samplewiseRun: one output array per output slot expected");
  std::vector<float*> outputs(outputCount);
  for (uint32_t k = 0; k < outputCount; k++) {
    napi_value v;
    size_t n;
    napi_get_element(env, argv[2], k, &v);
    if (!array(env, v, &outputs[k], &n) || !outputs[k] || n != size_t(batch) * p.slotFloats[p.outputSlots[k]]) return fail(env, "samplewiseRun: output " + std::to_string(k) + " is not batch x its slot's size");
  }
  const int threads = std::min<int>(int(p.threads.size()), omp_get_max_threads());
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int b = 0; b < batch; b++) {
    float* mine = p.threads[omp_get_thread_num()].data();
    const float* sample = x + size_t(b) * p.inputFloats;
    if (b + 1 < batch) prefetch(sample + p.inputFloats, p.inputFloats);
    const auto slot = [&](int s) { return s < 0 ? sample : mine + p.slotAt[s]; };
    for (const Step& s : p.steps)
      runStep(s, slot(s.input), s.second < 0 ? nullptr : slot(s.second), mine + p.slotAt[s.output], mine + p.mapFloats + s.scratchAt);
    for (uint32_t k = 0; k < outputCount; k++) {
      const size_t floats = p.slotFloats[p.outputSlots[k]];
      std::memcpy(outputs[k] + b * floats, slot(p.outputSlots[k]), floats * sizeof(float));
    }
  }
  return nullptr;
}

// samplewiseRelease(plan): frees its weights and maps now (the plan object itself goes with the garbage collector).
napi_value wgprune::SamplewiseRelease(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!arguments(env, info, 1, argv, "samplewiseRelease")) return nullptr;
  void* data;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data) return fail(env, "samplewiseRelease: a plan expected");
  Plan& p = *static_cast<Plan*>(data);
  p = Plan();
  return nullptr;
}
