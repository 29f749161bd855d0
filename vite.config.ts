// Pages (index.html chat, inspect.html, bench.html) are served cross-origin isolated: COOP/COEP make
// SharedArrayBuffer and WASM threads available to the expert workers. Any static host must send the same headers.
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  assetsInclude: ['**/*.wgsl', '**/*.gguf'],
  build: {
    target: 'es2022',
    outDir: 'dist',
    rollupOptions: { input: { chat: 'index.html', inspect: 'inspect.html', bench: 'bench.html' } },
  },
});
