// Convolution (and linear layers as 1x1 convolutions) as an implicit GEMM, per group g:
//   out[row, col] = sum_k A[row, k] * B[k, col]
// MODE 0, forward:         rows = output channels m,  cols = (n, oy, ox), k = (ci, ky, kx)
// MODE 1, backward input:  rows = input channels ci,  cols = (n, iy, ix), k = (m, ky, kx)
// MODE 2, backward filter: rows = output channels m,  cols = (ci, ky, kx), k = (n, oy, ox)
// Two entry points share the loaders: `main_registers` (no barriers, no shared memory: fastest on
// SwiftShader) and `main_shared` (64x64 tiles staged in workgroup memory: fastest on real GPUs).

struct Params {
  batch: u32, in_channels: u32, in_h: u32, in_w: u32,
  out_channels: u32, out_h: u32, out_w: u32, groups: u32,
  kernel_h: u32, kernel_w: u32, stride_h: u32, stride_w: u32,
  pad_top: u32, pad_left: u32, dilation_h: u32, dilation_w: u32,
  in_group: u32, out_group: u32, // channels per group, precomputed: an integer division per tap is costly
}

override MODE: u32 = 0u;
override HAS_BIAS: bool = false;   // MODE 0 only
override FUSED_RELU: bool = false; // MODE 0 only
override UNIT_STRIDE: bool = false; // stride 1: mode 1 needs no divisibility test
override POINTWISE: bool = false;   // 1x1 kernel, stride 1, no padding: every tap is inside the input
override TILE_ROWS: u32 = 8u;      // main_registers: rows per invocation: 1, 4 or 8
override KERNEL_W: u32 = 3u;       // forward_channels: the kernel's width, 1 to 5
override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a_src: array<f32>; // modes 0, 1: weights; mode 2: output gradient
@group(0) @binding(2) var<storage, read> b_src: array<f32>; // modes 0, 2: input; mode 1: output gradient
@group(0) @binding(3) var<storage, read> w4: array<vec4<f32>>; // forward_channels: pack_weights' output
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> xv: array<vec4<f32>>; // forward_channels: pad_input's output

struct Gemm { rows: u32, cols: u32, depth: u32 }

fn in_group() -> u32 { return p.in_group; }
fn out_group() -> u32 { return p.out_group; }
fn kernel_size() -> u32 { return p.kernel_h * p.kernel_w; }

fn gemm_shape() -> Gemm {
  let out_pixels = p.out_h * p.out_w;
  if (MODE == 0u) { return Gemm(out_group(), p.batch * out_pixels, in_group() * kernel_size()); }
  if (MODE == 1u) { return Gemm(in_group(), p.batch * p.in_h * p.in_w, out_group() * kernel_size()); }
  return Gemm(out_group(), in_group() * kernel_size(), p.batch * out_pixels);
}

// Per column: where its B elements start, and the spatial origin of its window.
struct Column { base: u32, y0: i32, x0: i32, valid: bool }
// Per reduction index: offsets added to a column's origin, and where its A elements start.
struct Depth { b_offset: u32, dy: i32, dx: i32, a_offset: u32, valid: bool }

fn decode_column(g: u32, col: u32, cols: u32) -> Column {
  let in_plane = p.in_h * p.in_w;
  let out_plane = p.out_h * p.out_w;
  if (MODE == 0u) {
    let n = col / out_plane; let pix = col % out_plane;
    return Column((n * p.in_channels + g * in_group()) * in_plane,
                  i32((pix / p.out_w) * p.stride_h) - i32(p.pad_top),
                  i32((pix % p.out_w) * p.stride_w) - i32(p.pad_left), col < cols);
  }
  if (MODE == 1u) {
    let n = col / in_plane; let pix = col % in_plane;
    return Column((n * p.out_channels + g * out_group()) * out_plane,
                  i32(pix / p.in_w + p.pad_top), i32(pix % p.in_w + p.pad_left), col < cols);
  }
  let ci = col / kernel_size(); let kk = col % kernel_size();
  return Column((g * in_group() + ci) * in_plane,
                i32((kk / p.kernel_w) * p.dilation_h) - i32(p.pad_top),
                i32((kk % p.kernel_w) * p.dilation_w) - i32(p.pad_left), col < cols);
}

