// gpu.js kernel: batch norm per element, NCHW viewed as [batch, channels, spatial].
// mode 0: normalize, (x - mean) * invStd * gamma + beta;
// mode 1: backward, gamma * invStd * (dy - sumDy / count - xHat * sumDyCentered * invStd / count).
function batchNorm(x, dy, mean, invStd, gamma, beta, sumDy, sumDyCentered, mode, channels, spatial, count) {
  const i = this.thread.x;
  const t = Math.floor((i + 0.5) / spatial);
  const c = t - Math.floor((t + 0.5) / channels) * channels;
  const s = invStd[c];
  const xHat = (x[i] - mean[c]) * s;
  if (mode === 0) {
    return xHat * gamma[c] + beta[c];
  }
  return gamma[c] * s * (dy[i] - sumDy[c] / count - xHat * sumDyCentered[c] * s / count);
}
