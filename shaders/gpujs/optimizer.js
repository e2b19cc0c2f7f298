// gpu.js kernel: one element of an optimizer step; pruned entries (mask 0) become exactly +0.
// SGD (PyTorch, dampening 0): v = momentum * velocity + grad + wd * w; which 0 -> new velocity, 1 -> new w.
// Adam (L2 decay): g = grad + wd * w; m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
// which 2 -> m', 3 -> v', 4 -> w - lr * (m' / c1) / (sqrt(v' / c2) + eps), c1 and c2 the bias corrections.
function optimizer(w, grad, m, v, mask, hasMask, which, lr, momentum, wd, b1, b2, eps, c1, c2) {
  const i = this.thread.x;
  let keep = 1;
  if (hasMask > 0) {
    if (mask[i] === 0) {
      keep = 0;
    }
  }
  if (keep === 0) {
    return 0;
  }
  const g = grad[i] + wd * w[i];
  if (which === 0 || which === 1) {
    const step = momentum * m[i] + g;
    if (which === 0) {
      return step;
    }
    return w[i] - lr * step;
  }
  const mi = b1 * m[i] + (1 - b1) * g;
  const vi = b2 * v[i] + (1 - b2) * g * g;
  if (which === 2) {
    return mi;
  }
  if (which === 3) {
    return vi;
  }
  return w[i] - lr * (mi / c1) / (Math.sqrt(vi / c2) + eps);
}