// The reduction index k runs over three nested extents: mode 0 (ci, ky, kx), mode 1 (m, ky, kx),
// mode 2 (n, oy, ox); k = (d0 * extent.y + d1) * extent.z + d2.
fn depth_extents() -> vec3<u32> {
  if (MODE == 0u) { return vec3<u32>(in_group(), p.kernel_h, p.kernel_w); }
  if (MODE == 1u) { return vec3<u32>(out_group(), p.kernel_h, p.kernel_w); }
  return vec3<u32>(p.batch, p.out_h, p.out_w);
}

fn depth_at(g: u32, d0: u32, d1: u32, d2: u32) -> Depth {
  if (MODE == 0u) {
    return Depth(d0 * p.in_h * p.in_w, i32(d1 * p.dilation_h), i32(d2 * p.dilation_w),
                 g * out_group() * in_group() * kernel_size() + (d0 * p.kernel_h + d1) * p.kernel_w + d2, true);
  }
  if (MODE == 1u) {
    return Depth(d0 * p.out_h * p.out_w, i32(d1 * p.dilation_h), i32(d2 * p.dilation_w),
                 (g * out_group() + d0) * in_group() * kernel_size() + d1 * p.kernel_w + d2, true);
  }
  let out_plane = p.out_h * p.out_w;
  return Depth(d0 * p.in_channels * p.in_h * p.in_w, i32(d1 * p.stride_h), i32(d2 * p.stride_w),
               (d0 * p.out_channels + g * out_group()) * out_plane + d1 * p.out_w + d2, true);
}

fn decode_depth(g: u32, k: u32, depth: u32) -> Depth {
  let e = depth_extents();
  var d = depth_at(g, k / (e.y * e.z), (k / e.z) % e.y, k % e.z);
  d.valid = k < depth;
  return d;
}

// Distance between consecutive rows of A.
fn a_row_stride() -> u32 {
  if (MODE == 0u) { return in_group() * kernel_size(); }
  if (MODE == 1u) { return kernel_size(); }
  return p.out_h * p.out_w;
}

fn load_a(d: Depth, row: u32, rows: u32) -> f32 {
  if (!d.valid || row >= rows) { return 0.0; }
  return a_src[d.a_offset + row * a_row_stride()];
}

fn load_b(c: Column, d: Depth) -> f32 {
  if (!c.valid || !d.valid) { return 0.0; }
  if (POINTWISE) {
    if (MODE == 1u) { return b_src[c.base + d.b_offset + u32(c.y0) * p.out_w + u32(c.x0)]; }
    return b_src[c.base + d.b_offset + u32(c.y0 + d.dy) * p.in_w + u32(c.x0 + d.dx)];
  }
  if (MODE == 1u) {
    // Input pixel (iy, ix) meets output pixel ((iy + pad - ky*dil) / stride) when that divides exactly.
    let ty = c.y0 - d.dy; let tx = c.x0 - d.dx;
    if (UNIT_STRIDE) {
      if (ty < 0 || tx < 0 || ty >= i32(p.out_h) || tx >= i32(p.out_w)) { return 0.0; }
      return b_src[c.base + d.b_offset + u32(ty) * p.out_w + u32(tx)];
    }
    if (ty < 0 || tx < 0 || ty % i32(p.stride_h) != 0 || tx % i32(p.stride_w) != 0) { return 0.0; }
    let oy = u32(ty) / p.stride_h; let ox = u32(tx) / p.stride_w;
    if (oy >= p.out_h || ox >= p.out_w) { return 0.0; }
    return b_src[c.base + d.b_offset + oy * p.out_w + ox];
  }
  let iy = c.y0 + d.dy; let ix = c.x0 + d.dx;
  if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) { return 0.0; }
  return b_src[c.base + d.b_offset + u32(iy) * p.in_w + u32(ix)];
}

