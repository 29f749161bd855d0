// A whole model on the WASM backend in Chromium, loaded range by range from a picked File: in one memory, and
// spread over several wasm memories (a byte cap per memory forces the shards, each with its own module Workers).
// Both generate the same greedy tokens (the sharded executor computes the same values; only activations cross
// between memories), and those equal cpu-ref's in Node on the same prompt ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../src/backends/cpu-ref/executor.ts';
import { openGGUF } from '../src/gguf/model.ts';
import { modelFromGGUF } from '../src/models/registry.ts';
import { NodeFileSource } from '../src/storage/node-fs.ts';
import { ensureKernelsBuilt } from '../tests/backends/wasm/build.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';
import { benchPrompt } from './wasm-model-bench.ts';
import { readAllWeights } from '../tests/helpers/weights.ts';

const MODEL = new URL('../models/stories260K.gguf', import.meta.url).pathname;
const PROMPT = 12;
const DECODE = 6;

let env: BrowserEnv;
beforeAll(async () => {
  ensureKernelsBuilt();
  env = await startBrowser();
});
afterAll(async () => {
  await env?.close();
});

/** cpu-ref's greedy tokens for the page's prompt (llama.cpp activation rounding, as the kernels compute). */
async function reference(): Promise<number[]> {
  const gguf = await openGGUF(await NodeFileSource.open(MODEL));
  const model = modelFromGGUF(gguf);
  const weights = await readAllWeights(gguf);
  await gguf.close();
  const ex = new CpuRefExecutor((n) => weights.get(n)!, 64, true);
  const g1 = model.build({ nTokens: 1, allLogits: false });
  const prompt = benchPrompt(PROMPT, g1.nodes[g1.output]!.shape[0]!);
  const argmax = (v: Float32Array): number => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);
  const out = [argmax(ex.runSync(model.build({ nTokens: PROMPT, allLogits: false }), { tokens: Int32Array.from(prompt), positions: Int32Array.from(prompt, (_, i) => i) }))];
  for (let p = PROMPT; out.length < DECODE + 2; p++) out.push(argmax(ex.runSync(g1, { tokens: Int32Array.of(out.at(-1)!), positions: Int32Array.of(p) })));
  return out;
}

describe('WASM whole model in Chromium', () => {
  it('generates the same greedy tokens in one memory and in several, equal to cpu-ref', async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${env.baseURL}/e2e/wasm-model.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    await page.setInputFiles('#files', [MODEL]);
    const run = (shardBytes?: number) =>
      page.evaluate((o) => window.wasmModel.ktweb(o), { file: 0, threads: 2, promptTokens: PROMPT, decodeTokens: DECODE, reps: 1, ...(shardBytes !== undefined ? { shardBytes } : {}) });
    const one = await run();
    const many = await run(256 * 1024); // stories260K holds ~1 MB of weights: several memories
    expect(errors).toEqual([]);
    expect(one.shards).toBe(1);
    expect(many.shards).toBeGreaterThanOrEqual(3);
    expect(many.generated).toEqual(one.generated);
    expect(one.generated).toEqual(await reference());
  }, 180_000);
});
