// The static site `npm run build` makes: built into a temporary folder with the project's vite.config.ts, it holds
// the pages, the engine and kernel workers, the three WASM kernel binaries and the embedded model; served by
// `vite preview` (which sends the COOP/COEP headers, like any correctly configured static host), the chat page is
// cross-origin isolated and answers on the CPU backend (the WASM kernels fetched from the built assets) and on the
// GPU device (the WGSL shaders bundled into the engine worker) with llama.cpp's greedy text.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Token } from 'node-llama-cpp';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaGreedy, loadLlamaModel } from '../tests/helpers/llama-oracle.ts';
import { CHROMIUM } from './browser.ts';

const N_TOKENS = 48;
let out: string;
let server: PreviewServer | undefined;
let browser: Browser | undefined;
let baseURL: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'ktweb-dist-'));
  await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir: out }, preview: { port: 0, host: '127.0.0.1', strictPort: false } });
  const addr = server.httpServer.address();
  if (addr === null || typeof addr === 'string') throw new Error('vite preview did not start');
  baseURL = `http://127.0.0.1:${addr.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (out !== undefined) await rm(out, { recursive: true, force: true });
});

describe('built static site', () => {
  it('holds the pages, workers, WASM kernels and the embedded model', async () => {
    const top = await readdir(out);
    expect(top).toEqual(expect.arrayContaining(['index.html', 'bench.html', 'inspect.html', 'assets']));
    const assets = await readdir(join(out, 'assets'));
    for (const re of [/^kernels-scalar-.*\.wasm$/, /^kernels-simd128-.*\.wasm$/, /^kernels-relaxed-.*\.wasm$/, /^engine\.worker-.*\.js$/, /^wasm-kernel\.worker-.*\.js$/, /^import\.worker-.*\.js$/, /^stories260K-.*\.gguf$/, /^wllama-.*\.wasm$/]) {
      expect(assets.filter((a) => re.test(a)), String(re)).toHaveLength(1);
    }
  });

  it('served with COOP/COEP, the chat page answers on the CPU kernels and on WebGPU with llama.cpp\'s text', { timeout: 180_000 }, async () => {
    const res = await fetch(`${baseURL}/`);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');

    const context = await browser!.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const fetched: string[] = [];
    // Requests from workers reach the context, not the page.
    context.on('requestfinished', (r) => fetched.push(new URL(r.url()).pathname));
    await page.goto(baseURL);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.selectOption('#device-select', 'cpu');
    await page.fill('#cpu-threads', '2');
    await page.fill('#max-tokens', String(N_TOKENS));
    await page.click('#load-button');
    await page.waitForFunction(() => document.body.dataset['loads'] === '1', undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.dataset['engine']), await page.locator('#load-status').innerText()).toBe('ready');
    expect(await page.locator('#engine-backend').innerText()).toMatch(/^WASM (relaxed|simd128|scalar) ×2 threads$/);
    expect(await page.locator('#rules-name').textContent()).toContain('all-cpu.yaml');
    expect(fetched.filter((p) => /^\/assets\/kernels-(scalar|simd128|relaxed)-.*\.wasm$/.test(p))).toHaveLength(3);
    expect(fetched.some((p) => /^\/assets\/stories260K-.*\.gguf$/.test(p))).toBe(true);

    await page.fill('#chat-input', 'Once upon a time');
    await page.press('#chat-input', 'Enter');
    await page.waitForFunction(() => document.body.dataset['answers'] === '1', undefined, { timeout: 60_000 });
    const answer = await page.locator('.msg.assistant').last().innerText();

    const oracle = await loadLlamaModel('models/stories260K.gguf');
    const ids = await llamaGreedy(oracle, [oracle.tokens.bos!, ...oracle.tokenize('Once upon a time')] as number[], N_TOKENS);
    const eos = ids.indexOf(oracle.tokens.eos as number);
    const expected = oracle.detokenize((eos >= 0 ? ids.slice(0, eos) : ids) as Token[]);
    await oracle.dispose();
    expect(answer).toBe(expected);

    // The GPU device (SwiftShader here) runs the model's own rules: the WGSL shaders are in the built worker too.
    await page.selectOption('#device-select', 'gpu');
    await page.click('#load-button');
    await page.waitForFunction(() => document.body.dataset['loads'] === '2', undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.dataset['engine']), await page.locator('#load-status').innerText()).toBe('ready');
    expect(await page.locator('#engine-backend').innerText()).toMatch(/^WebGPU \(/);
    await page.fill('#chat-input', 'Once upon a time');
    await page.press('#chat-input', 'Enter');
    await page.waitForFunction(() => document.body.dataset['answers'] === '2', undefined, { timeout: 90_000 });
    expect(await page.locator('.msg.assistant').last().innerText()).toBe(expected);
    expect(errors).toEqual([]);
    await context.close();
  });
});
