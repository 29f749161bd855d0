// Node face for the WASM backend in tests and benchmarks: reads the built kernels, enables relaxed SIMD on Node 20
// (both flags, DESIGN.md §6: Liftoff computes the relaxed dot wrongly), and creates worker_threads running
// src/workers/wasm-kernel.node.ts through tsx.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { WasmIsa } from '../../../src/backends/wasm/abi.ts';
import { nodeStyleEndpoint } from '../../../src/backends/wasm/node-endpoint.ts';
import { compileKernels, type KernelModules, type WasmPlatform } from '../../../src/backends/wasm/runtime.ts';

const OUT = process.env['KTWEB_WASM_OUT'] !== undefined ? new URL(`file://${process.env['KTWEB_WASM_OUT']}/`) : new URL('../../../wasm/out/', import.meta.url);
const WORKER = new URL('../../../src/workers/wasm-kernel.node.ts', import.meta.url);

let modules: Promise<KernelModules> | undefined;

/** The kernel variants this Node can run, compiled once per process. */
export function nodeKernels(): Promise<KernelModules> {
  modules ??= (async () => {
    if (Number(process.versions.node.split('.')[0]) < 22) {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      setFlagsFromString('--no-liftoff');
    }
    const bins: Partial<Record<WasmIsa, Uint8Array<ArrayBuffer>>> = {};
    for (const isa of ['scalar', 'simd128', 'relaxed'] as const) bins[isa] = new Uint8Array(await readFile(new URL(`kernels-${isa}.wasm`, OUT)));
    return compileKernels(bins);
  })();
  return modules;
}

export function nodePlatform(): WasmPlatform {
  // KTWEB_WASM_WORKER: a prebuilt (bundled) worker script, for machines without the dev dependencies
  const bundled = process.env['KTWEB_WASM_WORKER'];
  return {
    hardwareConcurrency: availableParallelism(),
    createWorker() {
      const w =
        bundled !== undefined
          ? new Worker(bundled)
          : new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(WORKER.href)}); })`, { eval: true });
      return { endpoint: nodeStyleEndpoint(w), terminate: () => w.terminate() };
    },
  };
}
