// Builds the kernels before WASM tests (incremental: only mtime checks when up to date). Also usable as a vitest
// globalSetup (export `setup`), which the lead may register in vitest.config.ts.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

let built = false;
export function ensureKernelsBuilt(): void {
  // KTWEB_WASM_OUT names prebuilt kernels (a machine without the toolchain)
  if (built || process.env['KTWEB_WASM_OUT'] !== undefined) return;
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/build-wasm.mjs', import.meta.url))], { stdio: 'pipe' });
  built = true;
}

export function setup(): void {
  ensureKernelsBuilt();
}
