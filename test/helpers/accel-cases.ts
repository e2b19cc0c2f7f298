// Random layers and accelerator configs for the accelerator-model tests.
import { type AcceleratorConfig, validateConfig } from '../../src/accel/config.js';
import { presets } from '../../src/accel/presets.js';
import { type LayerWorkload, convWorkload, linearWorkload } from '../../src/accel/workload.js';
import { conv2dGeometry } from '../../src/geometry.js';
import type { Rng } from '../../src/random.js';

const conv = (name: string, x: number[], w: number[], o = {}) => convWorkload(name, conv2dGeometry(x, w, o));

/** A random layer; one in three quantized (weights and activations of 1-16 bits; both binary: packed XNOR-popcount). */
export function randomLayer(rng: Rng): LayerWorkload {
  const l = randomShape(rng);
  return rng.bool(1 / 3) ? { ...l, bits: { weights: rng.pick([1, 2, 4, 8, 16]), activations: rng.pick([1, 2, 4, 8, 16]) } } : l;
}

function randomShape(rng: Rng): LayerWorkload {
  const kind = rng.pick(['conv', 'strided', 'pointwise', 'depthwise', 'fc']);
  const c = rng.int(1, 48), m = rng.int(1, 64), h = rng.int(4, 30);
  if (kind === 'fc') return linearWorkload('fc', rng.int(8, 500), rng.int(2, 120));
  if (kind === 'depthwise') return conv('dw', [1, c, h, h], [c, 1, 3, 3], { groups: c, padding: 1, stride: rng.int(1, 2) });
  if (kind === 'pointwise') return conv('pw', [1, c, h, h], [m, c, 1, 1]);
  return conv(kind, [1, c, h, h], [m, c, 3, 3], { padding: 1, stride: kind === 'strided' ? 2 : 1 });
}

export function randomConfig(rng: Rng): AcceleratorConfig {
  const base = rng.pick(Object.values(presets).filter((p) => p.rows <= 32));
  const precision = rng.bool(0.5) ? { precision: { weights: rng.pick([4, 8, 16]), activations: rng.pick([8, 16]), psums: rng.pick([16, 24, 32]) } } : {};
  return validateConfig({ ...base, ...precision, dataflow: rng.pick(['os', 'ws', 'is']), ifmapSramKB: rng.pick([1, 4, 16, 64]), filterSramKB: rng.pick([1, 4, 16, 64]), ofmapSramKB: rng.pick([1, 4, 16]) });
}

