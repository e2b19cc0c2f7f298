// Inference for evaluation and distillation teachers: the whole model compiled by the backend's graph
// runtime where it has one (the native backend's onnxruntime session: batch norms and activations fused,
// a blocked layout kept across layers), its per-sample runtime where it has one and the model's layers
// have per-sample steps (src/model/samplewise.ts; the native backend's: each sample through every layer,
// the maps between layers in cache), or the op-by-op Network.forInference, whichever runs the model
// fastest where the caller runs enough batches to time them, else the compiled one. Quantized models always
// run op by op: their fake quantization is what training optimised, and the exported QDQ graph would run
// int8 kernels that round differently.
import type { Backend, CompiledGraph, Tensor } from '../backend.js';
import { outputNames } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { Network, checkInputShape } from '../model/network.js';
import { samplewiseProgram } from '../model/samplewise.js';
import { exportOnnx } from '../onnx/export.js';

/** One forward pass: every output of the model by node name, the first as `logits`. */
export interface Inference {
  logits: Tensor;
  outputs: ReadonlyMap<string, Tensor>;
}

export interface InferenceNet {
  forward(x: Tensor): Inference;
  /** Frees what forward() allocated. */
  release(f: Inference): void;
  dispose(): void;
  /**
   * 'compiled' (the backend's graph runtime), 'samplewise' (its per-sample runtime) or 'per-op'; where
   * two are timed, the compiled one until the first batches have chosen.
   */
  readonly engine: 'compiled' | 'samplewise' | 'per-op';
  /** Why a backend with a graph runtime runs this model op by op. */
  readonly perOpReason?: string;
}

export interface InferenceOptions {
  /** Force the op-by-op path (the compiled graph's reference; `WGPRUNE_COMPILED_INFERENCE=off` does the same). */
  perOp?: boolean;
  /** Force the compiled graph where the backend has one (no timing). */
  compiled?: boolean;
  /** Force the per-sample runtime where the backend has one and it takes the model (else op by op). */
  samplewise?: boolean;
  /**
   * Batches the caller will run: from TUNE_BATCHES on, the paths take turns on the first batches, timed,
   * and the fastest is kept.
   */
  batches?: number;
  /** Every node's output as it is, none folded or fused away (feature distillation matches intermediate maps): op by op. */
  features?: boolean;
}

function compiled(be: Backend, model: Model, graph: CompiledGraph): InferenceNet {
  const names = outputNames(model.spec);
  return {
    engine: 'compiled',
    forward(x) {
      checkInputShape(model.spec, x.shape);
      const ys = graph.run(x);
      return { logits: ys[0], outputs: new Map(names.map((n, i) => [n, ys[i]])) };
    },
    release: (f) => be.dispose(...f.outputs.values()),
    dispose: () => graph.dispose(),
  };
}

/** Below this many batches a caller's inference takes the compiled graph untimed (up to three paths take turns on four batches each first). */
export const TUNE_BATCHES = 12;

/**
 * Batches each path runs, taking turns, before the faster is kept, and of those the first ones not counted:
 * they build kernels and sessions, and an onnxruntime session reaches its pace at its third (VGG-small at
 * 0.5 of its channels, batch 256: 66, 66, then 17-19 ms). The paths' later passes, adjacent in time, are
 * summed: the fastest pass of each over all of them (the rule before) chose the slower path in one of
 * three rounds on this machine, whose speed drifts by tens of percent within seconds (17.5 against 15.2
 * ms op by op; ResNet-20 dense op by op at 0.73x the compiled graph's speed).
 */
const TIMED_PASSES = 4;
const SETTLING_PASSES = 2;

/**
 * The paths taking turns on the caller's first batches (no pass wasted: each output is the caller's),
 * timed, then the one whose settled passes took least kept. onnxruntime's compiled graph wins on dense
 * models with many channels (ResNet-18 at 64x64: 1.2x op by op) and on MobileNet (depthwise: no
 * per-sample step), the per-sample runtime on the zoo's ResNet-20 and VGG-small dense and compacted
 * (1.1-1.3x op by op, 1.1-4x onnxruntime), op by op on LeNet-5 (tiny maps: per-sample steps 2-3x
 * slower) and on compacted models that onnxruntime's blocked layout pads (docs/backends.md). Timed on the
 * host: the backends with a graph runtime compute synchronously.
 */
