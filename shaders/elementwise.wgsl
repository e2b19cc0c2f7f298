// Elementwise ops over flat arrays, one invocation per element.
// OP 4 a + b; 5 a * b; 6 fill with `value`; 7 a * value; 10 relu(a + b);
// 11 activation ACT of a; 12 its gradient (a = dy, b = x). `value` is the activation's alpha;
// 13 a * b[i / inner]: one factor per run of `inner` elements (a channel scale, b = [N, C]);
// 14 PReLU of a with slopes b[c], c = (i / inner) % channels; 15 its input gradient (a = dy, b = x, slope);
// 16 (a - b) * value.
// ACT indexes ACTIVATIONS in src/backend.ts: 0 relu, 1 relu6, 2 leaky relu, 3 sigmoid, 4 hard sigmoid,
// 5 hard swish, 6 SiLU, 7 GELU (erf), 8 GELU (tanh); the formulas are reference.activate/activationSlope.

struct Params { count: u32, value: f32, inner: u32, channels: u32 }

override OP: u32 = 4u;
override ACT: u32 = 0u;
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> slopes: array<f32>; // OP 15 only

const GELU_K: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_C: f32 = 0.044715;

// erf by Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7, below float32's resolution of the results.
fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

fn activate(v: f32, alpha: f32) -> f32 {
  switch ACT {
    case 0u: { return max(v, 0.0); }
    case 1u: { return clamp(v, 0.0, 6.0); }
    case 2u: { return select(alpha * v, v, v > 0.0); }
    case 3u: { return sigmoid(v); }
    case 4u: { return clamp(alpha * v + 0.5, 0.0, 1.0); }
    case 5u: { return v * clamp(v / 6.0 + 0.5, 0.0, 1.0); }
    case 6u: { return v * sigmoid(v); }
    case 7u: { return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476)); }
    default: { return 0.5 * v * (1.0 + tanh(GELU_K * (v + GELU_C * v * v * v))); }
  }
}

fn slope(v: f32, alpha: f32) -> f32 {
  switch ACT {
    case 0u: { return select(0.0, 1.0, v > 0.0); }
    case 1u: { return select(0.0, 1.0, v > 0.0 && v < 6.0); }
    case 2u: { return select(alpha, 1.0, v > 0.0); }
    case 3u: { let s = sigmoid(v); return s * (1.0 - s); }
    case 4u: { let h = alpha * v + 0.5; return select(0.0, alpha, h > 0.0 && h < 1.0); }
    case 5u: { return select(select(v / 3.0 + 0.5, 1.0, v > 3.0), 0.0, v < -3.0); }
    case 6u: { let s = sigmoid(v); return s * (1.0 + v * (1.0 - s)); }
    case 7u: { return 0.5 * (1.0 + erf_approx(v * 0.7071067811865476)) + v * exp(-0.5 * v * v) * 0.3989422804014327; }
    default: {
      let t = tanh(GELU_K * (v + GELU_C * v * v * v));
      return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * v * v);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.count) { return; }
  switch OP {
    case 4u: { out[i] = a[i] + b[i]; }
    case 5u: { out[i] = a[i] * b[i]; }
    case 6u: { out[i] = p.value; }
    case 10u: { out[i] = max(a[i] + b[i], 0.0); }
    case 11u: { out[i] = activate(a[i], p.value); }
    case 12u: { out[i] = a[i] * slope(b[i], p.value); }
    case 13u: { out[i] = a[i] * b[i / p.inner]; }
    case 14u: { out[i] = select(b[(i / p.inner) % p.channels] * a[i], a[i], a[i] > 0.0); }
    case 15u: { out[i] = select(slopes[(i / p.inner) % p.channels] * a[i], a[i], b[i] > 0.0); }
    case 16u: { out[i] = (a[i] - b[i]) * p.value; }
    default: { out[i] = a[i] * p.value; }
  }
}
