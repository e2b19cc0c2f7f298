// `wgprune doctor`: every backend this machine has, each with the same timed probe convolution, and
// which one `--backend` (auto by default) takes, and why.
import { GpujsBackend, probeGpujsModes } from '../gpujs/backend.js';
import { type BackendChoice, type ComputeBackend, openBackend, openNative } from '../open-backend.js';
import { PROBE_CONV, probeConvMs } from '../probe.js';
import { WebGpuBackend } from '../webgpu/backend.js';

const shortName = (be: ComputeBackend) => (be instanceof GpujsBackend ? `gpujs (${be.mode})` : be.name);

export async function doctor(choice: BackendChoice): Promise<{ json: Record<string, unknown>; text: string; ok: boolean }> {
  const lines: string[] = [];

  let webgpu: Record<string, unknown>;
  try {
    const be = await WebGpuBackend.create();
    const r = be.report;
    const convMs = await probeConvMs(be);
    be.destroy();
    webgpu = { available: true, software: r.software, adapter: { vendor: r.vendor, architecture: r.architecture, device: r.device, description: r.description }, tried: r.tried, features: r.features, limits: r.limits, convMs };
    lines.push(
      `WebGPU: ${r.software ? 'software adapter (SwiftShader on the CPU: a correctness device, slow)' : 'hardware GPU'}: ${[r.vendor, r.architecture, r.device, r.description].filter(Boolean).join(' / ') || 'unnamed'}; ${PROBE_CONV} in ${convMs.toFixed(1)} ms`,
      `  how: ${r.tried.join('; ')}`,
      `  limits: maxStorageBufferBindingSize ${r.limits.maxStorageBufferBindingSize}, maxComputeInvocationsPerWorkgroup ${r.limits.maxComputeInvocationsPerWorkgroup}; features: ${r.features.join(', ') || 'none'}`,
    );
  } catch (e) {
    const tried = (e as { tried?: string[] }).tried ?? [(e as Error).message];
    webgpu = { available: false, tried };
    lines.push(`WebGPU: no adapter. Tried: ${tried.join('; ')}`, '  On Linux without a GPU: apt-get install chromium libvulkan1 (its SwiftShader Vulkan driver).');
  }

  let native: Record<string, unknown>;
  try {
    const be = await openNative();
    const convMs = await probeConvMs(be);
    be.destroy();
    native = { available: true, threads: be.threads, onednn: be.onednn, convMs };
    lines.push(`native: ${be.label}; ${PROBE_CONV} in ${convMs.toFixed(1)} ms`);
    if (!be.onednn.startsWith('oneDNN')) lines.push(`  oneDNN ${be.onednn}`);
  } catch (e) {
    native = { available: false, reason: (e as Error).message };
    lines.push(`native: unavailable (${(e as Error).message})`);
  }

  const modes = await probeGpujsModes();
  const chosen = await GpujsBackend.create().then((b) => { b.destroy(); return b; }, () => undefined);
  const gpujsMode = chosen?.mode;
  lines.push(`gpu.js fallback: ${gpujsMode ? `mode ${gpujsMode}${chosen!.skipped.length ? ` (skipped ${chosen!.skipped.join('; ')})` : ''}` : 'no working mode'}`,
    ...modes.map((m) => `  ${m.mode.padEnd(10)} ${m.detail}`));

  // What --backend takes, opened the way every command opens it; its notice says why.
  let used: string | null = null;
  let reason: string;
  try {
    let notice: string | undefined;
    const be = await openBackend({ backend: choice, onNotice: (line) => { notice = line; } });
    used = shortName(be);
    be.destroy();
    reason = choice !== 'auto' ? `asked for with --backend ${choice}` : notice ?? 'a hardware WebGPU adapter answered';
  } catch (e) {
    reason = `--backend ${choice} has nothing to run on: ${(e as Error).message}`;
  }
  lines.unshift(`backend: ${used ?? 'none'} (${reason})`);
  return { json: { backend: used, reason, choice, webgpu, native, gpujs: { mode: gpujsMode ?? null, modes } }, text: lines.join('\n'), ok: used !== null };
}
