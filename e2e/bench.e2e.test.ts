// The benchmark page end to end in Chromium: a quick run on the embedded model (prompt lengths 8 and 32, 8
// generated tokens, 1 repetition, 1 thread) in ktweb's engine worker and in wllama; every row has finite positive
// prefill and decode tokens/s, both engines saw the same prompt lengths, the chart canvas has pixels, the JSON
// export parses and carries the table's numbers, and the kernel section says honestly that no backend reports
// per-kernel GB/s yet. Screenshot: test-results/bench-page.png.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowser, type BrowserEnv } from './browser.ts';

let env: BrowserEnv;
beforeAll(async () => {
  env = await startBrowser();
});
afterAll(async () => {
  await env.close();
});

interface TableRow {
  engine: string;
  threads: number;
  prompt: number;
  promptTokens: number;
  prefill: number;
  decode: number;
}

interface ExportedRow {
  engine: string;
  threads_requested: number;
  prompt_target: number;
  prompt_tokens: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  samples: unknown[];
}

describe('bench page', () => {
  it('measures ktweb and wllama on the embedded model, draws the chart, exports the same numbers as JSON', async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(env.baseURL) && !/^(blob|data):/.test(r.url())) external.push(r.url());
    });
    await page.goto(`${env.baseURL}/bench.html`);
    await page.waitForSelector('#target-wllama');
    // the model list fills once the OPFS store has opened
    await page.waitForSelector('#model-select option[value="builtin"]', { state: 'attached' });
    expect(await page.locator('#model-select').inputValue()).toBe('builtin');
    // wllama needs JSPI and Memory64; when either is missing the page says so and disables it (it is not here).
    expect(await page.locator('#target-wllama').isDisabled(), await page.locator('#target-notes').innerText()).toBe(false);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    await page.fill('#prompt-lengths', '8, 32');
    await page.fill('#gen-tokens', '8');
    await page.fill('#repetitions', '1');
    await page.fill('#threads', '1');
    await page.check('#target-ktweb');
    await page.check('#target-wllama');
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset['state'] !== 'running', undefined, { timeout: 150_000, polling: 250 });
    expect(await page.evaluate(() => document.body.dataset['state']), await page.locator('#status').innerText()).toBe('done');

    const rows: TableRow[] = await page.$$eval('#results tbody tr', (trs) =>
      trs.map((tr) => {
        const d = (tr as HTMLElement).dataset;
        return { engine: d['engine']!, threads: Number(d['threads']), prompt: Number(d['prompt']), promptTokens: Number(d['promptTokens']), prefill: Number(d['prefill']), decode: Number(d['decode']) };
      }),
    );
    expect(rows.map((r) => `${r.engine}:${r.prompt}`).sort()).toEqual(['ktweb:32', 'ktweb:8', 'wllama:32', 'wllama:8']);
    for (const r of rows) {
      expect(Number.isFinite(r.prefill) && r.prefill > 0, `${r.engine} prefill at ${r.prompt}: ${r.prefill}`).toBe(true);
      expect(Number.isFinite(r.decode) && r.decode > 0, `${r.engine} decode at ${r.prompt}: ${r.decode}`).toBe(true);
      expect(r.threads).toBe(1);
    }
    // Same prompt text, same vocabulary: both engines count the same prompt tokens, and the calibration hit the target.
    for (const len of [8, 32]) {
      const k = rows.find((r) => r.engine === 'ktweb' && r.prompt === len)!;
      const w = rows.find((r) => r.engine === 'wllama' && r.prompt === len)!;
      expect(w.promptTokens).toBe(k.promptTokens);
      expect(Math.abs(k.promptTokens - len)).toBeLessThanOrEqual(1);
    }
    const tableText = await page.locator('#results').innerText();
    expect(tableText).toMatch(/WASM (relaxed|simd128|scalar) ×1 threads/);
    expect(tableText).toMatch(/llama\.cpp .*wasm64 CPU/);
    expect(await page.locator('#method').innerText()).toMatch(/predicted_n − 1/);

    // The chart drew something: count opaque pixels of the canvas.
    const painted = await page.$eval('#chart', (c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return { n, total: data.length / 4 };
    });
    expect(painted.total).toBeGreaterThan(10_000);
    expect(painted.n).toBeGreaterThan(painted.total * 0.02);

    // Per-kernel GB/s: no engine exposes them yet, and the page says so instead of inventing numbers.
    const kernelText = await page.locator('#kernels').innerText();
    expect(kernelText).toMatch(/ktweb · WASM \S+ ×1 threads, 1 thread: not available for this backend/);
    expect(kernelText).toMatch(/wllama · CPU, 1 thread: not available for this backend/);
    expect(kernelText).not.toMatch(/GB\/s\s*\n?\s*\d/);

    await page.screenshot({ path: 'test-results/bench-page.png', fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const json = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
      date: string;
      userAgent: string;
      hardwareConcurrency: number;
      crossOriginIsolated: boolean;
      model: { name: string; bytes: number };
      settings: { promptLengths: number[]; genTokens: number; repetitions: number; threads: number[] };
      results: ExportedRow[];
    };
    expect(Number.isNaN(Date.parse(json.date))).toBe(false);
    expect(json.userAgent).toMatch(/Chrome/);
    expect(json.hardwareConcurrency).toBeGreaterThan(0);
    expect(json.crossOriginIsolated).toBe(true);
    expect(json.model).toEqual({ name: 'stories260K.gguf', bytes: 1185376 });
    expect(json.settings).toMatchObject({ promptLengths: [8, 32], genTokens: 8, repetitions: 1, threads: [1] });
    expect(json.results).toHaveLength(rows.length);
    for (const r of rows) {
      const j = json.results.find((x) => x.engine === r.engine && x.prompt_target === r.prompt && x.threads_requested === r.threads)!;
      expect(j.prefill_tokens_per_s).toBe(r.prefill);
      expect(j.decode_tokens_per_s).toBe(r.decode);
      expect(j.prompt_tokens).toBe(r.promptTokens);
      expect(j.samples).toHaveLength(1);
    }
    expect(external).toEqual([]); // wllama's wasm came from this server, not a CDN
    expect(errors).toEqual([]);
  });
});
