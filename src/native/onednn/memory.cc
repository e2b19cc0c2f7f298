// wgprune's oneDNN addon, its memory-bound ops on plain float32 arrays the caller owns: batch norm's
// training forward and backward (per channel of [N, C, spatial]), activations forward and backward, and
// add (with a fused ReLU). Primitives are built once per op and shape and cached (per thread, bounded: common.h).
#include <iterator>
#include <unordered_map>
#include <vector>
#include "common.h"

using namespace dnnl;
using namespace wgprune;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// A cached primitive and the descriptor of each argument it takes, in the order the caller passes arrays.
struct Op {
  primitive prim;
  std::vector<std::pair<int, memory::desc>> args;
  // An argument the primitive checks for but does not read, bound to another's memory (batch norm's
  // backward with use_shift asks for the shift; only its gradient depends on it, and not on its value).
  int alias = 0, aliasOf = 0;
};

Lru<Op>& ops() { thread_local Lru<Op> cache; return cache; }

template <typename Build>
Op& cached(const std::string& key, Build build) {
  if (Op* found = ops().find(key)) return *found;
  return ops().insert(key, build(), kPrimitiveOverhead, convCacheBytes());
}

// Runs `op` on the arrays argv[first...], each checked against its argument's size.
napi_value execute(napi_env env, Op& op, napi_value* argv, const char* name) {
  std::unordered_map<int, memory> bound;
  for (size_t i = 0; i < op.args.size(); i++) {
    float* data;
    size_t length;
    if (!array(env, argv[i], &data, &length) || !data || length * 4 != op.args[i].second.get_size())
      return fail(env, std::string(name) + ": argument " + std::to_string(i) + " must be a Float32Array of the op's size");
    bound.insert({op.args[i].first, memory(op.args[i].second, cpu(), data)});
  }
  if (op.alias) bound.insert({op.alias, bound.at(op.aliasOf)});
  op.prim.execute(queue(), bound);
  queue().wait();
  return nullptr;
}

bool dims(napi_env env, napi_value* argv, int count, std::vector<int64_t>& out) {
  out.resize(count);
  for (int i = 0; i < count; i++)
    if (napi_get_value_int64(env, argv[i], &out[i]) != napi_ok || out[i] < 1) return false;
  return true;
}

const auto kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

batch_normalization_forward::primitive_desc batchNormForwardDesc(const memory::desc& data, float epsilon) {
  return {{prop_kind::forward_training, data, epsilon, kScaleShift}, cpu()};
}

}  // namespace

size_t wgprune::opCacheBytes() { return ops().bytes(); }
size_t wgprune::opCacheEntries() { return ops().size(); }
void wgprune::clearOpCache() { ops().clear(); }

// batchNormForward(n, c, spatial, epsilon, x, gamma, beta, y, mean, variance): training statistics (biased variance).
napi_value wgprune::BatchNormForward(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!arguments(env, info, 10, argv, "batchNormForward")) return nullptr;
  std::vector<int64_t> d;
  double epsilon;
  if (!dims(env, argv, 3, d) || napi_get_value_double(env, argv[3], &epsilon) != napi_ok) return fail(env, "batchNormForward: n, c, spatial and epsilon must be numbers");
  try {
    const std::string key = "bn," + std::to_string(d[0]) + "," + std::to_string(d[1]) + "," + std::to_string(d[2]) + "," + floatKey(epsilon);
    Op& op = cached(key, [&] {
      const memory::desc data({d[0], d[1], d[2], 1}, dt::f32, tag::nchw), channel({d[1]}, dt::f32, tag::x);
      auto pd = batchNormForwardDesc(data, float(epsilon));
      return Op{batch_normalization_forward(pd), {{DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, channel}, {DNNL_ARG_SHIFT, channel},
                                                  {DNNL_ARG_DST, data}, {DNNL_ARG_MEAN, channel}, {DNNL_ARG_VARIANCE, channel}}};
    });
    return execute(env, op, argv + 4, "batchNormForward");
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
}

