// Parameter updates, one invocation per parameter. With a mask, the gradient is masked first and the
// parameter and its optimizer state are multiplied by the mask after the update, so a pruned weight
// stays exactly 0.0 and carries no stale momentum.
// sgd:  v = momentum * v + (g + weight_decay * w); w -= lr * v   (PyTorch's SGD, dampening 0)
// adam: m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2; w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps),
//       g' = g + weight_decay * w (PyTorch's Adam, L2 decay)

struct Params {
  count: u32, learning_rate: f32, momentum: f32, weight_decay: f32,
  beta1: f32, beta2: f32, epsilon: f32, step: f32,
}

override HAS_MASK: bool = false;
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> state1: array<f32>;
@group(0) @binding(4) var<storage, read_write> state2: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * WORKGROUP_SIZE; }

fn keep(i: u32) -> f32 {
  if (HAS_MASK) { return mask[i]; }
  return 1.0;
}
// +0.0 where pruned (a product with 0.0 can give -0.0).
fn masked(v: f32, k: f32) -> f32 { return select(0.0, v * k, k != 0.0); }

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.count) { return; }
  let k = keep(i);
  let w = weight[i];
  let v = p.momentum * state1[i] + (grad[i] * k + p.weight_decay * w);
  state1[i] = masked(v, k);
  weight[i] = masked(w - p.learning_rate * v, k);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if (i >= p.count) { return; }
  let k = keep(i);
  let w = weight[i];
  let g = grad[i] * k + p.weight_decay * w;
  let m = p.beta1 * state1[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * state2[i] + (1.0 - p.beta2) * g * g;
  state1[i] = masked(m, k);
  state2[i] = masked(v, k);
  let m_hat = m / (1.0 - pow(p.beta1, p.step));
  let v_hat = v / (1.0 - pow(p.beta2, p.step));
  weight[i] = masked(w - p.learning_rate * m_hat / (sqrt(v_hat) + p.epsilon), k);
}
