// Fake quantization over x viewed as [outer, channels, inner], one scale and zero point per channel
// (channels = 1 per tensor); src/cpu/reference-quantize.ts is the definition. q = round(x / s) + z with
// WGSL's round (half to even); MODE 0: y = (clamp(q, qmin, qmax) - z) * s; MODE 1 (the straight-through
// gradient): dy where qmin <= q <= qmax, else 0. BINARY: y = s * sign(x) (sign(0) = +1), gradient dy where |x| <= s.

struct Params { count: u32, channels: u32, inner: u32, qmin: f32, qmax: f32 }

override MODE: u32 = 0u;
override BINARY: bool = false;
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.count) { return; }
  let c = (i / p.inner) % p.channels;
  let s = scale[c];
  let z = zero_point[c];
  if (BINARY) {
    if (MODE == 0u) { out[i] = select(-s, s, x[i] >= 0.0); } else { out[i] = select(0.0, dy[i], abs(x[i]) <= s); }
    return;
  }
  let q = round(x[i] / s) + z;
  if (MODE == 0u) {
    out[i] = (clamp(q, p.qmin, p.qmax) - z) * s;
  } else {
    out[i] = select(0.0, dy[i], q >= p.qmin && q <= p.qmax);
  }
}
