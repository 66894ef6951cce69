import { defineConfig } from 'vitest/config';

// Tests run TypeScript sources directly. Heavy ORT tests share 2 cores, so files run
// in a small fork pool; per-test timeouts are generous because CI machines are slow.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
