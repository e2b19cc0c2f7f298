// A model's quantization: for each quantized conv or linear layer, the bit width of its weights
// (symmetric, per output channel or per tensor, the scale from max |w| so that nothing is clipped) and
// the calibrated quantizer of its input activation (per tensor, as TensorRT and onnxruntime's QDQ
// format place it). Plain data in the spec, so checkpoints carry it and every backend runs it as fake
// quantization; weight scales follow the weights, so pruning, compaction and fine-tuning need nothing more.
// Masked (pruned) weights of a quantized layer are stored as zeros (quantizeModel does so), so that the
// ranges cover only the kept weights.

/** A tensor quantizer: its grid (`bits`, signed symmetric or unsigned asymmetric; 1 bit: scale · sign(x)) and calibrated parameters. */
export interface ActivationQuant { bits: number; symmetric: boolean; scale: number; zeroPoint: number }

export interface LayerQuant {
  /** 2-16: symmetric integer weights, scale max |w| / qmax; 1: binary, sign(w) · mean |w| (XNOR-Net). */
  weightBits: number;
  /** One scale per output channel (the default) or one for the tensor. */
  perChannel: boolean;
  /** The layer's input quantizer; absent: the input stays float. */
  input?: ActivationQuant;
}

/** Quantized layers by node name. */
export type Quantization = Record<string, LayerQuant>;

/**
 * [qmin, qmax] of a signed (symmetric) or unsigned (asymmetric) grid of `bits` (2-16). One bit: symmetric
 * is binary, the levels ±scale (XNOR-Net; `binary` set for the backends' fake quantization); unsigned is
 * the levels {0, scale} (DoReFa-Net's 1-bit activations, for inputs after a ReLU).
 */
export function grid(bits: number, symmetric: boolean): { qmin: number; qmax: number; binary?: true } {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 16)) throw new Error(`quantization: bits must be an integer in [1, 16], got ${bits}`);
  if (bits === 1 && symmetric) return { qmin: -1, qmax: 1, binary: true };
  return symmetric ? { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 } : { qmin: 0, qmax: 2 ** bits - 1 };
}

/**
 * Added to every weight scale so that an all-zero (pruned) filter gets a positive scale and quantizes to
 * zeros instead of 0/0; far below one float32 ulp of any real scale, so it changes no other.
 */
export const SCALE_FLOOR = 1e-30;

/**
 * What each weight scale multiplies its statistic by, in float32: 1 / qmax of max |w|, or (binary) 1 / the
 * number of weights the scale covers that are not pruned (XNOR-Net's mean |w| over the weights that
 * exist, so a masked model and its compacted model binarize alike). `mask` is the weight's mask.
 */
export function weightScaleFactors(q: LayerQuant, channels: number, perScale: number, mask?: Float32Array): Float32Array {
  if (q.weightBits !== 1) return new Float32Array(channels).fill(Math.fround(1 / grid(q.weightBits, true).qmax));
  return Float32Array.from({ length: channels }, (_, c) => {
    let alive = perScale;
    if (mask) { alive = 0; for (let i = c * perScale; i < (c + 1) * perScale; i++) if (mask[i] !== 0) alive++; }
    return Math.fround(1 / Math.max(alive, 1));
  });
}

/**
 * The weight scales the backends compute, in float32 as they do: fround(max |w| · fround(1 / qmax)) +
 * SCALE_FLOOR per output channel (or one for the tensor); binary: Σ|w| · fround(1 / count) +
 * SCALE_FLOOR (the sum's rounding differs by backend). Exports and host-side checks use these. Pruned
 * weights (mask 0) count as absent, as they are in the network, so a masked model and its compacted
 * model get the same scales.
 */
export function weightScales(w: Float32Array, outChannels: number, q: LayerQuant, mask?: Float32Array): Float32Array {
  const channels = q.perChannel ? outChannels : 1;
  const per = w.length / channels;
  const binary = q.weightBits === 1;
  const factors = weightScaleFactors(q, channels, per, mask);
  return Float32Array.from({ length: channels }, (_, c) => {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) {
      const v = mask?.[i] === 0 ? 0 : Math.abs(w[i]);
      m = binary ? m + v : Math.max(m, v);
    }
    return Math.fround(Math.fround(Math.fround(m) * factors[c]) + SCALE_FLOOR);
  });
}

/** Checks a spec's quantization from an untrusted file; errors name the layer and the field. */
export function checkQuantization(q: unknown, layers: Map<string, string>): asserts q is Quantization {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) throw new Error('quantization must be an object of layers');
  for (const [name, l] of Object.entries(q as Record<string, Record<string, unknown>>)) {
    const where = `quantization of '${name}'`;
    const op = layers.get(name);
    if (op !== 'conv2d' && op !== 'linear') throw new Error(`${where}: no conv or linear layer has that name${op ? ` (it is a ${op})` : ''}`);
    if (typeof l !== 'object' || l === null) throw new Error(`${where}: must be { weightBits, perChannel, input? }`);
    grid(l.weightBits as number, true);
    if (typeof l.perChannel !== 'boolean') throw new Error(`${where}: perChannel must be true or false`);
    const a = l.input as Record<string, unknown> | undefined;
    if (a === undefined) continue;
    if (typeof a !== 'object' || a === null || typeof a.symmetric !== 'boolean') throw new Error(`${where}: input must be { bits, symmetric, scale, zeroPoint }`);
    const g = grid(a.bits as number, a.symmetric);
    if (!(typeof a.scale === 'number' && a.scale > 0 && Number.isFinite(a.scale))) throw new Error(`${where}: input scale must be a positive number, got ${JSON.stringify(a.scale)}`);
    if (!(Number.isInteger(a.zeroPoint) && (a.zeroPoint as number) >= g.qmin && (a.zeroPoint as number) <= g.qmax)) {
      throw new Error(`${where}: input zeroPoint must be an integer in [${g.qmin}, ${g.qmax}], got ${JSON.stringify(a.zeroPoint)}`);
    }
  }
}
