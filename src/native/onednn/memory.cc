// wgprune's oneDNN addon, its ops on plain float32 arrays the caller owns other than convolutions:
// activations forward and backward, add (with a fused ReLU), and the matrix products of linear layers. Primitives are
// built once per op and shape and cached (per thread, bounded: common.h).
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

}  // namespace

size_t wgprune::opCacheBytes() { return ops().bytes(); }
size_t wgprune::opCacheEntries() { return ops().size(); }
void wgprune::clearOpCache() { ops().clear(); }

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

// matmul(transA, transB, relu, m, k, n, a, b, bias | null, out): out[m, n] = A B (+ bias[n], then ReLU),
// A = a as [m, k] (transA: a holds [k, m]), B = b as [k, n] (transB: b holds [n, k]). Linear layers:
// forward x w^T (transB), input gradient dy w, weight gradient dy^T x (transA).
napi_value wgprune::Matmul(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!arguments(env, info, 10, argv, "matmul")) return nullptr;
  bool transA, transB, relu;
  std::vector<int64_t> d;
  if (napi_get_value_bool(env, argv[0], &transA) != napi_ok || napi_get_value_bool(env, argv[1], &transB) != napi_ok || napi_get_value_bool(env, argv[2], &relu) != napi_ok || !dims(env, argv + 3, 3, d))
    return fail(env, "matmul: transA, transB, relu and positive m, k, n expected");
  napi_valuetype biasType;
  napi_typeof(env, argv[8], &biasType);
  const bool bias = biasType != napi_null && biasType != napi_undefined;
  const int64_t m = d[0], k = d[1], n = d[2];
  try {
    const std::string key = std::string("mm,") + (transA ? "t" : "n") + (transB ? "t" : "n") + (relu ? "r" : "") + (bias ? "b," : ",") + std::to_string(m) + "," + std::to_string(k) + "," + std::to_string(n);
    Op& op = cached(key, [&] {
      const memory::desc a({m, k}, dt::f32, transA ? memory::dims{1, m} : memory::dims{k, 1}), b({k, n}, dt::f32, transB ? memory::dims{1, k} : memory::dims{n, 1});
      const memory::desc out({m, n}, dt::f32, tag::ab), biasDesc({1, n}, dt::f32, tag::ab);
      primitive_attr attr;
      if (relu) { post_ops ops; ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); attr.set_post_ops(ops); }
      matmul::primitive_desc pd(bias ? matmul::desc(a, b, biasDesc, out) : matmul::desc(a, b, out), attr, cpu());
      Op built{matmul(pd), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}}};
      if (bias) built.args.push_back({DNNL_ARG_BIAS, biasDesc});
      built.args.push_back({DNNL_ARG_DST, out});
      return built;
    });
    napi_value arrays[4] = {argv[6], argv[7], bias ? argv[8] : argv[9], argv[9]};
    return execute(env, op, arrays, "matmul");
  } catch (const dnnl::error& err) {
    return fail(env, std::string("oneDNN: ") + err.what());
  }
}
