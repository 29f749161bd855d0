// The WebGPU executor as the GPU side of the hybrid runtime: segments of the graph (external inputs, several
// outputs per segment via runMany) on WebGPU, the routed experts on cpu-ref, per the default placement rules,
// serial and overlapped, values only GPU segments read kept on the GPU. The result must match the whole graph on
// cpu-ref; and runKeeping's device values themselves are checked against read-backs.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor, type WeightData } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import type { Graph } from '../../../src/graph/graph.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../../../src/placement/index.ts';
import { HybridExecutor } from '../../../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../../../src/runtime/placement-devices.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { nmse } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';
import { readAllWeights } from '../../helpers/weights.ts';

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
      const weights = await readAllWeights(gguf);
      await gguf.close();
      const w = (n: string): WeightData => weights.get(n)!;
      const whole = new CpuRefExecutor(w, 32);
      const gpuEx = new WebGpuExecutor(gpu, w, { nCtx: 32, shaders: viteShaderLibrary(), poison: true });
      const hybrid = new HybridExecutor({ gpu: gpuEx, cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan));
      const overlapped = new HybridExecutor({ gpu: gpuEx, cpu: new CpuRefExecutor(w, 32) }, nodeDevices(plan), { overlap: true });
      const prompt = [1, 17, 99, 5, 42, 7];
      const steps: [number[], number][] = [[prompt, 0], [[11], prompt.length], [[12], prompt.length + 1]];
      for (const [tokens, start] of steps) {
        const g = model.build({ nTokens: tokens.length, allLogits: true });
        const inputs = { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => start + i) };
        const a = await whole.run(g, inputs);
        const b = await hybrid.run(g, inputs);
        expect(hybrid.segments(g).filter((s) => s.device === 'gpu').length).toBeGreaterThan(1);
        expect(hybrid.stats.keptOnDevice, 'the residual stream crosses the experts on the GPU').toBeGreaterThan(0);
        expect(nmse(b, a), `${arch} at ${start}`).toBeLessThan(1e-7);
        const c = await overlapped.run(g, inputs);
        // Overlapped, the shared experts' output (DeepSeek; Mixtral has none) also stays on the GPU.
        expect(overlapped.stats.keptOnDevice).toBeGreaterThanOrEqual(hybrid.stats.keptOnDevice + (arch === 'mixtral' ? 0 : 1));
        expect(nmse(c, a), `${arch} overlapped at ${start}`).toBeLessThan(1e-7);
      }
      gpuEx.destroy();
    });
  }
});

