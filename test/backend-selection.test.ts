// Which backend `auto` takes and why, every backend by name, and a WebGPU device lost mid-run continuing
// on the native backend. (The whole-run equivalence of the backends is in whole-runs.test.ts, which
// runs the WebGPU reference run once for both.)
import { afterAll, describe, expect, it } from 'vitest';
import { GpujsBackend } from '../src/gpujs/backend.js';
import { NativeBackend } from '../src/native/backend.js';
import { type ComputeBackend, NATIVE_DISABLE_ENV, openBackend } from '../src/open-backend.js';
import { withDeviceFallback } from '../src/run/fallback.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { DISABLE_ENV } from '../src/webgpu/device.js';

const opened: ComputeBackend[] = [];
afterAll(() => { for (const be of opened) be.destroy(); });

async function open(o: Parameters<typeof openBackend>[0], env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  try {
    const notices: string[] = [];
    const be = await openBackend({ ...o, onNotice: (l) => notices.push(l) });
    opened.push(be);
    return { be, notices };
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

describe('backend selection', () => {
  it('auto: a hardware GPU when one answers, else the native backend, with one notice saying why', async () => {
    const hardware = await WebGpuBackend.create({ hardwareOnly: true }).then((b) => { b.destroy(); return true; }, () => false);
    const { be, notices } = await open({});
    if (hardware) {
      expect(be).toBeInstanceOf(WebGpuBackend);
      expect(notices).toEqual([]);
    } else {
      expect(be).toBeInstanceOf(NativeBackend);
      expect(notices).toEqual([expect.stringMatching(/^no hardware GPU \(.+\); running on the native CPU backend \(onnxruntime CPU kernels \+ oneDNN [\d.]+, \d+ threads\)$/)]);
    }
  });

  it('every backend can be forced by name', async () => {
    expect((await open({ backend: 'webgpu' })).be).toBeInstanceOf(WebGpuBackend);
    expect((await open({ backend: 'gpujs' })).be).toBeInstanceOf(GpujsBackend);
    expect((await open({ backend: 'native' })).be).toBeInstanceOf(NativeBackend);
    await expect(openBackend({ backend: 'cuda' as 'auto' })).rejects.toThrow(/backend must be one of auto, webgpu, gpujs, native, got 'cuda'/);
  });

  it('without the native backend auto takes WebGPU (software here); without either, gpu.js; forced ones fail naming why', async () => {
    const soft = await open({}, { [NATIVE_DISABLE_ENV]: 'off' });
    expect(soft.be).toBeInstanceOf(WebGpuBackend);
    const none = await open({}, { [NATIVE_DISABLE_ENV]: 'off', [DISABLE_ENV]: 'off' });
    expect(none.be).toBeInstanceOf(GpujsBackend);
    expect(none.notices).toHaveLength(1);
    expect(none.notices[0]).toMatch(/^WebGPU unavailable \(no WebGPU adapter: WebGPU turned off .*\); native backend turned off \(WGPRUNE_NATIVE=off\); running on gpu\.js \((webasm|cpu|headlessgl)\)/);
    process.env[NATIVE_DISABLE_ENV] = 'off';
    await expect(openBackend({ backend: 'native' })).rejects.toThrow(/native backend turned off/);
    delete process.env[NATIVE_DISABLE_ENV];
  });
});

describe('device loss', () => {
  it('a WebGPU device lost mid-run continues on the native backend with one notice', async () => {
    const { be } = await open({ backend: 'webgpu' });
    (be as WebGpuBackend).acquired.device.destroy();
    const notices: string[] = [];
    const ran: string[] = [];
    const r = await withDeviceFallback(be, async (on) => {
      ran.push(on.name);
      const t = on.upload([1, -2], [2]);
      const y = await on.read(on.activation(t, 'relu'));
      if (on instanceof WebGpuBackend) await on.acquired.device.lost;
      return Array.from(y);
    }, () => 'step 7', { onNotice: (l) => notices.push(l) });
    opened.push(r.backend);
    expect(r.backend).toBeInstanceOf(NativeBackend);
    expect(ran).toEqual(['webgpu', 'native']);
    expect(r.value).toEqual([1, 0]);
    expect(notices).toEqual([expect.stringMatching(/^the WebGPU device was lost \(.*\); resuming on native \(onnxruntime CPU kernels \+ oneDNN [\d.]+, \d+ threads\) from step 7$/)]);
  });
});
