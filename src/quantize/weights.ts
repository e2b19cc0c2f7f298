// Post-training quantization of the weights: every conv and linear weight fake-quantized on the backend
// (symmetric, per output channel by default, or per tensor), with each layer's SQNR against float32.
// Activation quantization (calibrated ranges in the graph), QAT and QDQ export build on this.
import type { Backend } from '../backend.js';
import { type Model, paramList } from '../model/model.js';
import { grid, qparams, sqnr } from './calibrate.js';

export interface WeightQuantOptions { bits: number; perChannel?: boolean }

export interface QuantizedWeights { model: Model; layers: { param: string; sqnr: number }[] }

export async function quantizeWeights(be: Backend, model: Model, o: WeightQuantOptions): Promise<QuantizedWeights> {
  const g = grid(o.bits, true);
  const params = new Map(model.params);
  const layers: QuantizedWeights['layers'] = [];
  for (const p of paramList(model.spec).filter((q) => q.kind === 'weight')) {
    const w = model.params.get(p.name)!;
    const channels = o.perChannel === false ? 1 : p.shape[0];
    const per = w.length / channels;
    const scales = Float32Array.from({ length: channels }, (_, c) => {
      let m = 0;
      for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(w[i]));
      return qparams(-m, m, o.bits, true).scale;
    });
    const [x, s, z] = [be.upload(w, p.shape), be.upload(scales, [channels]), be.zeros([channels])];
    const y = be.fakeQuantize(x, s, z, { ...g, ...(o.perChannel === false ? {} : { axis: 0 }) });
    const q = await be.read(y);
    be.dispose(x, s, z, y);
    params.set(p.name, q);
    layers.push({ param: p.name, sqnr: sqnr(w, q) });
  }
  return { model: { ...model, params }, layers };
}
