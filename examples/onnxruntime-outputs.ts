// A pruned model where it will run: onnxruntime, on your images, with nothing of wgprune but the file it
// wrote. Reads the model's input size from its graph and its input normalisation from the metadata wgprune
// stores ('wgprune.input_normalization'), decodes and centre-crops the images as wgprune did (sharp), runs
// them, and prints each output's shape; given the dense model too, each output's cosine similarity and
// SNR against the dense model's on the same inputs (normalised as the pruned model says: the dense export
// may not say).
//   npx tsx examples/onnxruntime-outputs.ts PRUNED.onnx [--dense DENSE.onnx] IMAGE...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';

const ort = createRequire(import.meta.url)('onnxruntime-node');

async function pixels(file: string, [c, h, w]: number[], norm: { mean: number; std: number }): Promise<Float32Array> {
  let p = sharp(file).resize(w, h, { fit: 'cover', position: 'centre' });
  p = c === 1 ? p.grayscale() : p.removeAlpha().toColourspace('srgb');
  const { data } = await p.raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[k * h * w + i] = (data[i * c + k] / 255 - norm.mean) / norm.std;
  return out;
}

/** The input's [C, H, W] and its normalisation, from a model file. */
function inputOf(file: string): { dims: number[]; norm: { mean: number; std: number } } {
  const proto = onnxProto.onnx.ModelProto.decode(readFileSync(file));
  const dims = proto.graph!.input![0].type!.tensorType!.shape!.dim!.slice(1).map((d) => Number(d.dimValue));
  const meta = proto.metadataProps?.find((p) => p.key === 'wgprune.input_normalization');
  return { dims, norm: meta ? JSON.parse(meta.value!) : { mean: 0, std: 1 } };
}

/** Every output of `file` on the images, brought to `input`. */
async function run(file: string, images: string[], { dims, norm }: ReturnType<typeof inputOf>): Promise<Record<string, { dims: number[]; data: Float32Array }>> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  const batch = await Promise.all(images.map((f) => pixels(f, dims, norm)));
  const x = new Float32Array(batch.length * batch[0].length);
  batch.forEach((b, i) => x.set(b, i * b.length));
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [images.length, ...dims]) });
  return Object.fromEntries(session.outputNames.map((n: string) => [n, { dims: out[n].dims, data: out[n].data as Float32Array }]));
}

const args = process.argv.slice(2);
const at = args.indexOf('--dense');
const dense = at >= 0 ? args.splice(at, 2)[1] : undefined;
const [model, ...images] = args;
if (!model || !images.length) {
  console.error('usage: npx tsx examples/onnxruntime-outputs.ts PRUNED.onnx [--dense DENSE.onnx] IMAGE...');
  process.exit(2);
}
const input = inputOf(model);
const pruned = await run(model, images, input);
const reference = dense ? await run(dense, images, input) : undefined;
for (const [name, y] of Object.entries(pruned)) {
  let line = `${name}: [${y.dims.join(', ')}]`;
  const t = reference?.[name];
  if (t) {
    let [dot, yy, tt, noise] = [0, 0, 0, 0];
    y.data.forEach((v, i) => { dot += v * t.data[i]; yy += v * v; tt += t.data[i] ** 2; noise += (v - t.data[i]) ** 2; });
    line += `  cosine ${(dot / Math.sqrt(yy * tt)).toFixed(4)}  SNR ${(10 * Math.log10(tt / noise)).toFixed(1)} dB against ${dense}`;
  }
  console.log(line);
}
