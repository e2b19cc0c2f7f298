// Fake quantization of a network's quantized layers on its backend: each layer's input through its
// calibrated quantizer, its weights through a symmetric grid whose scales the backend computes from the
// weights each pass (max |w| per output channel, or mean |w| for binary weights, as weightScales() defines
// them), and the clipped
// straight-through gradient of the input quantizer. The weights' quantizer clips nothing (its range is
// their max), so its straight-through gradient is the identity and the weight gradient passes unchanged;
// for binary weights the identity is BinaryConnect's and XNOR-Net's estimator for weights inside ±1.
import type { Backend, Tensor } from '../backend.js';
import { type LayerQuant, type Quantization, SCALE_FLOOR, grid, weightScaleFactors } from './quantization.js';

interface InputQuantizer { scale: Tensor; zeroPoint: Tensor; grid: { qmin: number; qmax: number } }
/** `mask` [1, size, 1, 1]: binary layers only, whose sign(0) = +1 would revive a pruned weight. */
interface WeightConstants { inverseQmax: Tensor; floor: Tensor; zeros: Tensor; mask?: Tensor }

export class LayerQuantizers {
  private inputs = new Map<string, InputQuantizer>();
  private weights = new Map<string, WeightConstants>();

  /** `masks`: the model's weight masks (by parameter name); binary scales average over the weights not pruned. */
  constructor(private be: Backend, private layers: Quantization = {}, private masks: Map<string, Float32Array> = new Map()) {}

  has(layer: string): boolean { return layer in this.layers; }

  /** The layer's input fake-quantized, or undefined when the layer or its input is not quantized. */
  input(layer: string, x: Tensor): Tensor | undefined {
    const q = this.inputQuantizer(layer);
    return q && this.be.fakeQuantize(x, q.scale, q.zeroPoint, q.grid);
  }

  /** The input quantizer's gradient: dy where x fell inside the grid, 0 where it was clipped. */
  inputBackward(layer: string, dy: Tensor, x: Tensor): Tensor {
    const q = this.inputQuantizer(layer)!;
    return this.be.fakeQuantizeBackward(dy, x, q.scale, q.zeroPoint, q.grid);
  }

  /** The layer's weights fake-quantized, or undefined when the layer is not quantized. */
  weight(layer: string, w: Tensor): Tensor | undefined {
    const q = this.layers[layer];
    if (!q) return undefined;
    const be = this.be;
    const channels = q.perChannel ? w.shape[0] : 1;
    const c = this.weightConstants(layer, q, channels, w.size / channels);
    const rows = be.reshape(w, [channels, w.size / channels]);
    // Binary: the mean |w| (l1 / count); otherwise the range max |w| (× 1 / qmax below).
    const range = be.channelStats(rows, 0, q.weightBits === 1 ? 'l1' : 'absmax');
    const range4 = be.reshape(range, [1, channels, 1, 1]);
    const scaled = be.channelScale(range4, c.inverseQmax);
    const scale4 = be.add(scaled, c.floor);
    const scale = be.reshape(scale4, [channels]);
    const y = be.fakeQuantize(rows, scale, c.zeros, { ...grid(q.weightBits, true), axis: 0 });
    // Integer grids map a pruned 0 to 0; the binary grid maps it to +scale, so its mask is applied again.
    const flat = c.mask && be.reshape(y, c.mask.shape);
    const masked = flat && be.channelScale(flat, c.mask!);
    const out = be.reshape(masked ?? y, w.shape);
    be.dispose(rows, range, range4, scaled, scale4, scale, y, flat, masked);
    return out;
  }

  dispose(): void {
    for (const q of this.inputs.values()) this.be.dispose(q.scale, q.zeroPoint);
    for (const c of this.weights.values()) this.be.dispose(c.inverseQmax, c.floor, c.zeros, c.mask);
    this.inputs.clear();
    this.weights.clear();
  }

  private inputQuantizer(layer: string): InputQuantizer | undefined {
    const a = this.layers[layer]?.input;
    if (!a) return undefined;
    let q = this.inputs.get(layer);
    if (!q) {
      q = { scale: this.be.upload([a.scale], [1]), zeroPoint: this.be.upload([a.zeroPoint], [1]), grid: grid(a.bits, a.symmetric) };
      this.inputs.set(layer, q);
    }
    return q;
  }

  /** Per layer: the scale factors (weightScaleFactors), SCALE_FLOOR and zero points, for `channels` scales of `per` values. */
  private weightConstants(layer: string, q: LayerQuant, channels: number, per: number): WeightConstants {
    let c = this.weights.get(layer);
    if (!c) {
      const mask = this.masks.get(`${layer}.weight`);
      c = {
        inverseQmax: this.be.upload(weightScaleFactors(q, channels, per, mask), [1, channels, 1, 1]),
        floor: this.be.upload(new Float32Array(channels).fill(SCALE_FLOOR), [1, channels, 1, 1]),
        zeros: this.be.zeros([channels]),
        mask: mask && q.weightBits === 1 ? this.be.upload(mask, [1, mask.length, 1, 1]) : undefined,
      };
      this.weights.set(layer, c);
    }
    return c;
  }
}
