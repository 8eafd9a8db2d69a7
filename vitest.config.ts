import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file runs in its own process: the native addon and node-llama-cpp (the oracle) each load llama.cpp.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
