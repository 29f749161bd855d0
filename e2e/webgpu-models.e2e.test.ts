// Whole models all-GPU in headless Chromium (SwiftShader WebGPU here): stories260K and a tiny synthetic GGUF of
// every architecture run in the page (weights streamed onto the GPU, prefill, greedy decode by the GPU's argmax);
// cpu-ref runs the same prompt here in Node. Greedy tokens must be equal and every step's logits within the NMSE
// budget of the Node whole-model test (f32 accumulation vs cpu-ref's f64 on the same blocks).
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../src/backends/cpu-ref/executor.ts';
import { mdNumber } from '../src/gguf/metadata.ts';
import { openGGUF } from '../src/gguf/model.ts';
import { modelFromGGUF } from '../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../src/models/synth/make-model.ts';
import { NodeFileSink, NodeFileSource } from '../src/storage/node-fs.ts';
import { nmse } from '../tests/conformance/cases.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';
import type { ModelRun, ModelsPage } from './pages/webgpu-models.ts';
import { readAllWeights } from '../tests/helpers/weights.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../models/vocab/${n}`, import.meta.url).pathname) };
const N_CTX = 32;
const PROMPT = 6;
const DECODE = 3;
const LOGITS_NMSE = 1e-7;

const MODELS: readonly [string, Omit<MakeModelOptions, 'preset' | 'seed'> | undefined][] = [
  ['llama stories260K', undefined],
  ['llama Q4_K_M', { arch: 'llama', quant: 'Q4_K_M' }],
  ['mixtral Q4_0', { arch: 'mixtral', quant: 'Q4_0' }],
  ['qwen2moe Q8_0', { arch: 'qwen2moe', quant: 'Q8_0' }],
  ['qwen3moe IQ4_XS', { arch: 'qwen3moe', quant: 'IQ4_XS' }],
  ['deepseek2 Q5_K_M', { arch: 'deepseek2', quant: 'Q5_K_M' }],
  ['deepseek2-v3 mlaSplit Q4_K_M', { arch: 'deepseek2-v3', quant: 'Q4_K_M', mlaSplit: true }],
];

let env: BrowserEnv;
let page: Page;
let dir: string;
const report: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-e2e-gpu-models-'));
  env = await startBrowser();
  page = await env.context.newPage();
  // Model files come from this process's temporary folder, under a path the dev server does not serve.
  await page.route('**/__models/*', (route) => route.fulfill({ path: join(dir, decodeURIComponent(new URL(route.request().url()).pathname.split('/').pop()!)), headers: { 'Cross-Origin-Resource-Policy': 'same-origin' } }));
  await page.goto(`${env.baseURL}/e2e/pages/webgpu-models.html`);
  await page.waitForFunction(() => (window as unknown as { __ktwebModels?: ModelsPage }).__ktwebModels?.ready === true, undefined, { timeout: 60_000 });
  const fatal = await page.evaluate(() => window.__ktwebModels.fatal);
  expect(fatal).toBeUndefined();
});
afterAll(async () => {
  console.log(`whole models in Chromium WebGPU vs cpu-ref (prefill ${PROMPT} + ${DECODE} greedy steps):\n${report.join('\n')}`);
  await env?.close();
  await rm(dir, { recursive: true, force: true });
});

/** cpu-ref's greedy run of the same prompt: logits per step as the page returns them. */
async function reference(path: string, prompt: number[]): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  const weights = await readAllWeights(gguf);
  await gguf.close();
  const cpu = new CpuRefExecutor((n) => weights.get(n)!, N_CTX);
  const nVocab = model.hp.nVocab;
  const argmax = (v: Float32Array): number => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);
  const l0 = cpu.runSync(model.build({ nTokens: prompt.length, allLogits: true }), { tokens: Int32Array.from(prompt), positions: Int32Array.from(prompt, (_, i) => i) });
  const logits = [l0];
  const tokens = [argmax(l0.subarray((prompt.length - 1) * nVocab))];
  const step = model.build({ nTokens: 1, allLogits: false });
  for (let s = 0; s < DECODE; s++) {
    const l = cpu.runSync(step, { tokens: Int32Array.of(tokens[tokens.length - 1]!), positions: Int32Array.of(prompt.length + s) });
    logits.push(l);
    tokens.push(argmax(l));
  }
  return { tokens, logits };
}

async function promptFor(path: string): Promise<number[]> {
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const bos = mdNumber(gguf.metadata, 'tokenizer.ggml.bos_token_id', path, 1);
  const nVocab = gguf.tensors.get('token_embd.weight')!.info.dims[1]!;
  await gguf.close();
  return [bos, ...Array.from({ length: PROMPT - 1 }, () => 3 + Math.floor(Math.random() * (nVocab - 3)))];
}

describe('whole models on WebGPU in Chromium = cpu-ref', () => {
  for (const [name, spec] of MODELS) {
    it(name, { timeout: 300_000 }, async () => {
      const file = `${name.replace(/\W+/g, '_')}.gguf`;
      const path = join(dir, file);
      if (spec === undefined) await copyFile(new URL('../models/stories260K.gguf', import.meta.url).pathname, path);
      else await makeModel({ preset: 'tiny', seed: 21, ...spec }, await NodeFileSink.create(path), ASSETS);
      const prompt = await promptFor(path);
      const got: ModelRun = await page.evaluate(([url, p, d, c]) => window.__ktwebModels.run(url, p, d, c), [`/__models/${file}`, prompt, DECODE, N_CTX] as const);
      const want = await reference(path, prompt);
      const errs = got.logits.map((b, i) => nmse(new Float32Array(Uint8Array.from(Buffer.from(b, 'base64')).buffer), want.logits[i]!));
      report.push(`${name.padEnd(30)} max nmse ${Math.max(...errs).toExponential(2)}  tokens ${want.tokens.join(',')}${got.tokens.join(',') === want.tokens.join(',') ? '' : ` GPU ${got.tokens.join(',')}`}  ${(got.ms / 1000).toFixed(1)} s in the page`);
      expect(got.loadedBytes).toBeGreaterThan(0);
      expect(got.tokens).toEqual(want.tokens);
      for (const [i, e] of errs.entries()) expect(e, `${name} step ${i}`).toBeLessThan(LOGITS_NMSE);
    });
  }
});
