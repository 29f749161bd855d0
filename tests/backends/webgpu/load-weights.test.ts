// WebGpuExecutor.loadWeights: every weight read once (in the forms the ops need: raw blocks and/or f32 values),
// bytes reported, and afterwards the graph, graphs of the same model for other token counts and its hybrid segment
// graphs run without the constructor's weights callback (which throws here), with results identical to an
// executor that fetched the weights through the callback.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import type { RunInputs, WeightData } from '../../../src/graph/executor.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import { type Model } from '../../../src/models/model.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { countingReader, noCallback, readAllWeights, runSegments } from '../../helpers/weights.ts';
import { conformanceCases } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../../models/vocab/${n}`, import.meta.url).pathname) };
const shaders = viteShaderLibrary();

let gpu: GpuContext;
let dir: string;
beforeAll(async () => {
  gpu = await nodeGpuContext();
  dir = await mkdtemp(join(tmpdir(), 'ktweb-webgpu-load-'));
});
afterAll(async () => {
  gpu.device.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('loadWeights on conformance cases (two per op, every weight type of mul_mat)', () => {
  const seen = new Map<string, number>();
  const picked = conformanceCases().filter((c) => {
    const key = c.op === 'mul_mat' ? c.name.split(' k=')[0]! : c.op;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    return seen.get(key)! <= (c.op === 'mul_mat' ? 1 : 2);
  });
  for (const c of picked) {
    it(c.name, async () => {
      const ex = new WebGpuExecutor(gpu, noCallback, { nCtx: 4096, shaders, poison: true });
      const plain = new WebGpuExecutor(gpu, (n) => c.weights.get(n)!, { nCtx: 4096, shaders, poison: true });
      try {
        const { read, reads } = countingReader(c.weights);
        let bytes = 0;
        await ex.loadWeights(c.graph, read, (b) => (bytes += b));
        const names = new Set(c.graph.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : [])));
        expect([...reads.keys()].sort()).toEqual([...names].sort());
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
        expect(bytes).toBe([...names].reduce((a, n) => a + c.weights.get(n)!.bytes.length, 0));
        await ex.loadWeights(c.graph, read);
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
        expect(await ex.run(c.graph, c.inputs)).toEqual(await plain.run(c.graph, c.inputs));
      } finally {
        ex.destroy();
        plain.destroy();
      }
    });
  }
});

async function tinyModel(name: string, path: string | undefined, spec?: Pick<MakeModelOptions, 'arch' | 'quant' | 'mlaSplit'>): Promise<{ model: Model; weights: Map<string, WeightData> }> {
  if (path === undefined) {
    path = join(dir, `${name}.gguf`);
    await makeModel({ preset: 'tiny', seed: 13, ...spec! }, await NodeFileSink.create(path), ASSETS);
  }
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  const weights = await readAllWeights(gguf);
  await gguf.close();
  return { model, weights };
}

describe('loadWeights on whole models', () => {
  const MODELS: readonly [string, string | undefined, Pick<MakeModelOptions, 'arch' | 'quant' | 'mlaSplit'> | undefined][] = [
    ['stories260K', new URL('../../../models/stories260K.gguf', import.meta.url).pathname, undefined],
    ['qwen2moe Q8_0 (biases: f32 forms)', undefined, { arch: 'qwen2moe', quant: 'Q8_0' }],
    ['deepseek2 Q4_K_M split MLA', undefined, { arch: 'deepseek2', quant: 'Q4_K_M', mlaSplit: true }],
  ];
  for (const [name, path, spec] of MODELS) {
    it(`${name}: prefill, decode and segment graphs after loading the decode graph`, async () => {
      const m = await tinyModel(name.replace(/\W+/g, '_'), path, spec);
      const g1 = m.model.build({ nTokens: 1, allLogits: false });
      const ex = new WebGpuExecutor(gpu, noCallback, { nCtx: 64, shaders, poison: true });
      const plain = new WebGpuExecutor(gpu, (n) => m.weights.get(n)!, { nCtx: 64, shaders, poison: true });
      try {
        const { read, reads } = countingReader(m.weights);
        await ex.loadWeights(g1, read);
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
        const nVocab = g1.nodes[g1.output]!.shape[0]!;
        const prompt = Int32Array.from({ length: 7 }, () => 3 + Math.floor(Math.random() * (nVocab - 3)));
        const g7 = m.model.build({ nTokens: 7, allLogits: true });
        const pre: RunInputs = { tokens: prompt, positions: Int32Array.from(prompt, (_, i) => i) };
        expect(await ex.run(g7, pre)).toEqual(await plain.run(g7, pre));
        const step = (t: number, p: number): RunInputs => ({ tokens: Int32Array.of(t), positions: Int32Array.of(p) });
        expect(await ex.run(g1, step(5, 7))).toEqual(await plain.run(g1, step(5, 7)));
        expect(await runSegments(ex, g1, step(9, 8), /experts|shexp|shared|mlp/)).toEqual(await plain.run(g1, step(9, 8)));
        expect(Array.from((await ex.runTopK(g1, step(4, 9), { k: 8 })).ids)).toEqual(Array.from((await plain.runTopK(g1, step(4, 9), { k: 8 })).ids));
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
      } finally {
        ex.destroy();
        plain.destroy();
      }
    });
  }
});
