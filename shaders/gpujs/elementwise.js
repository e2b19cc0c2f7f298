// gpu.js kernel: elementwise ops on same-size tensors (a, b) with scalars s0, s1.
// 0 a + b; 1 relu; 2 relu6; 3 leaky relu (slope s0); 4-6 their gradients (dy = a, x = b);
// 7 b != 0 ? a : +0 (masking); 8 1 if |a| (+0 where b == 0 and s1 > 0) > s0 else 0 (threshold mask);
// 9 (1 - s0) * a + s0 * s1 * b (running statistics); 10 1 / sqrt(s0 * a + s1) (inverse std);
// 11 a * b; 12 relu(a + b).
function elementwise(a, b, op, s0, s1) {
  const i = this.thread.x;
  const v = a[i];
  if (op === 0) {
    return v + b[i];
  }
  if (op === 1) {
    return Math.max(v, 0);
  }
  if (op === 2) {
    return Math.min(Math.max(v, 0), 6);
  }
  if (op === 3) {
    if (v > 0) {
      return v;
    }
    return s0 * v;
  }
  if (op === 4) {
    if (b[i] > 0) {
      return v;
    }
    return 0;
  }
  if (op === 5) {
    if (b[i] > 0 && b[i] < 6) {
      return v;
    }
    return 0;
  }
  if (op === 6) {
    if (b[i] > 0) {
      return v;
    }
    return s0 * v;
  }
  if (op === 7) {
    if (b[i] !== 0) {
      return v;
    }
    return 0;
  }
  if (op === 8) {
    let magnitude = Math.abs(v);
    if (s1 > 0) {
      if (b[i] === 0) {
        magnitude = 0;
      }
    }
    if (magnitude > s0) {
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
  return v * b[i];
}
