// Group normalisation on any backend, composed from its ops: each sample's channel group (with its
// positions) is one row of a [N · G, C/G · H · W] view, normalised by the layer-norm op (unit gamma,
// zero beta); gamma and beta per channel are batch norm's inference map with unit statistics (mean 0,
// variance 1, epsilon 0: exactly gamma · x̂ + beta), and their gradients batch norm's backward at those
// statistics (Σ dy · x̂ and Σ dy). No backend needs a kernel of its own.
import type { Backend, Tensor } from '../backend.js';

/** Per size: ones and zeros, kept by the network for its layers (and disposed with it). */
export type UnitTensors = (size: number) => { ones: Tensor; zeros: Tensor };

export interface GroupNormSaved { xHat: Tensor; mean: Tensor; invStd: Tensor }

const rowsOf = (x: Tensor, groups: number): [number, number] => [x.shape[0] * groups, x.size / (x.shape[0] * groups)];

export function groupNormForward(be: Backend, x: Tensor, gamma: Tensor, beta: Tensor, o: { groups: number; epsilon: number; unit: UnitTensors }): { y: Tensor; saved: GroupNormSaved } {
  const [rows, width] = rowsOf(x, o.groups);
  const view = be.reshape(x, [rows, width]);
  const perRow = o.unit(width), perChannel = o.unit(x.shape[1]);
  const r = be.layerNorm(view, perRow.ones, perRow.zeros, { epsilon: o.epsilon });
  const xHat = be.reshape(r.y, x.shape);
  const y = be.batchNormInference(xHat, { gamma, beta, runningMean: perChannel.zeros, runningVar: perChannel.ones, epsilon: 0, momentum: 0 });
  be.dispose(view, r.y);
  return { y, saved: { xHat, mean: r.mean, invStd: r.invStd } };
}

export function groupNormBackward(be: Backend, dy: Tensor, x: Tensor, gamma: Tensor, s: GroupNormSaved, o: { groups: number; unit: UnitTensors }): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  const [rows, width] = rowsOf(x, o.groups);
  const perRow = o.unit(width), perChannel = o.unit(x.shape[1]);
  const affine = be.batchNormBackward(dy, s.xHat, gamma, perChannel.zeros, perChannel.ones);
  const dxHat = be.batchNormInference(dy, { gamma, beta: perChannel.zeros, runningMean: perChannel.zeros, runningVar: perChannel.ones, epsilon: 0, momentum: 0 });
  const [dView, xView] = [be.reshape(dxHat, [rows, width]), be.reshape(x, [rows, width])];
  const norm = be.layerNormBackward(dView, xView, perRow.ones, s.mean, s.invStd);
  const dx = be.reshape(norm.dx, x.shape);
  be.dispose(affine.dx, dxHat, dView, xView, norm.dx, norm.dGamma, norm.dBeta);
  return { dx, dGamma: affine.dGamma, dBeta: affine.dBeta };
}
