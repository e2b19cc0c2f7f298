import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // SwiftShader already spreads each dispatch over the cores; parallel files only contend.
    fileParallelism: false,
    // oneDNN's OpenMP workers sleep between ops rather than spin: tests share the cores with SwiftShader
    // and the CLI's child processes, where spinning made the native backend's tests 4x slower.
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
  },
});
