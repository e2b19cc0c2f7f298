// Low-rank decomposition of a model's layers into ordinary layers of the graph API, so training,
// compaction, the cost model, checkpoints and ONNX export work on the result unchanged:
//   linear in→out            → linear in→r (no bias), linear r→out (the bias)          [truncated SVD]
//   conv 1×1 Cin→Cout        → 1×1 Cin→r (stride, padding), 1×1 r→Cout (the bias)      [truncated SVD]
//   conv K×K Cin→Cout        → 1×1 Cin→rIn, K×K rIn→rOut (stride, padding, dilation), 1×1 rOut→Cout (the bias)  [Tucker-2]
//                              or 1×1 Cin→R, K×1 and 1×K depthwise (the geometry split by axis), 1×1 R→Cout  [CP]
// The last layer keeps the original name (consumers and the bias stay as they were); the new ones are
// `<name>.in`, `<name>.core` (Tucker-2), `<name>.v` and `<name>.h` (CP). Grouped and depthwise
// convolutions are left whole.
import type { ModelSpec, Node } from '../model/graph.js';
import { type Model, paramList } from '../model/model.js';
import { pair, padding as paddingOf } from '../geometry.js';
import { cpAls, rankForEnergy, singularValues, truncatedSvd, tucker2, tuckerRanksProblem } from './factorize.js';
import { vbmfRank } from './vbmf.js';

/** A layer that can be decomposed: its kind and full ranks ([r] for SVD; [rIn, rOut] for Tucker-2). */
export type Method = 'svd' | 'tucker2' | 'cp';

/** How K×K convolutions are split. */
export type ConvMethod = 'tucker2' | 'cp';

export interface DecomposableLayer { name: string; method: Method; full: number[]; shape: number[] }

/** The names a decomposed layer's parts may have (those of its method exist): its own is the last part's. */
export const partNames = (name: string): string[] => [`${name}.in`, `${name}.core`, `${name}.v`, `${name}.h`, name];

/** Ranks per layer name: [r] (SVD) or [rIn, rOut] (Tucker-2). */
export type Ranks = Map<string, number[]>;

export interface DecomposedLayer {
  layer: string;
  method: Method;
  full: number[];
  ranks: number[];
  /** ‖W − W̃‖² / ‖W‖². */
  error: number;
  /** CP-ALS trouble (no convergence, a degenerate fit). */
  warning?: string;
}

/** The layers that can be decomposed, and why others cannot. */
export function decomposableLayers(spec: ModelSpec, conv: ConvMethod = 'tucker2'): { layers: DecomposableLayer[]; skipped: string[] } {
  const shapes = new Map(paramList(spec).map((p) => [p.name, p.shape]));
  const layers: DecomposableLayer[] = [];
  const skipped: string[] = [];
  for (const n of spec.nodes) {
    const shape = shapes.get(`${n.name}.weight`);
    if (n.op === 'linear') layers.push({ name: n.name, method: 'svd', full: [Math.min(shape![0], shape![1])], shape: shape! });
    else if (n.op === 'conv2d') {
      if ((n.groups ?? 1) !== 1) { skipped.push(`${n.name}: grouped or depthwise convolution, left whole`); continue; }
      const [o, i, kh, kw] = shape!;
      if (kh * kw === 1) layers.push({ name: n.name, method: 'svd', full: [Math.min(o, i)], shape: shape! });
      else if (conv === 'cp') layers.push({ name: n.name, method: 'cp', full: [Math.min(o * i, o * kh * kw, i * kh * kw)], shape: shape! }); // a bound on the CP rank
      else layers.push({ name: n.name, method: 'tucker2', full: [Math.min(i, o * kh * kw), Math.min(o, i * kh * kw)], shape: shape! });
    }
  }
  return { layers, skipped };
}

