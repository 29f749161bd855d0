// Browser face for the WASM e2e tests: compiles the kernels the page's engine supports, creates module Workers
// running src/workers/wasm-kernel.worker.ts, and exposes the op conformance registry (vs cpu-ref, computed here
// too) and a kernel GEMV benchmark to Playwright through window.
import { CpuRefExecutor } from '../src/backends/cpu-ref/executor.ts';
import type { WasmIsa } from '../src/backends/wasm/abi.ts';
import { WasmExecutor } from '../src/backends/wasm/executor.ts';
import { compileKernels, selectIsa, WasmRuntime, type KernelModules, type WasmPlatform } from '../src/backends/wasm/runtime.ts';
import { conformanceCases, nmse } from '../tests/conformance/cases.ts';
import { benchGemv, type BenchRow } from './wasm-bench-core.ts';

export interface CaseResult {
  readonly isa: WasmIsa;
  readonly threads: number;
  readonly name: string;
  readonly nmse: number;
  readonly nmseExact: number;
  readonly budget: number;
  readonly error?: string;
}

const platform: WasmPlatform = {
  hardwareConcurrency: navigator.hardwareConcurrency,
  createWorker() {
    const w = new Worker(new URL('../src/workers/wasm-kernel.worker.ts', import.meta.url), { type: 'module' });
    return { endpoint: w, terminate: () => w.terminate() };
  },
};

let modules: Promise<KernelModules> | undefined;
function kernels(): Promise<KernelModules> {
  modules ??= (async () => {
    const bins: Partial<Record<WasmIsa, ArrayBuffer>> = {};
    for (const isa of ['scalar', 'simd128', 'relaxed'] as const) bins[isa] = await (await fetch(`/wasm/out/kernels-${isa}.wasm`)).arrayBuffer();
    return compileKernels(bins);
  })();
  return modules;
}

async function available(): Promise<WasmIsa[]> {
  const m = await kernels();
  return (['scalar', 'simd128', 'relaxed'] as const).filter((isa) => {
    try {
      return selectIsa(m, isa) === isa;
    } catch {
      return false;
    }
  });
}

async function runConformance(isas: readonly WasmIsa[], threadCounts: readonly number[]): Promise<CaseResult[]> {
  const m = await kernels();
  const cases = conformanceCases().map((c) => {
    const w = (n: string) => c.weights.get(n)!;
    return { c, rounded: new CpuRefExecutor(w, 4096, true).runSync(c.graph, c.inputs), exact: new CpuRefExecutor(w, 4096).runSync(c.graph, c.inputs) };
  });
  const out: CaseResult[] = [];
  for (const isa of isas) {
    for (const threads of threadCounts) {
      const rt = await WasmRuntime.create({ modules: m, isa, platform, threads });
      for (const { c, rounded, exact } of cases) {
        const ex = new WasmExecutor(rt, (n) => c.weights.get(n)!, 4096);
        try {
          const y = await ex.run(c.graph, c.inputs);
          out.push({ isa, threads, name: c.name, nmse: nmse(y, rounded), nmseExact: nmse(y, exact), budget: c.nmse });
        } catch (e) {
          out.push({ isa, threads, name: c.name, nmse: NaN, nmseExact: NaN, budget: c.nmse, error: String(e) });
        } finally {
          ex.dispose();
        }
      }
      await rt.dispose();
    }
  }
  return out;
}

const runtimes = new Map<string, WasmRuntime>();

/** One GEMV benchmark row; threads 0 runs on this page's main thread. Undefined when the variant is missing. */
async function bench(isa: WasmIsa, type: number, threads: number, mb: number, k: number, reps: number): Promise<BenchRow | undefined> {
  if (!(await available()).includes(isa)) return undefined;
  const key = `${isa}/${threads}`;
  let rt = runtimes.get(key);
  if (rt === undefined) {
    rt = await WasmRuntime.create({ modules: await kernels(), isa, platform: threads > 0 ? platform : undefined, threads });
    runtimes.set(key, rt);
  }
  return benchGemv(rt, type, k, mb, reps, () => performance.now());
}

declare global {
  interface Window {
    wasmE2E: { available: typeof available; runConformance: typeof runConformance; bench: typeof bench; crossOriginIsolated: boolean };
  }
}
window.wasmE2E = { available, runConformance, bench, crossOriginIsolated };
document.getElementById('status')!.textContent = 'ready';
