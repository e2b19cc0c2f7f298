// wgprune's oneDNN addon (the library PyTorch's CPU convolutions use; Debian's libdnnl, oneDNN 2.x),
// its convolutions and module entry. One call runs one pass of one convolution on float32 NCHW arrays
// the caller owns: forward (bias, fused ReLU), input gradient or filter gradient. Primitives and their
// reorders to and from the blocked layouts oneDNN picks are built once per pass and geometry and cached
// (per thread, least recently used first out past the byte budget in common.h). The blocked copies live
// only during a call, so every entry shares three scratch buffers per thread (one per operand), grown
// to the largest operand: each entry holding its own took 205 MiB of ResNet-18's training at 64x64,
// batch 64 (a third of its peak memory). Built by scripts/build-onednn.mjs; loaded by src/native/onednn.ts.
#include <omp.h>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>
#include "common.h"

using namespace dnnl;
using namespace wgprune;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

enum Pass { kForward = 0, kInput = 1, kFilter = 2 };

// One operand in the caller's plain layout and, when oneDNN wants another, the reorder to or from it
// and a memory of that layout whose buffer is the operand slot's scratch, bound at each call.
struct Operand {
  memory::desc plain;
  memory blocked;  // empty when the plain layout is used directly
  primitive reorder;
};

// The calling thread's scratch buffer for operand slot 0, 1 or 2, at least `bytes` long (64-byte aligned).
void* scratch(int slot, size_t bytes);

struct Entry {
  primitive prim;
  Operand a, b, out;  // forward: x, w, y; input gradient: dy, w, dx; filter gradient: dy, x, dw
  int argA, argB, argOut;
  bool bias = false;
  memory::desc biasDesc;
};

Operand operand(const memory::desc& plain, const memory::desc& want, bool input) {
  Operand o{plain, memory(), primitive()};
  if (want != plain) {
    o.blocked = memory(want, cpu(), DNNL_MEMORY_NONE);
    o.reorder = input ? reorder(reorder::primitive_desc(cpu(), plain, cpu(), want)) : reorder(reorder::primitive_desc(cpu(), want, cpu(), plain));
  }
  return o;
}

// g: batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW.
Entry build(int pass, const std::vector<int>& g, bool bias, bool relu) {
  const memory::dim n = g[0], ic = g[1], ih = g[2], iw = g[3], oc = g[4], oh = g[5], ow = g[6], groups = g[7];
  const memory::dim kh = g[8], kw = g[9], sh = g[10], sw = g[11], pt = g[12], pl = g[13], dh = g[16], dw = g[17];
  // The bottom/right padding the output size implies (the forward's floor division may leave rows unread).
  const memory::dim pb = (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt, pr = (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl;
  const memory::dims src{n, ic, ih, iw}, dst{n, oc, oh, ow}, strides{sh, sw}, dil{dh - 1, dw - 1}, padL{pt, pl}, padR{pb, pr};
  const memory::dims wts = groups > 1 ? memory::dims{groups, oc / groups, ic / groups, kh, kw} : memory::dims{oc, ic, kh, kw};
  const memory::desc srcPlain(src, dt::f32, tag::nchw), dstPlain(dst, dt::f32, tag::nchw);
  const memory::desc wPlain(wts, dt::f32, groups > 1 ? tag::goihw : tag::oihw), biasPlain({oc}, dt::f32, tag::x);
  const memory::desc srcAny(src, dt::f32, tag::any), dstAny(dst, dt::f32, tag::any), wAny(wts, dt::f32, tag::any);
  const auto alg = algorithm::convolution_direct;
  primitive_attr attr;
  if (relu) { post_ops ops; ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); attr.set_post_ops(ops); }
  auto fwdDesc = bias && pass == kForward
      ? convolution_forward::desc(prop_kind::forward_training, alg, srcAny, wAny, biasPlain, dstAny, strides, dil, padL, padR)
      : convolution_forward::desc(prop_kind::forward_training, alg, srcAny, wAny, dstAny, strides, dil, padL, padR);
  convolution_forward::primitive_desc fwd(fwdDesc, attr, cpu());
  Entry e;
  e.bias = bias && pass == kForward;
  e.biasDesc = biasPlain;
  if (pass == kForward) {
    e.prim = convolution_forward(fwd);
    e.a = operand(srcPlain, fwd.src_desc(), true); e.b = operand(wPlain, fwd.weights_desc(), true); e.out = operand(dstPlain, fwd.dst_desc(), false);
    e.argA = DNNL_ARG_SRC; e.argB = DNNL_ARG_WEIGHTS; e.argOut = DNNL_ARG_DST;
  } else if (pass == kInput) {
    convolution_backward_data::primitive_desc pd(convolution_backward_data::desc(alg, srcAny, wAny, dstAny, strides, dil, padL, padR), cpu(), fwd);
    e.prim = convolution_backward_data(pd);
    e.a = operand(dstPlain, pd.diff_dst_desc(), true); e.b = operand(wPlain, pd.weights_desc(), true); e.out = operand(srcPlain, pd.diff_src_desc(), false);
    e.argA = DNNL_ARG_DIFF_DST; e.argB = DNNL_ARG_WEIGHTS; e.argOut = DNNL_ARG_DIFF_SRC;
  } else {
    convolution_backward_weights::primitive_desc pd(convolution_backward_weights::desc(alg, srcAny, wAny, dstAny, strides, dil, padL, padR), cpu(), fwd);
    e.prim = convolution_backward_weights(pd);
    e.a = operand(dstPlain, pd.diff_dst_desc(), true); e.b = operand(srcPlain, pd.src_desc(), true); e.out = operand(wPlain, pd.diff_weights_desc(), false);
    e.argA = DNNL_ARG_DIFF_DST; e.argB = DNNL_ARG_SRC; e.argOut = DNNL_ARG_DIFF_WEIGHTS;
  }
  return e;
}

// The memory the primitive reads or writes for `o` (operand slot `slot`), reordering an input in from the caller's array.
memory bind(Operand& o, int slot, float* data, bool input) {
  memory plain(o.plain, cpu(), data);
  if (!o.blocked) return plain;
  o.blocked.set_data_handle(scratch(slot, o.blocked.get_desc().get_size()));
  if (input) o.reorder.execute(queue(), {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, o.blocked}});
  return o.blocked;
}