/** Per layer, its spectra: [σ of W] (SVD), or [σ of the input-channel unfolding, σ of the output-channel unfolding] (Tucker-2, CP). */
export function layerSpectra(model: Model, l: DecomposableLayer): number[][] {
  const w = maskedWeight(model, l.name);
  const [o, i] = l.shape;
  const s = l.shape.slice(2).reduce((a, b) => a * b, 1);
  if (l.method === 'svd') return [singularValues(w, o, i * s)];
  const inUnfolding = new Float64Array(i * o * s);
  for (let oo = 0; oo < o; oo++) for (let c = 0; c < i; c++) for (let p = 0; p < s; p++) inUnfolding[(c * o + oo) * s + p] = w[(oo * i + c) * s + p];
  return [singularValues(inUnfolding, i, o * s), singularValues(w, o, i * s)];
}

/** The matrices whose spectra layerSpectra gives, as [rows, cols]: W (SVD), or the input then the output channel unfolding. */
function unfoldingShapes(l: DecomposableLayer): [number, number][] {
  const [o, i] = l.shape;
  const s = l.shape.slice(2).reduce((a, b) => a * b, 1);
  return l.method === 'svd' ? [[o, i * s]] : [[i, o * s], [o, i * s]];
}

/**
 * Ranks by empirical VBMF on each spectrum (the noise level estimated from the spectrum; Kim et al.,
 * ICLR 2016, choose Tucker-2 ranks so). A spectrum with no component above its estimated noise (a flat
 * one: no low-rank structure to find) keeps its full rank; a layer left at full ranks stays whole, with a note.
 */
export function ranksForVbmf(model: Model, layers: DecomposableLayer[]): { ranks: Ranks; notes: string[] } {
  const ranks: Ranks = new Map();
  const notes: string[] = [];
  for (const l of layers) {
    const shapes = unfoldingShapes(l);
    const full = shapes.map(([m, n]) => Math.min(m, n));
    const r = layerSpectra(model, l).map((sigma, k) => vbmfRank(sigma, ...shapes[k]).rank || full[k]);
    if (r.every((x, k) => x === full[k])) notes.push(`${l.name} stays whole: VBMF finds no low-rank structure above the noise it estimates from the spectrum`);
    else ranks.set(l.name, layerRanks(l, r));
  }
  return { ranks, notes };
}

/** Ranks keeping `energy` of each spectrum's Σσ² (CP: the larger of the two channel modes' ranks, a proxy CP-ALS then fits). */
export function ranksForEnergy(model: Model, layers: DecomposableLayer[], energy: number): Ranks {
  return new Map(layers.map((l) => [l.name, layerRanks(l, layerSpectra(model, l).map((sigma) => rankForEnergy(sigma, energy)))]));
}

/**
 * Tucker-2-style per-mode ranks [rIn, rOut] as a layer's ranks. CP takes the larger (within its bound).
 * Tucker-2's core [rOut, rIn, s] has rank at most rIn·s in its output mode and rOut·s in its input mode,
 * so a pair with rOut > rIn·s (or rIn > rOut·s) cannot be fitted: the smaller rank is raised to the
 * least that can carry the larger (keeping at least the energy that chose the ranks).
 */
export function layerRanks(l: DecomposableLayer, ranks: number[]): number[] {
  if (l.method === 'cp') return [Math.min(Math.max(...ranks), l.full[0])];
  if (l.method !== 'tucker2') return ranks;
  const s = l.shape.slice(2).reduce((a, b) => a * b, 1);
  const [rIn, rOut] = ranks;
  return [Math.max(rIn, Math.ceil(rOut / s)), Math.max(rOut, Math.ceil(rIn / s))];
}

function maskedWeight(model: Model, name: string): Float32Array {
  const w = model.params.get(`${name}.weight`)!;
  const mask = model.masks.get(`${name}.weight`);
  return mask ? w.map((v, i) => v * mask[i]) : w;
}

