// Layer normalisation over the channels at each position of an NCHW tensor viewed as [batch, channels,
// spatial] (ConvNeXt's LayerNorm2d); the definition is src/cpu/reference-layer-norm.ts. With a channel
// mask (HAS_MASK), statistics cover the kept channels only and masked channels output 0.
// Forward: statistics (one thread per position) -> normalize (one per element).
// Backward: backward_statistics (per position: sum(g) / K and sum(g * x_hat) / K with g = mask * gamma * dy)
// -> backward_input (per element) and parameter_gradients (one workgroup per channel, a tree reduction).

struct Params { batch: u32, channels: u32, spatial: u32, epsilon: f32 }

override WORKGROUP_SIZE: u32 = 64u;
override HAS_MASK: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
// Per position: mean and inverse std (written by statistics, read after).
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> inv_std: array<f32>;
// Per position in the backward pass: mean of g and of g * x_hat; per channel: dGamma and dBeta.
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;
@group(0) @binding(9) var<storage, read_write> out1: array<f32>;
@group(0) @binding(10) var<storage, read_write> out: array<f32>;

var<workgroup> partial0: array<f32, WORKGROUP_SIZE>;
var<workgroup> partial1: array<f32, WORKGROUP_SIZE>;

fn kept(c: u32) -> f32 {
  if (HAS_MASK) { return select(0.0, 1.0, mask[c] != 0.0); }
  return 1.0;
}

fn kept_count() -> f32 {
  var count = 0.0;
  for (var c = 0u; c < p.channels; c++) { count += kept(c); }
  return max(count, 1.0);
}

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }
// Element index of channel c at position q (= sample * spatial + pixel).
fn at(q: u32, c: u32) -> u32 { return ((q / p.spatial) * p.channels + c) * p.spatial + q % p.spatial; }

@compute @workgroup_size(WORKGROUP_SIZE)
fn statistics(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let q = flat_index(gid, groups);
  if (q >= p.batch * p.spatial) { return; }
  let count = kept_count();
  var sum = 0.0;
  for (var c = 0u; c < p.channels; c++) { sum += kept(c) * x[at(q, c)]; }
  let mu = sum / count;
  var squares = 0.0;
  for (var c = 0u; c < p.channels; c++) { let d = x[at(q, c)] - mu; squares += kept(c) * d * d; }
  mean[q] = mu;
  inv_std[q] = inverseSqrt(squares / count + p.epsilon);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.batch * p.channels * p.spatial) { return; }
  let c = (i / p.spatial) % p.channels;
  let q = (i / (p.spatial * p.channels)) * p.spatial + i % p.spatial;
  out[i] = kept(c) * (gamma[c] * (x[i] - mean[q]) * inv_std[q] + beta[c]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_statistics(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let q = flat_index(gid, groups);
  if (q >= p.batch * p.spatial) { return; }
  let count = kept_count();
  var sum_g = 0.0;
  var sum_gx = 0.0;
  for (var c = 0u; c < p.channels; c++) {
    let i = at(q, c);
    let g = kept(c) * gamma[c] * dy[i];
    sum_g += g;
    sum_gx += g * (x[i] - mean[q]) * inv_std[q];
  }
  out0[q] = sum_g / count;
  out1[q] = sum_gx / count;
}

// dx = mask * inv_std * (g - mean(g) - x_hat * mean(g * x_hat)); out0, out1 from backward_statistics.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.batch * p.channels * p.spatial) { return; }
  let c = (i / p.spatial) % p.channels;
  let q = (i / (p.spatial * p.channels)) * p.spatial + i % p.spatial;
  let x_hat = (x[i] - mean[q]) * inv_std[q];
  let g = kept(c) * gamma[c] * dy[i];
  out[i] = kept(c) * inv_std[q] * (g - out0[q] - x_hat * out1[q]);
}

// dGamma[c] = sum of mask * dy * x_hat, dBeta[c] = sum of mask * dy, over batch and positions.
@compute @workgroup_size(WORKGROUP_SIZE)
fn parameter_gradients(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  var s0 = 0.0;
  var s1 = 0.0;
  for (var q = t; q < p.batch * p.spatial; q += WORKGROUP_SIZE) {
    let i = at(q, c);
    s0 += dy[i] * (x[i] - mean[q]) * inv_std[q];
    s1 += dy[i];
  }
  partial0[t] = s0;
  partial1[t] = s1;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
    if (t < half) {
      partial0[t] += partial0[t + half];
      partial1[t] += partial1[t + half];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out0[c] = kept(c) * partial0[0];
    out1[c] = kept(c) * partial1[0];
  }
}