void run(Entry& e, float* a, float* b, float* bias, float* out) {
  std::unordered_map<int, memory> args{{e.argA, bind(e.a, 0, a, true)}, {e.argB, bind(e.b, 1, b, true)}, {e.argOut, bind(e.out, 2, out, false)}};
  if (e.bias) args.insert({DNNL_ARG_BIAS, memory(e.biasDesc, cpu(), bias)});
  e.prim.execute(queue(), args);
  if (e.out.blocked) e.out.reorder.execute(queue(), {{DNNL_ARG_FROM, e.out.blocked}, {DNNL_ARG_TO, memory(e.out.plain, cpu(), out)}});
  queue().wait();
}

// Bytes an entry holds: the primitive and its reorders (kPrimitiveOverhead each); its buffers are the shared scratch.
size_t entryBytes(const Entry& e) {
  size_t bytes = kPrimitiveOverhead;
  for (const Operand* o : {&e.a, &e.b, &e.out}) if (o->blocked) bytes += kPrimitiveOverhead;
  return bytes;
}

struct Scratch {
  void* data = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(data); }
};
thread_local Scratch scratchSlots[3];

void* scratch(int slot, size_t bytes) {
  Scratch& s = scratchSlots[slot];
  if (s.bytes < bytes) {
    std::free(s.data);
    s.bytes = (bytes + 63) / 64 * 64;
    s.data = std::aligned_alloc(64, s.bytes);
    if (!s.data) { s.bytes = 0; throw dnnl::error(dnnl_out_of_memory, "scratch buffer"); }
  }
  return s.data;
}

size_t scratchBytes() { return scratchSlots[0].bytes + scratchSlots[1].bytes + scratchSlots[2].bytes; }
void freeScratch() { for (Scratch& s : scratchSlots) { std::free(s.data); s = Scratch(); } }

Lru<Entry>& entries() { thread_local Lru<Entry> cache; return cache; }

