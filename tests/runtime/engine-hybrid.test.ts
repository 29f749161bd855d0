// The engine as it runs models: placement rules → WebGPU (Dawn on SwiftShader here) and the WASM kernels
// (2 worker threads) behind one Session, weights streamed tensor by tensor to their device. For every
// architecture and the shipped rule files (the family's hybrid rules, all-gpu, all-cpu, the more-VRAM variant):
// logits of a chunked prefill and of decode steps match cpu-ref, and the greedy choice at every decode step is
// llama.cpp's (teacher-forced along llama.cpp's greedy text, so one near-tie cannot derail the rest).
//
// The reference is cpu-ref split the same way: the WASM kernels quantize activations to Q8 as llama.cpp's CPU
// backend does, the WebGPU kernels keep f32 activations, so cpu-ref runs the CPU-placed nodes with llama.cpp's
// rounding and the GPU-placed ones without (a router fed rounded vs unrounded activations may pick another
// expert at a near tie, which no budget could absorb). What remains is summation order and, now and then, a
// value within float error of a Q8 rounding boundary that rounds the other way (up to ~1e-3 where it happens,
// see tests/backends/wasm/models.test.ts; not on these fixed seeds, and every input here is deterministic):
// measured logits NMSE ≤ 3e-13; budget LOGITS_NMSE. A greedy choice may differ from llama.cpp only where
// the reference's own top-2 margin is below NEAR_TIE (random weights give flat distributions).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../src/backends/cpu-ref/executor.ts';
import type { WeightData } from '../../src/graph/executor.ts';
import { nodeComputeDevices } from '../../src/cli/node-devices.ts';
import { readRuleFile } from '../../src/cli/rules-files.ts';
import { openGGUF, type GGUFModel } from '../../src/gguf/model.ts';
import { type Model } from '../../src/models/model.ts';
import { modelFromGGUF } from '../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../src/models/synth/make-model.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../../src/placement/index.ts';
import { loadExecutor, type ComputeDevices } from '../../src/runtime/engine-executor.ts';
import { HybridExecutor } from '../../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../../src/runtime/placement-devices.ts';
import { argmax } from '../../src/runtime/sampler.ts';
import { Session } from '../../src/runtime/session.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { nmse } from '../conformance/cases.ts';
import { llamaGreedy, loadLlamaModel } from '../helpers/llama-oracle.ts';
import { readAllWeights } from '../helpers/weights.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../models/vocab/${n}`, import.meta.url).pathname) };
const STORIES = new URL('../../models/stories260K.gguf', import.meta.url).pathname;
const LOGITS_NMSE = 1e-6;
const NEAR_TIE = 0.1;
const PROMPT = [1, 17, 99, 5, 42, 7, 63];
const STEPS = 6;
const N_CTX = 32;

let dir: string;
let devices: ComputeDevices;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-engine-'));
  devices = await nodeComputeDevices('gpu');
  if (devices.gpu === undefined) throw new Error(`no WebGPU in Node: ${devices.gpuMissing ?? ''}`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MODELS: readonly [string, MakeModelOptions['arch'] | 'stories260K', readonly string[]][] = [
  ['stories260K (llama)', 'stories260K', ['all-cpu.yaml']],
  ['mixtral', 'mixtral', ['all-gpu.yaml', 'all-cpu.yaml']],
  ['qwen2moe', 'qwen2moe', []],
  ['qwen3moe', 'qwen3moe', []],
  ['deepseek2 (V2-Lite)', 'deepseek2', ['deepseek-v2-lite-more-vram.yaml', 'all-cpu.yaml']],
  ['deepseek2-v3', 'deepseek2-v3', ['all-gpu.yaml', 'all-cpu.yaml']],
];

async function open(arch: MakeModelOptions['arch'] | 'stories260K'): Promise<{ path: string; gguf: GGUFModel; model: Model }> {
  let path = STORIES;
  if (arch !== 'stories260K') {
    path = join(dir, `${arch}.gguf`);
    await makeModel({ arch, preset: 'tiny', quant: 'Q4_K_M', seed: 21 }, await NodeFileSink.create(path), ASSETS);
  }
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  return { path, gguf, model };
}

describe('engine: placement rules → WebGPU + WASM = cpu-ref = llama.cpp', () => {
  for (const [name, arch, extra] of MODELS) {
    it(name, async () => {
      const { path, gguf, model } = await open(arch);
      let llama: LlamaModel | undefined;
      try {
        llama = await loadLlamaModel(path);
        const greedy = await llamaGreedy(llama, PROMPT, STEPS);
        const nVocab = model.hp.nVocab;
        const weights = await readAllWeights(gguf);
        const w = (n: string): WeightData => weights.get(n)!;
        const rulesFiles = [defaultRulesFile(model, familyOf(gguf.metadata, model)), ...extra];
        for (const rulesName of [...new Set(rulesFiles)]) {
          const rules = await loadRules(rulesName, readRuleFile, (_f, rel) => rel);
          const plan = planPlacement(gguf.metadata, model, new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes])), rules, { nCtx: N_CTX });
          const ref = new Session(model, new HybridExecutor({ gpu: new CpuRefExecutor(w, N_CTX), cpu: new CpuRefExecutor(w, N_CTX, true) }, nodeDevices(plan)), N_CTX);
          const refLogits = [await ref.eval(PROMPT, true)];
          for (const t of greedy.slice(0, -1)) refLogits.push(await ref.eval([t]));
          const loaded = await loadExecutor(gguf, model, plan, devices, { nCtx: N_CTX, cpuThreads: 2, rulesName });
          try {
            const session = new Session(model, loaded.exec, N_CTX, 3); // 7 prompt tokens: chunks of 3, 3, 1
            const what = `${name} with ${rulesName} (${loaded.label})`;
            const prefill = await session.eval(PROMPT, true);
            const e0 = nmse(prefill, refLogits[0]!);
            expect(e0, `${what}: prefill logits NMSE ${e0.toExponential(2)}`).toBeLessThan(LOGITS_NMSE);
            const steps = [prefill.subarray((PROMPT.length - 1) * nVocab)];
            for (const t of greedy.slice(0, -1)) steps.push(await session.eval([t]));
            steps.forEach((ours, i) => {
              const theirs = refLogits[i]!.subarray(refLogits[i]!.length - nVocab);
              const e = nmse(ours, theirs);
              expect(e, `${what}: step ${i} logits NMSE ${e.toExponential(2)}`).toBeLessThan(LOGITS_NMSE);
              const mine = argmax(ours);
              if (mine !== greedy[i]) {
                const margin = theirs[greedy[i]!]! - theirs[mine]!;
                expect(Math.abs(margin), `${what}: step ${i} chose ${mine}, llama.cpp ${greedy[i]} (cpu-ref margin ${margin})`).toBeLessThan(NEAR_TIE);
              }
            });
          } finally {
            await loaded.dispose();
          }
        }
      } finally {
        await llama?.dispose();
        await gguf.close();
      }
    });
  }
});