fn store(g: u32, row: u32, col: u32, value: f32) {
  if (MODE == 0u) {
    let out_plane = p.out_h * p.out_w;
    let m = g * out_group() + row;
    var v = value;
    if (HAS_BIAS) { v += bias[m]; }
    if (FUSED_RELU) { v = max(v, 0.0); }
    out[((col / out_plane) * p.out_channels + m) * out_plane + col % out_plane] = v;
  } else if (MODE == 1u) {
    let in_plane = p.in_h * p.in_w;
    out[((col / in_plane) * p.in_channels + g * in_group() + row) * in_plane + col % in_plane] = value;
  } else {
    out[(g * out_group() + row) * in_group() * kernel_size() + col] = value;
  }
}

// A register tile: TILE_ROWS (1, 4 or 8) rows x 4 columns. Written out by hand rather than as loops
// over arrays: SwiftShader's compiler does not unroll those, and the array form measured 3-4x slower.
struct Acc { v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32> }
struct Rows { r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, r6: u32, r7: u32 }

// Offsets of the tile's rows in A; rows past the end repeat the last row (valid memory, never stored).
fn row_offsets(row0: u32, rows: u32) -> Rows {
  let s = a_row_stride();
  let last = rows - 1u;
  return Rows(row0 * s, min(row0 + 1u, last) * s, min(row0 + 2u, last) * s, min(row0 + 3u, last) * s,
              min(row0 + 4u, last) * s, min(row0 + 5u, last) * s, min(row0 + 6u, last) * s, min(row0 + 7u, last) * s);
}

fn accumulate(acc: ptr<function, Acc>, a: u32, r: Rows, b: vec4<f32>) {
  (*acc).v0 += a_src[a + r.r0] * b;
  if (TILE_ROWS > 1u) {
    (*acc).v1 += a_src[a + r.r1] * b;
    (*acc).v2 += a_src[a + r.r2] * b;
    (*acc).v3 += a_src[a + r.r3] * b;
  }
  if (TILE_ROWS > 4u) {
    (*acc).v4 += a_src[a + r.r4] * b;
    (*acc).v5 += a_src[a + r.r5] * b;
    (*acc).v6 += a_src[a + r.r6] * b;
    (*acc).v7 += a_src[a + r.r7] * b;
  }
}

// Stores row `row` of the tile; `count` of its 4 columns starting at `col0` exist.
fn store_row(g: u32, row: u32, rows: u32, col0: u32, count: u32, v: vec4<f32>) {
  if (row >= rows) { return; }
  for (var j = 0u; j < min(count, 4u); j++) { store(g, row, col0 + j, v[j]); }
}

fn store_tile(g: u32, row0: u32, rows: u32, col0: u32, count: u32, acc: Acc) {
  store_row(g, row0, rows, col0, count, acc.v0);
  if (TILE_ROWS > 1u) {
    store_row(g, row0 + 1u, rows, col0, count, acc.v1);
    store_row(g, row0 + 2u, rows, col0, count, acc.v2);
    store_row(g, row0 + 3u, rows, col0, count, acc.v3);
  }
  if (TILE_ROWS > 4u) {
    store_row(g, row0 + 4u, rows, col0, count, acc.v4);
    store_row(g, row0 + 5u, rows, col0, count, acc.v5);
    store_row(g, row0 + 6u, rows, col0, count, acc.v6);
    store_row(g, row0 + 7u, rows, col0, count, acc.v7);
  }
}

