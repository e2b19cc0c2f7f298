// A direct convolution for the layers oneDNN's blocked kernels waste a CPU on: few channels. oneDNN
// vectorises over 16 channels (AVX-512), so a layer pruned to 8 channels fills half of every vector and
// pays reorders to and from a layout padded to 16: ResNet-20's first stage kept at 8 channels ran at 47
// GMAC/s against 85-140 for 16-64 channels (scratch measurements, 2 cores). Here the vector runs over
// output pixels instead, whatever the channel count: each image is copied once, zero-padded, so that a
// filter tap reads 16 consecutive output positions of a row-major grid as wide as the padded input (the
// columns past the output's width are computed and dropped), 8 output channels x 48 positions kept in
// registers. A forward convolution (conv.cc runs input gradients through it too, with the filters flipped
// and transposed), stride 1 (or a 1x1 kernel), no dilation, one group, float32 NCHW; AVX-512 (checked at
// run time).
#include <immintrin.h>
#include <omp.h>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>
#include "common.h"

namespace {

constexpr int kOutBlock = 8;  // output channels per register block
constexpr int kVectors = 3;   // vectors of 16 output positions per register block: 24 accumulators of 32 registers

// Output channels [0, OCB) of positions [q, q + 48) of one image: `in` the padded image (IC planes of
// `plane` floats, rows `wp` wide, read up to kw - 1 floats past the last plane), `w` their filters (OIHW
// rows `taps` apart), `out` OCB rows of `positions` wide-grid values. Masked loads only on the last,
// partial tile (whole tiles load unmasked: measured faster).
template <int OCB, bool kPartial>
__attribute__((target("avx512f,fma"), always_inline)) inline void tile(const float* in, int ic, int plane, int wp, int kh, int kw, const float* w, int taps,
                                                                     const float* bias, bool relu, float* out, int positions, int q) {
  __mmask16 m[kVectors];
  __m512 a[kVectors][OCB];
  // Unrolled so that the accumulators stay in registers (GCC at -O2 would keep them in memory).
#pragma GCC unroll 4
  for (int v = 0; v < kVectors; v++) {
    const int n = std::max(0, std::min(16, positions - q - 16 * v));
    m[v] = kPartial ? __mmask16((1u << n) - 1) : __mmask16(0xffff);
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++) a[v][o] = _mm512_set1_ps(bias ? bias[o] : 0.f);
  }
  for (int c = 0; c < ic; c++) {
    for (int y = 0; y < kh; y++) {
      for (int x = 0; x < kw; x++) {
        const float* src = in + c * plane + y * wp + x + q;
        const float* wt = w + (c * kh + y) * kw + x;
        __m512 pixels[kVectors];
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; v++) pixels[v] = kPartial ? _mm512_maskz_loadu_ps(m[v], src + 16 * v) : _mm512_loadu_ps(src + 16 * v);
#pragma GCC unroll 8
        for (int o = 0; o < OCB; o++) {
          const __m512 s = _mm512_set1_ps(wt[o * taps]);
#pragma GCC unroll 4
          for (int v = 0; v < kVectors; v++) a[v][o] = _mm512_fmadd_ps(s, pixels[v], a[v][o]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < kVectors; v++) {
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++) {
      const __m512 r = relu ? _mm512_max_ps(a[v][o], _mm512_setzero_ps()) : a[v][o];
      if (kPartial) _mm512_mask_storeu_ps(out + o * positions + q + 16 * v, m[v], r);
      else _mm512_storeu_ps(out + o * positions + q + 16 * v, r);
    }
  }
}

template <int OCB>
__attribute__((target("avx512f,fma"))) void block(const float* in, int ic, int plane, int wp, int kh, int kw, const float* w, int taps,
                                                  const float* bias, bool relu, float* out, int positions) {
  int q = 0;
  for (; q + 16 * kVectors <= positions; q += 16 * kVectors) tile<OCB, false>(in, ic, plane, wp, kh, kw, w, taps, bias, relu, out, positions, q);
  if (q < positions) tile<OCB, true>(in, ic, plane, wp, kh, kw, w, taps, bias, relu, out, positions, q);
}

using Block = void (*)(const float*, int, int, int, int, int, const float*, int, const float*, bool, float*, int);
constexpr Block kBlocks[kOutBlock + 1] = {nullptr, block<1>, block<2>, block<3>, block<4>, block<5>, block<6>, block<7>, block<8>};

}  // namespace

std::atomic<double> directCalls{0};

double wgprune::directConvCalls() { return directCalls.load(); }

bool wgprune::directConvSupported() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}

// g: batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW.
// Stride 1, or a 1x1 kernel with any stride (the image subsampled as it is copied: a ResNet's downsampling
// shortcut).
void wgprune::directConv(const std::vector<int>& g, const float* x, const float* w, const float* bias, bool relu, float* y) {
  const int n = g[0], ic = g[1], ih = g[2], iw = g[3], oc = g[4], oh = g[5], ow = g[6], kh = g[8], kw = g[9], sh = g[10], sw = g[11], pt = g[12], pl = g[13];
  const int hp = oh + kh - 1, wp = ow + kw - 1, plane = hp * wp, positions = oh * wp, taps = ic * kh * kw;
  directCalls = directCalls + 1;
#pragma omp parallel
  {
    // Per thread: the padded image (plus the kw - 1 floats the last taps read past it) and the wide output.
    std::vector<float> padded(size_t(ic) * plane + kw, 0.f), wide(size_t(kOutBlock) * positions);
#pragma omp for schedule(static)
    for (int b = 0; b < n; b++) {
      const float* image = x + size_t(b) * ic * ih * iw;
      for (int c = 0; c < ic; c++) {
        for (int r = 0; r < hp; r++) {
          float* row = padded.data() + size_t(c) * plane + size_t(r) * wp;
          const int sr = r * sh - pt;
          std::fill(row, row + wp, 0.f);
          if (sr < 0 || sr >= ih) continue;
          const float* from = image + (size_t(c) * ih + sr) * iw;
          if (sw == 1) {
            const int first = std::max(0, pl), last = std::min(wp, pl + iw);  // padded columns holding input columns
            if (last > first) std::memcpy(row + first, from + (first - pl), sizeof(float) * (last - first));
          } else {
            for (int j = 0; j < wp; j++) {
              const int sc = j * sw - pl;
              if (sc >= 0 && sc < iw) row[j] = from[sc];
            }
          }
        }
      }
      for (int o0 = 0; o0 < oc; o0 += kOutBlock) {
        const int count = std::min(kOutBlock, oc - o0);
        kBlocks[count](padded.data(), ic, plane, wp, kh, kw, w + size_t(o0) * taps, taps, bias ? bias + o0 : nullptr, relu, wide.data(), positions);
        for (int o = 0; o < count; o++) {
          float* dst = y + (size_t(b) * oc + o0 + o) * oh * ow;
          for (int r = 0; r < oh; r++) std::memcpy(dst + size_t(r) * ow, wide.data() + size_t(o) * positions + size_t(r) * wp, sizeof(float) * ow);
        }
      }
    }
  }
}
