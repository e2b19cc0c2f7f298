// A direct convolution for the layers oneDNN's blocked kernels waste a CPU on: few channels. oneDNN
// vectorises over 16 channels (AVX-512), so a layer pruned to 8 channels fills half of every vector and
// pays reorders to and from a layout padded to 16: ResNet-20's first stage kept at 8 channels ran at 47
// GMAC/s against 85-140 for 16-64 channels (scratch measurements, 2 cores). Here the vector runs over
// output positions instead, whatever the channel count: a filter tap reads 16 consecutive positions of the
// output grid from the input, shifted by the tap's offset, under a mask that zeroes the lanes whose input
// pixel lies in the padding (AVX-512 masked loads read nothing there, so the image is read where it lies);
// a block of output channels x 48 or 64 positions stays in registers and is stored once, with its bias,
// residual and ReLU.
// Where the output is as wide as the input (stride 1, left + right padding = kernel width - 1: every
// "same" convolution) the grid is the image's own. Otherwise (a strided 1x1 convolution, subsampled as it
// is copied; unpadded or unevenly padded ones) each image is first copied zero-padded and the grid is as
// wide as that copy: the columns past the output's width are computed and dropped.
// A forward convolution (conv.cc runs input gradients through it too, with the filters flipped and
// transposed), no dilation, one group, float32 NCHW; AVX-512 (checked at run time).
#include <immintrin.h>
#include <omp.h>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>
#include "common.h"

namespace {

// Where one image's tiles read and write: `in` IC planes of `inPlane` floats, the output planes
// `positions` apart; `masks` per vector of 16 output positions and per tap (kh x kw), the lanes whose
// input pixel exists; tap t reads `offsets[t]` floats from a position.
struct Grid {
  const float* in;
  int ic, inPlane, kh, kw, positions;
  const uint16_t* masks;
  const int* offsets;
};

// Output channels [0, OCB) of positions [q, q + 16 V) of one image: `w` their filters (OIHW rows `taps`
// apart). V x OCB accumulators of 32 registers: 3 x 8 or 4 x 6. Measured on 2 AVX-512 cores, batch 256,
// scratch: 4 x 6 runs 16-64 channels at 180-196 GMAC/s on 8x8 to 32x32 planes (3 x 8: 134-180), 3 x 8
// keeps 8 channels in one block (167 against 150). Taps outermost, so that a tap's masks load once.
template <int V, int OCB, bool kPartial>
__attribute__((target("avx512f,fma"), always_inline)) inline void tile(const Grid& g, const float* w, int taps, const float* bias, bool relu,
                                                                     const float* residual, float* out, int q) {
  __mmask16 live[V];
  __m512 a[V][OCB];
  // Unrolled so that the accumulators stay in registers (GCC at -O2 would keep them in memory).
#pragma GCC unroll 4
  for (int v = 0; v < V; v++) {
    const int n = std::max(0, std::min(16, g.positions - q - 16 * v));
    live[v] = kPartial ? __mmask16((1u << n) - 1) : __mmask16(0xffff);
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++) a[v][o] = _mm512_set1_ps(bias ? bias[o] : 0.f);
  }
  // The residual this tile adds at its end, asked for now (read cold at the end, it cost ResNet-20's 8 ->
  // 8 convolutions on 32x32 a quarter more time than those without).
  if (residual)
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++)
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) _mm_prefetch(reinterpret_cast<const char*>(residual + size_t(o) * g.positions + q + 16 * v), _MM_HINT_T0);
  const int k2 = g.kh * g.kw;
  for (int t = 0; t < k2; t++) {
    __mmask16 m[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) m[v] = g.masks[(q / 16 + v) * k2 + t] & live[v];
    const float* src = g.in + q + g.offsets[t];
    const float* wt = w + t;
    for (int c = 0; c < g.ic; c++, src += g.inPlane, wt += k2) {
      __m512 pixels[V];
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) pixels[v] = _mm512_maskz_loadu_ps(m[v], src + 16 * v);
#pragma GCC unroll 8
      for (int o = 0; o < OCB; o++) {
        const __m512 s = _mm512_set1_ps(wt[o * taps]);
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) a[v][o] = _mm512_fmadd_ps(s, pixels[v], a[v][o]);
      }
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < V; v++) {
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++) {
      const size_t at = size_t(o) * g.positions + q + 16 * v;
      __m512 r = a[v][o];
      if (residual) r = _mm512_add_ps(r, kPartial ? _mm512_maskz_loadu_ps(live[v], residual + at) : _mm512_loadu_ps(residual + at));
      if (relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
      if (kPartial) _mm512_mask_storeu_ps(out + at, live[v], r);
      else _mm512_storeu_ps(out + at, r);
    }
  }
}