// batchNormBackward(n, c, spatial, dy, x, gamma, mean, variance, dx, dGamma, dBeta), through the batch
// statistics. The caller passes variance + epsilon as `variance` (1 / invStd^2): epsilon here is 0.
napi_value wgprune::BatchNormBackward(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!arguments(env, info, 11, argv, "batchNormBackward")) return nullptr;
  std::vector<int64_t> d;
  if (!dims(env, argv, 3, d)) return fail(env, "batchNormBackward: n, c and spatial must be positive integers");
  try {
    const std::string key = "bnback," + std::to_string(d[0]) + "," + std::to_string(d[1]) + "," + std::to_string(d[2]);
    Op& op = cached(key, [&] {
      const memory::desc data({d[0], d[1], d[2], 1}, dt::f32, tag::nchw), channel({d[1]}, dt::f32, tag::x);
      batch_normalization_backward::primitive_desc pd({prop_kind::backward, data, data, 0.f, kScaleShift}, cpu(), batchNormForwardDesc(data, 0.f));
      return Op{batch_normalization_backward(pd), {{DNNL_ARG_DIFF_DST, data}, {DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, channel}, {DNNL_ARG_MEAN, channel},
                                                   {DNNL_ARG_VARIANCE, channel}, {DNNL_ARG_DIFF_SRC, data}, {DNNL_ARG_DIFF_SCALE, channel}, {DNNL_ARG_DIFF_SHIFT, channel}},
                DNNL_ARG_SHIFT, DNNL_ARG_SCALE};
    });
    return execute(env, op, argv + 3, "batchNormBackward");
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
}

// The activations oneDNN computes as the CPU reference defines them (src/cpu/reference.ts: activate and
// activationSlope), by the code the caller passes: relu (alpha: leaky slope), clip_v2 (relu6: its
// backward passes nothing at 0 and 6, as the reference's), logistic, swish (silu, alpha 1), gelu (erf),
// gelu (tanh).
const algorithm kActivations[] = {algorithm::eltwise_relu, algorithm::eltwise_clip_v2, algorithm::eltwise_logistic,
                                  algorithm::eltwise_swish, algorithm::eltwise_gelu_erf, algorithm::eltwise_gelu_tanh};

// activation(code, alpha, beta, backward, size, a, b, out): forward out = f(a) (b ignored: pass a);
// backward out = a * f'(b) (a = dy, b = x).
napi_value wgprune::Activation(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!arguments(env, info, 8, argv, "activation")) return nullptr;
  int32_t code;
  double alpha, beta;
  bool backward;
  int64_t size;
  if (napi_get_value_int32(env, argv[0], &code) != napi_ok || code < 0 || code >= int32_t(std::size(kActivations)) || napi_get_value_double(env, argv[1], &alpha) != napi_ok ||
      napi_get_value_double(env, argv[2], &beta) != napi_ok || napi_get_value_bool(env, argv[3], &backward) != napi_ok || napi_get_value_int64(env, argv[4], &size) != napi_ok || size < 1)
    return fail(env, "activation: code, alpha, beta, backward and a positive size expected");
  try {
    const std::string key = "act," + std::to_string(code) + "," + floatKey(alpha) + "," + floatKey(beta) + "," + std::to_string(backward) + "," + std::to_string(size);
    Op& op = cached(key, [&] {
      const memory::desc flat({size}, dt::f32, tag::x);
      eltwise_forward::primitive_desc forward({prop_kind::forward_training, kActivations[code], flat, float(alpha), float(beta)}, cpu());
      if (!backward) return Op{eltwise_forward(forward), {{DNNL_ARG_SRC, flat}, {DNNL_ARG_DST, flat}}};
      eltwise_backward::primitive_desc pd({kActivations[code], flat, flat, float(alpha), float(beta)}, cpu(), forward);
      return Op{eltwise_backward(pd), {{DNNL_ARG_DIFF_DST, flat}, {DNNL_ARG_SRC, flat}, {DNNL_ARG_DIFF_SRC, flat}}};
    });
    napi_value arrays[3] = {argv[5], backward ? argv[6] : argv[7], argv[7]};
    return execute(env, op, backward ? argv + 5 : arrays, "activation");
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
}

// add(relu, size, a, b, out): out = a + b, then ReLU when asked.
napi_value wgprune::Add(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!arguments(env, info, 5, argv, "add")) return nullptr;
  bool relu;
  int64_t size;
  if (napi_get_value_bool(env, argv[0], &relu) != napi_ok || napi_get_value_int64(env, argv[1], &size) != napi_ok || size < 1)
    return fail(env, "add: relu and a positive size expected");
  try {
    Op& op = cached("add," + std::to_string(relu) + "," + std::to_string(size), [&] {
      const memory::desc flat({size}, dt::f32, tag::x);
      primitive_attr attr;
      if (relu) { post_ops ops; ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); attr.set_post_ops(ops); }
      binary::primitive_desc pd({algorithm::binary_add, flat, flat, flat}, attr, cpu());
      return Op{binary(pd), {{DNNL_ARG_SRC_0, flat}, {DNNL_ARG_SRC_1, flat}, {DNNL_ARG_DST, flat}}};
    });
    return execute(env, op, argv + 2, "add");
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
}
