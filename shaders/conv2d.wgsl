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
}

override MODE: u32 = 0u;
override HAS_BIAS: bool = false;   // MODE 0 only
override HAS_MASK: bool = false;   // weight mask, multiplied into A (modes 0, 1) or the result (mode 2)
override FUSED_RELU: bool = false; // MODE 0 only
override TILE_ROWS: u32 = 4u;      // main_registers: rows per invocation, 1..4
override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a_src: array<f32>; // modes 0, 1: weights; mode 2: output gradient
@group(0) @binding(2) var<storage, read> b_src: array<f32>; // modes 0, 2: input; mode 1: output gradient
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

struct Gemm { rows: u32, cols: u32, depth: u32 }

fn in_group() -> u32 { return p.in_channels / p.groups; }
fn out_group() -> u32 { return p.out_channels / p.groups; }
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

fn decode_depth(g: u32, k: u32, depth: u32) -> Depth {
  if (MODE == 0u) {
    let ci = k / kernel_size(); let kk = k % kernel_size();
    return Depth(ci * p.in_h * p.in_w, i32((kk / p.kernel_w) * p.dilation_h), i32((kk % p.kernel_w) * p.dilation_w),
                 g * out_group() * in_group() * kernel_size() + k, k < depth);
  }
  if (MODE == 1u) {
    let m = k / kernel_size(); let kk = k % kernel_size();
    return Depth(m * p.out_h * p.out_w, i32((kk / p.kernel_w) * p.dilation_h), i32((kk % p.kernel_w) * p.dilation_w),
                 (g * out_group() + m) * in_group() * kernel_size() + kk, k < depth);
  }
  let out_plane = p.out_h * p.out_w;
  let n = k / out_plane; let pix = k % out_plane;
  return Depth(n * p.in_channels * p.in_h * p.in_w, i32((pix / p.out_w) * p.stride_h), i32((pix % p.out_w) * p.stride_w),
               (n * p.out_channels + g * out_group()) * out_plane + pix, k < depth);
}

// Distance between consecutive rows of A.
fn a_row_stride() -> u32 {
  if (MODE == 0u) { return in_group() * kernel_size(); }
  if (MODE == 1u) { return kernel_size(); }
  return p.out_h * p.out_w;
}

fn load_a(d: Depth, row: u32, rows: u32) -> f32 {
  if (!d.valid || row >= rows) { return 0.0; }
  let i = d.a_offset + row * a_row_stride();
  if (HAS_MASK && MODE != 2u) { return a_src[i] * mask[i]; }
  return a_src[i];
}

fn load_b(c: Column, d: Depth) -> f32 {
  if (!c.valid || !d.valid) { return 0.0; }
  if (MODE == 1u) {
    // Input pixel (iy, ix) meets output pixel ((iy + pad - ky*dil) / stride) when that divides exactly.
    let ty = c.y0 - d.dy; let tx = c.x0 - d.dx;
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
    let i = (g * out_group() + row) * in_group() * kernel_size() + col;
    if (HAS_MASK) { out[i] = select(0.0, value, mask[i] != 0.0); } else { out[i] = value; }
  }
}

// One invocation: TILE_ROWS rows x 4 consecutive columns, accumulated in registers.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_registers(@builtin(global_invocation_id) gid: vec3<u32>) {
  let shape = gemm_shape();
  let g = gid.z;
  let col0 = gid.x * 4u;
  let row0 = gid.y * TILE_ROWS;
  if (col0 >= shape.cols || row0 >= shape.rows) { return; }
  var columns: array<Column, 4>;
  for (var j = 0u; j < 4u; j++) { columns[j] = decode_column(g, col0 + j, shape.cols); }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < shape.depth; k++) {
    let d = decode_depth(g, k, shape.depth);
    let b = vec4<f32>(load_b(columns[0], d), load_b(columns[1], d), load_b(columns[2], d), load_b(columns[3], d));
    for (var i = 0u; i < TILE_ROWS; i++) { acc[i] += load_a(d, row0 + i, shape.rows) * b; }
  }
  for (var i = 0u; i < TILE_ROWS; i++) {
    if (row0 + i >= shape.rows) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < shape.cols) { store(g, row0 + i, col0 + j, acc[i][j]); }
    }
  }
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