// Whether a convolution pass runs on direct-conv.cc: one group, stride 1 (or a strided 1x1 forward), no
// dilation, a grid of at least 64 output positions, and either a channel count oneDNN would pad to its
// 16-channel vectors (and reorder to and from that layout) or whole vectors of positions (8x8, 16x16,
// 28x28...) on an image under 256 KiB (each block of filters reads it again: from L2 below that).
// Measured on 2 AVX-512 cores, batch 8-256, each pass reading other arrays than the last, passes of
// both engines taking turns (scratch, numbers in docs/backends.md): direct / oneDNN 1.9-2.6x for 3 or 8
// channels, 1.1-1.35x for 16-64 channels on 8x8 to 16x16, 1.12-1.37x for up to 32 channels on 28x28
// to 56x56, 1.0-1.1x for 128-256 channels on 8x8 and 16x16; images of 256 KiB and more 0.86-0.98x (64
// channels on 32x32 and 56x56, 128 on 28x28); planes that are not whole vectors 0.7-0.95x (14x14, 7x7: a
// quarter of the last vectors wasted). Those stay on oneDNN.
// A strided 1x1 forward (a ResNet's downsampling shortcut): it copies only the pixels it reads (oneDNN
// reads and reorders the whole input: 1.6-2.4x slower).
// An input gradient is the forward convolution of the output gradient with the filters flipped and
// transposed, its padding kernel - 1 - pad (so at most kernel - 1). WGPRUNE_DIRECT_CONV=off: never;
// =on: whenever the geometry allows (the tests' switch).
bool direct(int pass, const std::vector<int>& g) {
  static const char* mode = std::getenv("WGPRUNE_DIRECT_CONV");
  const bool forward = pass == kForward, strided = g[10] != 1 || g[11] != 1;
  if (pass == kFilter || (mode && std::string(mode) == "off") || !directConvSupported()) return false;
  if (g[7] != 1 || g[16] != 1 || g[17] != 1 || (strided && (!forward || g[8] != 1 || g[9] != 1))) return false;
  if (pass == kInput && (g[12] > g[8] - 1 || g[13] > g[9] - 1)) return false;
  if (mode && std::string(mode) == "on") return true;
  const int out = forward ? g[4] : g[1], in = forward ? g[1] : g[4], rows = forward ? g[5] : g[2], cols = forward ? g[6] : g[3];
  const int inRows = forward ? g[2] : g[5], inCols = forward ? g[3] : g[6];
  const int positions = rows * (!strided && cols == inCols ? cols : cols + g[9] - 1);  // direct-conv.cc's grid
  if (positions < kDirectMinPositions) return false;
  if (strided) return true;
  return out % 16 != 0 || in % 16 != 0 || (positions % 16 == 0 && size_t(in) * inRows * inCols * sizeof(float) < 256 * 1024);
}

// The input gradient on direct-conv.cc: dy (batch, oc, oh, ow) convolved with w flipped and transposed.
void directInputGradient(const std::vector<int>& g, const float* dy, const float* w, float* dx) {
  const int ic = g[1], oc = g[4], kh = g[8], kw = g[9], taps = kh * kw;
  thread_local std::vector<float> flipped;
  flipped.resize(size_t(ic) * oc * taps);
  for (int m = 0; m < oc; m++)
    for (int c = 0; c < ic; c++)
      for (int t = 0; t < taps; t++) flipped[(size_t(c) * oc + m) * taps + (taps - 1 - t)] = w[(size_t(m) * ic + c) * taps + t];
  // batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW
  const std::vector<int> t{g[0], oc, g[5], g[6], ic, g[2], g[3], 1, kh, kw, 1, 1, kh - 1 - g[12], kw - 1 - g[13], 0, 0, 1, 1};
  directConv(t, dy, flipped.data(), nullptr, false, nullptr, dx);
}

// The residual where oneDNN's primitive stored the convolution without it: out = out + residual, then the ReLU.
void addResidual(float* out, const float* residual, size_t size, bool relu) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < size; i++) out[i] = relu ? std::max(0.f, out[i] + residual[i]) : out[i] + residual[i];
}

}  // namespace

