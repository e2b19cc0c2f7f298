// Property-based (fast-check): on random graphs with residual adds, concats, depthwise convs,
// squeeze-excitation, ShuffleNet units (channel split and shuffle), ConvNeXt blocks (layer norm) and resizes, compaction never breaks shapes
// and preserves the masked model's outputs on every backend, with layers quantized at random widths (binary to 8 bits); a plan by kept counts has the compacted model's shapes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type ModelSpec, inferShapes, shuffledChannels } from '../src/model/graph.js';
import { specWithCounts } from '../src/plan/budget.js';
import { initModel } from '../src/model/model.js';
import { applyChannelMasks, compactModel, type KeptChannels } from '../src/prune/compact.js';
import { channelGroups } from '../src/prune/dependency.js';
import { Rng } from '../src/random.js';
import type { Backend } from '../src/backend.js';
import { GpujsBackend } from '../src/gpujs/backend.js';
import type { Quantization } from '../src/model/quantization.js';
import { NativeBackend } from '../src/native/backend.js';
import { cpu, inferenceLogits, toleranceRatio, webgpu } from './helpers/backends.js';

type Block = { kind: 'conv' | 'residual' | 'concat' | 'depthwise' | 'pool' | 'se' | 'shuffle' | 'convnext' | 'resize'; width: number; bn: boolean };

function build(blocks: Block[], seed: number): ModelSpec {
  const g = new GraphBuilder(`random-${seed}`, [3, 8, 8], 5);
  let x = g.relu(g.conv('input', { out: 4, kernel: 3, padding: 1 }));
  let channels = 4;
  for (const b of blocks) {
    const post = (y: string) => g.relu(b.bn ? g.bn(y) : y);
    if (b.kind === 'conv') { x = post(g.conv(x, { out: b.width, kernel: 3, padding: 1 })); channels = b.width; }
    if (b.kind === 'residual') x = g.sum([x, post(g.conv(x, { out: channels, kernel: 1 }))]);
    if (b.kind === 'concat') { x = g.concat([post(g.conv(x, { out: b.width, kernel: 1 })), post(g.conv(x, { out: 2, kernel: 3, padding: 1 }))]); channels = b.width + 2; }
    if (b.kind === 'depthwise') x = post(g.conv(x, { out: channels, kernel: 3, padding: 1, groups: channels }));
    if (b.kind === 'pool') x = g.maxpool(x, 2, 1);
    if (b.kind === 'se') x = g.scale(x, g.sigmoid(g.conv(g.relu(g.conv(g.gap(x), { out: b.width, kernel: 1 })), { out: channels, kernel: 1 })));
    if (b.kind === 'convnext') {
      // ConvNeXt's block: depthwise conv, layer norm over channels, inverted bottleneck with GELU, layer scale (a 1x1 depthwise conv), residual.
      const ln = g.layerNorm(g.conv(x, { out: channels, kernel: 3, padding: 1, groups: channels }), 1e-6);
      const expand = g.conv(ln, { out: b.width * 2, kernel: 1 });
      const project = g.conv(g.gelu(expand), { out: channels, kernel: 1 });
      x = g.sum([x, g.conv(project, { out: channels, kernel: 1, groups: channels, bias: false })]);
    }
    if (b.kind === 'resize') x = g.resize(x, [9, 7], b.bn ? 'linear' : 'nearest', 'half_pixel');
    if (b.kind === 'shuffle') {
      // Split off `half` channels, run a branch on the rest, concat and shuffle in two groups.
      const half = Math.floor(channels / 2);
      const rest = Array.from({ length: channels - half }, (_, i) => half + i);
      const branch = post(g.conv(g.gather(x, rest), { out: rest.length + (channels % 2), kernel: 1 }));
      channels += channels % 2;
      x = g.gather(g.concat([g.gather(x, Array.from({ length: half }, (_, i) => i)), branch]), shuffledChannels(channels, 2));
    }
  }
  return g.build(g.linear(g.flatten(x), 5, 'classifier'));
}


/** Random weight quantization of some conv and linear layers: bits from binary to 8, per channel or per tensor. */
function quantizeSome(spec: ModelSpec, rng: Rng): ModelSpec {
  const quantization: Quantization = {};
  for (const n of spec.nodes) if ((n.op === 'conv2d' || n.op === 'linear') && rng.uniform(0, 1) < 0.5) quantization[n.name] = { weightBits: [1, 2, 4, 8][rng.int(0, 3)], perChannel: rng.uniform(0, 1) < 0.5 };
  return { ...spec, quantization };
}

const block = fc.record({
  kind: fc.constantFrom<Block['kind']>('conv', 'residual', 'concat', 'depthwise', 'pool', 'se', 'shuffle', 'convnext', 'resize'),
  width: fc.integer({ min: 2, max: 6 }), bn: fc.boolean(),
});

describe('compaction on random graphs', async () => {
  const backends: [string, Backend, number][] = [['webgpu', await webgpu(), 40], ['cpu', cpu(), 15], ['native', await NativeBackend.create(), 25], ['gpu.js', await GpujsBackend.create(), 10]];
  it.each(backends)('never breaks shapes and preserves outputs, quantized layers included (%s)', async (_, be, numRuns) => {
    await fc.assert(fc.asyncProperty(fc.array(block, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), async (blocks, seed, quantized) => {
      const rng = new Rng(seed);
      const spec = quantized ? quantizeSome(build(blocks, seed), rng) : build(blocks, seed);
      const model = initModel(spec, seed);
      // Non-zero biases and shifts, so that a pruned channel carries a value its consumers must ignore.
      for (const [name, values] of model.params) if (/\.(bias|beta)$/.test(name)) values.forEach((_, i) => { values[i] = rng.uniform(-0.5, 0.5); });
      const groups = channelGroups(spec);
      const kept: KeptChannels = new Map();
      for (const grp of groups) {
        if (!grp.prunable) continue;
        const keep = rng.int(1, grp.channels);
        kept.set(grp.id, rng.shuffle(Array.from({ length: grp.channels }, (_, i) => i)).slice(0, keep).sort((a, b) => a - b));
      }
      const masked = applyChannelMasks(model, groups, kept);
      const compact = await compactModel(cpu(), masked, groups, kept);
      const x = rng.uniformArray(2 * 3 * 64);
      // applyChannelMasks leaves the pruned weights' values under their masks: nothing may read them (quantizer ranges included).
      const [a, b] = [await inferenceLogits(be, masked, x, 2), await inferenceLogits(be, compact, x, 2)];
      expect(toleranceRatio(b, a, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      // The budget planner prices kept counts, not channels: it must see the compacted model's shapes.
      const counts = new Map([...kept].map(([id, k]) => [id, k.length]));
      expect([...inferShapes(specWithCounts(spec, groups, counts))]).toEqual([...inferShapes(compact.spec)]);
    }), { numRuns, seed: 42 });
  });
});