function faster(candidates: InferenceNet[]): InferenceNet {
  const times = candidates.map(() => [] as number[]);
  /** Which path made each output not yet released. */
  const owner = new Map<Inference, InferenceNet>();
  const disposed = new Set<InferenceNet>();
  let chosen: InferenceNet | undefined;
  let calls = 0;
  /** A path not kept goes once its last output is released. */
  const retire = () => {
    for (const net of candidates) if (chosen && net !== chosen && !disposed.has(net) && ![...owner.values()].includes(net)) { net.dispose(); disposed.add(net); }
  };
  return {
    get engine() { return (chosen ?? candidates[0]).engine; },
    forward(x) {
      if (chosen) return chosen.forward(x);
      const i = calls++ % candidates.length;
      const t0 = performance.now();
      const f = candidates[i].forward(x);
      times[i].push(performance.now() - t0);
      owner.set(f, candidates[i]);
      if (calls === TIMED_PASSES * candidates.length) {
        const settled = times.map((t) => t.slice(SETTLING_PASSES).reduce((a, b) => a + b, 0));
        chosen = candidates[settled.indexOf(Math.min(...settled))];
        retire();
      }
      return f;
    },
    release(f) {
      const net = owner.get(f) ?? chosen ?? candidates[0];
      owner.delete(f);
      net.release(f);
      retire();
    },
    dispose: () => {
      for (const net of candidates) if (!disposed.has(net)) { net.dispose(); disposed.add(net); }
    },
  };
}

/** The backend's per-sample runtime on the model's inference network, or why it cannot take it. */
function samplewiseNet(be: Backend, model: Model): InferenceNet | string {
  if (!be.compileSamplewise) return 'the backend has no per-sample runtime';
  if (Object.keys(model.spec.quantization ?? {}).length > 0) return 'the model is quantized (its fake quantization runs op by op)';
  const net = Network.forInference(be, model);
  const program = samplewiseProgram(net);
  let graph: CompiledGraph;
  try {
    if (typeof program === 'string') throw new Error(program);
    graph = be.compileSamplewise(program);
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  } finally {
    net.dispose(); // the compiled graph holds its own copy of the weights
  }
  const names = outputNames(model.spec);
  const shapes = names.map((n) => net.shapes.get(n)!);
  return {
    engine: 'samplewise',
    forward(x) {
      checkInputShape(model.spec, x.shape);
      // A flatten the program dropped: its output takes the model's shape back.
      const ys = graph.run(x).map((y, i) => {
        const shape = [x.shape[0], ...shapes[i]];
        if (shape.join() === y.shape.join()) return y;
        const view = be.reshape(y, shape);
        be.dispose(y);
        return view;
      });
      return { logits: ys[0], outputs: new Map(names.map((n, i) => [n, ys[i]])) };
    },
    release: (f) => be.dispose(...f.outputs.values()),
    dispose: () => graph.dispose(),
  };
}

function perOpNet(be: Backend, model: Model, o: InferenceOptions, perOpReason?: string): InferenceNet {
  const net = o.features ? new Network(be, model) : Network.forInference(be, model);
  return { engine: 'per-op', perOpReason, forward: (x) => net.forward(x, false), release: (f) => net.release(f as ReturnType<Network['forward']>), dispose: () => net.dispose() };
}

/** The fastest inference the backend offers for `model`. */
export function inferenceNetwork(be: Backend, model: Model, o: InferenceOptions = {}): InferenceNet {
  if (o.samplewise) {
    const other = (['perOp', 'compiled', 'features'] as const).filter((k) => o[k]);
    if (other.length) throw new Error(`inferenceNetwork: samplewise cannot be combined with ${other.join(', ')}`);
    const s = samplewiseNet(be, model);
    return typeof s === 'string' ? perOpNet(be, model, o, s) : s;
  }
  let perOpReason: string | undefined;
  if (be.compileOnnx) {
    const quantized = Object.keys(model.spec.quantization ?? {}).length > 0;
    perOpReason = o.perOp ? 'asked for' : o.features ? 'intermediate outputs are read' : process.env.WGPRUNE_COMPILED_INFERENCE === 'off' ? 'WGPRUNE_COMPILED_INFERENCE=off'
      : quantized ? 'the model is quantized (its fake quantization runs op by op)' : undefined;
    // A model the exporter or the runtime cannot take (an op with no ONNX form) runs op by op, and says why.
    if (!perOpReason) {
      let graph: InferenceNet;
      try {
        graph = compiled(be, model, be.compileOnnx(exportOnnx(model, { outputActivation: false })));
      } catch (e) {
        return perOpNet(be, model, o, (e as Error).message.split('\n')[0]);
      }
      if (o.compiled || (o.batches ?? 0) < TUNE_BATCHES) return graph;
      const samplewise = samplewiseNet(be, model);
      return faster([graph, ...(typeof samplewise === 'string' ? [] : [samplewise]), perOpNet(be, model, o)]);
    }
  }
  return perOpNet(be, model, o, perOpReason);
}
