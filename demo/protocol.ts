// What the page and its worker (worker.ts) say to each other. The page holds no model and runs no
// kernel: every import, decode, simulation and run happens in the worker, so the tab stays responsive.
import type { BackendChoice, GpujsMode, RunReport } from '../src/index.js';

/** A model as the page shows it: what the importer found and its cost on the chosen accelerator. */
export interface ModelInfo {
  source: string;
  name: string;
  inputShape: number[];
  classes: number;
  task: string;
  layers: number;
  groups: number;
  prunableGroups: number;
  params: number;
  macs: number;
  cycles: number;
  latencyMs: number;
  energyUJ: number;
  accelerator: string;
}

export interface DataInfo {
  name: string;
  count: number;
  /** Class names (folders) or label count; none: unlabelled. */
  classNames: string[];
  classes: number;
  unlabelled: boolean;
  /** Files that did not decode, each named with why. */
  skipped: string[];
  /** Where the test images come from. */
  test: string;
}

/** The accelerator: a preset's name, or a SCALE-Sim .cfg's text. */
export interface AcceleratorChoice { preset?: string; cfg?: { name: string; text: string }; mode: 'tiled' | 'scalesim' }

/** A run's options, as `wgprune prune` takes them. */
export interface RunRequest {
  accelerator: AcceleratorChoice;
  granularity: 'channel' | 'unstructured' | 'nm';
  /** --budget METRIC=VALUE */
  budget?: string;
  /** --ratio */
  ratio?: number;
  nm?: string;
  criterion: string;
  /** Fine-tuning steps (--max-steps); 0: none; absent: one epoch. */
  steps?: number;
  batchSize: number;
  learningRate: number;
  kd: boolean;
  compareUniform: boolean;
  restoreBn: 'auto' | 'on' | 'off';
  seed: number;
}

/** Images as picked: a folder's files with their paths, a zip, or NPY arrays (images, optional labels). */
export type DataRequest = { kind: 'files'; name: string; files: { path: string; file: File }[] } | { kind: 'zip'; file: File } | { kind: 'npy'; files: File[] };

export type ToWorker =
  | { kind: 'init'; backend: BackendChoice; gpujs?: GpujsMode; checkpoint: Uint8Array; sample: Record<string, Uint8Array>; accelerator: AcceleratorChoice }
  | { kind: 'model'; file: File; accelerator: AcceleratorChoice }
  | { kind: 'data'; data: DataRequest | null }
  | { kind: 'accelerator'; accelerator: AcceleratorChoice }
  | { kind: 'run'; request: RunRequest }
  | { kind: 'stop' }
  | { kind: 'predict'; pixels: Float32Array };

export type FromWorker =
  | { kind: 'backend'; name: string; notices: string[]; software: boolean }
  | { kind: 'loading'; what: 'model' | 'data'; text: string; fraction?: number }
  | { kind: 'model'; info: ModelInfo }
  | { kind: 'data'; info: DataInfo | null }
  | { kind: 'error'; what: 'model' | 'data' | 'accelerator' | 'run' | 'backend'; message: string }
  | { kind: 'phase'; text: string; fraction?: number; step?: number; totalSteps?: number; loss?: number; accuracy?: number }
  | { kind: 'done'; report: RunReport; backend: string; onnx: Uint8Array; checkpoint: Uint8Array; html: string; kept: { producers: string[]; channels: number; kept: number[] }[] }
  | { kind: 'stopped'; text: string }
  | { kind: 'prediction'; dense: Float32Array; pruned?: Float32Array };
