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
// "same" convolution) the grid is the image's own. A strided convolution whose output covers its input
// (ResNet's downsampling, 3x3 or 1x1) reads each image split into the stride's phases, whose grid is the
// output's (directPlan). Otherwise (unpadded or unevenly padded) each image is first copied zero-padded
// and the grid is as wide as that copy: the columns past the output's width are computed and dropped.
// A forward convolution (conv.cc runs input gradients through it too, with the filters flipped and
// transposed; samplewise.cc runs a model's layers one image at a time on directImage, grouped ones
// too: each group's channels on their own), no dilation, float32 NCHW; AVX-512 (checked at run time).
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

// The first `k` of a vector's 16 lanes (none for k <= 0, all from 16).
inline __mmask16 firstLanes(int k) { return k >= 16 ? __mmask16(0xffff) : k <= 0 ? __mmask16(0) : __mmask16((1u << k) - 1); }

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
    live[v] = kPartial ? firstLanes(n) : __mmask16(0xffff);
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
// tap t at grid position (r, c) reads input pixel (r + tapRows[t], c + tapCols[t]) of an input `inRows` x
// `inCols`. Vectors past the grid (a partial tile's) have none.
std::vector<uint16_t> laneMasks(int rows, int width, int inRows, int inCols, const std::vector<int>& tapRows, const std::vector<int>& tapCols) {
  const int positions = rows * width, vectors = (positions + 15) / 16 + kMaxVectors, taps = int(tapRows.size());
  std::vector<uint16_t> masks(size_t(vectors) * taps, 0);
  for (int p = 0; p < positions; p++)
    for (int t = 0; t < taps; t++) {
      const int r = p / width + tapRows[t], c = p % width + tapCols[t];
      if (r >= 0 && r < inRows && c >= 0 && c < inCols) masks[size_t(p / 16) * taps + t] |= uint16_t(1u << (p % 16));
    }
  return masks;
}

// A row of `n` floats into its even and odd columns (either may be null: not wanted), 16 of each per step.
__attribute__((target("avx512f"))) void splitPairs(const float* from, int n, float* even, float* odd) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int i = 0, j = 0; i < n; i += 32, j += 16) {
    const __m512 lo = _mm512_maskz_loadu_ps(firstLanes(n - i), from + i), hi = _mm512_maskz_loadu_ps(firstLanes(n - i - 16), from + i + 16);
    if (even) _mm512_mask_storeu_ps(even + j, firstLanes((n + 1) / 2 - j), _mm512_permutex2var_ps(lo, evens, hi));
    if (odd) _mm512_mask_storeu_ps(odd + j, firstLanes(n / 2 - j), _mm512_permutex2var_ps(lo, odds, hi));
  }
}

// A row of `n` outputs from the wide grid into its place, the residual added and the ReLU after it.
__attribute__((target("avx512f"))) void storeRow(float* to, const float* from, const float* residual, bool relu, int n) {
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = firstLanes(n - j);
    __m512 r = _mm512_maskz_loadu_ps(m, from + j);
    if (residual) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, residual + j));
    if (relu) r = _mm512_max_ps(r, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(to + j, m, r);
  }
}

}  // namespace

// Asks for the next image's input while this one computes: the taps read it plane by plane, more streams
// than the hardware prefetchers follow. Measured on 2 AVX-512 cores, batch 256, each pass reading other
// arrays than the last (as a network's layers do): 16 -> 16 on 16x16 1.6x faster, 8 -> 8 on 32x32 and
// 32 -> 32 on 8x8 1.15-1.2x (asking for the output's lines too made it slower, as did asking for the
// next image's residual here: tile() asks for each tile's).
void wgprune::prefetch(const float* values, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(values);
  for (size_t i = 0; i < floats * sizeof(float); i += 64) _mm_prefetch(bytes + i, _MM_HINT_T0);
}

