import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shaderSources } from '../src/shader-sources.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { renderShaderModule } from '../scripts/generate-shaders.mjs';
import { webgpu } from './helpers/backends.js';

describe('shader sources', () => {
  it('the generated module is current with shaders/*.wgsl (run `npm run shaders`)', () => {
    expect(readFileSync(new URL('../src/shader-sources.ts', import.meta.url), 'utf8')).toBe(renderShaderModule());
  });

  it('every shader compiles on the device without errors or warnings', async () => {
    const be = await webgpu();
    const device = be.acquired.device;
    for (const [name, code] of Object.entries(shaderSources)) {
      const info = await device.createShaderModule({ code }).getCompilationInfo();
      const problems = info.messages.filter((m) => m.type !== 'info').map((m) => `${name}.wgsl:${m.lineNum}: ${m.message}`);
      expect(problems).toEqual([]);
    }
  });
});

describe('device acquisition', () => {
  it('reports the adapter, whether it is software, its limits and how it was found', async () => {
    const be = await webgpu();
    const r = be.report;
    expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(r.limits.maxComputeWorkgroupSizeX).toBeGreaterThanOrEqual(256);
    expect(r.tried.at(-1)).toMatch(/^using (software|hardware) adapter /);
    expect(typeof r.software).toBe('boolean');
    // SwiftShader is the CPU path: it must be reported as software, and get the register-tiled convs.
    if (/swiftshader/i.test(r.architecture + r.description)) {
      expect(r.software).toBe(true);
      expect(be.convVariant(128)).toBe('registers');
    } else {
      expect(be.convVariant(128)).toBe('shared');
      expect(be.convVariant(1)).toBe('registers');
    }
  });

  it('validates op inputs with messages that name the op and the value', async () => {
    const be = await webgpu();
    const x = be.zeros([1, 3, 5, 5]);
    expect(() => be.conv2d(x, be.zeros([4, 2, 3, 3]))).toThrow(/conv2d: weight has 2 input channels per group, input has 3 channels in 1 groups/);
    expect(() => be.conv2d(x, be.zeros([4, 3, 7, 7]))).toThrow(/conv2d: a window of 7 does not fit an input of 5/);
    expect(() => be.conv2d(x, be.zeros([4, 3, 3, 3]), { stride: 0 })).toThrow(/conv2d: stride must be integers >= 1/);
    expect(() => be.maxPool(x, { kernel: 2, padding: 2 })).toThrow(/maxPool: padding 2 must be smaller than the kernel 2x2/);
    expect(() => be.softmaxCrossEntropy(be.zeros([2, 3]), be.zeros([3]))).toThrow(/labels has shape \[3\], expected \[2\]/);
  });
});
