// Acquires a WebGPU device: navigator.gpu in browsers, Dawn (the `webgpu` package) in Node. In Node,
// when no adapter is found, it retries with a SwiftShader Vulkan driver if one is on the machine.

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader) rather than a hardware GPU. */
  software: boolean;
  features: string[];
  limits: Record<string, number>;
  /** How the adapter was found, for `wgprune doctor` and error messages. */
  tried: string[];
}

export interface AcquiredDevice {
  /** The GPU object the adapter came from; keep it referenced while the device is in use. */
  gpu: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Node only: Dawn's robustness checks off (1.3-3x faster on SwiftShader). Our kernels bound-check themselves. */
  disableRobustness?: boolean;
  /** Node only: skip the hardware drivers and use SwiftShader (tests of the fallback path). */
  forceSoftware?: boolean;
  /** Refuse software adapters (SwiftShader, lavapipe, ...): `auto` prefers the native CPU backend to them. */
  hardwareOnly?: boolean;
}

/** Where Chromium and Chrome put their SwiftShader Vulkan driver on Linux. */
export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

export class NoWebGpuError extends Error {
  constructor(readonly tried: string[]) {
    super(`no WebGPU adapter: ${tried.join('; ')}`);
    this.name = 'NoWebGpuError';
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Set to `off` to act as a machine without WebGPU (what `--backend auto` falls back from). */
export const DISABLE_ENV = 'WGPRUNE_WEBGPU';

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const tried: string[] = [];
  if (isNode && process.env[DISABLE_ENV] === 'off') throw new NoWebGpuError([`WebGPU turned off (${DISABLE_ENV}=off)`]);
  const found = isNode ? await nodeAdapter(options, tried) : await browserAdapter(options, tried);
  if (!found) throw new NoWebGpuError(tried);
  const { adapter, gpu } = found;
  if (options.hardwareOnly && isSoftware(adapter)) throw new NoWebGpuError([...tried, `only a software adapter (${describe(adapter.info ?? {})})`]);
  const limits: Record<string, number> = {};
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(adapter.limits))) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  // Ask for the adapter's own limits where they matter to our kernels (storage buffers per stage, sizes).
  const requiredLimits: Record<string, number> = {};
  for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension']) {
    if (key in limits) requiredLimits[key] = limits[key];
  }
  const device = await adapter.requestDevice({ requiredLimits });
  const info = adapter.info;
  const architecture = info?.architecture ?? '';
  const report: AdapterReport = {
    vendor: info?.vendor ?? '',
    architecture,
    device: info?.device ?? '',
    description: info?.description ?? '',
    software: isSoftware(adapter),
    features: [...adapter.features].map(String).sort(),
    limits,
    tried,
  };
  tried.push(`using ${report.software ? 'software' : 'hardware'} adapter ${describe(report)}`);
  return { gpu, device, adapter, report };
}

export function describe(r: Partial<Pick<AdapterReport, 'vendor' | 'architecture' | 'device' | 'description'>>): string {
  return [r.vendor, r.architecture, r.device, r.description].filter(Boolean).join(' / ') || 'unnamed';
}

/** A CPU implementation of WebGPU rather than a GPU. */
function isSoftware(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info?.architecture ?? ''} ${info?.description ?? ''} ${info?.device ?? ''}`) ||
    !!(adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
}

async function browserAdapter(options: DeviceOptions, tried: string[]) {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    tried.push('navigator.gpu is missing (browser without WebGPU, or WebGPU disabled)');
    return undefined;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) {
    tried.push('navigator.gpu.requestAdapter() returned null');
    return undefined;
  }
  return { adapter, gpu };
}

/**
 * Whether Dawn finds an adapter with the system's Vulkan drivers, asked in a child process: drivers Dawn
 * rejects (lavapipe, for one) print warnings from native code on stderr, which no JavaScript can catch.
 * True when the probe itself fails, so that the in-process attempt decides.
 */
async function systemAdapterInChild(flags: string[]): Promise<boolean> {
  const { spawnSync } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('webgpu');
  } catch {
    return true;
  }
  const script = 'const { create } = await import(process.env.WGPRUNE_PROBE_MODULE); const a = await create(JSON.parse(process.env.WGPRUNE_PROBE_FLAGS)).requestAdapter(); process.stdout.write(a ? "adapter" : "none"); process.exit(0);';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, WGPRUNE_PROBE_MODULE: pathToFileURL(entry).href, WGPRUNE_PROBE_FLAGS: JSON.stringify(flags) },
  });
  return r.status !== 0 || r.stdout !== 'none';
}

async function nodeAdapter(options: DeviceOptions, tried: string[]) {
  let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu'; // kept in a variable so browser bundlers leave it alone
    dawn = await import(/* @vite-ignore */ name);
  } catch (e) {
    tried.push(`the 'webgpu' package (Dawn) did not load: ${(e as Error).message}`);
    return undefined;
  }
  // Dawn's constants (GPUBufferUsage, GPUShaderStage, ...) as globals, as in a browser.
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // quiets a Vulkan loader warning on headless machines
  const flags = options.disableRobustness === false ? [] : ['enable-dawn-features=disable_robustness'];
  const attempt = async (label: string) => {
    const gpu = dawn.create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
    tried.push(`${label}: ${adapter ? 'adapter found' : 'no adapter'}`);
    return adapter ? { adapter, gpu } : undefined;
  };
  if (!options.forceSoftware) {
    const label = `Dawn with the system's drivers${process.env.VK_ICD_FILENAMES ? ` (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})` : ''}`;
    if (process.env.WGPRUNE_DRIVER_WARNINGS !== '1' && !(await systemAdapterInChild(flags))) {
      tried.push(`${label}: no adapter (asked in a child process; --verbose shows the drivers' warnings)`);
    } else {
      const found = await attempt(label);
      if (found) return found;
    }
  }
  if (options.hardwareOnly) return undefined;
  const { existsSync } = await import('node:fs');
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!icd) {
    tried.push(`no SwiftShader Vulkan driver at ${SWIFTSHADER_ICDS.join(', ')} (on Debian: apt-get install chromium libvulkan1)`);
    return undefined;
  }
  const previous = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = icd;
  const found = await attempt(`Dawn with SwiftShader (VK_ICD_FILENAMES=${icd})`);
  if (!found) {
    if (previous === undefined) delete process.env.VK_ICD_FILENAMES; else process.env.VK_ICD_FILENAMES = previous;
    tried.push('Dawn needs the Vulkan loader libvulkan.so.1 (Debian: apt-get install libvulkan1)');
  }
  return found;
}