// Any mode: one invocation computes a register tile over 4 consecutive GEMM columns.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_registers(@builtin(global_invocation_id) gid: vec3<u32>) {
  let shape = gemm_shape();
  let g = gid.z;
  let col0 = gid.x * 4u;
  let row0 = gid.y * TILE_ROWS;
  if (col0 >= shape.cols || row0 >= shape.rows) { return; }
  let c0 = decode_column(g, col0, shape.cols);
  let c1 = decode_column(g, col0 + 1u, shape.cols);
  let c2 = decode_column(g, col0 + 2u, shape.cols);
  let c3 = decode_column(g, col0 + 3u, shape.cols);
  let r = row_offsets(row0, shape.rows);
  var acc: Acc;
  let e = depth_extents();
  for (var d0 = 0u; d0 < e.x; d0++) {
    for (var d1 = 0u; d1 < e.y; d1++) {
      for (var d2 = 0u; d2 < e.z; d2++) {
        let d = depth_at(g, d0, d1, d2);
        accumulate(&acc, d.a_offset, r, vec4<f32>(load_b(c0, d), load_b(c1, d), load_b(c2, d), load_b(c3, d)));
      }
    }
  }
  store_tile(g, row0, shape.rows, col0, shape.cols - col0, acc);
}

// MODE 0 on a linear layer (a 1x1 convolution of 1x1 maps, one group): main_registers' tile with the
// samples' rows read straight, k by 4, no window decoding or bounds tests per tap (samples past the
// batch repeat the last, valid memory never stored).
fn sample_step(acc: ptr<function, Acc>, k: u32, r: Rows, x0: u32, x1: u32, x2: u32, x3: u32) {
  accumulate(acc, k, r, vec4<f32>(b_src[x0 + k], b_src[x1 + k], b_src[x2 + k], b_src[x3 + k]));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_registers(@builtin(global_invocation_id) gid: vec3<u32>) {
  let depth = p.in_channels;
  let col0 = gid.x * 4u;
  let row0 = gid.y * TILE_ROWS;
  if (col0 >= p.batch || row0 >= p.out_channels) { return; }
  let last = p.batch - 1u;
  let x0 = col0 * depth; let x1 = min(col0 + 1u, last) * depth;
  let x2 = min(col0 + 2u, last) * depth; let x3 = min(col0 + 3u, last) * depth;
  let r = row_offsets(row0, p.out_channels);
  var acc: Acc;
  var k = 0u;
  for (; k + 4u <= depth; k += 4u) {
    sample_step(&acc, k, r, x0, x1, x2, x3);
    sample_step(&acc, k + 1u, r, x0, x1, x2, x3);
    sample_step(&acc, k + 2u, r, x0, x1, x2, x3);
    sample_step(&acc, k + 3u, r, x0, x1, x2, x3);
  }
  for (; k < depth; k++) { sample_step(&acc, k, r, x0, x1, x2, x3); }
  store_tile(0u, row0, p.out_channels, col0, p.batch - col0, acc);
}

fn load_x(i: i32, inside: bool) -> f32 {
  if (inside) { return b_src[i]; }
  return 0.0;
}

// MODE 0 only: the register tile's 4 columns are 4 neighbouring pixels of one output row, so the
// row test is made once per kernel row and the input offsets advance without any division.
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let tiles_x = (p.out_w + 3u) / 4u;
  let per_image = p.out_h * tiles_x;
  let g = gid.z;
  let row0 = gid.y * TILE_ROWS;
  if (gid.x >= p.batch * per_image || row0 >= p.out_group) { return; }
  let n = gid.x / per_image;
  let oy = (gid.x % per_image) / tiles_x;
  let ox0 = (gid.x % tiles_x) * 4u;
  let r = row_offsets(row0, p.out_group);
  let a_group = g * p.out_group * p.in_group * kernel_size();
  let in_plane = p.in_h * p.in_w;
  let width = i32(p.in_w);
  let sx = i32(p.stride_w);
  var acc: Acc;
  for (var ci = 0u; ci < p.in_group; ci++) {
    let x_plane = (n * p.in_channels + g * p.in_group + ci) * in_plane;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
      let iy = i32(oy * p.stride_h + ky * p.dilation_h) - i32(p.pad_top);
      if (iy >= 0 && iy < i32(p.in_h)) {
        let x_row = i32(x_plane + u32(iy) * p.in_w);
        let a_row = a_group + (ci * p.kernel_h + ky) * p.kernel_w;
        for (var kx = 0u; kx < p.kernel_w; kx++) {
          let ix = i32(ox0 * p.stride_w + kx * p.dilation_w) - i32(p.pad_left);
          let b = vec4<f32>(load_x(x_row + ix, ix >= 0 && ix < width),
                            load_x(x_row + ix + sx, ix + sx >= 0 && ix + sx < width),
                            load_x(x_row + ix + 2 * sx, ix + 2 * sx >= 0 && ix + 2 * sx < width),
                            load_x(x_row + ix + 3 * sx, ix + 3 * sx >= 0 && ix + 3 * sx < width));
          accumulate(&acc, a_row + kx, r, b);
        }
      }
    }
  }
  store_tile(g, row0, p.out_group, (n * p.out_h + oy) * p.out_w + ox0, p.out_w - ox0, acc);
}

