#!/usr/bin/env node
// Bundles the ktweb CLI and its WASM kernel worker into plain ES modules for machines without npm or tsx (the
// lent GPU machine: node comes from the GPU bundle, ../shared/gpu/make-bundle.sh, with Dawn's `webgpu` package,
// which stays external). The bundles live in dist-cli/ at the repository root, so the paths the CLI resolves
// next to itself (shaders/, rules/, models/vocab/, wasm/out/) are the checkout's. Run with
//   KTWEB_WASM_WORKER=$PWD/dist-cli/workers/wasm-kernel.node.mjs node dist-cli/cli/ktweb.mjs ...
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
};
await build({
  ...common,
  stdin: { contents: "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n", resolveDir: '.', sourcefile: 'ktweb-entry.ts', loader: 'ts' },
  outfile: 'dist-cli/cli/ktweb.mjs',
});
await build({ ...common, entryPoints: ['src/workers/wasm-kernel.node.ts'], outfile: 'dist-cli/workers/wasm-kernel.node.mjs' });
console.log('bundled dist-cli/cli/ktweb.mjs and dist-cli/workers/wasm-kernel.node.mjs');
