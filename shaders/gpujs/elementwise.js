// gpu.js kernel: elementwise ops on same-size tensors (a, b) with scalars s0, s1.
// 0 a + b; 8 1 if |a| > s0 else 0 (threshold mask); 9 (1 - s0) * a + s0 * s1 * b (running statistics); 10 1 / sqrt(s0 * a + s1) (inverse std);
// 11 a * b; 12 relu(a + b); 13 activation number s1 (ACTIVATIONS in src/backend.ts) of a with alpha s0;
// 14 its gradient (dy = a, x = b). Formulas: reference.activate and activationSlope;
// 15 a * b[floor(i / s0)]: one factor per run of s0 elements (a channel scale);
// 16 PReLU of a with slopes b[c], c = floor(i / s0) % s1; 17 its slope factor (1 where a > 0, else b[c]);
// 18 s0 * (a - s1 * b).
function elementwise(a, b, op, s0, s1) {
  const i = this.thread.x;
  const v = a[i];
  if (op === 0) {
    return v + b[i];
  }
  if (op === 13) {
    return activate(v, s1, s0);
  }
  if (op === 14) {
    return v * slope(b[i], s1, s0);
  }
  if (op === 15) {
    return v * b[Math.floor(i / s0)];
  }
  if (op === 16 || op === 17) {
    if (v > 0) {
      if (op === 16) {
        return v;
      }
      return 1;
    }
    const k = Math.floor(i / s0);
    const s = b[k - Math.floor(k / s1) * s1];
    if (op === 16) {
      return s * v;
    }
    return s;
  }
  if (op === 8) {
    if (Math.abs(v) > s0) {
      return 1;
    }
    return 0;
  }
  if (op === 9) {
    return (1 - s0) * v + s0 * s1 * b[i];
  }
  if (op === 10) {
    return 1 / Math.sqrt(s0 * v + s1);
  }
  if (op === 12) {
    return Math.max(v + b[i], 0);
  }
  if (op === 18) {
    return s0 * (v - s1 * b[i]);
  }
  return v * b[i];
}

// erf by Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7.
function erfApprox(x) {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const e = 1 - poly * Math.exp(-x * x);
  if (x < 0) {
    return -e;
  }
  return e;
}

function sigmoidOf(v) {
  return 1 / (1 + Math.exp(-v));
}

// tanh(u) = 1 - 2 / (exp(2u) + 1): Math.tanh is not in every gpu.js target.
function tanhOf(u) {
  return 1 - 2 / (Math.exp(2 * u) + 1);
}

function activate(v, kind, alpha) {
  if (kind === 0) {
    return Math.max(v, 0);
  }
  if (kind === 1) {
    return Math.min(Math.max(v, 0), 6);
  }
  if (kind === 2) {
    if (v > 0) {
      return v;
    }
    return alpha * v;
  }
  if (kind === 3) {
    return sigmoidOf(v);
  }
  if (kind === 4) {
    return Math.min(Math.max(alpha * v + 0.5, 0), 1);
  }
  if (kind === 5) {
    return v * Math.min(Math.max(v / 6 + 0.5, 0), 1);
  }
  if (kind === 6) {
    return v * sigmoidOf(v);
  }
  if (kind === 7) {
    return 0.5 * v * (1 + erfApprox(v * 0.7071067811865476));
  }
  return 0.5 * v * (1 + tanhOf(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

function slope(v, kind, alpha) {
  if (kind === 0) {
    if (v > 0) {
      return 1;
    }
    return 0;
  }
  if (kind === 1) {
    if (v > 0 && v < 6) {
      return 1;
    }
    return 0;
  }
  if (kind === 2) {
    if (v > 0) {
      return 1;
    }
    return alpha;
  }
  if (kind === 3) {
    const s = sigmoidOf(v);
    return s * (1 - s);
  }
  if (kind === 4) {
    const h = alpha * v + 0.5;
    if (h > 0 && h < 1) {
      return alpha;
    }
    return 0;
  }
  if (kind === 5) {
    if (v < -3) {
      return 0;
    }
    if (v <= 3) {
      return v / 3 + 0.5;
    }
    return 1;
  }
  if (kind === 6) {
    const q = sigmoidOf(v);
    return q * (1 + v * (1 - q));
  }
  if (kind === 7) {
    return 0.5 * (1 + erfApprox(v * 0.7071067811865476)) + v * Math.exp(-0.5 * v * v) * 0.3989422804014327;
  }
  const t = tanhOf(0.7978845608028654 * (v + 0.044715 * v * v * v));
  return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v);
}
