import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

// Served by the esimhub server under /console/ (src/http/console/plugin.ts).
export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: { proxy: { '/v1': 'http://localhost:8080', '/console/api': 'http://localhost:8080', '/sandbox': 'http://localhost:8080', '/qr': 'http://localhost:8080', '/i': 'http://localhost:8080' } },
});
