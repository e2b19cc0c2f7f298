// Layer norm over channels on WebGPU (shaders/layer-norm.wgsl): the dispatches of WebGpuBackend's
// layerNorm and layerNormBackward.
import type { LayerNormOptions, Tensor } from '../backend.js';
import { assertShape, layerNormView } from '../geometry.js';
import type { GpuContext } from './context.js';

const WORKGROUP = 64;

function dispatcher(ctx: GpuContext, view: [number, number, number], epsilon: number, mask: Tensor | undefined) {
  const [n, c, s] = view;
  return (entry: string, bindings: Record<number, Tensor | GPUBuffer>, workgroups: [number, number?]) => ctx.run({
    shader: 'layer-norm', entry, overrides: { WORKGROUP_SIZE: WORKGROUP, HAS_MASK: mask !== undefined },
    params: [n, c, s, epsilon], floats: [3],
    bindings: { ...bindings, 5: mask ?? ctx.dummy },
    workgroups,
  });
}

export function layerNormForward(ctx: GpuContext, x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions) {
  const view = layerNormView('layerNorm', x.shape, { gamma, beta, mask: o.mask });
  const [n, , s] = view;
  const run = dispatcher(ctx, view, o.epsilon, o.mask);
  const mean = ctx.empty([n, s]), invStd = ctx.empty([n, s]), y = ctx.empty(x.shape);
  run('statistics', { 1: x, 6: mean, 7: invStd }, ctx.grid(n * s, WORKGROUP));
  run('normalize', { 1: x, 3: gamma, 4: beta, 6: mean, 7: invStd, 10: y }, ctx.grid(x.size, WORKGROUP));
  return { y, mean, invStd };
}

export function layerNormBackward(ctx: GpuContext, dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, o: { mask?: Tensor }) {
  const view = layerNormView('layerNormBackward', x.shape, { gamma, mask: o.mask }, { mean, invStd });
  assertShape('layerNormBackward', 'dy', dy.shape, x.shape);
  const [n, c, s] = view;
  const run = dispatcher(ctx, view, 0, o.mask);
  const meanG = ctx.empty([n, s]), meanGx = ctx.empty([n, s]);
  run('backward_statistics', { 1: x, 2: dy, 3: gamma, 6: mean, 7: invStd, 8: meanG, 9: meanGx }, ctx.grid(n * s, WORKGROUP));
  const dx = ctx.empty(x.shape);
  run('backward_input', { 1: x, 2: dy, 3: gamma, 6: mean, 7: invStd, 8: meanG, 9: meanGx, 10: dx }, ctx.grid(x.size, WORKGROUP));
  const dGamma = ctx.empty([c]), dBeta = ctx.empty([c]);
  run('parameter_gradients', { 1: x, 2: dy, 6: mean, 7: invStd, 8: dGamma, 9: dBeta }, [c]);
  ctx.dispose(meanG);
  ctx.dispose(meanGx);
  return { dx, dGamma, dBeta };
}
