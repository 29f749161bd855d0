// Plan-level fusion on WebGPU: an rms_norm read only by the next node, a mul by the norm's weight vector, runs as
// one rms_norm_mul dispatch with the same arithmetic (bit-identical to the two dispatches); a norm with another
// reader, or a mul by an activation, is left alone. A slice0 or repeat1 read only by a concat0 is no copy of its
// own: the concat (one dispatch) reads through its strided view. Checked against cpu-ref on fresh random inputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor, type WeightData } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { GGMLType } from '../../../src/core/ggml-type.ts';
import type { Graph, GraphNode } from '../../../src/graph/graph.ts';
import { nmse } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await nodeGpuContext();
});
afterAll(() => gpu.device.destroy());

const n = 333;
const rows = 5;
const node = (id: number, spec: GraphNode['spec'], src: number[], shape: number[]): GraphNode => ({ id, spec, src, shape, module: `m${id}` });

/** x → rms_norm → mul(by `by`) → add(x): by = 'weight' (fusable), 'act' (a mul by an activation), or 'twice' (the norm has a second reader). */
function graph(by: 'weight' | 'act' | 'twice'): Graph {
  const nodes = [
    node(0, { op: 'external' }, [], [n, rows]),
    node(1, { op: 'weight', name: 'norm.weight' }, [], [n]),
    node(2, { op: 'rms_norm', eps: 1e-6 }, [0], [n, rows]),
    node(3, { op: 'mul' }, [2, by === 'act' ? 0 : 1], [n, rows]),
    node(4, { op: 'add' }, [3, by === 'twice' ? 2 : 0], [n, rows]),
  ];
  return { nodes, output: 4, nTokens: rows };
}

describe('rms_norm · weight fusion', () => {
  it('one dispatch for a norm times its weight, two where the pattern does not hold; values = cpu-ref', async () => {
    const w = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const weights = (name: string): WeightData => {
      if (name !== 'norm.weight') throw new Error(name);
      return { type: GGMLType.F32, dims: [n], bytes: new Uint8Array(w.buffer) };
    };
    const x = Float32Array.from({ length: n * rows }, () => Math.random() * 4 - 2);
    const inputs = { tokens: new Int32Array(rows), positions: new Int32Array(rows), externals: new Map([[0, x]]) };
    const expected = { weight: 2, act: 3, twice: 3 };
    for (const by of ['weight', 'act', 'twice'] as const) {
      const g = graph(by);
      const ex = new WebGpuExecutor(gpu, weights, { nCtx: 4, shaders: viteShaderLibrary(), poison: true });
      const got = await ex.run(g, inputs);
      expect(ex.counters.dispatches, by).toBe(expected[by]);
      const want = await new CpuRefExecutor(weights, 4).run(g, inputs);
      expect(nmse(got, want), by).toBeLessThan(1e-12);
      ex.destroy();
    }
  });
});

describe('slice0 / repeat1 folded into concat0', () => {
  it('the concat reads through the views (no copy for them) unless they have another reader; values = cpu-ref', async () => {
    const none = (): WeightData => {
      throw new Error('no weights');
    };
    // x [8, 3, 2] → a = slice0(x, 2, 3) [3, 3, 2]; y [4, 1, 2] → b = repeat1(y) [4, 3, 2]; c = concat0(a, b) [7, 3, 2]
    const base = [
      node(0, { op: 'external' }, [], [8, 3, 2]),
      node(1, { op: 'external' }, [], [4, 1, 2]),
      node(2, { op: 'slice0', start: 2 }, [0], [3, 3, 2]),
      node(3, { op: 'repeat1' }, [1], [4, 3, 2]),
      node(4, { op: 'concat0' }, [2, 3], [7, 3, 2]),
    ];
    const cases: [string, Graph, number][] = [
      ['both folded', { nodes: base, output: 4, nTokens: 2 }, 1],
      // a is read twice (by both concats): only b folds
      ['slice read twice', { nodes: [...base, node(5, { op: 'concat0' }, [4, 2], [10, 3, 2])], output: 5, nTokens: 2 }, 3],
    ];
    const x = Float32Array.from({ length: 48 }, () => Math.random());
    const y = Float32Array.from({ length: 8 }, () => Math.random());
    const inputs = { tokens: new Int32Array(2), positions: new Int32Array(2), externals: new Map([[0, x], [1, y]]) };
    for (const [name, g, dispatches] of cases) {
      const ex = new WebGpuExecutor(gpu, none, { nCtx: 4, shaders: viteShaderLibrary(), poison: true });
      const got = await ex.run(g, inputs);
      expect(ex.counters.dispatches, name).toBe(dispatches);
      expect(got, name).toEqual(await new CpuRefExecutor(none, 4).run(g, inputs));
      ex.destroy();
    }
  });
});
