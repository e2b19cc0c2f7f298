// Inference for evaluation and distillation teachers: the whole model compiled by the backend's graph
// runtime where it has one (the native backend's onnxruntime session: batch norms and activations fused,
// a blocked layout kept across layers), else the op-by-op Network.forInference. Quantized models always
// run op by op: their fake quantization is what training optimised, and the exported QDQ graph would run
// int8 kernels that round differently.
import type { Backend, CompiledGraph, Tensor } from '../backend.js';
import { outputNames } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { Network } from '../model/network.js';
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
  /** 'compiled' (the backend's graph runtime) or 'per-op'. */
  readonly engine: 'compiled' | 'per-op';
  /** Why a backend with a graph runtime runs this model op by op. */
  readonly perOpReason?: string;
}

export interface InferenceOptions {
  /** Force the op-by-op path (the compiled graph's reference; `WGPRUNE_COMPILED_INFERENCE=off` does the same). */
  perOp?: boolean;
  /** Every node's output as it is, none folded or fused away (feature distillation matches intermediate maps): op by op. */
  features?: boolean;
}

function compiled(be: Backend, model: Model, graph: CompiledGraph): InferenceNet {
  const names = outputNames(model.spec);
  const expected = (x: Tensor) => [x.shape[0], ...model.spec.inputShape].join();
  return {
    engine: 'compiled',
    forward(x) {
      if (x.shape.join() !== expected(x)) throw new Error(`model '${model.spec.name}': input has shape [${x.shape}], expected [${expected(x)}]`);
      const ys = graph.run(x);
      return { logits: ys[0], outputs: new Map(names.map((n, i) => [n, ys[i]])) };
    },
    release: (f) => be.dispose(...f.outputs.values()),
    dispose: () => graph.dispose(),
  };
}

/** The fastest inference the backend offers for `model`. */
export function inferenceNetwork(be: Backend, model: Model, o: InferenceOptions = {}): InferenceNet {
  let perOpReason: string | undefined;
  if (be.compileOnnx) {
    const quantized = Object.keys(model.spec.quantization ?? {}).length > 0;
    perOpReason = o.perOp ? 'asked for' : o.features ? 'intermediate outputs are read' : process.env.WGPRUNE_COMPILED_INFERENCE === 'off' ? 'WGPRUNE_COMPILED_INFERENCE=off'
      : quantized ? 'the model is quantized (its fake quantization runs op by op)' : undefined;
    // A model the exporter or the runtime cannot take (an op with no ONNX form) runs op by op, and says why.
    if (!perOpReason) {
      try {
        return compiled(be, model, be.compileOnnx(exportOnnx(model, { outputActivation: false })));
      } catch (e) {
        perOpReason = (e as Error).message.split('\n')[0];
      }
    }
  }
  const net = o.features ? new Network(be, model) : Network.forInference(be, model);
  return { engine: 'per-op', perOpReason, forward: (x) => net.forward(x, false), release: (f) => net.release(f as ReturnType<Network['forward']>), dispose: () => net.dispose() };
}
