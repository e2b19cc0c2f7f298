// A model on a backend: parameters and masks as device tensors, forward (training or inference) and
// backward over the graph. Every intermediate a step creates is released by release().
import type { Backend, Tensor } from '../backend.js';
import { type Conv2dOptions, type PoolOptions, transposed } from '../geometry.js';
import { type InferenceFusions, foldBatchNorm, inferenceFusions } from './fold.js';
import { freeAfter, slopeFromOutput } from './liveness.js';
import { BN_EPSILON, type ModelSpec, type Node, type Shapes, activationOf, groupCount, inferShapes, inputsOf, isActivation } from './graph.js';
import { type Model, maskedParam, paramList } from './model.js';
import { groupNormBackward, groupNormForward } from './group-norm.js';
import { LayerQuantizers } from './quantized-layers.js';
import { resizeMatrix } from './resize.js';

/** What forward() keeps for backward(). */
export interface ForwardState {
  batch: number;
  training: boolean;
  outputs: Map<string, Tensor>;
  /** max-pool argmax, batch-norm statistics. */
  saved: Map<string, Tensor>;
  logits: Tensor;
}

export interface BackwardOptions {
  /**
   * Takes each parameter's gradient as soon as the node it belongs to has run its backward (the
   * optimizer's step, which may then change the parameter), then the gradient is freed: backward()
   * returns no gradients, and they never all live at once.
   */
  step?: (param: string, grad: Tensor) => void;
}

const BN_MOMENTUM = 0.1;

/** Throws, naming the model, unless `shape` is a batch of the model's inputs. */
export function checkInputShape(spec: ModelSpec, shape: readonly number[]): void {
  const expected = [shape[0], ...spec.inputShape];
  if (shape.join() !== expected.join()) throw new Error(`model '${spec.name}': input has shape [${shape}], expected [${expected}]`);
}

export class Network {
  readonly params = new Map<string, Tensor>();
  readonly masks = new Map<string, Tensor>();
  readonly shapes: Shapes;

  /** Inference only: the ReLUs and residual adds computed inside the layers before them (fold.ts). */
  private fusions: InferenceFusions = { fusedRelus: new Set(), reluLayers: new Set(), residuals: new Map(), fusedAdds: new Map() };
  private inferenceOnly = false;
  /** Per gather node: its channel indices, and for backward each input channel's place in its output (the output's channel count where it has none). */
  private gatherIndices = new Map<string, { forward: Tensor; backward: Tensor; permutation: boolean }>();
  /** Per resize node: its row and column interpolation matrices, and their transposes for backward. */
  private resizeMatrices = new Map<string, { rows: Tensor; cols: Tensor; rowsT: Tensor; colsT: Tensor }>();
  /** Fake quantization of the spec's quantized layers. */
  private quantizers: LayerQuantizers;
  /** Per size: ones and zeros, for affine maps built from batch norm's (a transposed conv's bias, group norm). */
  private unitAffines = new Map<number, { ones: Tensor; zeros: Tensor }>();
  private readonly unit = (size: number) => {
    let u = this.unitAffines.get(size);
    if (!u) this.unitAffines.set(size, (u = { ones: this.be.upload(new Float32Array(size).fill(1), [size]), zeros: this.be.zeros([size]) }));
    return u;
  };

  constructor(readonly be: Backend, readonly model: Model) {
    this.shapes = inferShapes(model.spec);
    this.quantizers = new LayerQuantizers(be, model.spec.quantization, model.masks);
    for (const p of paramList(model.spec)) {
      // Pruned weights are 0 on the device: every kernel and statistic of a weight (a quantizer's range,
      // importance) sees the model the masks define, as its compacted form does; the optimizer keeps them 0.
      const data = maskedParam(model, p.name);
      if (data.length !== p.shape.reduce((a, b) => a * b, 1)) throw new Error(`model '${model.spec.name}': parameter '${p.name}' has ${data.length} values, its shape [${p.shape}] needs ${p.shape.reduce((a, b) => a * b, 1)}`);
      this.params.set(p.name, be.upload(data, p.shape));
      const mask = model.masks.get(p.name);
      if (mask) this.masks.set(p.name, be.upload(mask, p.shape));
    }
  }

  /**
   * A network for inference only (forward with training false): batch norms folded into the layers
   * before them, ReLUs and residual adds computed inside the layers before them (fold.ts): one kernel
   * where there were up to four.
   */
  static forInference(be: Backend, model: Model): Network {
    const net = new Network(be, foldBatchNorm(model));
    net.inferenceOnly = true;
    net.fusions = inferenceFusions(net.model.spec);
    return net;
  }

