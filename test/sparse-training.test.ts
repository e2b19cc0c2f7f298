// Sparse training: the penalty's gradient against finite differences of its value (float64, host) on
// every backend and for every kind of structure; coupled channels (a residual pair) shrink as one; on a toy
// problem whose useless channels are known, sparse training empties exactly those.
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/backend.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { GraphBuilder, type ModelSpec } from '../src/model/graph.js';
import { type Model, cloneModel, initModel, paramList, parameterCount } from '../src/model/model.js';
import { Network } from '../src/model/network.js';
import { resnet20 } from '../src/model/zoo.js';
import { NativeBackend } from '../src/native/backend.js';
import { compactModel } from '../src/prune/compact.js';
import { channelGroups } from '../src/prune/dependency.js';
import { NEAR_ZERO, SparsityPenalty, penaltyValue, removeEmptied, sparseTrain, structureNorms } from '../src/prune/regularize.js';
import { STRUCTURE_KINDS, type StructureKind, residualBlocks } from '../src/prune/structures.js';
import { evaluate } from '../src/accel/cost.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { preset } from '../src/accel/presets.js';
import { runPrune } from '../src/run/prune-run.js';
import { Rng } from '../src/random.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CHECKPOINT } from '../src/cli/inputs.js';
import { subset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/sources.js';
import { cpu, inferenceLogits, toleranceRatio, webgpu } from './helpers/backends.js';

/** A residual block with a projection-free shortcut, batch norms, a 3x3 conv and a classifier. */
function residualNet(): ModelSpec {
  const g = new GraphBuilder('residual-mini', [2, 5, 5], 3);
  const stem = g.relu(g.bn(g.conv('input', { out: 4, kernel: 3, padding: 1, bias: false, name: 'stem' }), 'stem.bn'));
  const branch = g.bn(g.conv(g.relu(g.bn(g.conv(stem, { out: 3, kernel: 3, padding: 1, bias: false, name: 'b.conv1' }), 'b.bn1')), { out: 4, kernel: 3, padding: 1, bias: false, name: 'b.conv2' }), 'b.bn2');
  const x = g.relu(g.sum([branch, stem], 'b.add'));
  return g.build(g.linear(g.flatten(g.gap(x)), 3, 'fc'));
}

/** Random weights, batch-norm scales and shifts away from 0 (norms well inside the penalty's smooth region). */
function randomModel(spec: ModelSpec, seed: number): Model {
  const m = initModel(spec, seed);
  const rng = new Rng(seed + 1);
  for (const p of paramList(spec)) if (p.kind === 'gamma' || p.kind === 'beta' || p.kind === 'bias') m.params.set(p.name, Float32Array.from(m.params.get(p.name)!, () => 0.5 + rng.uniform()));
  return m;
}

/** The penalty's gradient as the backend adds it onto zero gradients. */
async function addedGradient(be: Backend, model: Model, penalty: SparsityPenalty): Promise<Map<string, Float32Array>> {
  const net = new Network(be, model);
  const grads = new Map<string, Tensor>(paramList(model.spec).filter((p) => p.trainable).map((p) => [p.name, be.zeros(p.shape)]));
  await penalty.addGradient(be, net.params, grads);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of grads) out.set(k, await be.read(t));
  be.dispose(...grads.values());
  net.dispose();
  return out;
}

const BACKENDS: [string, () => Promise<Backend>][] = [
  ['cpu reference', async () => cpu()],
  ['native', () => NativeBackend.create()],
  ['webgpu', () => webgpu()],
  ['gpu.js', () => GpujsBackend.create()],
];