// The item of a pass with one invocation per item (flip_weights, pack_weights: an element; pad_input: a
// row): its grid folds into y where x would exceed the dispatch limit (GpuContext.grid).
fn element_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }

// Output channels per group padded to a whole tile (pack_weights' zeros fill the rest).
fn out_padded() -> u32 { return (p.out_group + TILE_ROWS - 1u) / TILE_ROWS * TILE_ROWS; }

// MODE 0 weights for forward_channels: w4 as floats [g, ci, ky, kx, m] with m the fastest, padded with
// zeros to out_padded(), so that one vec4 load brings a tap's weights for 4 output channels.
@compute @workgroup_size(WORKGROUP_SIZE)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element_index(gid, groups);
  let ks = kernel_size();
  let padded = out_padded();
  if (i >= p.groups * p.in_group * ks * padded) { return; }
  let m = i % padded;
  let k = (i / padded) % ks;
  let ci = (i / (padded * ks)) % p.in_group;
  let g = i / (padded * ks * p.in_group);
  var v = 0.0;
  if (m < p.out_group) { v = a_src[((g * p.out_group + m) * p.in_group + ci) * ks + k]; }
  out[i] = v;
}

// forward_channels' input: each plane zero-padded to the rows and columns its windows read, rows
// padded_width() floats wide (a multiple of 4), so that every load is an aligned vec4 with no bounds test.
// A tile's pixels: 4, or 8 with one output channel (TILE_ROWS 1), whose loads would otherwise outnumber its
// arithmetic; its rows read one vec4 past them.
fn tile_pixels() -> u32 { return select(4u, 8u, TILE_ROWS == 1u); }
fn padded_width() -> u32 { return ((p.out_w + tile_pixels() - 1u) / tile_pixels()) * tile_pixels() + 4u; }
fn padded_height() -> u32 { return p.out_h + p.kernel_h - 1u; }

// One invocation per padded row: one per float measured 5x slower on SwiftShader (22-35 against 4-6 ms
// for the 1.1M floats of bench/kernels.ts's (a) input gradient), more than the convolution after it.
@compute @workgroup_size(WORKGROUP_SIZE)
fn pad_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = element_index(gid, groups);
  let width = padded_width();
  let height = padded_height();
  if (r >= p.batch * p.in_channels * height) { return; }
  let row = i32(r % height) - i32(p.pad_top);
  let o = r * width;
  var c = 0u;
  if (row >= 0 && row < i32(p.in_h)) {
    let src = (r / height) * p.in_h * p.in_w + u32(row) * p.in_w;
    for (; c < p.pad_left; c++) { out[o + c] = 0.0; }
    for (var i = 0u; i < p.in_w; i++) { out[o + c + i] = b_src[src + i]; }
    c += p.in_w;
  }
  for (; c < width; c++) { out[o + c] = 0.0; }
}

