// Typed errors of the WebGPU backend: a lost device is `device_lost` (before a run and for a run in flight), an op
// shape no kernel runs is `unsupported_op`, a weight type without a kernel is `unsupported_quant` naming the tensor.
import { describe, expect, it } from 'vitest';
import { WebGpuExecutor } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { GGMLType } from '../../../src/core/ggml-type.ts';
import type { WeightData } from '../../../src/graph/executor.ts';
import { GraphBuilder, type Graph } from '../../../src/graph/graph.ts';
import { quantize } from '../../../src/quant/registry.ts';
import { nodeGpuContext } from './node-gpu.ts';

const shaders = viteShaderLibrary();
const none = { tokens: Int32Array.of(0), positions: Int32Array.of(0) };

function matvec(type: number = GGMLType.F32): { g: Graph; w: Map<string, WeightData> } {
  const w = new Map<string, WeightData>([
    ['w', { type, dims: [256, 64], bytes: quantize(type, Float32Array.from({ length: 256 * 64 }, () => Math.random() - 0.5)) }],
    ['x', { type: GGMLType.F32, dims: [256, 1], bytes: new Uint8Array(Float32Array.from({ length: 256 }, Math.random).buffer) }],
  ]);
  const b = new GraphBuilder(1, (n) => w.get(n)?.dims);
  return { g: b.build(b.mulMat(b.weight('w'), b.weight('x'))), w };
}

describe('WebGPU errors', () => {
  it('device_lost before a run, once the device is gone', async () => {
    const gpu = await nodeGpuContext();
    const { g, w } = matvec();
    const ex = new WebGpuExecutor(gpu, (n) => w.get(n)!, { nCtx: 8, shaders });
    expect((await ex.run(g, none)).length).toBe(64);
    gpu.device.destroy();
    await gpu.device.lost;
    await expect(ex.run(g, none)).rejects.toMatchObject({ code: 'device_lost' });
    await expect(ex.loadWeights(g, () => Promise.resolve(w.get('w')!))).rejects.toMatchObject({ code: 'device_lost' });
  });

  it('device_lost for a run in flight when the device goes', async () => {
    const gpu = await nodeGpuContext();
    const { g, w } = matvec();
    const ex = new WebGpuExecutor(gpu, (n) => w.get(n)!, { nCtx: 8, shaders });
    await ex.run(g, none); // plan built: the next run only submits and maps
    const run = ex.run(g, none);
    gpu.device.destroy();
    await expect(run).rejects.toMatchObject({ code: 'device_lost' });
  });

  it('unsupported_op for a shape no kernel runs, unsupported_quant for a type without one', async () => {
    const gpu = await nodeGpuContext();
    try {
      const wts = new Map<string, WeightData>();
      const b = new GraphBuilder(1, (n) => wts.get(n)?.dims);
      const f = (name: string, dims: number[]): number => {
        wts.set(name, { type: GGMLType.F32, dims, bytes: new Uint8Array(4 * dims.reduce((a, c) => a * c, 1)) });
        return b.weight(name);
      };
      const g = b.build(b.attn(f('q', [1100, 1, 1]), f('k', [1100, 1, 1]), f('v', [64, 1, 1]), b.input('positions'), 0, 1));
      const ex = new WebGpuExecutor(gpu, (n) => wts.get(n)!, { nCtx: 8, shaders });
      await expect(ex.run(g, none)).rejects.toMatchObject({ code: 'unsupported_op' });
      const q = matvec(GGMLType.Q4_0);
      const bad = new Map(q.w);
      bad.set('w', { ...q.w.get('w')!, type: GGMLType.IQ2_XXS });
      const ex2 = new WebGpuExecutor(gpu, (n) => bad.get(n)!, { nCtx: 8, shaders });
      await expect(ex2.run(q.g, none)).rejects.toMatchObject({ code: 'unsupported_quant', details: { tensor: 'w' } });
    } finally {
      gpu.device.destroy();
    }
  });
});
