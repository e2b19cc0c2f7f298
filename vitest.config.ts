import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // SwiftShader already spreads each dispatch over the cores; parallel files only contend.
    fileParallelism: false,
  },
});
