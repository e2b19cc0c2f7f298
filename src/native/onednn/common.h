// What the parts of wgprune's native addon share: the engine and stream, the bounded primitive caches,
// reading Node-API arguments, and throwing oneDNN's errors as JavaScript errors whose message starts
// with "oneDNN:".
// Threads: each thread (Node's main thread, each worker) has its own stream and caches (thread_local),
// so two backends in two workers never share a stream, a primitive or a buffer; the engine is shared
// (oneDNN's engines are thread-safe).
#pragma once
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <cstdint>
#include <cstring>
#include <list>
#include <string>
#include <vector>
#include <unordered_map>

namespace wgprune {

inline dnnl::engine& cpu() { static dnnl::engine e(dnnl::engine::kind::cpu, 0); return e; }
inline dnnl::stream& queue() { thread_local dnnl::stream s(cpu()); return s; }

// A float as the primitive sees it (float32), exactly: its bit pattern (1e-7 and 1e-8 differ).
inline std::string floatKey(double v) {
  float f = float(v);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return std::to_string(bits);
}

// What a cached primitive is taken to hold beyond its buffers (its descriptors and JIT code), a rough
// bound so that a cache of small primitives is bounded too.
constexpr size_t kPrimitiveOverhead = 64 * 1024;

// The byte budget of each thread's caches together (setCacheLimit; default 256 MiB).
inline size_t& cacheLimit() { static size_t limit = size_t(256) << 20; return limit; }

// A least-recently-used cache of values by key, bounded in bytes: inserting evicts the least recently
// used entries until the new one fits (an entry larger than the whole budget is kept alone).
template <typename V>
class Lru {
 public:
  V* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->value;
  }
  V& insert(const std::string& key, V value, size_t bytes, size_t otherBytes) {
    while (!order_.empty() && bytes_ + otherBytes + bytes > cacheLimit()) {
      bytes_ -= order_.back().bytes;
      index_.erase(order_.back().key);
      order_.pop_back();
    }
    order_.push_front(Item{key, std::move(value), bytes});
    index_[key] = order_.begin();
    bytes_ += bytes;
    return order_.front().value;
  }
  void clear() { order_.clear(); index_.clear(); bytes_ = 0; }
  size_t bytes() const { return bytes_; }
  size_t size() const { return order_.size(); }

 private:
  struct Item { std::string key; V value; size_t bytes; };
  std::list<Item> order_;
  std::unordered_map<std::string, typename std::list<Item>::iterator> index_;
  size_t bytes_ = 0;
};

// direct-conv.cc: the forward convolution over output pixels for layers with few channels, where the CPU has AVX-512.
bool directConvSupported();
// The fewest output positions a convolution on the direct kernel has (it vectorises 16 positions; small
// maps leave most lanes idle): conv.cc's rule and samplewise.cc's plans.
constexpr int kDirectMinPositions = 64;
// One convolution's plan (directPlan(geometry)): the grid its taps read (the image where it lies; the
// stride's phases of a per-image copy; a zero-padded copy's wider grid), and the masks of the lanes
// whose pixel exists.
struct DirectConv {
  enum Grid { kImage, kPhases, kWide };
  std::vector<int> g;
  Grid grid = kImage;
  int phases = 0, rows = 0, cols = 0, positions = 0;
  std::vector<int> phaseOf;  // per (py, px) of the stride: its phase in the copy, -1 where no tap reads it
  std::vector<uint16_t> masks;
  std::vector<int> offsets;
  size_t phaseFloats() const;
  // What directImage needs beside the image: the phases (zeroed once) and the wide grid's output.
  size_t scratchFloats() const;
};
DirectConv directPlan(const std::vector<int>& g);
void directImage(const DirectConv& p, const float* image, const float* w, const float* bias, bool relu, const float* residual, float* out, float* scratch);
void directConv(const std::vector<int>& g, const float* x, const float* w, const float* bias, bool relu, const float* residual, float* y);
double directConvCalls();

// prefetch (direct-conv.cc): asks for `floats` floats from `values` into the cache.
void prefetch(const float* values, size_t floats);

// pool.cc: max pooling's geometry (g: planes, inH, inW, outH, outW, kernelH, kernelW, strideH, strideW,
// padTop, padLeft, dilationH, dilationW) and one plane of it (argmax may be null).
struct Window { int64_t planes, inH, inW, outH, outW, kH, kW, sH, sW, pT, pL, dH, dW; };
void maxPoolPlane(const Window& w, const float* in, float* y, float* argmax);

// The calling thread's two caches (convolutions; memory-bound ops): their bytes and entries, and clearing them.
size_t convCacheBytes();
size_t convCacheEntries();
void clearConvCache();
size_t opCacheBytes();
size_t opCacheEntries();
void clearOpCache();

inline napi_value fail(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

// A typed array's data and element count (float32 or int32); null/undefined give a null pointer.
template <typename T>
bool array(napi_env env, napi_value v, T** data, size_t* length) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (type == napi_null || type == napi_undefined) { *data = nullptr; *length = 0; return true; }
  napi_typedarray_type kind;
  void* raw;
  if (napi_get_typedarray_info(env, v, &kind, length, &raw, nullptr, nullptr) != napi_ok) return false;
  *data = static_cast<T*>(raw);
  return true;
}

// Reads exactly `count` arguments into argv; false (with a JavaScript error thrown) otherwise.
inline bool arguments(napi_env env, napi_callback_info info, size_t count, napi_value* argv, const char* name) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc == count) return true;
  fail(env, std::string(name) + ": " + std::to_string(count) + " arguments expected");
  return false;
}

napi_value Convolve(napi_env env, napi_callback_info info);
napi_value BatchNormForward(napi_env env, napi_callback_info info);
napi_value BatchNormBackward(napi_env env, napi_callback_info info);
napi_value ChannelSum(napi_env env, napi_callback_info info);
napi_value Activation(napi_env env, napi_callback_info info);
napi_value Add(napi_env env, napi_callback_info info);
napi_value Matmul(napi_env env, napi_callback_info info);
napi_value MaxPool(napi_env env, napi_callback_info info);
napi_value MaxPoolBackward(napi_env env, napi_callback_info info);
napi_value SamplewisePlan(napi_env env, napi_callback_info info);
napi_value SamplewiseRun(napi_env env, napi_callback_info info);
napi_value SamplewiseRelease(napi_env env, napi_callback_info info);
napi_value SgdStep(napi_env env, napi_callback_info info);
napi_value AdamStep(napi_env env, napi_callback_info info);

}  // namespace wgprune
