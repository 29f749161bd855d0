// wasm32 vs Memory64 (wasm64): GB/s of one thread's decode GEMV per weight type, the same C source built both
// ways (scripts/build-wasm.mjs --bench), in headless Chromium (e2e/wasm-mem64-page.ts). Node 20 cannot run the
// wasm64 build at all (V8 11.3's experimental memory64 predates the 64-bit tables clang 19 emits); this says so.
// Usage: npx tsx scripts/bench-memory64.ts [--types q4_0,q8_0,q4_k,q6_k] [--mb 256] [--k 4096] [--rounds 3] [--json out.json]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ggmlTypeName, parseGGMLType } from '../src/core/ggml-type.ts';
import { startBrowser } from '../e2e/browser.ts';
import type { Mem64Row } from '../e2e/wasm-mem64-page.ts';

const { values: a } = parseArgs({
  options: {
    types: { type: 'string', default: 'q4_0,q8_0,q4_k,q6_k' },
    mb: { type: 'string', default: '256' },
    k: { type: 'string', default: '4096' },
    reps: { type: 'string', default: '11' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});

execFileSync(process.execPath, [new URL('./build-wasm.mjs', import.meta.url).pathname, '--bench'], { stdio: 'pipe' });
let node = 'runs';
try {
  new WebAssembly.Module(readFileSync(new URL('../wasm/out/bench-gemv-wasm64.wasm', import.meta.url)));
} catch (e) {
  node = `does not run here (${process.version}): ${(e as Error).message}`;
}
console.log(`Node: the wasm64 build ${node}`);

const b = await startBrowser();
const rows: (Mem64Row & { typeName: string; round: number })[] = [];
let env = '';
try {
  const page = await b.context.newPage();
  await page.goto(`${b.baseURL}/e2e/wasm-mem64.html`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  env = await page.evaluate(() => navigator.userAgent);
  // rounds alternate the two builds, so that other load on the machine hits both alike
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const t of a.types.split(',')) {
      const type = parseGGMLType(t)!;
      for (const target of ['wasm32', 'wasm64'] as const) {
        const r = await page.evaluate(([tg, ty, k, mb, reps]) => window.mem64.bench(tg, ty, k, mb, reps), [target, type, Number(a.k), Number(a.mb), Number(a.reps)] as const);
        rows.push({ ...r, typeName: ggmlTypeName(type), round });
        console.log(`round ${round} ${target} ${ggmlTypeName(type).padEnd(5)} ${r.ms.toFixed(2).padStart(8)} ms ${r.gbs.toFixed(2).padStart(7)} GB/s`);
      }
    }
  }
} finally {
  await b.close();
}
const summary = a.types.split(',').map((t) => {
  const name = ggmlTypeName(parseGGMLType(t)!);
  const best = (tg: string): number => Math.max(...rows.filter((r) => r.typeName === name && r.target === tg).map((r) => r.gbs));
  return { type: name, wasm32GBs: best('wasm32'), wasm64GBs: best('wasm64'), wasm64OverWasm32: best('wasm64') / best('wasm32') };
});
for (const s of summary) console.log(`${s.type.padEnd(5)} wasm32 ${s.wasm32GBs.toFixed(2)} GB/s, wasm64 ${s.wasm64GBs.toFixed(2)} GB/s: ${s.wasm64OverWasm32.toFixed(3)}x`);
if (a.json !== undefined) await writeFile(a.json, JSON.stringify({ env, node: `wasm64 build ${node}`, k: Number(a.k), mb: Number(a.mb), summary, rows }, null, 2) + '\n');
