// Separable linear resampling of [H, W] planes (src/cpu/reference-resample.ts): y = rows * x * cols^T,
// as two passes, one thread per output element each. rows_pass: t[p, oy, ix] = sum over iy of
// rows[oy, iy] * x[p, iy, ix]; cols_pass: y[p, oy, ox] = sum over ix of cols[ox, ix] * t[p, oy, ix].

struct Params { planes: u32, in_h: u32, in_w: u32, out_h: u32, out_w: u32 }

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }

@compute @workgroup_size(WORKGROUP_SIZE)
fn rows_pass(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.planes * p.out_h * p.in_w) { return; }
  let ix = i % p.in_w;
  let oy = (i / p.in_w) % p.out_h;
  let plane = i / (p.in_w * p.out_h);
  var sum = 0.0;
  for (var iy = 0u; iy < p.in_h; iy++) {
    sum += weights[oy * p.in_h + iy] * source[(plane * p.in_h + iy) * p.in_w + ix];
  }
  out[i] = sum;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cols_pass(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.planes * p.out_h * p.out_w) { return; }
  let ox = i % p.out_w;
  let row = i / p.out_w;
  var sum = 0.0;
  for (var ix = 0u; ix < p.in_w; ix++) {
    sum += weights[ox * p.in_w + ix] * source[row * p.in_w + ix];
  }
  out[i] = sum;
}
