import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file runs in its own process: the native addon and node-llama-cpp (the oracle) each load llama.cpp.
    pool: 'forks',
    // Limits for hangs only, never for speed: on the shared 2-core machine under load (average 15-20) the real-engine
    // CLI runs took 80-120 s and one hit the old 120 s limit; CI's whole run has 90 minutes.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
