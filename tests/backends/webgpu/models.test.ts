// Whole models on the GPU: every architecture runs prefill plus greedy decode steps with every op on WebGPU and
// on cpu-ref, from the same GGUF bytes. Logits must agree within NMSE budgets and the greedy tokens must be the
// same (the GPU's argmax and top-k kernels included). stories260K is the real llama; the rest are make-model
// GGUFs. The prompt runs the prefill kernels (tiled mul_mat, tokens grouped per expert, causal attention), the
// steps the decode ones (matvec, split-K attention).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { mdNumber } from '../../../src/gguf/metadata.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import type { WeightData } from '../../../src/graph/executor.ts';
import type { Graph } from '../../../src/graph/graph.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { nmse } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../../models/vocab/${n}`, import.meta.url).pathname) };
const N_CTX = 64;
const PROMPT = 9;
const DECODE = 4;
// f32 accumulation on the GPU vs f64 in cpu-ref, same dequantized weights: observed ~1e-12..1e-10.
const LOGITS_NMSE = 1e-7;

let dir: string;
let gpu: GpuContext;
const report: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-webgpu-'));
  gpu = await nodeGpuContext();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  gpu.device.destroy();
  console.log(`whole models, WebGPU vs cpu-ref (logits NMSE, prefill of ${PROMPT} + ${DECODE} greedy steps):\n${report.join('\n')}`);
});

const argmax = (v: Float32Array): number => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);

async function compare(name: string, path: string): Promise<void> {
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  const weights = new Map<string, WeightData>();
  for (const node of model.build({ nTokens: 1, allLogits: false }).nodes) {
    if (node.spec.op !== 'weight' || weights.has(node.spec.name)) continue;
    const { info } = gguf.tensor(node.spec.name);
    weights.set(node.spec.name, { type: info.type, dims: info.dims, bytes: await gguf.readTensor(info.name) });
  }
  const nVocab = model.hp.nVocab;
  const bos = mdNumber(gguf.metadata, 'tokenizer.ggml.bos_token_id', path, 1);
  await gguf.close();
  const cpu = new CpuRefExecutor((n) => weights.get(n)!, N_CTX);
  const gpuEx = new WebGpuExecutor(gpu, (n) => weights.get(n)!, { nCtx: N_CTX, shaders: viteShaderLibrary(), poison: true });
  try {
    let s = 12345;
    const prompt = [bos];
    while (prompt.length < PROMPT) prompt.push(3 + ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % (nVocab - 3)));
    const prefill = model.build({ nTokens: PROMPT, allLogits: true });
    const inputs = { tokens: Int32Array.from(prompt), positions: Int32Array.from(prompt, (_, i) => i) };
    const errs: number[] = [];
    const ref0 = cpu.runSync(prefill, inputs);
    const got0 = await gpuEx.run(prefill, inputs);
    errs.push(nmse(got0, ref0));
    const decode: Graph = model.build({ nTokens: 1, allLogits: false });
    let next = argmax(ref0.subarray((PROMPT - 1) * nVocab));
    const cpuTokens: number[] = [];
    const gpuTokens: number[] = [];
    for (let step = 0; step < DECODE; step++) {
      cpuTokens.push(next);
      const inp = { tokens: Int32Array.of(next), positions: Int32Array.of(PROMPT + step) };
      const ref = cpu.runSync(decode, inp);
      const got = await gpuEx.run(decode, inp);
      errs.push(nmse(got, ref));
      // The same step again, reading back only the GPU argmax (rewrites the same KV rows).
      gpuTokens.push((await gpuEx.runArgmax(decode, inp))[0]!);
      // And the top-40 candidates as the sampler would get them: the GPU logits' 40 best, same order.
      const top = await gpuEx.runTopK(decode, inp, { k: 40 });
      const want = Array.from(got.keys()).sort((a, b) => got[b]! - got[a]! || a - b).slice(0, 40);
      expect(Array.from(top.ids), `${name} top-40 at step ${step}`).toEqual(want);
      next = argmax(ref);
    }
    cpuTokens.push(next);
    gpuTokens.unshift(cpuTokens[0]!);
    report.push(`${name.padEnd(32)} max nmse ${Math.max(...errs).toExponential(2)}  tokens ${cpuTokens.join(',')}${gpuTokens.join(',') === cpuTokens.join(',') ? '' : ` GPU ${gpuTokens.join(',')}`}`);
    for (const e of errs) expect(e, `${name}: ${errs.map((x) => x.toExponential(1)).join(' ')}`).toBeLessThan(LOGITS_NMSE);
    expect(gpuTokens, name).toEqual(cpuTokens);
  } finally {
    gpuEx.destroy();
  }
}

async function synth(name: string, o: Omit<MakeModelOptions, 'preset' | 'seed'>): Promise<string> {
  const path = join(dir, `${name}.gguf`);
  await makeModel({ preset: 'tiny', seed: 7, ...o }, await NodeFileSink.create(path), ASSETS);
  return path;
}

describe('whole models on WebGPU = cpu-ref', () => {
  it('llama: stories260K', async () => {
    await compare('llama stories260K', new URL('../../../models/stories260K.gguf', import.meta.url).pathname);
  });
  const SYNTH: readonly [string, Omit<MakeModelOptions, 'preset' | 'seed'>][] = [
    ['mixtral Q4_K_M', { arch: 'mixtral', quant: 'Q4_K_M' }],
    ['qwen2moe Q4_K_M', { arch: 'qwen2moe', quant: 'Q4_K_M' }],
    ['qwen3moe Q4_K_M', { arch: 'qwen3moe', quant: 'Q4_K_M' }],
    ['deepseek2 Q4_K_M', { arch: 'deepseek2', quant: 'Q4_K_M' }],
    ['deepseek2-v3 Q4_K_M', { arch: 'deepseek2-v3', quant: 'Q4_K_M' }],
    ['deepseek2 mlaSplit Q8_0', { arch: 'deepseek2', quant: 'Q8_0', mlaSplit: true }],
    ['deepseek2-v3 mlaSplit Q4_K_M', { arch: 'deepseek2-v3', quant: 'Q4_K_M', mlaSplit: true }],
    ['qwen3moe IQ4_XS', { arch: 'qwen3moe', quant: 'IQ4_XS' }],
    ['mixtral F16', { arch: 'mixtral', quant: 'F16' }],
  ];
  for (const [name, o] of SYNTH) {
    it(name, async () => {
      await compare(name, await synth(name.replace(/\W+/g, '_'), o));
    });
  }
});