// Pixel `pixel` of image n for the tile's channels (0-3 in `low`, 4-7 in `high`), through store() (bias, ReLU).
fn store_pixel(n: u32, g: u32, row0: u32, pixel: u32, low: vec4<f32>, high: vec4<f32>) {
  for (var j = 0u; j < TILE_ROWS; j++) {
    if (row0 + j < p.out_group) { store(g, row0 + j, n * p.out_h * p.out_w + pixel, select(high[j % 4u], low[j % 4u], j < 4u)); }
  }
}

// One tap: the 4 pixels' inputs times the tap's weights for 4 (8) output channels.
fn tap(acc: ptr<function, Acc>, px: vec4<f32>, w: u32) {
  let low = w4[w];
  (*acc).v0 += px.x * low;
  (*acc).v2 += px.y * low;
  (*acc).v4 += px.z * low;
  (*acc).v6 += px.w * low;
  if (TILE_ROWS > 4u) {
    let high = w4[w + 1u];
    (*acc).v1 += px.x * high;
    (*acc).v3 += px.y * high;
    (*acc).v5 += px.z * high;
    (*acc).v7 += px.w * high;
  }
}

// MODE 0, stride 1, no dilation, kernels up to 5 wide (KERNEL_W): like forward_rows a tile of TILE_ROWS
// (1, 4 or 8) output channels x 4 neighbouring pixels of one output row, but over pad_input's planes and
// vectorised over the channels: a kernel row is two aligned vec4 loads of input (8 neighbouring values,
// each tap's 4 a swizzle of them) and, per tap, one or two vec4 loads of packed weights. Accumulators:
// pixel j's channels 0-3 in v(2j), 4-7 in v(2j+1); with one channel (TILE_ROWS 1), 8 pixels in v0, v1.
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_channels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let tiles_x = (p.out_w + tile_pixels() - 1u) / tile_pixels();
  let per_image = p.out_h * tiles_x;
  let g = gid.z;
  let row0 = gid.y * TILE_ROWS;
  if (gid.x >= p.batch * per_image || row0 >= p.out_group) { return; }
  let n = gid.x / per_image;
  let oy = (gid.x % per_image) / tiles_x;
  let ox0 = (gid.x % tiles_x) * tile_pixels();
  // Weights a tap apart: vec4s of packed weights, or floats of one filter (TILE_ROWS 1).
  let quads = select(out_padded() / 4u, 1u, TILE_ROWS == 1u);
  let row_quads = padded_width() / 4u;
  let height = padded_height();
  var acc: Acc;
  var w = select(g * p.in_group * kernel_size() * quads + row0 / 4u, (g * p.out_group + row0) * p.in_group * kernel_size(), TILE_ROWS == 1u);
  for (var ci = 0u; ci < p.in_group; ci++) {
    var x = ((n * p.in_channels + g * p.in_group + ci) * height + oy) * row_quads + ox0 / 4u;
    for (var ky = 0u; ky < p.kernel_h; ky++) {
      let a = xv[x];
      let b = xv[x + 1u];
      if (TILE_ROWS == 1u) {
        // One channel, 8 pixels: pixels 0-3 in v0, 4-7 in v1, each tap one weight.
        let c = xv[x + 2u];
        acc.v0 += a * a_src[w];
        acc.v1 += b * a_src[w];
        if (KERNEL_W > 1u) { acc.v0 += vec4<f32>(a.yzw, b.x) * a_src[w + 1u]; acc.v1 += vec4<f32>(b.yzw, c.x) * a_src[w + 1u]; }
        if (KERNEL_W > 2u) { acc.v0 += vec4<f32>(a.zw, b.xy) * a_src[w + 2u]; acc.v1 += vec4<f32>(b.zw, c.xy) * a_src[w + 2u]; }
        if (KERNEL_W > 3u) { acc.v0 += vec4<f32>(a.w, b.xyz) * a_src[w + 3u]; acc.v1 += vec4<f32>(b.w, c.xyz) * a_src[w + 3u]; }
        if (KERNEL_W > 4u) { acc.v0 += b * a_src[w + 4u]; acc.v1 += c * a_src[w + 4u]; }
      } else {
        tap(&acc, a, w);
        if (KERNEL_W > 1u) { tap(&acc, vec4<f32>(a.yzw, b.x), w + quads); }
        if (KERNEL_W > 2u) { tap(&acc, vec4<f32>(a.zw, b.xy), w + 2u * quads); }
        if (KERNEL_W > 3u) { tap(&acc, vec4<f32>(a.w, b.xyz), w + 3u * quads); }
        if (KERNEL_W > 4u) { tap(&acc, b, w + 4u * quads); }
      }
      w += KERNEL_W * quads;
      x += row_quads;
    }
  }
  let pixel = oy * p.out_w + ox0;
  if (TILE_ROWS == 1u) {
    for (var j = 0u; j < min(8u, p.out_w - ox0); j++) { store(g, row0, n * p.out_h * p.out_w + pixel + j, select(acc.v1[j % 4u], acc.v0[j % 4u], j < 4u)); }
    return;
  }
  store_pixel(n, g, row0, pixel, acc.v0, acc.v1);
  if (ox0 + 1u < p.out_w) { store_pixel(n, g, row0, pixel + 1u, acc.v2, acc.v3); }
  if (ox0 + 2u < p.out_w) { store_pixel(n, g, row0, pixel + 2u, acc.v4, acc.v5); }
  if (ox0 + 3u < p.out_w) { store_pixel(n, g, row0, pixel + 3u, acc.v6, acc.v7); }
}