  private param(node: string, kind: string): Tensor | undefined { return this.params.get(`${node}.${kind}`); }

  private indicesOf(n: Extract<Node, { op: 'gather' }>) {
    let t = this.gatherIndices.get(n.name);
    if (!t) {
      const inChannels = this.shapes.get(n.input)![0];
      const place = new Array<number>(inChannels).fill(n.channels.length);
      n.channels.forEach((c, j) => { place[c] = j; });
      t = { forward: this.be.upload(n.channels, [n.channels.length]), backward: this.be.upload(place, [inChannels]), permutation: n.channels.length === inChannels };
      this.gatherIndices.set(n.name, t);
    }
    return t;
  }

  /**
   * A transposed convolution: the input gradient of the convolution it transposes (every backend's
   * kernel, WGSL on WebGPU), plus its bias through batch norm's inference map with unit statistics.
   */
  private convTranspose(n: Extract<Node, { op: 'convtranspose' }>, x: Tensor): Tensor {
    const be = this.be;
    const w = this.param(n.name, 'weight')!;
    const [c, h, width] = this.shapes.get(n.name)!;
    const y = be.conv2dBackwardInput(x, w, [x.shape[0], c, h, width], this.convOptions(n));
    const bias = this.param(n.name, 'bias');
    if (!bias) return y;
    const unit = this.unit(c);
    const out = be.batchNormInference(y, { gamma: unit.ones, beta: bias, runningMean: unit.zeros, runningVar: unit.ones, epsilon: 0, momentum: 0 });
    be.dispose(y);
    return out;
  }

  private matricesOf(n: Extract<Node, { op: 'resize' }>) {
    let t = this.resizeMatrices.get(n.name);
    if (!t) {
      const [, h, w] = this.shapes.get(n.input)!;
      const [rows, cols] = [resizeMatrix(h, n.size[0], n), resizeMatrix(w, n.size[1], n)];
      t = {
        rows: this.be.upload(rows, [n.size[0], h]), cols: this.be.upload(cols, [n.size[1], w]),
        rowsT: this.be.upload(transposed(rows, n.size[0], h), [h, n.size[0]]), colsT: this.be.upload(transposed(cols, n.size[1], w), [w, n.size[1]]),
      };
      this.resizeMatrices.set(n.name, t);
    }
    return t;
  }

  /** The gradient of a gather's input: the output gradient's channels put back in place, zeros where a channel was not gathered. */
  private gatherBackward(n: Extract<Node, { op: 'gather' }>, g: Tensor): Tensor {
    const { backward, permutation } = this.indicesOf(n);
    if (permutation) return this.be.gatherChannels(g, 1, backward);
    const zero = this.be.zeros([g.shape[0], 1, ...g.shape.slice(2)]);
    const padded = this.be.concat([g, zero]);
    const dx = this.be.gatherChannels(padded, 1, backward);
    this.be.dispose(zero, padded);
    return dx;
  }

  /**
   * A conv's or linear layer's input and weights as it computes with them: fake-quantized where the layer
   * is quantized (kept in `saved` for backward and released with it), else the tensors themselves.
   */
  private layerOperands(name: string, x: Tensor, saved: Map<string, Tensor>): [Tensor, Tensor] {
    const w = this.param(name, 'weight')!;
    if (!this.quantizers.has(name)) return [x, w];
    const [xq, wq] = [this.quantizers.input(name, x), this.quantizers.weight(name, w)!];
    if (xq) saved.set(`${name}.quantizedInput`, xq);
    saved.set(`${name}.quantizedWeight`, wq);
    return [xq ?? x, wq];
  }

  /** The input and weights a layer computed with in the forward pass `state`. */
  private operandsOf(state: ForwardState, name: string, x: Tensor): [Tensor, Tensor] {
    return [state.saved.get(`${name}.quantizedInput`) ?? x, state.saved.get(`${name}.quantizedWeight`) ?? this.param(name, 'weight')!];
  }

  /** The gradient of a layer's input from that of its (possibly fake-quantized) input. */
  private throughInputQuantizer(state: ForwardState, name: string, dx: Tensor, x: Tensor): Tensor {
    if (!state.saved.has(`${name}.quantizedInput`)) return dx;
    const g = this.quantizers.inputBackward(name, dx, x);
    this.be.dispose(dx);
    return g;
  }

