// A timed probe convolution, the same on every backend: what `wgprune doctor` shows and how gpu.js
// compares its modes.
import type { Backend } from './backend.js';

/** The probe: a 3x3 convolution, padding 1, of an 8x16x16x16 input to 16 channels. */
export const PROBE_CONV = '3x3 conv 8x16x16x16 -> 16';

/** Milliseconds of the probe convolution read back, after a first call that compiles and warms it up. */
export async function probeConvMs(be: Backend): Promise<number> {
  const x = be.upload(new Float32Array(8 * 16 * 16 * 16).fill(0.5), [8, 16, 16, 16]);
  const w = be.upload(new Float32Array(16 * 16 * 9).fill(0.1), [16, 16, 3, 3]);
  const conv = async () => {
    const y = be.conv2d(x, w, { padding: 1 });
    await be.read(y);
    be.dispose(y);
  };
  await conv();
  const t0 = performance.now();
  await conv();
  const ms = performance.now() - t0;
  be.dispose(x, w);
  return ms;
}