// convolve(pass, geometry: Int32Array(18), relu: boolean, a, b, bias | null, residual | null, out): see
// Entry for a, b, out; a residual (forward only) is added before the ReLU.
napi_value wgprune::Convolve(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!arguments(env, info, 8, argv, "convolve")) return nullptr;
  int32_t pass;
  bool relu;
  int32_t* geometry;
  float *a, *b, *bias, *residual, *out;
  size_t count, na, nb, nbias, nresidual, nout;
  if (napi_get_value_int32(env, argv[0], &pass) != napi_ok || pass < 0 || pass > 2) return fail(env, "convolve: pass must be 0, 1 or 2");
  if (!array(env, argv[1], &geometry, &count) || count != 18) return fail(env, "convolve: geometry must be an Int32Array of 18");
  napi_get_value_bool(env, argv[2], &relu);
  if (!array(env, argv[3], &a, &na) || !array(env, argv[4], &b, &nb) || !array(env, argv[5], &bias, &nbias) || !array(env, argv[6], &residual, &nresidual) ||
      !array(env, argv[7], &out, &nout) || !a || !b || !out)
    return fail(env, "convolve: a, b and out must be Float32Arrays");
  std::vector<int> g(geometry, geometry + 18);
  const size_t outputs = size_t(g[0]) * g[4] * g[5] * g[6];
  if (residual && (pass != kForward || nresidual != outputs)) return fail(env, "convolve: a residual is the forward output's size");
  if (direct(pass, g)) {
    const size_t inputs = size_t(g[0]) * g[1] * g[2] * g[3], weights = size_t(g[4]) * g[1] * g[8] * g[9];
    const bool forward = pass == kForward;
    if (na != (forward ? inputs : outputs) || nb != weights || nout != (forward ? outputs : inputs) || (bias && nbias != size_t(g[4])))
      return fail(env, "convolve: array sizes do not match the geometry");
    if (forward) directConv(g, a, b, bias, relu, residual, out);
    else directInputGradient(g, a, b, out);
    return nullptr;
  }
  const bool fusedRelu = relu && !residual;  // with a residual the ReLU comes after it, not in the primitive
  std::string key = std::to_string(pass) + (fusedRelu ? "r" : "") + (bias ? "b" : "");
  for (int v : g) key += "," + std::to_string(v);
  try {
    Entry* found = entries().find(key);
    if (!found) {
      Entry built = build(pass, g, bias != nullptr, fusedRelu);
      const size_t bytes = entryBytes(built);
      found = &entries().insert(key, std::move(built), bytes, opCacheBytes() + scratchBytes());
    }
    Entry& e = *found;
    if (na * 4 != e.a.plain.get_size() || nb * 4 != e.b.plain.get_size() || nout * 4 != e.out.plain.get_size() || (e.bias && nbias != size_t(g[4])))
      return fail(env, "convolve: array sizes do not match the geometry");
    run(e, a, b, bias, out);
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
  if (residual) addResidual(out, residual, outputs, relu);
  return nullptr;
}

namespace {

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t threads;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  if (argc != 1 || napi_get_value_int32(env, arg, &threads) != napi_ok || threads < 1) return fail(env, "setThreads: a positive integer expected");
  omp_set_num_threads(threads);
  return nullptr;
}

}  // namespace

size_t wgprune::convCacheBytes() { return entries().bytes() + scratchBytes(); }
size_t wgprune::convCacheEntries() { return entries().size(); }
void wgprune::clearConvCache() { entries().clear(); freeScratch(); }

namespace {

// clearCaches(): frees the calling thread's primitives and buffers (NativeBackend.destroy()).
napi_value ClearCaches(napi_env, napi_callback_info) {
  clearConvCache();
  clearOpCache();
  return nullptr;
}

// cacheStats(): { entries, bytes } of the calling thread's caches.
napi_value CacheStats(napi_env env, napi_callback_info) {
  napi_value result, entriesValue, bytesValue;
  napi_create_object(env, &result);
  napi_create_double(env, double(convCacheEntries() + opCacheEntries()), &entriesValue);
  napi_create_double(env, double(convCacheBytes() + opCacheBytes()), &bytesValue);
  napi_set_named_property(env, result, "entries", entriesValue);
  napi_set_named_property(env, result, "bytes", bytesValue);
  return result;
}

// setCacheLimit(bytes): the byte budget of each thread's caches together (taking effect at the next insert).
napi_value SetCacheLimit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  double bytes;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  if (argc != 1 || napi_get_value_double(env, arg, &bytes) != napi_ok || !(bytes >= 0)) return fail(env, "setCacheLimit: a byte count >= 0 expected");
  cacheLimit() = size_t(bytes);
  return nullptr;
}

// directConvCalls(): convolutions run by direct-conv.cc since the addon loaded (the tests' witness).
napi_value DirectConvCalls(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_double(env, directConvCalls(), &result);
  return result;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value result;
  napi_create_string_utf8(env, s.c_str(), s.size(), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"convolve", nullptr, Convolve, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSum", nullptr, ChannelSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"activation", nullptr, Activation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add", nullptr, Add, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, MaxPoolBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"samplewisePlan", nullptr, SamplewisePlan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"samplewiseRun", nullptr, SamplewiseRun, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"samplewiseRelease", nullptr, SamplewiseRelease, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamStep", nullptr, AdamStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCaches", nullptr, ClearCaches, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cacheStats", nullptr, CacheStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setCacheLimit", nullptr, SetCacheLimit, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"directConvCalls", nullptr, DirectConvCalls, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