/** The nodes that replace `n` at these ranks. */
function replacement(n: Extract<Node, { op: 'conv2d' | 'linear' }>, l: DecomposableLayer, ranks: number[]): Node[] {
  if (n.op === 'linear') return [{ op: 'linear', name: `${n.name}.in`, input: n.input, outFeatures: ranks[0], bias: false }, { ...n, input: `${n.name}.in` }];
  const { stride, padding, dilation } = n;
  const geometry = Object.fromEntries(Object.entries({ stride, padding, dilation }).filter(([, v]) => v !== undefined));
  if (l.method === 'svd') {
    return [
      { op: 'conv2d', name: `${n.name}.in`, input: n.input, outChannels: ranks[0], kernel: 1, ...geometry, bias: false },
      { op: 'conv2d', name: n.name, input: `${n.name}.in`, outChannels: n.outChannels, kernel: 1, ...(n.bias === false ? { bias: false } : {}) },
    ];
  }
  if (l.method === 'cp') {
    // The K×1 conv takes the vertical stride, padding and dilation, the 1×K one the horizontal.
    const [[sh, sw], [dh, dw], [pt, pl, pb, pr]] = [pair(n.name, 'stride', n.stride, 1, 1), pair(n.name, 'dilation', n.dilation, 1, 1), paddingOf(n.name, n.padding)];
    const r = ranks[0];
    return [
      { op: 'conv2d', name: `${n.name}.in`, input: n.input, outChannels: r, kernel: 1, bias: false },
      { op: 'conv2d', name: `${n.name}.v`, input: `${n.name}.in`, outChannels: r, kernel: [l.shape[2], 1], stride: [sh, 1], padding: [pt, 0, pb, 0], dilation: [dh, 1], groups: r, bias: false },
      { op: 'conv2d', name: `${n.name}.h`, input: `${n.name}.v`, outChannels: r, kernel: [1, l.shape[3]], stride: [1, sw], padding: [0, pl, 0, pr], dilation: [1, dw], groups: r, bias: false },
      { op: 'conv2d', name: n.name, input: `${n.name}.h`, outChannels: n.outChannels, kernel: 1, ...(n.bias === false ? { bias: false } : {}) },
    ];
  }
  return [
    { op: 'conv2d', name: `${n.name}.in`, input: n.input, outChannels: ranks[0], kernel: 1, bias: false },
    { op: 'conv2d', name: `${n.name}.core`, input: `${n.name}.in`, outChannels: ranks[1], kernel: n.kernel, ...geometry, bias: false },
    { op: 'conv2d', name: n.name, input: `${n.name}.core`, outChannels: n.outChannels, kernel: 1, ...(n.bias === false ? { bias: false } : {}) },
  ];
}

/** The architecture with these layers decomposed (shapes only: for planning). */
export function decomposedSpec(spec: ModelSpec, ranks: Ranks, conv: ConvMethod = 'tucker2'): ModelSpec {
  const { layers } = decomposableLayers(spec, conv);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const nodes = spec.nodes.flatMap((n) => {
    const r = ranks.get(n.name);
    if (!r || (n.op !== 'conv2d' && n.op !== 'linear')) return [n];
    const l = byName.get(n.name);
    if (!l) throw new Error(`decompose: layer '${n.name}' cannot be decomposed (grouped convolution)`);
    if (r.length !== l.full.length || r.some((x, k) => !Number.isInteger(x) || x < 1 || x > l.full[k])) throw new Error(`decompose: ranks [${r}] for '${n.name}' must be ${l.full.length} integers in [1, ${l.full.join(', ')}]`);
    const problem = l.method === 'tucker2' ? tuckerRanksProblem(r[0], r[1], l.shape[2] * l.shape[3]) : undefined;
    if (problem) throw new Error(`decompose: Tucker-2 ranks [${r}] for '${n.name}' cannot be fitted: ${problem}`);
    return replacement(n, l, r);
  });
  for (const name of ranks.keys()) if (!spec.nodes.some((n) => n.name === name)) throw new Error(`decompose: model '${spec.name}' has no layer '${name}'`);
  // A split layer's quantizer belonged to the whole layer: its parts run in float until quantized again.
  const quantization = spec.quantization && Object.fromEntries(Object.entries(spec.quantization).filter(([layer]) => !ranks.has(layer)));
  return { ...spec, nodes, ...(quantization ? { quantization } : {}) };
}

