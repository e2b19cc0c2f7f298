// `npm run bench -- quality` (issue 39): pruning quality against Torch-Pruning at equal cost, on the models
// people bring — PyTorch-trained zoo architectures exported to ONNX in eval mode (batch norms folded).
// Per model and data set, bench/python/torch_pruning_quality.py trains the model in PyTorch, exports it and
// prunes 50% of the channels with Torch-Pruning (L1, classifier kept, one epoch SGD 0.01); then wgprune
// prunes the same ONNX export 50% and fine-tunes one epoch at batch 64 in several settings. Accuracy on the
// full test sets, MACs and simulated cycles on systolic-16x16 of each pruned model; then the product's
// claim: accelerator-aware allocation at the latency of Torch-Pruning's model against uniform 50%.
//   TORCH_PRUNING   a checkout of Torch-Pruning v1.6.1 (pure Python; default /tmp/torch-pruning)
//   QUALITY_MODELS  vgg-small,resnet20     QUALITY_DATA  mnist,fashion-mnist
//   QUALITY_DENSE_EPOCHS  PyTorch training epochs (3)     QUALITY_DIR  working folder (/tmp/wgprune-quality;
//   PyTorch's results are kept there and reused: QUALITY_FRESH=1 trains again)
//   QUALITY_VARIANTS  which wgprune settings (all: defaults,no-bn,sgd,no-bn-sgd)    QUALITY_BUDGET=0 skips the budget rows
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { presets } from '../src/accel/presets.js';
import { type Dataset, encodeNpy } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { openBackend } from '../src/open-backend.js';
import { importOnnx } from '../src/onnx/import.js';
import { CostModel } from '../src/plan/budget.js';
import { type PruneRunOptions, runPrune } from '../src/run/prune-run.js';
import type { TrainOptions } from '../src/train/trainer.js';
import { table } from './util.js';

const env = process.env;
const DIR = env.QUALITY_DIR ?? '/tmp/wgprune-quality';
const TORCH_PRUNING = env.TORCH_PRUNING ?? '/tmp/torch-pruning';
const ACCEL = presets['systolic-16x16'];
/** wgprune's CLI defaults for one epoch of fine-tuning at batch 64 (src/cli/context.ts). */
const ADAM: TrainOptions = { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, schedule: { kind: 'cosine' }, logEvery: 100 };
const SGD: TrainOptions = { ...ADAM, optimizer: 'sgd', learningRate: 0.01, momentum: 0.9, schedule: { kind: 'constant' } };
const VARIANTS: Record<string, { label: string; o: Partial<PruneRunOptions> }> = {
  defaults: { label: 'wgprune defaults (BN restored, Adam)', o: { restoreBatchNorm: true, fineTune: ADAM } },
  'no-bn': { label: 'no BN restored (Adam)', o: { restoreBatchNorm: false, fineTune: ADAM } },
  sgd: { label: 'BN restored, SGD 0.01 as TP', o: { restoreBatchNorm: true, fineTune: SGD } },
  'no-bn-sgd': { label: 'no BN restored, SGD 0.01', o: { restoreBatchNorm: false, fineTune: SGD } },
};

/** One data set as PyTorch reads it: uint8 NPY images and labels (pixels / 255 on both sides). */
function exportData(name: string, sets: Record<'train' | 'test', Dataset>): string {
  const dir = join(DIR, name, 'data');
  if (existsSync(join(dir, 'test_labels.npy'))) return dir;
  mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const d = sets[split];
    writeFileSync(join(dir, `${split}_images.npy`), encodeNpy('|u1', [d.count, 28, 28], Uint8Array.from(d.images, (v) => Math.round(v * 255))));
    writeFileSync(join(dir, `${split}_labels.npy`), encodeNpy('|u1', [d.count], d.labels));
  }
  return dir;
}

interface TorchSide { dense_accuracy: number; tp_accuracy: number; tp_accuracy_before_finetune: number; tp_params: number; dense_onnx: string; tp_onnx: string; seconds: Record<string, number> }

function torchSide(model: string, data: string, dataDir: string): TorchSide {
  const out = join(DIR, data, model);
  const cached = join(out, 'torch.json');
  if (existsSync(cached) && env.QUALITY_FRESH !== '1') return JSON.parse(readFileSync(cached, 'utf8'));
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const script = new URL('./python/torch_pruning_quality.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, '--model', model, '--data', dataDir, '--out', out, '--epochs', env.QUALITY_DENSE_EPOCHS ?? '3'], {
    encoding: 'utf8', env: { ...env, PYTHONPATH: TORCH_PRUNING }, maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`torch_pruning_quality.py ${model} ${data} failed: ${r.stderr.slice(-2000)}`);
  const json = r.stdout.trim().split('\n').at(-1)!;
  writeFileSync(cached, json);
  return JSON.parse(json);
}