template <int V, int OCB>
__attribute__((target("avx512f,fma"))) void block(const Grid& g, const float* w, int taps, const float* bias, bool relu, const float* residual, float* out) {
  int q = 0;
  for (; q + 16 * V <= g.positions; q += 16 * V) tile<V, OCB, false>(g, w, taps, bias, relu, residual, out, q);
  if (q < g.positions) tile<V, OCB, true>(g, w, taps, bias, relu, residual, out, q);
}

using Block = void (*)(const Grid&, const float*, int, const float*, bool, const float*, float*);
constexpr int kNarrow = 8;  // up to this many output channels: one block of 3 vectors
constexpr int kWide = 6;    // more: blocks of up to 6 channels x 4 vectors
constexpr int kMaxVectors = 4;
constexpr Block kNarrowBlocks[kNarrow + 1] = {nullptr, block<3, 1>, block<3, 2>, block<3, 3>, block<3, 4>, block<3, 5>, block<3, 6>, block<3, 7>, block<3, 8>};
constexpr Block kWideBlocks[kWide + 1] = {nullptr, block<4, 1>, block<4, 2>, block<4, 3>, block<4, 4>, block<4, 5>, block<4, 6>};

// The lanes of each vector of 16 positions of a grid `rows` x `width` whose input pixel exists, per tap:
// the input `inRows` x `width`, output (0, 0) reading input (-top, -left) at tap (0, 0). Vectors past the
// grid (a partial tile's) have none.
std::vector<uint16_t> laneMasks(int rows, int width, int inRows, int kh, int kw, int top, int left) {
  const int positions = rows * width, vectors = (positions + 15) / 16 + kMaxVectors;
  std::vector<uint16_t> masks(size_t(vectors) * kh * kw, 0);
  for (int p = 0; p < positions; p++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const int r = p / width + ky - top, c = p % width + kx - left;
        if (r >= 0 && r < inRows && c >= 0 && c < width) masks[(size_t(p / 16) * kh + ky) * kw + kx] |= uint16_t(1u << (p % 16));
      }
  return masks;
}

// A row of `n` outputs from the wide grid into its place, the residual added and the ReLU after it.
__attribute__((target("avx512f"))) void storeRow(float* to, const float* from, const float* residual, bool relu, int n) {
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j)) - 1);
    __m512 r = _mm512_maskz_loadu_ps(m, from + j);
    if (residual) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, residual + j));
    if (relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(to + j, m, r);
  }
}

// Asks for the next image's input while this one computes: the taps read it plane by plane, more streams
// than the hardware prefetchers follow. Measured on 2 AVX-512 cores, batch 256, each pass reading other
// arrays than the last (as a network's layers do): 16 -> 16 on 16x16 1.6x faster, 8 -> 8 on 32x32 and
// 32 -> 32 on 8x8 1.15-1.2x (asking for the output's lines too made it slower, as did asking for the
// next image's residual here: tile() asks for each tile's).
void prefetch(const float* values, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(values);
  for (size_t i = 0; i < floats * sizeof(float); i += 64) _mm_prefetch(bytes + i, _MM_HINT_T0);
}

// Every output channel of one image (grid `g`) into `out` (`oc` planes `g.positions` apart).
void convolveImage(const Grid& g, const float* w, int oc, const float* bias, bool relu, const float* residual, float* out) {
  const int taps = g.ic * g.kh * g.kw;
  const int blocks = oc <= kNarrow ? 1 : (oc + kWide - 1) / kWide;
  for (int k = 0, o0 = 0; k < blocks; k++) {
    const int count = (oc - o0) / (blocks - k);  // as even as they go: 16 channels as 5 + 5 + 6
    const size_t at = size_t(o0) * g.positions;
    (oc <= kNarrow ? kNarrowBlocks : kWideBlocks)[count](g, w + size_t(o0) * taps, taps, bias ? bias + o0 : nullptr, relu, residual ? residual + at : nullptr, out + at);
    o0 += count;
  }
}

}  // namespace

