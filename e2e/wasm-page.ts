// Browser page for the WASM e2e tests (kernels and workers from wasm-browser.ts): exposes the op conformance
// registry (vs cpu-ref, computed here too) and a kernel GEMV benchmark to Playwright through window.
import { CpuRefExecutor } from '../src/backends/cpu-ref/executor.ts';
import type { WasmIsa } from '../src/backends/wasm/abi.ts';
import { WasmExecutor } from '../src/backends/wasm/executor.ts';
import { WasmRuntime } from '../src/backends/wasm/runtime.ts';
import { conformanceCases, nmse } from '../tests/conformance/cases.ts';
import { benchGemv, type BenchRow } from './wasm-bench-core.ts';
import { availableIsas as available, browserKernels as kernels, browserPlatform as platform } from './wasm-browser.ts';

export interface CaseResult {
  readonly isa: WasmIsa;
  readonly threads: number;
  readonly name: string;
  readonly nmse: number;
  readonly nmseExact: number;
  readonly budget: number;
  readonly error?: string;
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
async function bench(isa: WasmIsa, type: number, threads: number, mb: number, k: number, reps: number, cols = 1): Promise<BenchRow | undefined> {
  if (!(await available()).includes(isa)) return undefined;
  const key = `${isa}/${threads}`;
  let rt = runtimes.get(key);
  if (rt === undefined) {
    rt = await WasmRuntime.create({ modules: await kernels(), isa, platform: threads > 0 ? platform : undefined, threads });
    runtimes.set(key, rt);
  }
  return benchGemv(rt, type, k, mb, reps, () => performance.now(), cols);
}

declare global {
  interface Window {
    wasmE2E: { available: typeof available; runConformance: typeof runConformance; bench: typeof bench; crossOriginIsolated: boolean };
  }
}
window.wasmE2E = { available, runConformance, bench, crossOriginIsolated };
document.getElementById('status')!.textContent = 'ready';
