// GPU sampling helpers against a CPU sort: runTopK (repeat penalty on the device, the k best by logit, ties to
// the lower id: the order src/runtime/sampler.ts sorts in) over random logits with many ties, vocabularies from
// one chunk to several reduction passes, k from 1 to 256; and runArgmax.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { GGMLType } from '../../../src/core/ggml-type.ts';
import type { WeightData } from '../../../src/graph/executor.ts';
import { GraphBuilder, type Graph } from '../../../src/graph/graph.ts';
import { nodeGpuContext } from './node-gpu.ts';

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await nodeGpuContext();
});
afterAll(() => {
  gpu.device.destroy();
});

/** Logits on a grid of 1/8 (ties everywhere), a few at ±Infinity-like extremes. */
function tiedLogits(n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.round((Math.random() * 2 - 1) * 40) / 8;
  for (let i = 0; i < 3 && n > 10; i++) v[Math.floor(Math.random() * n)] = i === 0 ? 1e30 : -1e30;
  return v;
}

/** The reference: penalty per distinct id in f32, then a stable sort by (value desc, id asc). */
function cpuTopK(col: Float32Array, k: number, ids?: Int32Array, penalty?: number): { ids: number[]; logits: number[] } {
  const l = Float32Array.from(col);
  if (ids !== undefined && penalty !== undefined) for (const t of new Set(ids)) l[t] = l[t]! > 0 ? l[t]! / penalty : l[t]! * penalty;
  const idx = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b).slice(0, k);
  return { ids: idx, logits: idx.map((i) => l[i]!) };
}

/** A graph whose output is logits [n, cols] computed on the GPU (scale by 1 of the input). */
function logitsGraph(values: Float32Array, n: number, cols: number): { g: Graph; w: Map<string, WeightData> } {
  const w = new Map<string, WeightData>([['l', { type: GGMLType.F32, dims: [n, cols], bytes: new Uint8Array(values.buffer) }]]);
  const b = new GraphBuilder(1, (name) => w.get(name)?.dims);
  return { g: b.build(b.scale(b.weight('l'), 1)), w };
}

const none = { tokens: Int32Array.of(0), positions: Int32Array.of(0) };

describe('runTopK vs a CPU sort', () => {
  for (const [n, cols, ks] of [[1000, 1, [1, 7, 40, 256]], [5003, 2, [64, 100]], [102400, 1, [1, 40, 256]], [300, 1, [256]]] as const) {
    it(`vocabulary ${n}, ${cols} column(s), k ${ks.join('/')}`, async () => {
      const values = tiedLogits(n * cols);
      const { g, w } = logitsGraph(values, n, cols);
      const ex = new WebGpuExecutor(gpu, (name) => w.get(name)!, { nCtx: 8, shaders: viteShaderLibrary(), poison: true });
      try {
        const col = values.subarray((cols - 1) * n);
        for (const k of ks) {
          const got = await ex.runTopK(g, none, { k });
          const want = cpuTopK(col, k);
          expect(Array.from(got.ids), `k=${k}`).toEqual(want.ids);
          expect(Array.from(got.logits), `k=${k}`).toEqual(want.logits);
        }
        // Repeat penalty: duplicates in the list count once; positive logits divided, negative multiplied.
        for (const penalty of [2, 0.5]) {
          const ids = Int32Array.from({ length: 80 }, () => Math.floor(Math.random() * n));
          const k = ks[ks.length - 1]!;
          const got = await ex.runTopK(g, none, { k, penaltyIds: ids, penalty });
          const want = cpuTopK(col, k, ids, penalty);
          expect(Array.from(got.ids), `penalty ${penalty}`).toEqual(want.ids);
          expect(Array.from(got.logits), `penalty ${penalty}`).toEqual(want.logits);
        }
        // The penalty does not stick: the next run recomputes the logits.
        expect(Array.from((await ex.runTopK(g, none, { k: 5 })).ids)).toEqual(cpuTopK(col, 5).ids);
        expect((await ex.runArgmax(g, none))[cols - 1]).toBe(cpuTopK(col, 1).ids[0]);
      } finally {
        ex.destroy();
      }
    });
  }

  it('a penalty list longer than the first plan holds', async () => {
    const values = tiedLogits(4000);
    const { g, w } = logitsGraph(values, 4000, 1);
    const ex = new WebGpuExecutor(gpu, (name) => w.get(name)!, { nCtx: 8, shaders: viteShaderLibrary() });
    try {
      await ex.runTopK(g, none, { k: 16, penaltyIds: Int32Array.of(1, 2), penalty: 2 });
      const ids = Int32Array.from({ length: 3000 }, (_, i) => (i * 7) % 4000);
      const got = await ex.runTopK(g, none, { k: 16, penaltyIds: ids, penalty: 2 });
      expect(Array.from(got.ids)).toEqual(cpuTopK(values, 16, ids, 2).ids);
    } finally {
      ex.destroy();
    }
  });

  it('rejects k out of range and ids outside the vocabulary', async () => {
    const { g, w } = logitsGraph(tiedLogits(100), 100, 1);
    const ex = new WebGpuExecutor(gpu, (name) => w.get(name)!, { nCtx: 8, shaders: viteShaderLibrary() });
    try {
      await expect(ex.runTopK(g, none, { k: 0 })).rejects.toMatchObject({ code: 'bad_argument' });
      await expect(ex.runTopK(g, none, { k: 101 })).rejects.toMatchObject({ code: 'bad_argument' });
      await expect(ex.runTopK(g, none, { k: 5, penaltyIds: Int32Array.of(100), penalty: 1.1 })).rejects.toMatchObject({ code: 'bad_argument' });
    } finally {
      ex.destroy();
    }
  });
});
