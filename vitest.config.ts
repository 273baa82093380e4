import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workers/**', '**/node_modules/**'],
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.jsonc' } })],
        // The example Worker (bound in the test worker) imports the package by its public paths.
        resolve: {
          alias: [
            { find: /^dofs-sqlite$/, replacement: fileURLToPath(new URL('./core/index.ts', import.meta.url)) },
            {
              find: /^dofs-sqlite\/backends\/do-sql$/,
              replacement: fileURLToPath(new URL('./backends/do-sql/index.ts', import.meta.url)),
            },
            { find: /^dofs-sqlite\/sync$/, replacement: fileURLToPath(new URL('./sync/index.ts', import.meta.url)) },
          ],
        },
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
        },
      },
    ],
  },
});