namespace {

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

namespace {

int floorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

// g: batch, inC, inH, inW, outC, outH, outW, groups, kH, kW, sH, sW, padT, padL, padB, padR, dilH, dilW
// (the batch unused): no dilation.
wgprune::DirectConv wgprune::directPlan(const std::vector<int>& g) {
  DirectConv p;
  p.g = g;
  const int ih = g[2], iw = g[3], oh = g[5], ow = g[6], kh = g[8], kw = g[9], sh = g[10], sw = g[11], pt = g[12], pl = g[13];
  std::vector<int> tapRows(size_t(kh) * kw), tapCols(tapRows.size());
  p.offsets.resize(tapRows.size());
  const bool strided = sh > 1 || sw > 1;
  p.grid = !strided && ow == iw ? DirectConv::kImage : strided && (ih + sh - 1) / sh <= oh && (iw + sw - 1) / sw <= ow ? DirectConv::kPhases : DirectConv::kWide;
  if (p.grid == DirectConv::kImage) {
    // The image's own grid: each tap a fixed offset from the output position, the padding masked.
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const int t = ky * kw + kx;
        tapRows[t] = ky - pt, tapCols[t] = kx - pl, p.offsets[t] = tapRows[t] * iw + tapCols[t];
      }
    p.positions = oh * ow;
    p.masks = laneMasks(oh, ow, ih, iw, tapRows, tapCols);
    return p;
  }
  if (p.grid == DirectConv::kPhases) {
    // A strided convolution whose output covers its input (a "same" one: ResNet's downsampling): each
    // image split into the stride's phases, oh x ow each, phase (py, px) holding input pixels (r sH + py,
    // c sW + px). Tap (ky, kx) reads phase ((ky - padT) mod sH, (kx - padL) mod sW) at a fixed offset
    // from the output position, as a stride-1 tap reads the image: the output grid is the phases' own,
    // stored in place. Only the phases some tap reads are copied (a strided 1x1: a quarter of the image).
    std::vector<int> index(size_t(sh) * sw, -1);
    p.rows = oh, p.cols = ow;
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        const int t = ky * kw + kx, phase = (ky - pt - floorDiv(ky - pt, sh) * sh) * sw + (kx - pl - floorDiv(kx - pl, sw) * sw);
        if (index[phase] < 0) index[phase] = p.phases++;
        tapRows[t] = floorDiv(ky - pt, sh), tapCols[t] = floorDiv(kx - pl, sw);
        p.offsets[t] = index[phase] * oh * ow + tapRows[t] * ow + tapCols[t];
      }
    p.phaseOf = index;
    p.positions = oh * ow;
    p.masks = laneMasks(oh, ow, oh, ow, tapRows, tapCols);
    return p;
  }
  // Otherwise (unpadded or unevenly padded) each image copied zero-padded into sH x sW phases (fewer
  // where the kernel is smaller than the stride): phase (py, px) holds input pixels (r sH + py - padT,
  // c sW + px - padL), zero outside the image, so that tap (ky, kx) reads phase (ky % sH, kx % sW) at a
  // fixed offset from the output position; the grid is as wide as a phase (`cols`), the columns past the
  // output's width computed and dropped.
  const int phasesY = std::min(sh, kh), phasesX = std::min(sw, kw);
  p.rows = oh + (kh - 1) / sh, p.cols = ow + (kw - 1) / sw;
  p.phases = phasesY * phasesX;
  const int phasePlane = p.rows * p.cols;
  p.phaseOf.assign(size_t(sh) * sw, -1);
  for (int py = 0; py < phasesY; py++)
    for (int px = 0; px < phasesX; px++) p.phaseOf[py * sw + px] = py * phasesX + px;
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++) {
      const int t = ky * kw + kx;
      tapRows[t] = ky / sh, tapCols[t] = kx / sw;
      p.offsets[t] = p.phaseOf[(ky % sh) * sw + kx % sw] * phasePlane + tapRows[t] * p.cols + tapCols[t];
    }
  p.positions = oh * p.cols;
  p.masks = laneMasks(oh, p.cols, p.rows, p.cols, tapRows, tapCols);
  return p;
}

size_t wgprune::DirectConv::phaseFloats() const { return grid == kImage ? 0 : size_t(g[1]) * phases * rows * cols; }
size_t wgprune::DirectConv::scratchFloats() const { return phaseFloats() + (grid == kWide ? size_t(g[4]) * positions : 0); }

