// Batch normalisation over NCHW, per channel. The per-channel sums come from channel-reduce.wgsl.
// Training forward: mean (reduce MODE 0), squared deviations (MODE 1) -> finalize_statistics -> normalize.
// Inference: inverse_std from the running variance -> normalize with the running mean.
// Backward: sum(dy) and sum(dy * (x - mean)) (MODE 2) -> backward.

struct Params { batch: u32, channels: u32, spatial: u32, epsilon: f32, momentum: f32 }

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(8) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(9) var<storage, read> sum_dy: array<f32>;
@group(0) @binding(10) var<storage, read> sum_dy_centered: array<f32>;
@group(0) @binding(11) var<storage, read_write> out: array<f32>;

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }
fn element_count() -> u32 { return p.batch * p.channels * p.spatial; }

// inv_std arrives holding the sum of squared deviations; leaves holding 1/sqrt(var + eps).
// Running statistics take the unbiased variance (PyTorch's convention).
@compute @workgroup_size(WORKGROUP_SIZE)
fn finalize_statistics(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  let count = f32(p.batch * p.spatial);
  let squared_deviations = inv_std[c];
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean[c];
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * squared_deviations / max(count - 1.0, 1.0);
  inv_std[c] = inverseSqrt(squared_deviations / count + p.epsilon);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn inverse_std(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  inv_std[c] = inverseSqrt(running_var[c] + p.epsilon);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= element_count()) { return; }
  let c = (i / p.spatial) % p.channels;
  out[i] = (x[i] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
}

// dx = gamma * inv_std * (dy - sum(dy) / count - x_hat * sum(dy * x_hat) / count)
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= element_count()) { return; }
  let c = (i / p.spatial) % p.channels;
  let count = f32(p.batch * p.spatial);
  let s = inv_std[c];
  let x_hat = (x[i] - mean[c]) * s;
  out[i] = gamma[c] * s * (dy[i] - sum_dy[c] / count - x_hat * sum_dy_centered[c] * s / count);
}