// Backward input as a forward convolution: w_flipped[g, ci, m, KH-1-ky, KW-1-kx] = w[g, m, ci, ky, kx]
// one invocation per weight. Valid for stride 1 with padding <= (kernel - 1) * dilation.
@compute @workgroup_size(WORKGROUP_SIZE)
fn flip_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element_index(gid, groups);
  let ks = kernel_size();
  if (i >= p.out_channels * p.in_group * ks) { return; }
  let m = i / (p.in_group * ks);          // output channel of the original conv
  let ci = (i / ks) % p.in_group;
  let k = i % ks;
  let g = m / p.out_group;
  let flipped = ks - 1u - k;
  out[((g * p.in_group + ci) * p.out_group + m % p.out_group) * ks + flipped] = a_src[i];
}

const TILE: u32 = 64u;       // rows and columns per workgroup tile
const TILE_DEPTH: u32 = 16u; // reduction slice staged per step
var<workgroup> tile_a: array<f32, 1024>; // [TILE_DEPTH][TILE] rows
var<workgroup> tile_b: array<f32, 1024>; // [TILE_DEPTH][TILE] columns

// One workgroup of 16x16 invocations computes a 64x64 tile; each invocation 4x4 outputs strided by 16.
@compute @workgroup_size(16, 16)
fn main_shared(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let shape = gemm_shape();
  let g = wid.z;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let t = lid.y * 16u + lid.x;
  // Each invocation stages one row of A and one column of B, at depths t/64 + 4i.
  let column = decode_column(g, col0 + t % TILE, shape.cols);
  let a_row = row0 + t % TILE;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < shape.depth; k0 += TILE_DEPTH) {
    for (var i = 0u; i < 4u; i++) {
      let kk = t / TILE + 4u * i;
      let d = decode_depth(g, k0 + kk, shape.depth);
      tile_a[kk * TILE + t % TILE] = load_a(d, a_row, shape.rows);
      tile_b[kk * TILE + t % TILE] = load_b(column, d);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_DEPTH; kk++) {
      let b = vec4<f32>(tile_b[kk * TILE + lid.x], tile_b[kk * TILE + lid.x + 16u],
                        tile_b[kk * TILE + lid.x + 32u], tile_b[kk * TILE + lid.x + 48u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += tile_a[kk * TILE + lid.y + 16u * i] * b; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (row < shape.rows && col < shape.cols) { store(g, row, col, acc[i][j]); }
    }
  }
}
