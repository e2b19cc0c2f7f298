// What the parts of wgprune's native addon share: the engine and stream, reading Node-API arguments,
// and throwing oneDNN's errors as JavaScript errors whose message starts with "oneDNN:".
#pragma once
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

namespace wgprune {

inline dnnl::engine& cpu() { static dnnl::engine e(dnnl::engine::kind::cpu, 0); return e; }
inline dnnl::stream& queue() { static dnnl::stream s(cpu()); return s; }

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

napi_value Convolution(napi_env env, napi_callback_info info);
napi_value BatchNormForward(napi_env env, napi_callback_info info);
napi_value BatchNormBackward(napi_env env, napi_callback_info info);
napi_value Activation(napi_env env, napi_callback_info info);
napi_value Add(napi_env env, napi_callback_info info);
napi_value MaxPool(napi_env env, napi_callback_info info);
napi_value MaxPoolBackward(napi_env env, napi_callback_info info);

}  // namespace wgprune