const pct = (x?: number) => (x === undefined ? 'n/a' : (100 * x).toFixed(2));

export async function benchQuality(): Promise<void> {
  if (!existsSync(join(TORCH_PRUNING, 'torch_pruning', '__init__.py'))) {
    console.log(`n/a: Torch-Pruning not found at ${TORCH_PRUNING}. Put a checkout of v1.6.1 there or set TORCH_PRUNING (it is pure Python; git clone --branch v1.6.1 of VainF/Torch-Pruning), and apt-get install python3-torch python3-onnx`);
    return;
  }
  const be = await openBackend({ backend: 'native' });
  const variants = (env.QUALITY_VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
  const unknown = variants.filter((v) => !VARIANTS[v]);
  if (unknown.length) throw new Error(`QUALITY_VARIANTS: unknown ${unknown.join(', ')}; choose from ${Object.keys(VARIANTS).join(', ')}`);
  const rows: string[][] = [];
  const budgetRows: string[][] = [];
  for (const data of (env.QUALITY_DATA ?? 'mnist,fashion-mnist').split(',')) {
    const none = { mean: 0, std: 1 };
    const sets = { train: loadDataset(data, 'train', none), test: loadDataset(data, 'test', none) };
    const dataDir = exportData(data, sets);
    for (const name of (env.QUALITY_MODELS ?? 'vgg-small,resnet20').split(',')) {
      const torch = torchSide(name, data, dataDir);
      const dense = importOnnx(new Uint8Array(readFileSync(torch.dense_onnx)), { file: torch.dense_onnx });
      const tpModel = importOnnx(new Uint8Array(readFileSync(torch.tp_onnx)), { file: torch.tp_onnx });
      const costs = new CostModel(ACCEL, { metric: 'latency' });
      const cost = async (spec: typeof dense.spec) => (await costs.evaluate(modelWorkloads(spec))).total;
      const [denseCost, tpCost] = [await cost(dense.spec), await cost(tpModel.spec)];
      const base: PruneRunOptions = {
        model: dense, modelSource: torch.dense_onnx, train: sets.train, test: sets.test, accelerator: ACCEL, criterion: 'l1', granularity: 'channel', ratio: 0.5, seed: 1, fineTune: ADAM,
      };
      const row = [name, data, pct(torch.dense_accuracy), pct(torch.tp_accuracy)];
      let ours: { macs: number; cycles: number } | undefined;
      for (const v of variants) {
        const t0 = performance.now();
        const r = await runPrune(be, { ...base, ...VARIANTS[v].o });
        console.error(`${name} ${data} ${v}: ${pct(r.report.pruned.accuracy)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        row.push(pct(r.report.pruned.accuracy));
        ours ??= r.report.pruned;
      }
      row.push(`${(tpCost.macs / denseCost.macs).toFixed(3)} / ${(ours!.macs / denseCost.macs).toFixed(3)}`, `${(tpCost.cycles / denseCost.cycles).toFixed(3)} / ${(ours!.cycles / denseCost.cycles).toFixed(3)}`);
      rows.push(row);
      console.error(`row: | ${row.join(' | ')} |`); // each row as it is done: a long run stopped early keeps what it measured
      if (env.QUALITY_BUDGET === '0') continue;
      // The product's claim: at Torch-Pruning's model's latency, accelerator-aware allocation against uniform.
      const fraction = tpCost.cycles / denseCost.cycles;
      const r = await runPrune(be, { ...base, ...VARIANTS.defaults.o, ratio: undefined, budget: { metric: 'latency', fraction }, compareUniform: true });
      budgetRows.push([name, data, fraction.toFixed(3), pct(torch.tp_accuracy), pct(r.report.pruned.accuracy), pct(r.report.uniform?.accuracy),
        `${(r.report.pruned.cycles / denseCost.cycles).toFixed(3)} / ${((r.report.uniform?.cycles ?? NaN) / denseCost.cycles).toFixed(3)}`]);
      console.error(`budget row: | ${budgetRows.at(-1)!.join(' | ')} |`);
    }
  }
  be.destroy();
  console.log(table(['model', 'data', 'dense (PyTorch)', 'Torch-Pruning', ...variants.map((v) => VARIANTS[v].label), 'MACs TP / ours', 'cycles TP / ours'], rows));
  if (budgetRows.length) {
    console.log('\nAt the latency of Torch-Pruning\'s model (systolic-16x16), wgprune defaults:');
    console.log(table(['model', 'data', 'latency budget', 'Torch-Pruning 50%', 'accelerator-aware', 'uniform', 'cycles aware / uniform'], budgetRows));
  }
}
