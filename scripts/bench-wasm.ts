// WASM kernel benchmark: GB/s of weight bytes of a decode GEMV (mul_mat, n = 1) per weight type and kernel variant,
// in Node (worker_threads) or, with --browser, in headless Chromium (module Workers; --threads 0 = the page's
// main thread). Prints a table; --json writes the rows.
// --cols N > 1 measures a prefill GEMM (N activation columns) instead; GMAC/s says how fast it computes.
// Usage: npx tsx scripts/bench-wasm.ts [--browser] [--threads 1] [--mb 256] [--k 4096] [--cols 1] [--reps N]
//        [--isa relaxed,simd128,scalar] [--types q4_0,q8_0] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { WasmIsa } from '../src/backends/wasm/abi.ts';
import { selectIsa, WasmRuntime } from '../src/backends/wasm/runtime.ts';
import { parseGGMLType } from '../src/core/ggml-type.ts';
import { benchGemv, formatRow, type BenchRow } from '../e2e/wasm-bench-core.ts';
import { ensureKernelsBuilt } from '../tests/backends/wasm/build.ts';
import { nodeKernels, nodePlatform } from '../src/cli/node-wasm.ts';
import { WEIGHT_TYPES } from '../tests/conformance/cases.ts';

const { values: a } = parseArgs({
  options: {
    browser: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1' },
    mb: { type: 'string', default: '256' },
    k: { type: 'string', default: '4096' },
    reps: { type: 'string', default: '0' },
    cols: { type: 'string', default: '1' },
    isa: { type: 'string', default: 'relaxed,simd128,scalar' },
    types: { type: 'string' },
    json: { type: 'string' },
  },
});
ensureKernelsBuilt();
const threads = Number(a.threads);
const mb = Number(a.mb);
const k = Number(a.k);
const cols = Number(a.cols);
const isas = a.isa.split(',') as WasmIsa[];
const types = a.types !== undefined ? a.types.split(',').map((t) => parseGGMLType(t)!) : [...WEIGHT_TYPES];
const reps = (isa: WasmIsa): number => (Number(a.reps) > 0 ? Number(a.reps) : Math.max(5, Math.round(((isa === 'scalar' ? 2 : 20) * 256) / mb)));
const rows: BenchRow[] = [];
let env = 'node ' + process.version;

if (a.browser) {
  const { startBrowser } = await import('../e2e/browser.ts');
  const b = await startBrowser();
  try {
    const page = await b.context.newPage();
    await page.goto(`${b.baseURL}/e2e/wasm-conformance.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    env = await page.evaluate(() => navigator.userAgent);
    for (const isa of isas) {
      for (const type of types) {
        const r = await page.evaluate(([i, t, th, m, kk, n, c]) => window.wasmE2E.bench(i, t, th, m, kk, n, c), [isa, type, threads, mb, k, reps(isa), cols] as const);
        if (r === undefined) break;
        rows.push(r);
        console.log(formatRow(r));
      }
    }
  } finally {
    await b.close();
  }
} else {
  const modules = await nodeKernels();
  for (const isa of isas) {
    try {
      selectIsa(modules, isa);
    } catch {
      console.log(`${isa}: not available in this Node`);
      continue;
    }
    // --threads 0: the caller's thread runs the kernels (no pool round trip)
    const rt = await WasmRuntime.create({ modules, isa, platform: threads > 0 ? nodePlatform() : undefined, threads });
    for (const type of types) {
      const r = await benchGemv(rt, type, k, mb, reps(isa), () => performance.now(), cols);
      rows.push(r);
      console.log(formatRow(r));
    }
    await rt.dispose();
  }
}
if (a.json !== undefined) await writeFile(a.json, JSON.stringify({ env, k, mb, cols, rows }, null, 2) + '\n');
