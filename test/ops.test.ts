// Every WebGPU kernel against the CPU reference on 20 seeded random shapes each (the device is real:
// SwiftShader in CI). The cases live in helpers/op-suites.ts, shared with the gpu.js backend's test.
import { describe, it } from 'vitest';
import { cpu, webgpu } from './helpers/backends.js';
import { expectBackendsAgree } from './helpers/op-cases.js';
import { OP_SUITES, convCase } from './helpers/op-suites.js';

describe('WebGPU kernels match the CPU reference', async () => {
  const gpu = await webgpu();
  const reference = cpu();
  it('conv2d forward and backward, register-tiled variant', async () => {
    const registers = await webgpu({ convVariant: 'registers' });
    await expectBackendsAgree(registers, reference, convCase, 24);
  });
  it('conv2d forward and backward, shared-memory variant', async () => {
    const shared = await webgpu({ convVariant: 'shared' });
    await expectBackendsAgree(shared, reference, convCase, 24);
  });
  for (const suite of OP_SUITES) it(suite.title, () => expectBackendsAgree(gpu, reference, suite.make));
});
