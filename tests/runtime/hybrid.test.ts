// The hybrid runtime's graph splitting, checked with cpu-ref on both "devices": the split graph must compute
// exactly what the whole graph computes, for every architecture and the shipped rule files, in prefill and decode,
// and the MoE split must hand only the expected values across.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor, type WeightData } from '../../src/backends/cpu-ref/executor.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { modelFromGGUF } from '../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../src/models/synth/make-model.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../../src/placement/index.ts';
import { defaultCpuThreads } from '../../src/runtime/engine-executor.ts';
import { HybridExecutor } from '../../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../../src/runtime/placement-devices.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { readAllWeights } from '../helpers/weights.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../models/vocab/${n}`, import.meta.url).pathname) };
const RULES = new URL('../../rules/', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-hybrid-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ARCHS: readonly MakeModelOptions['arch'][] = ['mixtral', 'qwen2moe', 'qwen3moe', 'deepseek2', 'deepseek2-v3'];

describe('hybrid split (cpu-ref on both sides) = whole graph', () => {
  for (const arch of ARCHS) {
    for (const rulesFile of ['default', 'all-cpu.yaml']) {
      it(`${arch} with ${rulesFile} rules`, async () => {
        const path = join(dir, `${arch}.gguf`);
        await makeModel({ arch, preset: 'tiny', quant: 'Q8_0', seed: 4 }, await NodeFileSink.create(path), ASSETS);
        const gguf = await openGGUF(await NodeFileSource.open(path));
        const md = gguf.metadata;
        const model = modelFromGGUF(gguf);
        const file = rulesFile === 'default' ? defaultRulesFile(model, familyOf(md, model)) : rulesFile;
        const rules = await loadRules(join(RULES, file), (p) => readFile(p, 'utf8'), (f, r) => resolve(dirname(f), r));
        const plan = planPlacement(md, model, new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes])), rules, { nCtx: 32 });
        const weights = await readAllWeights(gguf);
        await gguf.close();
        const w = (n: string): WeightData => weights.get(n)!;
        const whole = new CpuRefExecutor(w, 32);
        const serial = new HybridExecutor({ gpu: new CpuRefExecutor(w, 32), cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan));
        const overlap = new HybridExecutor({ gpu: new CpuRefExecutor(w, 32), cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan), { overlap: true });
        const prompt = [1, 17, 99, 5, 42, 7];
        const steps: [number[], number][] = [[prompt, 0], [[11], prompt.length], [[12], prompt.length + 1]];
        for (const [tokens, start] of steps) {
          const g = model.build({ nTokens: tokens.length, allLogits: true });
          const inputs = { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => start + i) };
          const a = await whole.run(g, inputs);
          expect(await serial.run(g, inputs)).toEqual(a);
          expect(await overlap.run(g, inputs)).toEqual(a);
          const segs = serial.segments(g);
          const moeLayers = g.nodes.filter((n) => n.spec.op === 'moe_experts').length;
          const shared = g.nodes.some((n) => /shared_expert/.test(n.module));
          if (file !== 'all-cpu.yaml') {
            // embedding (cpu) → layers with each MoE layer's experts on the CPU → head (gpu)
            expect(segs.map((s) => s.device)).toEqual(['cpu', ...Array.from({ length: moeLayers }, () => ['gpu', 'cpu']).flat(), 'gpu']);
            for (const s of segs.filter((x) => x.device === 'cpu').slice(1)) {
              // the experts' segment receives the normed hidden state and the router output, hands back one value
              expect(s.externals.size).toBe(2);
              expect(s.outputs.size).toBe(1);
            }
            // With overlap, a GPU segment that does not wait for the experts follows each experts segment exactly
            // when the layer has shared experts: the shared experts run while the CPU computes the routed ones.
            const o = overlap.segments(g);
            let concurrent = 0;
            o.forEach((s, i) => {
              if (s.device !== 'cpu' || i === 0) return;
              const next = o[i + 1];
              if (next?.device === 'gpu' && !next.deps.includes(i)) concurrent++;
            });
            expect(concurrent, `${arch}: GPU segments running beside the experts`).toBe(shared ? moeLayers : 0);
          } else {
            expect(segs).toHaveLength(1);
            expect(overlap.segments(g)).toHaveLength(1);
          }
        }
      });
    }
  }
});

describe('hybrid split with expert deferral', () => {
  it('the deferred experts of a layer run beside the next layer\'s attention (no segment of it waits for them)', async () => {
    const path = join(dir, 'mixtral-defer.gguf');
    await makeModel({ arch: 'mixtral', preset: 'tiny', quant: 'Q8_0', seed: 4 }, await NodeFileSink.create(path), ASSETS);
    const gguf = await openGGUF(await NodeFileSource.open(path));
    const md = gguf.metadata;
    const model = modelFromGGUF(gguf);
    const rules = await loadRules(join(RULES, 'mixtral.yaml'), (p) => readFile(p, 'utf8'), (f, r) => resolve(dirname(f), r));
    const plan = planPlacement(md, model, new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes])), rules, { nCtx: 32 });
    const weights = await readAllWeights(gguf);
    await gguf.close();
    const w = (n: string): WeightData => weights.get(n)!;
    const hybrid = new HybridExecutor({ gpu: new CpuRefExecutor(w, 32), cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan), { overlap: true });
    const g = model.build({ nTokens: 1, allLogits: false, deferExperts: 1 });
    expect(await hybrid.run(g, { tokens: Int32Array.of(5), positions: Int32Array.of(0) })).toEqual(await new CpuRefExecutor(w, 32).run(g, { tokens: Int32Array.of(5), positions: Int32Array.of(0) }));
    const segs = hybrid.segments(g);
    const experts0 = segs.flatMap((s, i) => (s.graph.nodes.some((n) => n.spec.op === 'moe_experts' && n.module === 'model.layers.0.block_sparse_moe.experts') ? [i] : []));
    expect(experts0).toHaveLength(2); // immediate and deferred, each its own segment
    const deferred = experts0[1]!;
    const attn1 = segs.findIndex((s) => s.graph.nodes.some((n) => n.spec.op === 'attn' && n.module === 'model.layers.1.self_attn'));
    const waitsFor = (i: number, j: number): boolean => segs[i]!.deps.some((d) => d === j || waitsFor(d, j));
    expect(attn1).toBeGreaterThan(deferred);
    expect(waitsFor(attn1, deferred)).toBe(false);
  });
});

describe('defaultCpuThreads', () => {
  it('uses every core alone, and leaves a quarter (at least two) to the GPU side beside a GPU', () => {
    expect([1, 2, 16].map((c) => defaultCpuThreads(c, false))).toEqual([1, 2, 16]);
    expect([1, 2, 4, 8, 16, 64].map((c) => defaultCpuThreads(c, true))).toEqual([1, 1, 2, 6, 12, 48]);
  });
});