// One image: `scratch` (scratchFloats()) holds the phases, then (the wide grid) its output; the phases'
// padding is never written, so it is zeroed once, where the scratch is made.
void wgprune::directImage(const DirectConv& p, const float* image, const float* w, const float* bias, bool relu, const float* residual, float* out, float* scratch) {
  const std::vector<int>& g = p.g;
  const int ic = g[1], ih = g[2], iw = g[3], oc = g[4], oh = g[5], ow = g[6], sh = g[10], sw = g[11];
  // Group k: input channels [k icg, (k + 1) icg) to output channels [k ocg, (k + 1) ocg), its filters
  // OIHW with icg input channels each.
  const int groups = g[7], icg = ic / groups, ocg = oc / groups, outPlane = p.grid == DirectConv::kWide ? p.positions : oh * ow;
  const auto convolve = [&](const float* in, int inPlane, bool fusedRelu, const float* added, float* to) {
    for (int k = 0; k < groups; k++) {
      const Grid grid{in + size_t(k) * icg * inPlane, icg, inPlane, g[8], g[9], p.positions, p.masks.data(), p.offsets.data()};
      convolveImage(grid, w + size_t(k) * ocg * icg * g[8] * g[9], ocg, bias ? bias + k * ocg : nullptr, fusedRelu, added ? added + size_t(k) * ocg * outPlane : nullptr, to + size_t(k) * ocg * outPlane);
    }
  };
  if (p.grid == DirectConv::kImage) {
    convolve(image, ih * iw, relu, residual, out);
    return;
  }
  // Phase (py, px) row r, column j holds input pixel (r sH + py - top, j sW + px - left): the image's
  // own (top = left = 0) on the phase grid, the padded one's on the wide grid.
  const int plane = p.rows * p.cols, top = p.grid == DirectConv::kWide ? g[12] : 0, left = p.grid == DirectConv::kWide ? g[13] : 0;
  if (p.grid == DirectConv::kPhases && sw == 2) {
    // Each input row split once into its two phases (a ResNet's stride 2: a row-wise copy per phase
    // took twice as long as the convolution's arithmetic, scratch).
    const auto phaseRow = [&](int c, int py, int px, int r) { const int k = p.phaseOf[py * sw + px]; return k < 0 ? nullptr : scratch + (size_t(c) * p.phases + k) * plane + size_t(r) * p.cols; };
    for (int c = 0; c < ic; c++)
      for (int sr = 0; sr < ih; sr++) {
        float *even = phaseRow(c, sr % sh, 0, sr / sh), *odd = phaseRow(c, sr % sh, 1, sr / sh);
        if (even || odd) splitPairs(image + (size_t(c) * ih + sr) * iw, iw, even, odd);
      }
  } else for (int c = 0; c < ic; c++)
    for (int py = 0; py < sh; py++)
      for (int px = 0; px < sw; px++) {
        const int phase = p.phaseOf[py * sw + px];
        if (phase < 0) continue;
        float* to = scratch + (size_t(c) * p.phases + phase) * plane;
        // Columns j of the phase read input column j sW + px - left: those inside the image.
        const int first = std::max(0, (left - px + sw - 1) / sw), last = std::min(p.cols, (iw + left - px + sw - 1) / sw);
        if (last <= first) continue;
        for (int r = 0; r < p.rows; r++) {
          const int sr = r * sh + py - top;
          if (sr < 0 || sr >= ih) continue;
          float* row = to + size_t(r) * p.cols + first;
          const float* from = image + (size_t(c) * ih + sr) * iw + first * sw + px - left;
          if (sw == 1) std::memcpy(row, from, sizeof(float) * (last - first));
          else if (sw == 2) splitPairs(from, 2 * (last - first) - 1, row, nullptr);
          else for (int j = 0; j < last - first; j++) row[j] = from[j * sw];
        }
      }
  if (p.grid == DirectConv::kPhases) {
    convolve(scratch, p.phases * plane, relu, residual, out);
    return;
  }
  float* wide = scratch + p.phaseFloats();
  // With a residual the ReLU comes after it, as the output is copied out.
  convolve(scratch, p.phases * plane, relu && !residual, nullptr, wide);
  for (int o = 0; o < oc; o++)
    for (int r = 0; r < oh; r++) {
      const size_t row = (size_t(o) * oh + r) * ow;
      storeRow(out + row, wide + size_t(o) * p.positions + size_t(r) * p.cols, residual ? residual + row : nullptr, relu && residual, ow);
    }
}

// A batch: the images shared among the threads, the next one's input asked for while one computes.
// `residual` (the output's shape, or null) is added before the ReLU.
void wgprune::directConv(const std::vector<int>& g, const float* x, const float* w, const float* bias, bool relu, const float* residual, float* y) {
  const int n = g[0];
  const size_t inImage = size_t(g[1]) * g[2] * g[3], outImage = size_t(g[4]) * g[5] * g[6];
  directCalls = directCalls + 1;
  const DirectConv p = directPlan(g);
#pragma omp parallel
  {
    std::vector<float> scratch(p.scratchFloats(), 0.f);
#pragma omp for schedule(static)
    for (int b = 0; b < n; b++) {
      if (b + 1 < n) prefetch(x + (b + 1) * inImage, inImage);
      directImage(p, x + b * inImage, w, bias, relu, residual ? residual + b * outImage : nullptr, y + b * outImage, scratch.data());
    }
  }
}
