// gpu.js kernel: layer norm over channels, NCHW viewed as [batch, channels, spatial]; statistics per
// position q = sample * spatial + pixel over the channels whose mask is not 0 (src/cpu/reference-layer-norm.ts).
// Per position: mode 0 mean; 1 invStd; 3 mean of g = mask * gamma * dy; 4 mean of g * xHat.
// Per element: mode 2 y = mask * (gamma * xHat + beta); 5 dx = mask * invStd * (g - meanG - xHat * meanGx).
// Per channel: mode 6 dGamma = sum of mask * dy * xHat; 7 dBeta = sum of mask * dy.
function layerNorm(x, dy, gamma, beta, mask, mean, invStd, meanG, meanGx, mode, channels, spatial, positions, epsilon) {
  const i = this.thread.x;
  if (mode === 6 || mode === 7) {
    let sum = 0;
    if (mask[i] !== 0) {
      for (let q = 0; q < positions; q++) {
        const sample = Math.floor((q + 0.5) / spatial);
        const at = (sample * channels + i) * spatial + q - sample * spatial;
        if (mode === 6) {
          sum += dy[at] * (x[at] - mean[q]) * invStd[q];
        } else {
          sum += dy[at];
        }
      }
    }
    return sum;
  }
  if (mode === 2 || mode === 5) {
    const t = Math.floor((i + 0.5) / spatial);
    const pixel = i - t * spatial;
    const sample2 = Math.floor((t + 0.5) / channels);
    const c = t - sample2 * channels;
    const p = sample2 * spatial + pixel;
    if (mask[c] === 0) {
      return 0;
    }
    const xHat = (x[i] - mean[p]) * invStd[p];
    if (mode === 2) {
      return gamma[c] * xHat + beta[c];
    }
    return invStd[p] * (gamma[c] * dy[i] - meanG[p] - xHat * meanGx[p]);
  }
  const sample3 = Math.floor((i + 0.5) / spatial);
  const base = sample3 * channels * spatial + i - sample3 * spatial;
  let count = 0;
  let sum2 = 0;
  for (let c2 = 0; c2 < channels; c2++) {
    if (mask[c2] !== 0) {
      const v = x[base + c2 * spatial];
      count += 1;
      if (mode === 0) {
        sum2 += v;
      } else if (mode === 1) {
        sum2 += (v - mean[i]) * (v - mean[i]);
      } else if (mode === 3) {
        sum2 += gamma[c2] * dy[base + c2 * spatial];
      } else {
        sum2 += gamma[c2] * dy[base + c2 * spatial] * (v - mean[i]) * invStd[i];
      }
    }
  }
  count = Math.max(count, 1);
  if (mode === 1) {
    return 1 / Math.sqrt(sum2 / count + epsilon);
  }
  return sum2 / count;
}
