// The hybrid engine in Chromium, as the pages run it (engine worker → WebGPU from navigator.gpu on SwiftShader +
// WASM kernels on module Workers), every architecture with its family's hybrid rules, all-GPU and all-CPU:
// - the greedy tokens are those of cpu-ref split the same way (GPU-placed nodes with f32 activations as the WGSL
//   kernels compute, CPU-placed nodes with the Q8 activation rounding of the WASM kernels and llama.cpp's CPU
//   backend); a difference is allowed only at a near tie of that reference, and the sequences are compared only
//   up to there;
// - and they are llama.cpp's wherever that reference's are: always for all-CPU (same rounding as llama.cpp); for
//   GPU placements a router within Q8-rounding distance of a tie may pick another expert than llama.cpp's CPU
//   backend does (as llama.cpp's own GPU backends may), which the split reference shows.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGGUF } from '../src/gguf/model.ts';
import { makeModel, type MakeModelOptions } from '../src/models/synth/make-model.ts';
import { CpuRefExecutor } from '../src/backends/cpu-ref/executor.ts';
import { readRuleFile } from '../src/cli/rules-files.ts';
import type { WeightData } from '../src/graph/executor.ts';
import { modelFromGGUF } from '../src/models/registry.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../src/placement/index.ts';
import { HybridExecutor } from '../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../src/runtime/placement-devices.ts';
import { Session } from '../src/runtime/session.ts';
import { promptTokens } from '../src/runtime/prompt.ts';
import { NodeFileSink, NodeFileSource } from '../src/storage/node-fs.ts';
import { fromGGUFMetadata } from '../src/tokenizer/index.ts';
import { llamaGreedy, loadLlamaModel } from '../tests/helpers/llama-oracle.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';
import type { EngineRun } from './pages/engine-page.ts';
import { readAllWeights } from '../tests/helpers/weights.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../models/vocab/${n}`, import.meta.url).pathname) };
const DIR = 'tmp/e2e-engine'; // served by the dev server (tmp/ is git-ignored)
const PROMPT = 'Once upon a time there was';
const STEPS = 6;
const NEAR_TIE = 0.1;

let env: BrowserEnv;
beforeAll(async () => {
  await mkdir(DIR, { recursive: true });
  env = await startBrowser();
});
afterAll(async () => {
  await env.close();
  await rm(DIR, { recursive: true, force: true });
});

const ARCHS: readonly MakeModelOptions['arch'][] = ['mixtral', 'qwen2moe', 'qwen3moe', 'deepseek2', 'deepseek2-v3'];
const PLACEMENTS = [
  ['hybrid', { device: 'gpu' }, /^hybrid: WebGPU .* \+ WASM /],
  ['all-gpu', { device: 'gpu', rules: 'all-gpu.yaml' }, /^WebGPU /],
  ['all-cpu', { device: 'cpu' }, /^WASM /],
] as const;

describe('engine worker in Chromium: placements × architectures = llama.cpp', () => {
  for (const arch of ARCHS) {
    it(arch, { timeout: 300_000 }, async () => {
      const path = join(DIR, `${arch}.gguf`);
      await makeModel({ arch, preset: 'tiny', quant: 'Q4_K_M', seed: 9 }, await NodeFileSink.create(path), ASSETS);
      const gguf = await openGGUF(await NodeFileSource.open(path));
      let llama: LlamaModel | undefined;
      try {
        const prompt = promptTokens(fromGGUFMetadata(gguf.metadata, path), null, [{ role: 'user', content: PROMPT }], true);
        llama = await loadLlamaModel(path);
        const want = await llamaGreedy(llama, prompt, STEPS);
        const weights = await readAllWeights(gguf);
        const w = (n: string): WeightData => weights.get(n)!;
        const model = modelFromGGUF(gguf);
        /** cpu-ref split as `rulesName` places the model: greedy ids and the top-2 margin at each step. */
        const reference = async (rulesName: string): Promise<{ ids: number[]; margins: number[] }> => {
          const rules = await loadRules(rulesName, readRuleFile, (_f, rel) => rel);
          const plan = planPlacement(gguf.metadata, model, new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes])), rules, { nCtx: 64 });
          const s = new Session(model, new HybridExecutor({ gpu: new CpuRefExecutor(w, 64), cpu: new CpuRefExecutor(w, 64, true) }, nodeDevices(plan)), 64);
          const ids: number[] = [];
          const margins: number[] = [];
          let logits = await s.eval(prompt);
          for (let i = 0; i < STEPS; i++) {
            const sorted = [...logits].sort((a, b) => b - a);
            margins.push(sorted[0]! - sorted[1]!);
            ids.push(logits.indexOf(sorted[0]!));
            logits = await s.eval([ids[i]!]);
          }
          return { ids, margins };
        };
        const agree = (a: readonly number[], b: { ids: number[]; margins: number[] }, what: string): void => {
          const diff = b.ids.findIndex((t, i) => a[i] !== t);
          if (diff >= 0) expect(b.margins[diff], `${what}: step ${diff} gave ${a[diff]}, reference ${b.ids[diff]}`).toBeLessThan(NEAR_TIE);
        };
        const family = defaultRulesFile(model, familyOf(gguf.metadata, model));
        const page = await env.context.newPage();
        await page.goto(`${env.baseURL}/e2e/pages/engine.html`);
        for (const [name, opts, backend] of PLACEMENTS) {
          const r: EngineRun = await page.evaluate(
            ([url, o, text, n]) => (window as unknown as { runEngine: (u: string, o: object, p: string, n: number) => Promise<EngineRun> }).runEngine(url, o, text, n),
            [`/${path}`, { nCtx: 64, cpuThreads: 2, ...opts }, PROMPT, STEPS] as const,
          );
          expect(r.error, `${arch} ${name}`).toBeUndefined();
          expect(r.info!.backend, `${arch} ${name}`).toMatch(backend);
          const ref = await reference(name === 'hybrid' ? family : `${name}.yaml`);
          agree(r.ids!, ref, `${arch} ${name} vs cpu-ref split the same way`);
          // llama.cpp wherever the split reference agrees with it; all-CPU rounds as llama.cpp does: always
          if (name === 'all-cpu' || ref.ids.every((t, i) => t === want[i])) agree(r.ids!, { ids: want, margins: ref.margins }, `${arch} ${name} vs llama.cpp`);
          if (name !== 'all-gpu') expect(r.stats!.memory.cpu![0]).toBeGreaterThan(0);
          if (name === 'hybrid') expect(r.stats!.lastStep!.segments).toBeGreaterThan(3);
        }
        await page.close();
      } finally {
        await llama?.dispose();
        await gguf.close();
      }
    });
  }
});