/** The model with these layers decomposed, weights from the factorizations (float64, then float32). */
export function decompose(model: Model, ranks: Ranks, o: { sweeps?: number; conv?: ConvMethod } = {}): { model: Model; layers: DecomposedLayer[] } {
  const spec = decomposedSpec(model.spec, ranks, o.conv);
  const params = new Map(model.params);
  const masks = new Map(model.masks);
  const out: DecomposedLayer[] = [];
  const { layers } = decomposableLayers(model.spec, o.conv);
  for (const l of layers) {
    const r = ranks.get(l.name);
    if (!r) continue;
    const w = maskedWeight(model, l.name);
    masks.delete(`${l.name}.weight`);
    const [oc, ic] = l.shape;
    const s = l.shape.slice(2).reduce((a, b) => a * b, 1);
    if (l.method === 'svd') {
      const f = truncatedSvd(w, oc, ic * s, r[0]);
      params.set(`${l.name}.in.weight`, Float32Array.from(f.b)); // [r, in] (or [r, Cin, 1, 1])
      params.set(`${l.name}.weight`, Float32Array.from(f.a)); // [out, r] (or [Cout, r, 1, 1])
      out.push({ layer: l.name, method: 'svd', full: l.full, ranks: r, error: f.error });
    } else if (l.method === 'cp') {
      const [, , kh, kw] = l.shape;
      const f = cpAls(w, [oc, ic, kh, kw], r[0]);
      const R = r[0];
      const transposed = (x: Float64Array, d: number) => Float32Array.from({ length: d * R }, (_, k) => x[(k % d) * R + Math.floor(k / d)]); // [d, R] -> [R, d]
      params.set(`${l.name}.in.weight`, transposed(f.factors[1], ic)); // [R, Cin, 1, 1]
      params.set(`${l.name}.v.weight`, transposed(f.factors[2], kh)); // [R, 1, kh, 1]
      params.set(`${l.name}.h.weight`, transposed(f.factors[3], kw)); // [R, 1, 1, kw]
      params.set(`${l.name}.weight`, Float32Array.from(f.factors[0])); // [Cout, R, 1, 1]
      out.push({ layer: l.name, method: 'cp', full: l.full, ranks: r, error: f.error, ...(f.warning ? { warning: f.warning } : {}) });
    } else {
      const t = tucker2(w, oc, ic, s, r[1], r[0], o.sweeps ?? 3);
      const uInT = new Float32Array(t.rIn * ic); // [rIn, Cin, 1, 1] = uInᵀ
      for (let c = 0; c < ic; c++) for (let b = 0; b < t.rIn; b++) uInT[b * ic + c] = t.uIn[c * t.rIn + b];
      params.set(`${l.name}.in.weight`, uInT);
      params.set(`${l.name}.core.weight`, Float32Array.from(t.core));
      params.set(`${l.name}.weight`, Float32Array.from(t.uOut)); // [Cout, rOut, 1, 1]
      out.push({ layer: l.name, method: 'tucker2', full: l.full, ranks: [t.rIn, t.rOut], error: t.error });
    }
  }
  // Every factor must fill its layer's parameter exactly: a short array would leave NaN or garbage weights.
  for (const p of paramList(spec)) {
    const got = params.get(p.name)?.length;
    const want = p.shape.reduce((a, b) => a * b, 1);
    if (got !== want) throw new Error(`decompose: internal error: '${p.name}' has ${got ?? 'no'} values where its shape [${p.shape}] needs ${want}`);
  }
  return { model: { spec, params, masks }, layers: out };
}