describe('runKeeping: values left on the GPU for a later run', () => {
  it('equal their read-back, feed a later graph, are reused after release and refused once released', async () => {
    // Two graphs: the first computes a = x·2 and b = x+x·2 (kept), the second reads b as an external.
    const n = 300;
    const g1: Graph = { nTokens: 1, output: 3, nodes: [
      { id: 0, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'x' },
      { id: 1, spec: { op: 'scale', s: 2 }, src: [0], shape: [n, 1], module: 'a' },
      { id: 2, spec: { op: 'add' }, src: [0, 1], shape: [n, 1], module: 'b' },
      { id: 3, spec: { op: 'mul' }, src: [1, 2], shape: [n, 1], module: 'c' },
    ] };
    const g2: Graph = { nTokens: 1, output: 1, nodes: [
      { id: 0, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'b' },
      { id: 1, spec: { op: 'scale', s: 0.5 }, src: [0], shape: [n, 1], module: 'half' },
    ] };
    const ex = new WebGpuExecutor(gpu, () => {
      throw new Error('no weights');
    }, { nCtx: 4, shaders: viteShaderLibrary(), poison: true });
    const none = { tokens: new Int32Array(0), positions: new Int32Array(0) };
    const x = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const [a, b] = await ex.runMany(g1, { ...none, externals: new Map([[0, x]]) }, [1, 2]);
    const r = await ex.runKeeping(g1, { ...none, externals: new Map([[0, x]]) }, [1], [2]);
    expect(r.read[0]).toEqual(a);
    expect(r.kept[0]!.floats).toBe(n);
    // Another run in between reuses the activation pool; the kept value must survive it.
    await ex.runMany(g1, { ...none, externals: new Map([[0, x.map((v) => -v)]]) }, [3]);
    const half = await ex.run(g2, { ...none, deviceExternals: new Map([[0, r.kept[0]!]]) });
    expect(half).toEqual(b!.map((v) => v * 0.5));
    const before = ex.allocatedBytes();
    r.kept[0]!.release();
    const again = await ex.runKeeping(g1, { ...none, externals: new Map([[0, x]]) }, [1], [2]);
    expect(ex.allocatedBytes(), 'a released hand-off buffer is reused').toBe(before);
    await expect(ex.run(g2, { ...none, deviceExternals: new Map([[0, r.kept[0]!]]) })).rejects.toThrow(/not a live value/);
    again.kept[0]!.release();
    ex.destroy();
  });

  it('prepareKeeping: recorded ahead, other runs in between, submitted with the host inputs once; dropped frees', async () => {
    const n = 300;
    // b = x + y with x kept on the GPU by an earlier run and y a host input written at submit
    const g1: Graph = { nTokens: 1, output: 1, nodes: [
      { id: 0, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'x' },
      { id: 1, spec: { op: 'scale', s: 2 }, src: [0], shape: [n, 1], module: 'x2' },
    ] };
    const g2: Graph = { nTokens: 1, output: 2, nodes: [
      { id: 0, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'x2' },
      { id: 1, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'y' },
      { id: 2, spec: { op: 'add' }, src: [0, 1], shape: [n, 1], module: 'sum' },
      { id: 3, spec: { op: 'scale', s: -1 }, src: [2], shape: [n, 1], module: 'neg' },
    ] };
    const ex = new WebGpuExecutor(gpu, () => {
      throw new Error('no weights');
    }, { nCtx: 4, shaders: viteShaderLibrary(), poison: true });
    const none = { tokens: new Int32Array(0), positions: new Int32Array(0) };
    const x = Float32Array.from({ length: n }, () => Math.random());
    const y = Float32Array.from({ length: n }, () => Math.random());
    const first = await ex.runKeeping(g1, { ...none, externals: new Map([[0, x]]) }, [], [1]);
    const prepared = await ex.prepareKeeping(g2, new Map([[0, first.kept[0]!]]), [2], [3]);
    await ex.run(g1, { ...none, externals: new Map([[0, y]]) }); // reuses the activation pool in between
    const r = await prepared.submit({ ...none, externals: new Map([[1, y]]) });
    expect(r.read[0]).toEqual(x.map((v, i) => v * 2 + y[i]!));
    await expect(prepared.submit({ ...none, externals: new Map([[1, y]]) })).rejects.toThrow(/once/);
    const kept = await ex.run(g1, { ...none, deviceExternals: new Map() }).catch((e: Error) => e.message);
    expect(kept, 'an external with neither a host nor a device value').toMatch(/needs 300 values, got none/);
    const neg = await ex.runKeeping(g2, { ...none, externals: new Map([[0, x], [1, y]]) }, [3], []);
    expect(neg.read[0]).toEqual(x.map((v, i) => -(v + y[i]!)));
    r.kept[0]!.release();
    first.kept[0]!.release();
    const before = ex.allocatedBytes();
    const dropped = await ex.prepareKeeping(g2, new Map(), [2], [3]);
    dropped.drop();
    const again = await ex.prepareKeeping(g2, new Map(), [2], [3]);
    expect(ex.allocatedBytes(), 'a dropped run gave its hand-off buffer back').toBe(before);
    again.drop();
    ex.destroy();
  });

  it('counts runs, dispatches and host time, and GPU time from timestamp queries collected at the next read-back', async () => {
    const ctx = await nodeGpuContext({ timestamps: true });
    expect(ctx.caps.timestampQuery, 'SwiftShader through Dawn has timestamp-query').toBe(true);
    const n = 4096;
    const g: Graph = { nTokens: 1, output: 2, nodes: [
      { id: 0, spec: { op: 'external' }, src: [], shape: [n, 1], module: 'x' },
      { id: 1, spec: { op: 'scale', s: 3 }, src: [0], shape: [n, 1], module: 'a' },
      { id: 2, spec: { op: 'add' }, src: [0, 1], shape: [n, 1], module: 'b' },
    ] };
    const ex = new WebGpuExecutor(ctx, () => {
      throw new Error('no weights');
    }, { nCtx: 4, shaders: viteShaderLibrary() });
    const inputs = { tokens: new Int32Array(0), positions: new Int32Array(0), externals: new Map([[0, new Float32Array(n).fill(1)]]) };
    const kept = await ex.runKeeping(g, inputs, [], [2]); // nothing read back: its timestamps wait
    expect(ex.counters.timedRuns).toBe(0);
    expect(await ex.run(g, inputs)).toEqual(new Float32Array(n).fill(4));
    const c = ex.counters;
    expect(c.runs).toBe(2);
    expect(c.dispatches).toBe(4);
    expect(c.timedRuns, 'both runs timed, collected by the read-back').toBe(2);
    expect(c.gpuMs).toBeGreaterThan(0);
    expect(c.encodeMs).toBeGreaterThan(0);
    expect(c.waitMs).toBeGreaterThan(0);
    kept.kept[0]!.release();
    ex.destroy();
    ctx.device.destroy();
  });
});
