// Runs the conformance registry on the page's WebGPU device against cpu-ref (fresh random inputs, activations
// poisoned with NaN before each run) and publishes per-case NMSE on window.__ktweb for the Playwright test.
// ?split=1 also runs the matrix cases with a small binding limit (weights spread over several buffers); without
// it the long-context attention cases (flash-decoding over 1000+ cached positions) run too.
import { CpuRefExecutor } from '../../src/backends/cpu-ref/executor.ts';
import { requestGpuContext } from '../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../src/backends/webgpu/shaders-vite.ts';
import { SPLIT_OPS, splitBindingLimit } from '../../tests/backends/webgpu/split.ts';
import { conformanceCases, longContextCases, nmse } from '../../tests/conformance/cases.ts';

export interface CaseResult {
  readonly name: string;
  readonly nmse: number;
  readonly budget: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface PageReport {
  done: boolean;
  device: string;
  subgroups: boolean;
  results: CaseResult[];
  fatal?: string;
}

declare global {
  interface Window {
    __ktweb: PageReport;
  }
}

const report: PageReport = { done: false, device: '', subgroups: false, results: [] };
window.__ktweb = report;
const status = document.getElementById('status')!;
const log = document.getElementById('log')!;

async function main(): Promise<void> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (adapter === null || adapter === undefined) throw new Error('no WebGPU adapter (start Chromium with --enable-unsafe-webgpu)');
  const gpu = await requestGpuContext(adapter);
  report.device = gpu.caps.description;
  report.subgroups = gpu.caps.subgroups;
  const shaders = viteShaderLibrary();
  const split = new URLSearchParams(location.search).get('split') === '1';
  const cases = [...conformanceCases(), ...(split ? [] : longContextCases())];
  for (const [i, c] of cases.entries()) {
    status.textContent = `${i + 1}/${cases.length} ${c.name}`;
    const cpu = new CpuRefExecutor((n) => c.weights.get(n)!, 4096);
    const limit = split && SPLIT_OPS.has(c.op) ? splitBindingLimit(c) : undefined;
    const ex = new WebGpuExecutor(gpu, (n) => c.weights.get(n)!, { nCtx: 4096, shaders, poison: true, ...(limit !== undefined ? { maxBindingBytes: limit } : {}) });
    try {
      // Long-context cases fill the KV cache first (both sides).
      for (const s of c.setup ?? []) {
        cpu.runSync(s.graph, s.inputs);
        await ex.run(s.graph, s.inputs);
      }
      const ref = cpu.runSync(c.graph, c.inputs);
      const out = await ex.run(c.graph, c.inputs);
      const e = out.length === ref.length ? nmse(out, ref) : Infinity;
      report.results.push({ name: c.name, nmse: e, budget: c.nmse, ok: e < c.nmse });
      log.textContent += `${c.name}: ${e.toExponential(2)}\n`;
    } catch (err) {
      report.results.push({ name: c.name, nmse: NaN, budget: c.nmse, ok: false, error: err instanceof Error ? err.message : String(err) });
    } finally {
      ex.destroy();
    }
  }
  gpu.device.destroy();
  status.textContent = `done: ${report.results.filter((r) => r.ok).length}/${cases.length} within budget`;
}

main()
  .catch((e: unknown) => {
    report.fatal = e instanceof Error ? e.message : String(e);
    status.textContent = `error: ${report.fatal}`;
  })
  .finally(() => {
    report.done = true;
  });
