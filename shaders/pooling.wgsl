// Max and average pooling over NCHW planes, forward and backward. Global average pooling is
// average pooling with a window of the whole plane. Backward passes gather (one invocation per
// input element, visiting each window that covers it), so no atomics are needed.
// No `continue` in these loops: SwiftShader miscompiled it in nested loops (only the first tap ran).

struct Params {
  planes: u32, in_h: u32, in_w: u32, out_h: u32,
  out_w: u32, kernel_h: u32, kernel_w: u32, stride_h: u32,
  stride_w: u32, pad_top: u32, pad_left: u32, pad_bottom: u32,
  pad_right: u32, dilation_h: u32, dilation_w: u32, count_include_pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;        // x (forward) or dy (backward)
@group(0) @binding(2) var<storage, read> argmax: array<f32>;     // max backward: flat index in the input plane
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax_out: array<f32>;

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }

fn window_y(oy: u32, ky: u32) -> i32 { return i32(oy * p.stride_h + ky * p.dilation_h) - i32(p.pad_top); }
fn window_x(ox: u32, kx: u32) -> i32 { return i32(ox * p.stride_w + kx * p.dilation_w) - i32(p.pad_left); }

// Number of window positions divided by: all of them (PyTorch's default) or those inside the input.
fn divisor(oy: u32, ox: u32) -> f32 {
  if (p.count_include_pad != 0u) {
    // Positions inside the padded input: PyTorch clips the window at the padded border.
    let y_end = min(i32(oy * p.stride_h + (p.kernel_h - 1u) * p.dilation_h + 1u), i32(p.in_h + p.pad_top + p.pad_bottom));
    let x_end = min(i32(ox * p.stride_w + (p.kernel_w - 1u) * p.dilation_w + 1u), i32(p.in_w + p.pad_left + p.pad_right));
    let rows = (y_end - i32(oy * p.stride_h) + i32(p.dilation_h) - 1) / i32(p.dilation_h);
    let cols = (x_end - i32(ox * p.stride_w) + i32(p.dilation_w) - 1) / i32(p.dilation_w);
    return f32(rows * cols);
  }
  var n = 0u;
  for (var ky = 0u; ky < p.kernel_h; ky++) {
    let iy = window_y(oy, ky);
    for (var kx = 0u; kx < p.kernel_w; kx++) {
      let ix = window_x(ox, kx);
      if (iy >= 0 && ix >= 0 && iy < i32(p.in_h) && ix < i32(p.in_w)) { n++; }
    }
  }
  return f32(max(n, 1u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  let out_plane = p.out_h * p.out_w;
  if (i >= p.planes * out_plane) { return; }
  let base = (i / out_plane) * p.in_h * p.in_w;
  let oy = (i % out_plane) / p.out_w; let ox = i % p.out_w;
  var best = 0.0;
  var best_index = -1.0;
  for (var ky = 0u; ky < p.kernel_h; ky++) {
    let iy = window_y(oy, ky);
    for (var kx = 0u; kx < p.kernel_w; kx++) {
      let ix = window_x(ox, kx);
      if (iy >= 0 && ix >= 0 && iy < i32(p.in_h) && ix < i32(p.in_w)) {
        let at = u32(iy) * p.in_w + u32(ix);
        let v = src[base + at];
        if (best_index < 0.0 || v > best) {
          best = v;
          best_index = f32(at);
        }
      }
    }
  }
  out[i] = best;
  argmax_out[i] = best_index;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  let out_plane = p.out_h * p.out_w;
  if (i >= p.planes * out_plane) { return; }
  let base = (i / out_plane) * p.in_h * p.in_w;
  let oy = (i % out_plane) / p.out_w; let ox = i % p.out_w;
  var sum = 0.0;
  for (var ky = 0u; ky < p.kernel_h; ky++) {
    let iy = window_y(oy, ky);
    for (var kx = 0u; kx < p.kernel_w; kx++) {
      let ix = window_x(ox, kx);
      if (iy >= 0 && ix >= 0 && iy < i32(p.in_h) && ix < i32(p.in_w)) { sum += src[base + u32(iy) * p.in_w + u32(ix)]; }
    }
  }
  out[i] = sum / divisor(oy, ox);
}

// Visits every output window that covers input element i; `is_max` picks the rule.
fn pool_backward(i: u32, is_max: bool) -> f32 {
  let in_plane = p.in_h * p.in_w;
  let out_plane = p.out_h * p.out_w;
  let base = (i / in_plane) * out_plane;
  let at = i % in_plane;
  let iy = at / p.in_w; let ix = at % p.in_w;
  var grad = 0.0;
  for (var ky = 0u; ky < p.kernel_h; ky++) {
    let ty = i32(iy + p.pad_top) - i32(ky * p.dilation_h);
    let oy = u32(max(ty, 0)) / p.stride_h;
    let row_ok = ty >= 0 && ty % i32(p.stride_h) == 0 && oy < p.out_h;
    for (var kx = 0u; kx < p.kernel_w; kx++) {
      let tx = i32(ix + p.pad_left) - i32(kx * p.dilation_w);
      let ox = u32(max(tx, 0)) / p.stride_w;
      if (row_ok && tx >= 0 && tx % i32(p.stride_w) == 0 && ox < p.out_w) {
        let o = base + oy * p.out_w + ox;
        if (is_max) {
          if (argmax[o] == f32(at)) { grad += src[o]; }
        } else {
          grad += src[o] / divisor(oy, ox);
        }
      }
    }
  }
  return grad;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.planes * p.in_h * p.in_w) { return; }
  out[i] = pool_backward(i, true);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.planes * p.in_h * p.in_w) { return; }
  out[i] = pool_backward(i, false);
}