  private convOptions(n: Extract<Node, { op: 'conv2d' | 'convtranspose' }>): Conv2dOptions {
    return { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups };
  }

  private poolOptions(n: Extract<Node, { op: 'maxpool' | 'avgpool' }>): PoolOptions {
    return { kernel: n.kernel, stride: n.stride, padding: n.padding, countIncludePad: n.countIncludePad };
  }

  /**
   * Training frees each output backward() does not read once its last consumer has run (liveness.ts);
   * `keep` names outputs a caller reads afterwards beyond the graph's outputs (distilled features).
   */
  forward(x: Tensor, training: boolean, o: { keep?: Iterable<string> } = {}): ForwardState {
    const be = this.be;
    const batch = x.shape[0];
    checkInputShape(this.model.spec, x.shape);
    if (training && this.inferenceOnly) throw new Error('a Network made by forInference() runs inference only');
    const outputs = new Map<string, Tensor>();
    const saved = new Map<string, Tensor>();
    const frees = training ? freeAfter(this.model.spec, o.keep) : undefined;
    for (const [i, n] of this.model.spec.nodes.entries()) {
      const ins = inputsOf(n).map((name) => outputs.get(name)!);
      let y: Tensor;
      if (isActivation(n)) {
        const a = activationOf(n);
        y = this.fusions.fusedRelus.has(n.name) ? be.reshape(ins[0], ins[0].shape) : be.activation(ins[0], a.kind, a.alpha);
      } else switch (n.op) {
        case 'input': y = be.reshape(x, x.shape); break;
        case 'conv2d': {
          const [xin, w] = this.layerOperands(n.name, ins[0], saved);
          const residual = this.fusions.residuals.get(n.name);
          y = be.conv2d(xin, w, { ...this.convOptions(n), bias: this.param(n.name, 'bias'), residual: residual ? outputs.get(residual) : undefined, relu: this.fusions.reluLayers.has(n.name) });
          break;
        }
        case 'linear': {
          const [xin, w] = this.layerOperands(n.name, ins[0], saved);
          y = be.linear(xin, w, { bias: this.param(n.name, 'bias'), relu: this.fusions.reluLayers.has(n.name) });
          break;
        }
        case 'batchnorm': {
          const p = {
            gamma: this.param(n.name, 'gamma')!, beta: this.param(n.name, 'beta')!, runningMean: this.param(n.name, 'runningMean')!,
            runningVar: this.param(n.name, 'runningVar')!, epsilon: n.epsilon ?? BN_EPSILON, momentum: n.momentum ?? BN_MOMENTUM,
          };
          if (training) {
            const r = be.batchNormTraining(ins[0], p);
            saved.set(`${n.name}.mean`, r.mean);
            saved.set(`${n.name}.invStd`, r.invStd);
            y = r.y;
          } else y = be.batchNormInference(ins[0], p);
          break;
        }
        case 'layernorm': {
          const r = be.layerNorm(ins[0], this.param(n.name, 'gamma')!, this.param(n.name, 'beta')!, { epsilon: n.epsilon ?? BN_EPSILON, mask: this.masks.get(`${n.name}.gamma`) });
          if (training) {
            saved.set(`${n.name}.mean`, r.mean);
            saved.set(`${n.name}.invStd`, r.invStd);
          } else be.dispose(r.mean, r.invStd);
          y = r.y;
          break;
        }
        case 'prelu': y = be.prelu(ins[0], this.param(n.name, 'slope')!); break;
        case 'convtranspose': y = this.convTranspose(n, ins[0]); break;
        case 'groupnorm': {
          const r = groupNormForward(be, ins[0], this.param(n.name, 'gamma')!, this.param(n.name, 'beta')!, { groups: groupCount(n, ins[0].shape[1]), epsilon: n.epsilon ?? BN_EPSILON, unit: this.unit });
          if (training) for (const [k, t] of Object.entries(r.saved)) saved.set(`${n.name}.${k}`, t);
          else be.dispose(...Object.values(r.saved));
          y = r.y;
          break;
        }
        case 'maxpool': {
          if (!training) { y = be.maxPoolValues(ins[0], this.poolOptions(n)); break; } // no backward pass to keep the argmax for
          const r = be.maxPool(ins[0], this.poolOptions(n));
          saved.set(`${n.name}.argmax`, r.argmax);
          y = r.y;
          break;
        }
        case 'avgpool': y = be.avgPool(ins[0], this.poolOptions(n)); break;
        case 'gap': y = be.globalAvgPool(ins[0]); break;
        case 'resize': { const m = this.matricesOf(n); y = be.resample(ins[0], m.rows, m.cols); break; }
        case 'add': {
          const summed = this.fusions.fusedAdds.get(n.name);
          if (summed) { y = be.reshape(outputs.get(summed)!, ins[0].shape); break; } // its convolution added it
          y = ins.slice(1).reduce((acc, t) => { const s = be.add(acc, t, { relu: this.fusions.reluLayers.has(n.name) }); if (acc !== ins[0]) be.dispose(acc); return s; }, ins[0]);
          break;
        }
        case 'mul': y = be.channelScale(ins[0], ins[1]); break;
        case 'concat': y = be.concat(ins); break;
        case 'gather': y = be.gatherChannels(ins[0], 1, this.indicesOf(n).forward); break;
        case 'flatten': y = be.reshape(ins[0], [batch, ins[0].size / batch]); break;
      }
      outputs.set(n.name, y);
      for (const name of frees ? inputsOf(n) : []) {
        if (frees!.get(name) === i && outputs.has(name)) { be.dispose(outputs.get(name)); outputs.delete(name); }
      }
    }
    return { batch, training, outputs, saved, logits: outputs.get(this.model.spec.output)! };
  }

