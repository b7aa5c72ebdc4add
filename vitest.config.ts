import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // tfjs backends are process-global and the wasm backend spawns worker threads:
    // one forked process per test file keeps them isolated.
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});
