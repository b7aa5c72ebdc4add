import { defineConfig } from 'vite';

/**
 * The page of `fakeface serve`, built into web/dist (served by src/server).
 * `npm run dev:web` serves it with hot reload and sends /api to a running
 * `fakeface serve` ($FAKEFACE_API, default http://127.0.0.1:5170).
 */
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything is bundled (uPlot included): the page loads nothing from other hosts.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      '/api': process.env['FAKEFACE_API'] ?? 'http://127.0.0.1:5170',
      '/experiments': process.env['FAKEFACE_API'] ?? 'http://127.0.0.1:5170',
    },
  },
});
