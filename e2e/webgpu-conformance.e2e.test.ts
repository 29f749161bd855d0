// The conformance registry in headless Chromium (SwiftShader WebGPU here): every case within its NMSE budget on
// the browser's own WebGPU implementation, once with the device's binding limit and once with weights split
// over several buffers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceCases, longContextCases } from '../tests/conformance/cases.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';
import type { PageReport } from './pages/webgpu-conformance.ts';

let env: BrowserEnv;
beforeAll(async () => {
  env = await startBrowser();
});
afterAll(async () => {
  await env.close();
});

async function runPage(query: string): Promise<PageReport> {
  const page = await env.context.newPage();
  await page.goto(`${env.baseURL}/e2e/pages/webgpu-conformance.html${query}`);
  await page.waitForFunction(() => (window as unknown as { __ktweb?: PageReport }).__ktweb?.done === true, undefined, { timeout: 600_000 });
  const r = await page.evaluate(() => (window as unknown as { __ktweb: PageReport }).__ktweb);
  await page.close();
  return r;
}

describe('WebGPU conformance in Chromium', () => {
  for (const [name, query] of [['device limits', ''], ['weights split over bindings', '?split=1']] as const) {
    const expected = conformanceCases().length + (query === '' ? longContextCases().length : 0);
    it(name, { timeout: 700_000 }, async () => {
      const r = await runPage(query);
      expect(r.fatal).toBeUndefined();
      const bad = r.results.filter((x) => !x.ok);
      console.log(`Chromium WebGPU (${r.device}, subgroups ${r.subgroups}) ${name}: ${r.results.length - bad.length}/${r.results.length} cases within budget; worst ${[...r.results].sort((a, b) => b.nmse / b.budget - a.nmse / a.budget).slice(0, 3).map((x) => `${x.name} ${x.nmse.toExponential(1)}`).join(', ')}`);
      expect(bad.map((x) => `${x.name}: ${x.error ?? x.nmse}`)).toEqual([]);
      expect(r.results.length).toBe(expected);
    });
  }
});
