// Word widths in the accelerator model: each layer's weights, activations and partial sums have a bit
// width (the config's, or the model's quantized ones); SRAM capacity in values follows from the width,
// DRAM traffic and bandwidth count bits, and energy scales with the bits moved and the multiplier's
// width. Integer counts use a unit of u = gcd of the layer's widths and the word, so that traffic stays
// an exact integer on the CPU and the GPU schedulers alike and a model at the word's width counts words.
import { type AcceleratorConfig, type Precision, precisionOf } from './config.js';
import type { LayerWorkload } from './workload.js';

/** A layer's widths: the config's, with the quantized model's weights and activations where it sets them. */
export function layerPrecision(c: AcceleratorConfig, l: LayerWorkload): Precision {
  const p = precisionOf(c);
  return { weights: l.bits?.weights ?? p.weights, activations: l.bits?.activations ?? p.activations, psums: p.psums };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The counting unit of a layer in bits, and each class's width in units (outputs: the activation width unless given). */
export function widthUnits(c: AcceleratorConfig, p: Precision, outputBits = p.activations): { unitBits: number; weights: number; activations: number; psums: number; outputs: number; word: number } {
  const word = c.wordBytes * 8;
  const u = [p.weights, p.activations, p.psums, outputBits].reduce(gcd, word);
  return { unitBits: u, weights: p.weights / u, activations: p.activations / u, psums: p.psums / u, outputs: outputBits / u, word: word / u };
}

/**
 * A layer with binary weights and binary activations runs as XNOR and popcount on packed words: each PE
 * takes a word of `pack` = word-width input channels per cycle (binary accelerators pack channels into
 * words), so the GEMM's input channels shrink by `pack` and its operands are words; its outputs stay
 * one bit wide. Other layers run one MAC per PE per cycle (pack 1).
 */
export function packedBinary(c: AcceleratorConfig, l: LayerWorkload): { layer: LayerWorkload; pack: number; precision: Precision; outputBits: number } {
  const p = layerPrecision(c, l);
  if (p.weights !== 1 || p.activations !== 1) return { layer: l, pack: 1, precision: p, outputBits: p.activations };
  const word = c.wordBytes * 8;
  const packedChannels = Math.ceil(l.channels / word);
  return { layer: { ...l, channels: packedChannels }, pack: word, precision: { weights: word, activations: word, psums: p.psums }, outputBits: 1 };
}

// Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm): integer multiply 0.2 pJ at 8 bits and 3.1 pJ
// at 32 bits (the array multiplier's partial products: ∝ the product of the operand widths), integer add
// 0.03 pJ at 8 bits and 0.1 pJ at 32 (≈ ∝ width; 0.1 pJ / 32 bits per bit here). Floating point costs
// more (32-bit float multiply 3.7 pJ, add 0.9 pJ); the tables here are integer datapaths.
const multiplyPj = (weights: number, activations: number) => (0.2 * weights * activations) / 64;
const addPj = (psums: number) => (0.1 * psums) / 32;

/** The model's energy of the table's MAC: operands of the word's width, the config's partial sums. */
const tableMacPj = (c: AcceleratorConfig) => multiplyPj(c.wordBytes * 8, c.wordBytes * 8) + addPj(precisionOf(c).psums);

/**
 * A MAC's energy at these widths relative to the energy table's MAC: the multiply by the product of
 * widths, the accumulate by its width.
 */
export function macScale(c: AcceleratorConfig, p: Precision): number {
  return (multiplyPj(p.weights, p.activations) + addPj(p.psums)) / tableMacPj(c);
}

/**
 * A packed word of `pack` binary MACs relative to the table's MAC: `pack` one-bit XNORs (a 1 x 1 multiply)
 * and one-bit popcount adds, and one accumulate of the word's count at the partial-sum width.
 */
export function packedMacScale(c: AcceleratorConfig, pack: number, psums: number): number {
  return (pack * (multiplyPj(1, 1) + addPj(1)) + addPj(psums)) / tableMacPj(c);
}

/** A register-file access (operand or partial sum, three per MAC) relative to one of a word: by the mean width. */
export const registerFileScale = (c: AcceleratorConfig, p: Precision) => (p.weights + p.activations + p.psums) / (3 * c.wordBytes * 8);
