// Images decoded in worker threads: each worker runs sharp (libvips) on the files it is handed and sends
// the pixels back as [C, H, W] float32 in [0, 1], transferred, not copied. Folders of images are read
// through this pool batch by batch (image-folder.ts), so a set is never held whole in memory.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code: CommonJS, evaluated (a file beside this one would not survive every way the package
 * is run: tsx, the compiled dist/, bundlers); sharp is loaded from the path resolved here. The transform
 * image-folder.ts describes: cover-resize to [H, W], centre crop, grey or sRGB, pixels / 255.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const sharp = require(workerData.sharp);
sharp.concurrency(1); // one libvips thread per worker: the pool is the parallelism
parentPort.on('message', async ({ id, file, shape }) => {
  const [c, h, w] = shape;
  try {
    let p = sharp(file).resize(w, h, { fit: 'cover', position: 'centre' });
    p = c === 1 ? p.grayscale() : p.removeAlpha().toColourspace('srgb');
    const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== c || info.width !== w || info.height !== h) throw new Error('decoded as ' + info.channels + 'x' + info.height + 'x' + info.width + ', expected ' + c + 'x' + h + 'x' + w);
    const out = new Float32Array(c * h * w);
    for (let q = 0; q < h * w; q++) for (let k = 0; k < c; k++) out[k * h * w + q] = data[q * c + k] / 255;
    parentPort.postMessage({ id, pixels: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

/** Decoding files over `size` worker threads; `close()` ends them. */
export class DecodePool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve: (p: Float32Array) => void; reject: (e: Error) => void }>();
  private next = 0;
  private closed = false;
  get size(): number { return this.workers.length; }

  constructor(size = Math.min(4, availableParallelism())) {
    const sharpPath = createRequire(import.meta.url).resolve('sharp');
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const w = new Worker(WORKER, { eval: true, workerData: { sharp: sharpPath } });
      w.on('message', (m: { id: number; pixels?: Float32Array; error?: string }) => {
        const task = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (!this.waiting.size) for (const x of this.workers) x.unref(); // idle: the process may end
        if (m.error !== undefined) task?.reject(new Error(m.error));
        else task?.resolve(m.pixels!);
      });
      w.on('error', (e) => { for (const t of this.waiting.values()) t.reject(e); this.waiting.clear(); });
      w.unref(); // an idle pool never keeps the process alive; a busy one does (decode)
      return w;
    });
  }

  /** One file's pixels, [C, H, W] in [0, 1]; rejects with why it did not decode. */
  decode(file: string, shape: [number, number, number]): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('the decode pool is closed'));
    const id = this.next++;
    if (!this.waiting.size) for (const w of this.workers) w.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.workers.length].postMessage({ id, file, shape });
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) void w.terminate();
  }
}
