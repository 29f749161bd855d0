#!/usr/bin/env node
// Bundles the GPU benchmark scripts into single ES modules for the lent GPU machine, which has no npm and no
// node_modules: only the bundle made by ../shared/gpu/make-bundle.sh (node + Dawn's `webgpu` package, kept
// external here and resolved from DIR/node_modules). The WGSL sources go to DIR/shaders, where a bundled script
// finds them (../shaders from DIR/app; --shaders or KTWEB_SHADERS override). Usage: node scripts/gpu-bundle-app.mjs DIR
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.gpu-bundle';
mkdirSync(join(dir, 'app'), { recursive: true });
for (const name of ['bench-kernels']) {
  await build({
    entryPoints: [`scripts/${name}.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    outfile: join(dir, 'app', `${name}.mjs`),
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  console.log(`bundled ${join(dir, 'app', `${name}.mjs`)}`);
}
rmSync(join(dir, 'shaders'), { recursive: true, force: true });
cpSync('shaders', join(dir, 'shaders'), { recursive: true });
console.log(`copied shaders/ to ${join(dir, 'shaders')}`);
