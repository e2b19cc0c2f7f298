// Softmax cross-entropy per sample, fused with its gradient, and optional knowledge distillation
// (Hinton et al. 2015): loss = (1 - alpha) * CE(label, softmax(z)) + alpha * T^2 * KL(softmax(t/T) || softmax(z/T)).
// d loss / d z = (1 - alpha) * (softmax(z) - onehot) + alpha * T * (softmax(z/T) - softmax(t/T)).
// The gradient is scaled by `grad_scale` (1/rows for a mean loss); the loss is written per row, and
// `correct` is 1 where the largest logit (the first, on ties) is the label's. A row is a sample of
// [N, K] logits (positions 1) or a pixel of [N, K, H, W] ones (positions H·W): its logit k is at
// ((row / positions) · K + k) · positions + row mod positions. A row labelled `ignore` has no
// hard-label term and is never correct.

struct Params { rows: u32, classes: u32, temperature: f32, alpha: f32, grad_scale: f32, positions: u32, ignore: f32 }

override HAS_TEACHER: bool = false;
override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;          // class index per row
@group(0) @binding(3) var<storage, read> teacher_logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> correct: array<f32>;

// The flat index of row `base`'s logit k, `base` being the index of its logit 0.
fn at(base: u32, k: u32) -> u32 { return base + k * p.positions; }

fn logit(i: u32, teacher: bool) -> f32 {
  if (teacher) { return teacher_logits[i]; } // a branch, not select(): no teacher read without one
  return logits[i];
}

// log-sum-exp of row `base` of the student's (or the teacher's) logits divided by `t`.
fn log_sum_exp(base: u32, t: f32, teacher: bool) -> f32 {
  var m = -3.4e38;
  for (var k = 0u; k < p.classes; k++) { m = max(m, logit(at(base, k), teacher) / t); }
  var s = 0.0;
  for (var k = 0u; k < p.classes; k++) { s += exp(logit(at(base, k), teacher) / t - m); }
  return m + log(s);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (n >= p.rows) { return; }
  let base = (n / p.positions) * p.classes * p.positions + n % p.positions;
  let ignored = labels[n] == p.ignore;
  let label = select(u32(labels[n]), 0u, ignored);
  let hard = log_sum_exp(base, 1.0, false);
  var hard_weight = 1.0;
  if (HAS_TEACHER) { hard_weight = 1.0 - p.alpha; }
  if (ignored) { hard_weight = 0.0; }
  var total = hard_weight * (hard - logits[at(base, label)]);
  let t = p.temperature;
  var student = 0.0;
  var teacher = 0.0;
  if (HAS_TEACHER) {
    student = log_sum_exp(base, t, false);
    teacher = log_sum_exp(base, t, true);
    var kl = 0.0;
    for (var k = 0u; k < p.classes; k++) {
      let log_q = teacher_logits[at(base, k)] / t - teacher;
      let log_p = logits[at(base, k)] / t - student;
      kl += exp(log_q) * (log_q - log_p);
    }
    total += p.alpha * t * t * kl;
  }
  loss[n] = total;
  var arg = 0u;
  for (var k = 1u; k < p.classes; k++) { if (logits[at(base, k)] > logits[at(base, arg)]) { arg = k; } }
  correct[n] = select(0.0, 1.0, arg == label && !ignored);
  for (var k = 0u; k < p.classes; k++) {
    var g = hard_weight * (exp(logits[at(base, k)] - hard) - select(0.0, 1.0, k == label));
    if (HAS_TEACHER) {
      let p_soft = exp(logits[at(base, k)] / t - student);
      let q_soft = exp(teacher_logits[at(base, k)] / t - teacher);
      g += p.alpha * t * (p_soft - q_soft);
    }
    grad[at(base, k)] = g * p.grad_scale;
  }
}
