// The WebGPU executor as the GPU side of the hybrid runtime: segments of the graph (external inputs, several
// outputs per segment via runMany) on WebGPU, the routed experts on cpu-ref, per the default placement rules.
// The result must match the whole graph on cpu-ref.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor, type WeightData } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../../../src/placement/index.ts';
import { HybridExecutor } from '../../../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../../../src/runtime/placement-devices.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { nmse } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../../models/vocab/${n}`, import.meta.url).pathname) };
const RULES = new URL('../../../rules/', import.meta.url).pathname;
let dir: string;
let gpu: GpuContext;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-webgpu-hybrid-'));
  gpu = await nodeGpuContext();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  gpu.device.destroy();
});

describe('hybrid: WebGPU segments + cpu-ref experts = whole graph on cpu-ref', () => {
  for (const arch of ['mixtral', 'deepseek2-v3'] as MakeModelOptions['arch'][]) {
    it(arch, async () => {
      const path = join(dir, `${arch}.gguf`);
      await makeModel({ arch, preset: 'tiny', quant: 'Q4_K_M', seed: 4 }, await NodeFileSink.create(path), ASSETS);
      const gguf = await openGGUF(await NodeFileSource.open(path));
      const md = gguf.metadata;
      const model = modelFromGGUF(gguf);
      const rules = await loadRules(join(RULES, defaultRulesFile(model, familyOf(md, model))), (p) => readFile(p, 'utf8'), (f, r) => resolve(dirname(f), r));
      const plan = planPlacement(md, model, new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes])), rules, { nCtx: 32 });
      const weights = new Map<string, WeightData>();
      for (const [n, t] of gguf.tensors) weights.set(n, { type: t.info.type, dims: t.info.dims, bytes: await gguf.readTensor(n) });
      await gguf.close();
      const w = (n: string): WeightData => weights.get(n)!;
      const whole = new CpuRefExecutor(w, 32);
      const gpuEx = new WebGpuExecutor(gpu, w, { nCtx: 32, shaders: viteShaderLibrary(), poison: true });
      const hybrid = new HybridExecutor({ gpu: gpuEx, cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan));
      const prompt = [1, 17, 99, 5, 42, 7];
      const steps: [number[], number][] = [[prompt, 0], [[11], prompt.length], [[12], prompt.length + 1]];
      for (const [tokens, start] of steps) {
        const g = model.build({ nTokens: tokens.length, allLogits: true });
        const inputs = { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => start + i) };
        const a = await whole.run(g, inputs);
        const b = await hybrid.run(g, inputs);
        expect(hybrid.segments(g).filter((s) => s.device === 'gpu').length).toBeGreaterThan(1);
        expect(nmse(b, a), `${arch} at ${start}`).toBeLessThan(1e-7);
      }
      gpuEx.destroy();
    });
  }
});
