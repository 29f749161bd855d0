// WasmExecutor.loadWeights: every weight read once (in the forms the ops need), bytes reported, and afterwards the
// graph, graphs of the same model with other token counts and its hybrid segment graphs run without the
// constructor's weights callback (which throws here). Results against cpu-ref on fresh random inputs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import { WasmExecutor } from '../../../src/backends/wasm/executor.ts';
import type { WasmRuntime } from '../../../src/backends/wasm/runtime.ts';
import { createNodeWasmRuntime } from '../../../src/cli/node-wasm.ts';
import type { RunInputs, WeightData } from '../../../src/graph/executor.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import { type Model } from '../../../src/models/model.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { countingReader, noCallback, readAllWeights, runSegments } from '../../helpers/weights.ts';
import { conformanceCases, nmse } from '../../conformance/cases.ts';
import { ensureKernelsBuilt } from './build.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../../models/vocab/${n}`, import.meta.url).pathname) };

let rt: WasmRuntime;
let dir: string;
beforeAll(async () => {
  ensureKernelsBuilt();
  rt = await createNodeWasmRuntime({ threads: 2 });
  dir = await mkdtemp(join(tmpdir(), 'ktweb-wasm-load-'));
});
afterAll(async () => {
  await rt?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('loadWeights on every conformance case', () => {
  it('reads each weight once, reports its bytes, and the run needs no callback', async () => {
    let checked = 0;
    for (const c of conformanceCases()) {
      const ex = new WasmExecutor(rt, noCallback, 4096);
      try {
        const { read, reads } = countingReader(c.weights);
        let bytes = 0;
        await ex.loadWeights(c.graph, read, (b) => (bytes += b));
        const names = new Set(c.graph.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : [])));
        expect([...reads.keys()].sort(), c.name).toEqual([...names].sort());
        expect([...reads.values()].every((v) => v === 1), c.name).toBe(true);
        expect(bytes, c.name).toBe([...names].reduce((a, n) => a + c.weights.get(n)!.bytes.length, 0));
        await ex.loadWeights(c.graph, read); // everything resident: no second read
        expect([...reads.values()].every((v) => v === 1), c.name).toBe(true);
        const out = await ex.run(c.graph, c.inputs);
        // against what the kernels compute (activations rounded as llama.cpp does), within the case's budget: the
        // exact reference adds activation-quantization noise whose NMSE over a few outputs varies run to run
        const rounded = new CpuRefExecutor((n) => c.weights.get(n)!, 4096, true).runSync(c.graph, c.inputs);
        expect(nmse(out, rounded), c.name).toBeLessThanOrEqual(c.nmse);
        checked++;
      } finally {
        ex.dispose();
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

interface TinyModel {
  readonly model: Model;
  readonly weights: Map<string, WeightData>;
}

async function tinyModel(name: string, spec: Pick<MakeModelOptions, 'arch' | 'quant' | 'mlaSplit'>): Promise<TinyModel> {
  const path = join(dir, `${name}.gguf`);
  await makeModel({ preset: 'tiny', seed: 11, ...spec }, await NodeFileSink.create(path), ASSETS);
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  const weights = await readAllWeights(gguf);
  await gguf.close();
  return { model, weights };
}

const random = (n: number, vocab: number): Int32Array => Int32Array.from({ length: n }, () => 3 + Math.floor(Math.random() * (vocab - 3)));

describe('loadWeights on whole models', () => {
  for (const [name, spec] of [
    ['qwen2moe Q8_0 (biases: f32 forms)', { arch: 'qwen2moe', quant: 'Q8_0' }],
    ['deepseek2 Q4_K_M split MLA', { arch: 'deepseek2', quant: 'Q4_K_M', mlaSplit: true }],
  ] as const) {
    it(`${name}: prefill, decode and segment graphs after loading the decode graph`, async () => {
      const m = await tinyModel(name.replace(/\W+/g, '_'), spec);
      const g1 = m.model.build({ nTokens: 1, allLogits: false });
      const ex = new WasmExecutor(rt, noCallback, 64);
      const ref = new CpuRefExecutor((n) => m.weights.get(n)!, 64, true);
      try {
        const { read, reads } = countingReader(m.weights);
        await ex.loadWeights(g1, read);
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
        const nVocab = g1.nodes[g1.output]!.shape[0]!;
        const prompt = random(7, nVocab);
        const g7 = m.model.build({ nTokens: 7, allLogits: false });
        const pre: RunInputs = { tokens: prompt, positions: Int32Array.from(prompt, (_, i) => i) };
        const a = await ex.run(g7, pre);
        expect(nmse(a, await ref.run(g7, pre))).toBeLessThan(2e-2);
        // decode steps as hybrid segments (externals in, several outputs) after a whole-graph step
        const step = (t: number, p: number): RunInputs => ({ tokens: Int32Array.of(t), positions: Int32Array.of(p) });
        const d1 = await ex.run(g1, step(5, 7));
        expect(nmse(d1, await ref.run(g1, step(5, 7)))).toBeLessThan(2e-2);
        const d2 = await runSegments(ex, g1, step(9, 8), /experts|shexp|shared/);
        expect(nmse(d2, await ref.run(g1, step(9, 8)))).toBeLessThan(2e-2);
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
      } finally {
        ex.dispose();
      }
    });
  }
});
