// The op conformance registry on the WASM backend in headless Chromium (module Workers over one shared memory,
// crossOriginIsolated page): every case, every kernel variant Chromium runs (relaxed SIMD included), 1, 2 and 4
// threads, against cpu-ref computed in the same page. Budgets as in tests/backends/wasm/conformance.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKernelsBuilt } from '../tests/backends/wasm/build.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';
import type { CaseResult } from './wasm-page.ts';

const Q8_ACT_NMSE = 2e-3;
let env: BrowserEnv;
beforeAll(async () => {
  ensureKernelsBuilt();
  env = await startBrowser();
});
afterAll(async () => {
  await env?.close();
});

describe('WASM backend in Chromium', () => {
  it('runs every conformance case on every kernel variant with 1, 2 and 4 threads', async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${env.baseURL}/e2e/wasm-conformance.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    expect(await page.evaluate(() => window.wasmE2E.crossOriginIsolated)).toBe(true);
    const isas = await page.evaluate(() => window.wasmE2E.available());
    expect(isas).toEqual(['scalar', 'simd128', 'relaxed']);
    const results: CaseResult[] = await page.evaluate((i) => window.wasmE2E.runConformance(i, [1, 2, 4]), isas);
    expect(errors).toEqual([]);
    const bad = results.filter((r) => r.error !== undefined || !(r.nmse <= r.budget) || !(r.nmseExact <= Math.max(r.budget, Q8_ACT_NMSE)));
    expect(bad.map((r) => `${r.isa}/${r.threads}t ${r.name}: ${r.error ?? `${r.nmse} (exact ${r.nmseExact})`}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(900);
    console.log(`chromium: ${results.length} case runs passed (${isas.join(', ')} x 1/2/4 threads)`);
  }, 600_000);
});