  /** Gradients of every trainable parameter, given the gradient of the logits (the output), or of each output named. */
  backward(state: ForwardState, dOutputs: Tensor | ReadonlyMap<string, Tensor>, o: BackwardOptions = {}): Map<string, Tensor> {
    if (!state.training) throw new Error('backward() needs a forward pass in training mode');
    const be = this.be;
    const grads = new Map<string, Tensor>();
    const flowing = new Map<string, Tensor>();
    const accumulate = (name: string, g: Tensor) => {
      if (name === 'input' || this.model.spec.nodes.find((n) => n.name === name)?.op === 'input') { be.dispose(g); return; }
      const prior = flowing.get(name);
      if (!prior) { flowing.set(name, g); return; }
      flowing.set(name, be.add(prior, g));
      be.dispose(prior, g);
    };
    const seeds = dOutputs instanceof Map ? dOutputs : new Map([[this.model.spec.output, dOutputs as Tensor]]);
    for (const [name, g] of seeds) accumulate(name, be.reshape(g, g.shape));
    const nodes = this.model.spec.nodes;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      const g = flowing.get(n.name);
      if (!g) continue;
      flowing.delete(n.name);
      const made = grads.size;
      const ins = inputsOf(n);
      const x = (k = 0) => state.outputs.get(ins[k])!;
      const shapeOf = (k = 0) => [state.batch, ...this.shapes.get(ins[k])!];
      if (isActivation(n)) {
        const a = activationOf(n);
        accumulate(ins[0], be.activationBackward(g, slopeFromOutput(n) ? state.outputs.get(n.name)! : x(), a.kind, a.alpha));
      } else switch (n.op) {
        case 'input': break;
        case 'conv2d': {
          const [xq, wq] = this.operandsOf(state, n.name, x());
          grads.set(`${n.name}.weight`, be.conv2dBackwardFilter(g, xq, wq.shape, this.convOptions(n)));
          if (this.param(n.name, 'bias')) grads.set(`${n.name}.bias`, be.channelSum(g));
          if (ins[0] !== 'input') accumulate(ins[0], this.throughInputQuantizer(state, n.name, be.conv2dBackwardInput(g, wq, x().shape, this.convOptions(n)), x()));
          break;
        }
        case 'linear': {
          const [xq, wq] = this.operandsOf(state, n.name, x());
          grads.set(`${n.name}.weight`, be.linearBackwardWeight(g, xq));
          if (this.param(n.name, 'bias')) grads.set(`${n.name}.bias`, be.channelSum(g));
          accumulate(ins[0], this.throughInputQuantizer(state, n.name, be.linearBackwardInput(g, wq), x()));
          break;
        }
        case 'batchnorm': {
          const r = be.batchNormBackward(g, x(), this.param(n.name, 'gamma')!, state.saved.get(`${n.name}.mean`)!, state.saved.get(`${n.name}.invStd`)!);
          grads.set(`${n.name}.gamma`, r.dGamma);
          grads.set(`${n.name}.beta`, r.dBeta);
          accumulate(ins[0], r.dx);
          break;
        }
        case 'layernorm': {
          const r = be.layerNormBackward(g, x(), this.param(n.name, 'gamma')!, state.saved.get(`${n.name}.mean`)!, state.saved.get(`${n.name}.invStd`)!, { mask: this.masks.get(`${n.name}.gamma`) });
          grads.set(`${n.name}.gamma`, r.dGamma);
          grads.set(`${n.name}.beta`, r.dBeta);
          accumulate(ins[0], r.dx);
          break;
        }
        case 'convtranspose': {
          // The transposed convolution's gradients are the forward and filter passes of the one it transposes.
          const w = this.param(n.name, 'weight')!;
          grads.set(`${n.name}.weight`, be.conv2dBackwardFilter(x(), g, w.shape, this.convOptions(n)));
          if (this.param(n.name, 'bias')) grads.set(`${n.name}.bias`, be.channelSum(g));
          if (ins[0] !== 'input') accumulate(ins[0], be.conv2d(g, w, this.convOptions(n)));
          break;
        }
        case 'groupnorm': {
          const s = { xHat: state.saved.get(`${n.name}.xHat`)!, mean: state.saved.get(`${n.name}.mean`)!, invStd: state.saved.get(`${n.name}.invStd`)! };
          const r = groupNormBackward(be, g, x(), this.param(n.name, 'gamma')!, s, { groups: groupCount(n, g.shape[1]), unit: this.unit });
          grads.set(`${n.name}.gamma`, r.dGamma);
          grads.set(`${n.name}.beta`, r.dBeta);
          accumulate(ins[0], r.dx);
          break;
        }
        case 'prelu': {
          const r = be.preluBackward(g, x(), this.param(n.name, 'slope')!);
          grads.set(`${n.name}.slope`, r.dSlope);
          accumulate(ins[0], r.dx);
          break;
        }
        case 'maxpool': accumulate(ins[0], be.maxPoolBackward(g, state.saved.get(`${n.name}.argmax`)!, shapeOf(), this.poolOptions(n))); break;
        case 'avgpool': accumulate(ins[0], be.avgPoolBackward(g, shapeOf(), this.poolOptions(n))); break;
        case 'gap': accumulate(ins[0], be.globalAvgPoolBackward(g, shapeOf())); break;
        case 'resize': { const m = this.matricesOf(n); accumulate(ins[0], be.resample(g, m.rowsT, m.colsT)); break; }
        case 'add': for (const name of ins) accumulate(name, be.reshape(g, g.shape)); break;
        case 'mul': {
          const r = be.channelScaleBackward(g, x(0), x(1));
          accumulate(ins[0], r.dx);
          accumulate(ins[1], r.ds);
          break;
        }
        case 'concat': {
          let offset = 0;
          ins.forEach((name, k) => { accumulate(name, be.sliceChannels(g, offset, shapeOf(k)[1])); offset += shapeOf(k)[1]; });
          break;
        }
        case 'gather': accumulate(ins[0], this.gatherBackward(n, g)); break;
        case 'flatten': accumulate(ins[0], be.reshape(g, shapeOf())); break;
      }
      be.dispose(g);
      if (o.step) {
        for (const [param, grad] of [...grads].slice(made)) {
          o.step(param, grad);
          be.dispose(grad);
          grads.delete(param);
        }
      }
    }
    for (const t of flowing.values()) be.dispose(t);
    return grads;
  }

  release(state: ForwardState): void {
    this.be.dispose(...state.outputs.values(), ...state.saved.values());
  }

  /** Reads parameters back into a host-side model (masks included). */
  async download(): Promise<Model> {
    const params = new Map<string, Float32Array>();
    for (const [k, t] of this.params) params.set(k, await this.be.read(t));
    const masks = new Map<string, Float32Array>();
    for (const [k, t] of this.masks) masks.set(k, await this.be.read(t));
    return { spec: this.model.spec, params, masks };
  }

  dispose(): void {
    this.be.dispose(...this.params.values(), ...this.masks.values(), ...[...this.gatherIndices.values()].flatMap((t) => [t.forward, t.backward]));
    this.be.dispose(...[...this.resizeMatrices.values()].flatMap((t) => [t.rows, t.cols, t.rowsT, t.colsT]));
    this.be.dispose(...[...this.unitAffines.values()].flatMap((t) => [t.ones, t.zeros]));
    this.unitAffines.clear();
    this.quantizers.dispose();
    this.gatherIndices.clear();
    this.resizeMatrices.clear();
    this.params.clear();
    this.masks.clear();
  }
}