describe('sparse training penalty', () => {
  const spec = residualNet();
  const groups = channelGroups(spec);
  const model = randomModel(spec, 3);
  const lambda = 0.7;

  it.each(BACKENDS)('%s: the gradient of λ Σ‖w_s‖ matches finite differences for every kind of structure', async (_, open) => {
    const be = await open();
    try {
      for (const kind of STRUCTURE_KINDS) {
        const penalty = new SparsityPenalty(spec, groups, { kind, lambda });
        const got = await addedGradient(be, model, penalty);
        const value = (m: Model) => penaltyValue(lambda, structureNorms(m, penalty.structures));
        const rng = new Rng(5);
        let checked = 0;
        for (const p of paramList(spec).filter((q) => q.trainable)) {
          const g = got.get(p.name)!;
          const inPenalty = penalty.structures.parts.some((part) => part.param === p.name);
          if (!inPenalty) {
            expect(g.every((v) => v === 0), `${kind}: ${p.name} is in no structure`).toBe(true);
            continue;
          }
          for (let t = 0; t < 3; t++) {
            const i = rng.int(0, g.length - 1);
            const h = 1e-2;
            const [plus, minus] = [h, -h].map((d) => {
              const m = cloneModel(model);
              m.params.get(p.name)![i] += d;
              return value(m);
            });
            const numeric = (plus - minus) / (2 * h);
            expect(toleranceRatio([g[i]], [numeric], 2e-3, 2e-4), `${kind}: ${p.name}[${i}] ${g[i]} vs ${numeric}`).toBeLessThanOrEqual(1);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(0);
        // The proximal step on the backend: each structure shrinks by lr·λ in norm (to 0 where it is smaller).
        const lr = 0.4;
        const shrinkNet = new Network(be, model);
        await penalty.shrink(be, shrinkNet.params, lr);
        const shrunk = await shrinkNet.download();
        shrinkNet.dispose();
        const [n0, n1] = [structureNorms(model, penalty.structures), structureNorms(shrunk, penalty.structures)];
        if (kind !== 'group-lasso') expect(toleranceRatio(n1, Array.from(n0, (v) => Math.max(0, v - lr * lambda)), 1e-4, 1e-5), kind).toBeLessThanOrEqual(1);
        else for (let i = 0; i < n0.length; i++) expect(n1[i], `${kind} structure ${i}`).toBeLessThan(n0[i]); // overlapping structures (a conv in two groups) shrink in turn
        // The backend's norms are the host's.
        const net = new Network(be, model);
        expect(toleranceRatio(await penalty.norms(be, net.params), structureNorms(model, penalty.structures), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
        net.dispose();
      }
    } finally {
      if ('destroy' in be) (be as { destroy(): void }).destroy();
    }
  }, 120_000);

  it('coupled channels form one structure: the residual pair (stem and b.conv2) share each channel', () => {
    const penalty = new SparsityPenalty(spec, groups, { kind: 'group-lasso', lambda });
    const ids = (param: string) => penalty.structures.parts.filter((p) => p.param === param && p.view[0] === 1).map((p) => [...p.structureOfRow]);
    // Rows (output channels) of both producers of the residual group belong to the same structures.
    expect(ids('stem.weight')).toEqual(ids('b.conv2.weight'));
    expect(penalty.structures.names.some((n) => /stem\+b\.conv2|b\.conv2\+stem/.test(n))).toBe(true);
    // A residual block is found for the depth penalty, and its branch holds the two convs and batch norms.
    const depth = new SparsityPenalty(spec, groups, { kind: 'depth', lambda });
    expect(depth.structures.names).toEqual(['block b.add']);
    expect(new Set(depth.structures.parts.map((p) => p.param.split('.').slice(0, 2).join('.')))).toEqual(new Set(['b.conv1', 'b.bn1', 'b.conv2', 'b.bn2']));
  });

  it('growing regularisation penalises only the target share of the channels of each group with the smallest norms', async () => {
    const penalty = new SparsityPenalty(spec, groups, { kind: 'slimming', lambda, grow: { every: 10, factor: 2, target: 0.4 } });
    const norms = structureNorms(model, penalty.structures);
    const got = await addedGradient(cpu(), model, penalty);
    const byGroup = new Map<string, number[]>();
    penalty.structures.owners.forEach((o, id) => byGroup.set(o.node, [...(byGroup.get(o.node) ?? []), id]));
    const smallest = new Set([...byGroup.values()].flatMap((ids) => ids.sort((a, b) => norms[a] - norms[b]).slice(0, Math.ceil(0.4 * ids.length))));
    expect(smallest.size).toBeLessThan(norms.length);
    for (const part of penalty.structures.parts) {
      const g = got.get(part.param)!;
      part.structureOfRow.forEach((id, r) => { if (id >= 0) expect(g[r] !== 0, `${part.param}[${r}]`).toBe(smallest.has(id)); });
    }
  });

  it('refuses what it cannot do, naming it', () => {
    expect(() => new SparsityPenalty(spec, groups, { kind: 'group-lasso', lambda: 0 })).toThrow(/λ must be > 0/);
    expect(() => new SparsityPenalty(spec, groups, { kind: 'bogus' as StructureKind, lambda: 1 })).toThrow(/unknown regularisation 'bogus'/);
    const plain = new GraphBuilder('plain', [1, 4, 4], 2);
    expect(() => new SparsityPenalty(plain.build(plain.linear(plain.flatten(plain.conv('input', { out: 2, kernel: 1 })), 2)), [], { kind: 'depth', lambda: 1 })).toThrow(/no residual block/);
  });
});

/**
 * Eight input channels: channel c < 4 carries bit c of the class (a mean of +1 or -1), channels 4-7 are
 * noise. Branch A's 1x1 conv reads only channels 0-3, branch B's only 4-7 (through channel gathers);
 * their outputs are concatenated. Every A channel is needed for some bit; B's channels cannot help the
 * loss, so group lasso must empty exactly them.
 */
function toyProblem() {
  const g = new GraphBuilder('useless-channels', [8, 4, 4], 16);
  const a = g.conv(g.gather('input', [0, 1, 2, 3]), { out: 4, kernel: 1, bias: false, name: 'a' });
  const b = g.conv(g.gather('input', [4, 5, 6, 7]), { out: 4, kernel: 1, bias: false, name: 'b' });
  const spec = g.build(g.linear(g.flatten(g.gap(g.relu(g.concat([a, b])))), 16, 'fc'));
  const rng = new Rng(11);
  const count = 4096;
  const images = new Float32Array(count * 8 * 16);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = rng.int(0, 15);
    for (let c = 0; c < 8; c++) for (let i = 0; i < 16; i++) images[(n * 8 + c) * 16 + i] = rng.normal() + (c < 4 ? ((labels[n] >> c) & 1 ? 1 : -1) : 0);
  }
  return { spec, data: { name: 'toy', shape: [8, 4, 4] as [number, number, number], classes: 16, count, images, labels } };
}

describe('sparse training', () => {
  it.each(['proximal', 'gradient'] as const)('empties exactly the channels that cannot help (group lasso, %s, native backend)', async (mode) => {
    const { spec, data } = toyProblem();
    const be = await NativeBackend.create();
    try {
      const groups = channelGroups(spec);
      const r = await sparseTrain(be, initModel(spec, 2), groups, data, { epochs: 8, batchSize: 64, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, seed: 1, schedule: { kind: 'cosine' } }, { kind: 'group-lasso', lambda: mode === 'proximal' ? 0.6 : 0.05, mode }); // momentum 0.9 multiplies the gradient's pull by 10
      const names = r.penalty.structures.names;
      const zeroB = names.filter((n) => n.startsWith('b channel'));
      expect(zeroB).toHaveLength(4);
      expect(new Set(r.nearZero)).toEqual(new Set(zeroB));
      // A's channels stay well above the near-zero line.
      const ref = r.penalty.reference!;
      names.forEach((n, i) => { if (n.startsWith('a channel')) expect(r.after[i], n).toBeGreaterThan(10 * NEAR_ZERO * ref); });
    } finally {
      be.destroy();
    }
  }, 120_000);

  it('on resnet20 (group lasso): removing every channel it emptied (residual ones in all their producers) leaves the outputs as they were', async () => {
    const spec = resnet20([1, 8, 8], 4);
    const groups = channelGroups(spec);
    const be = await NativeBackend.create();
    try {
      const rng = new Rng(4);
      const count = 128;
      const data = { name: 'noise', shape: [1, 8, 8] as [number, number, number], classes: 4, count, images: rng.uniformArray(count * 64), labels: Uint8Array.from({ length: count }, () => rng.int(0, 3)) };
      const r = await sparseTrain(be, initModel(spec, 1), groups, data, { epochs: 30, batchSize: 32, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, seed: 1 }, { kind: 'group-lasso', lambda: 1 });
      const zero = new Set(r.nearZero);
      const kept = new Map(groups.filter((g) => g.prunable).map((g) => {
        const k = Array.from({ length: g.channels }, (_, c) => c).filter((c) => !zero.has(`${g.producers.join('+')} channel ${c}`));
        return [g.id, k.length ? k : [0]] as const;
      }));
      const residual = groups.find((g) => g.prunable && g.producers.length > 2)!;
      expect(kept.get(residual.id)!.length).toBeLessThan(residual.channels); // the coupled group lost channels too
      const small = await compactModel(be, r.model, groups, kept);
      expect(parameterCount(small)).toBeLessThan(0.9 * parameterCount(r.model));
      const x = rng.uniformArray(16 * 64);
      const [before, after] = [await inferenceLogits(be, r.model, x, 16), await inferenceLogits(be, small, x, 16)];
      const scale = Math.max(...before.map(Math.abs));
      expect(Math.max(...before.map((v, i) => Math.abs(v - after[i]))) / scale).toBeLessThan(0.02);
    } finally {
      be.destroy();
    }
  }, 180_000);
});

describe('removing what sparse training emptied', () => {
  it('a residual block whose branch is zero goes, and the outputs do not change', async () => {
    const spec = resnet20([1, 8, 8], 4);
    const model = randomModel(spec, 7);
    const block = residualBlocks(spec).find((b) => b.add === 's2.b2.add')!;
    expect(spec.nodes.find((n) => n.name === block.shortcut)?.op).toBe('relu'); // the previous block's output
    for (const p of paramList(spec).filter((q) => block.nodes.includes(q.node) && q.kind !== 'runningMean' && q.kind !== 'runningVar')) model.params.get(p.name)!.fill(0);
    const { model: smaller, removed } = removeEmptied(model, new SparsityPenalty(spec, channelGroups(spec), { kind: 'depth', lambda: 1 }).structures, (i) => i === residualBlocks(spec).findIndex((b) => b.add === block.add));
    expect(removed).toEqual([`block s2.b2.add (${block.nodes.length} nodes)`]);
    expect(smaller.spec.nodes.length).toBe(spec.nodes.length - block.nodes.length - 1);
    expect(parameterCount(smaller)).toBeLessThan(parameterCount(model));
    const be = cpu();
    const x = new Rng(8).uniformArray(4 * 64);
    expect(toleranceRatio(await inferenceLogits(be, smaller, x, 4), await inferenceLogits(be, model, x, 4), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('zero border kernel rows and columns are cropped within the padding: same outputs, fewer cycles on the array', async () => {
    const g = new GraphBuilder('kernels', [16, 6, 6], 3);
    const c1 = g.relu(g.conv('input', { out: 16, kernel: 3, padding: 1, name: 'c1' }));
    const c2 = g.conv(c1, { out: 8, kernel: 3, padding: 0, name: 'c2' });
    const spec = g.build(g.linear(g.flatten(g.gap(c2)), 3, 'fc'));
    const model = randomModel(spec, 9);
    const zero = (conv: string, positions: number[]) => {
      const w = model.params.get(`${conv}.weight`)!;
      for (let i = 0; i < w.length; i++) if (positions.includes(i % 9)) w[i] = 0;
    };
    zero('c1', [0, 1, 2, 3, 6, 5, 8]); // top row, left and right columns: a 2x1 kernel is left
    zero('c2', [0, 3, 6]); // left column, but c2 has no padding to absorb it
    const penalty = new SparsityPenalty(spec, channelGroups(spec), { kind: 'filter-shape', lambda: 1 });
    const norms = structureNorms(model, penalty.structures);
    const { model: cropped, removed } = removeEmptied(model, penalty.structures, (i) => norms[i] === 0);
    expect(removed).toEqual(['c1 kernel 3x3 -> 2x1']);
    const c1Node = cropped.spec.nodes.find((n) => n.name === 'c1')!;
    expect(c1Node).toMatchObject({ kernel: [2, 1], padding: [0, 0, 1, 0] });
    const be = cpu();
    const x = new Rng(10).uniformArray(2 * 16 * 36);
    expect(toleranceRatio(await inferenceLogits(be, cropped, x, 2), await inferenceLogits(be, model, x, 2), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const cycles = async (m: Model) => (await evaluate(preset('systolic-16x16'), modelWorkloads(m.spec))).total.cycles;
    expect(await cycles(cropped)).toBeLessThan(await cycles(model));
  });
});

describe('the trainer hooks', () => {
  it('run once per step: regularize between backward and the optimizer step, afterStep after it with the learning rate', async () => {
    const spec = residualNet();
    const rng = new Rng(13);
    const data = { name: 'noise', shape: [2, 5, 5] as [number, number, number], classes: 3, count: 32, images: rng.uniformArray(32 * 50), labels: Uint8Array.from({ length: 32 }, () => rng.int(0, 2)) };
    const calls: string[] = [];
    const run = await train(cpu(), initModel(spec, 1), data, { epochs: 3, batchSize: 8, optimizer: 'sgd', learningRate: 0.1, momentum: 0, seed: 1, maxSteps: 5 }, {
      regularize: ({ step, grads }) => { calls.push(`regularize ${step}`); expect(grads.has('fc.weight')).toBe(true); },
      afterStep: ({ step, learningRate }) => { calls.push(`after ${step} lr ${learningRate}`); },
    });
    expect(run.history.at(-1)!.step).toBe(5);
    expect(calls).toEqual([0, 1, 2, 3, 4].flatMap((s) => [`regularize ${s}`, `after ${s} lr 0.1`]));
  });
});

describe('sparse training in a pruning run', () => {
  it('filter shape on resnet20: emptied kernel positions are cropped before channel pruning, the report says what went and what it saved', async () => {
    const spec = resnet20([1, 8, 8], 4);
    const rng = new Rng(12);
    const count = 128;
    const data = { name: 'noise', shape: [1, 8, 8] as [number, number, number], classes: 4, count, images: rng.uniformArray(count * 64), labels: Uint8Array.from({ length: count }, () => rng.int(0, 3)) };
    const be = await NativeBackend.create();
    try {
      const run = await runPrune(be, {
        model: initModel(spec, 3), modelSource: 'test', train: data, test: data, accelerator: preset('systolic-16x16'), criterion: 'group-norm', granularity: 'channel', ratio: 0.3, seed: 1,
        fineTune: { epochs: 1, batchSize: 32, optimizer: 'sgd', learningRate: 0.05, seed: 1, maxSteps: 2 },
        sparse: { steps: 24, kind: 'filter-shape', lambda: 40, grow: { every: 8, factor: 2 } },
      });
      const sp = run.report.sparsity!;
      expect(sp.removed.length).toBeGreaterThan(0);
      expect(sp.removed[0]).toMatch(/kernel 3x3 -> [123]x[123]/);
      expect(sp.cycles!.after).toBeLessThan(sp.cycles!.before);
      // Channel pruning ran on the cropped architecture: its convs keep the smaller kernels.
      const kernels = run.pruned.spec.nodes.flatMap((n) => (n.op === 'conv2d' ? [JSON.stringify(n.kernel)] : []));
      expect(kernels.some((k) => k !== '[3,3]' && k !== '3' && k !== '[1,1]' && k !== '1')).toBe(true);
      expect(run.start.spec).not.toEqual(spec);
      expect(run.report.pruned.cycles).toBeLessThan(sp.cycles!.after);
    } finally {
      be.destroy();
    }
  }, 120_000);
});

describe('sparse training at its defaults', () => {
  it('reaches its target on a trained model: the structures the pruning removes are near zero, so pruning them costs nothing; a phase that falls short says so', async () => {
    const { model } = await loadCheckpoint(DEFAULT_CHECKPOINT);
    const train = subset(loadDataset('mnist', 'train'), 2048);
    const test = subset(loadDataset('mnist', 'test'), 500);
    const be = await NativeBackend.create();
    try {
      const base = {
        model, modelSource: 'shipped', train, test, accelerator: preset('systolic-16x16'), criterion: 'group-norm', granularity: 'channel' as const, ratio: 0.5, seed: 1,
        // Sparse training takes these options; the fine-tune after pruning is one step, so the pruned model is
        // about the sparse-trained model less what pruning cut.
        fineTune: { epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3, seed: 1, maxSteps: 1 },
      };
      const run = await runPrune(be, { ...base, sparse: { steps: 80, kind: 'group-lasso' } });
      const sp = run.report.sparsity!;
      expect(sp.lambdaChosen).toBe('auto');
      expect(sp.reached!.nearZero).toBeGreaterThanOrEqual(0.9 * sp.reached!.penalised);
      expect(sp.warning).toBeUndefined();
      expect(run.report.pruned.accuracy!).toBeGreaterThan(sp.accuracy! - 0.01);
      expect(run.report.pruned.accuracy!).toBeGreaterThan(0.9);
      // A constant λ far too small for the phase: the report and its notes say the structures did not reach zero.
      const weak = await runPrune(be, { ...base, sparse: { steps: 10, kind: 'group-lasso', lambda: 1e-4 } });
      expect(weak.report.sparsity!.warning).toMatch(/sparse training ended with \d+ of the \d+ structures it aimed at near zero/);
      expect(weak.report.notes.join('\n')).toMatch(/structures it aimed at near zero/);
    } finally {
      be.destroy();
    }
  }, 300_000);
});