std::atomic<double> directCalls{0};

double wgprune::directConvCalls() { return directCalls.load(); }

bool wgprune::directConvSupported() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}

// g: batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW.
// Stride 1, or a 1x1 kernel with any stride (the image subsampled as it is copied: a ResNet's downsampling
// shortcut). `residual` (the output's shape, or null) is added before the ReLU.
void wgprune::directConv(const std::vector<int>& g, const float* x, const float* w, const float* bias, bool relu, const float* residual, float* y) {
  const int n = g[0], ic = g[1], ih = g[2], iw = g[3], oc = g[4], oh = g[5], ow = g[6], kh = g[8], kw = g[9], sh = g[10], sw = g[11], pt = g[12], pl = g[13];
  const size_t inImage = size_t(ic) * ih * iw, outImage = size_t(oc) * oh * ow;
  directCalls = directCalls + 1;
  std::vector<int> offsets(size_t(kh) * kw);
  if (sh == 1 && sw == 1 && ow == iw) {
    // The image's own grid: each tap a fixed offset from the output position, the padding masked.
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) offsets[ky * kw + kx] = (ky - pt) * iw + (kx - pl);
    const std::vector<uint16_t> masks = laneMasks(oh, ow, ih, kh, kw, pt, pl);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
      if (b + 1 < n) prefetch(x + (b + 1) * inImage, inImage);
      const Grid grid{x + b * inImage, ic, ih * iw, kh, kw, oh * ow, masks.data(), offsets.data()};
      convolveImage(grid, w, oc, bias, relu, residual ? residual + b * outImage : nullptr, y + b * outImage);
    }
    return;
  }
  // A zero-padded (and, for a strided 1x1 kernel, subsampled) copy of each image, rows `wp` wide, and a
  // grid as wide.
  const int hp = oh + kh - 1, wp = ow + kw - 1, plane = hp * wp, positions = oh * wp;
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++) offsets[ky * kw + kx] = ky * wp + kx;
  const std::vector<uint16_t> masks = laneMasks(oh, wp, hp, kh, kw, 0, 0);
  // The copy's columns j read input column j * sw - pl: those inside the image.
  const int first = std::max(0, (pl + sw - 1) / sw), last = std::min(wp, (iw + pl + sw - 1) / sw);
#pragma omp parallel
  {
    // Per thread: the copy, zeroed once (every image writes the same pixels), and the wide output.
    std::vector<float> padded(size_t(ic) * plane, 0.f), wide(size_t(oc) * positions);
    const Grid grid{padded.data(), ic, plane, kh, kw, positions, masks.data(), offsets.data()};
#pragma omp for schedule(static)
    for (int b = 0; b < n; b++) {
      if (b + 1 < n) prefetch(x + (b + 1) * inImage, inImage);
      const float* image = x + b * inImage;
      for (int c = 0; c < ic; c++) {
        for (int r = 0; r < hp; r++) {
          const int sr = r * sh - pt;
          if (sr < 0 || sr >= ih || last <= first) continue;
          float* row = padded.data() + size_t(c) * plane + size_t(r) * wp;
          const float* from = image + (size_t(c) * ih + sr) * iw;
          if (sw == 1) std::memcpy(row + first, from + first - pl, sizeof(float) * (last - first));
          else for (int j = first; j < last; j++) row[j] = from[j * sw - pl];
        }
      }
      // With a residual the ReLU comes after it, as the output is copied out.
      convolveImage(grid, w, oc, bias, relu && !residual, nullptr, wide.data());
      for (int o = 0; o < oc; o++) {
        for (int r = 0; r < oh; r++) {
          const size_t row = b * outImage + (size_t(o) * oh + r) * ow;
          storeRow(y + row, wide.data() + size_t(o) * positions + size_t(r) * wp, residual ? residual + row : nullptr, relu && residual, ow);
        }
      }
    }
  }
}
