// The browser face of the WASM backend for the e2e pages: compiles the kernels this Chromium supports (fetched from
// the Vite server's /wasm/out) and creates module Workers running src/workers/wasm-kernel.worker.ts.
import type { WasmIsa } from '../src/backends/wasm/abi.ts';
import { compileKernels, selectIsa, WasmRuntime, type KernelModules, type WasmPlatform } from '../src/backends/wasm/runtime.ts';

export const browserPlatform: WasmPlatform = {
  hardwareConcurrency: navigator.hardwareConcurrency,
  createWorker() {
    const w = new Worker(new URL('../src/workers/wasm-kernel.worker.ts', import.meta.url), { type: 'module' });
    return { endpoint: w, terminate: () => w.terminate() };
  },
};

let modules: Promise<KernelModules> | undefined;
export function browserKernels(): Promise<KernelModules> {
  modules ??= (async () => {
    const bins: Partial<Record<WasmIsa, ArrayBuffer>> = {};
    for (const isa of ['scalar', 'simd128', 'relaxed'] as const) bins[isa] = await (await fetch(`/wasm/out/kernels-${isa}.wasm`)).arrayBuffer();
    return compileKernels(bins);
  })();
  return modules;
}

/** The variants that compile and pass the self-test here. */
export async function availableIsas(): Promise<WasmIsa[]> {
  const m = await browserKernels();
  return (['scalar', 'simd128', 'relaxed'] as const).filter((isa) => {
    try {
      return selectIsa(m, isa) === isa;
    } catch {
      return false;
    }
  });
}

/** A runtime over `threads` module Workers (0: this thread). */
export async function browserRuntime(threads: number, isa?: WasmIsa): Promise<WasmRuntime> {
  return WasmRuntime.create({ modules: await browserKernels(), ...(threads > 0 ? { platform: browserPlatform, threads } : {}), ...(isa !== undefined ? { isa } : {}) });
}
