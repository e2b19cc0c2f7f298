// Softmax cross-entropy per sample, fused with its gradient, and optional knowledge distillation
// (Hinton et al. 2015): loss = (1 - alpha) * CE(label, softmax(z)) + alpha * T^2 * KL(softmax(t/T) || softmax(z/T)).
// d loss / d z = (1 - alpha) * (softmax(z) - onehot) + alpha * T * (softmax(z/T) - softmax(t/T)).
// The gradient is scaled by `grad_scale` (1/batch for a mean loss); the loss is written per sample,
// and `correct` is 1 where the largest logit (the first, on ties) is the label's.

struct Params { batch: u32, classes: u32, temperature: f32, alpha: f32, grad_scale: f32 }

override HAS_TEACHER: bool = false;
override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;          // class index per sample
@group(0) @binding(3) var<storage, read> teacher_logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> correct: array<f32>;

fn logit(i: u32, teacher: bool) -> f32 {
  if (teacher) { return teacher_logits[i]; } // a branch, not select(): no teacher read without one
  return logits[i];
}

// log-sum-exp of row `base` of the student's (or the teacher's) logits divided by `t`.
fn log_sum_exp(base: u32, t: f32, teacher: bool) -> f32 {
  var m = -3.4e38;
  for (var k = 0u; k < p.classes; k++) { m = max(m, logit(base + k, teacher) / t); }
  var s = 0.0;
  for (var k = 0u; k < p.classes; k++) { s += exp(logit(base + k, teacher) / t - m); }
  return m + log(s);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  if (n >= p.batch) { return; }
  let base = n * p.classes;
  let label = u32(labels[n]);
  let hard = log_sum_exp(base, 1.0, false);
  var hard_weight = 1.0;
  if (HAS_TEACHER) { hard_weight = 1.0 - p.alpha; }
  var total = hard_weight * (hard - logits[base + label]);
  let t = p.temperature;
  var student = 0.0;
  var teacher = 0.0;
  if (HAS_TEACHER) {
    student = log_sum_exp(base, t, false);
    teacher = log_sum_exp(base, t, true);
    var kl = 0.0;
    for (var k = 0u; k < p.classes; k++) {
      let log_q = teacher_logits[base + k] / t - teacher;
      let log_p = logits[base + k] / t - student;
      kl += exp(log_q) * (log_q - log_p);
    }
    total += p.alpha * t * t * kl;
  }
  loss[n] = total;
  var arg = 0u;
  for (var k = 1u; k < p.classes; k++) { if (logits[base + k] > logits[base + arg]) { arg = k; } }
  correct[n] = select(0.0, 1.0, arg == label);
  for (var k = 0u; k < p.classes; k++) {
    var g = hard_weight * (exp(logits[base + k] - hard) - select(0.0, 1.0, k == label));
    if (HAS_TEACHER) {
      let p_soft = exp(logits[base + k] / t - student);
      let q_soft = exp(teacher_logits[base + k] / t - teacher);
      g += p.alpha * t * (p_soft - q_soft);
    }
    grad[base + k] = g * p.grad_scale;
  }
}
