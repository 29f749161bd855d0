// The worker pool and executor around the kernels: concurrent runs on one executor keep their order, a trapping
// worker aborts the run instead of leaving the others at a barrier, C status codes become typed errors, and
// weight types without kernels fail at compile time naming the tensor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import { OP_WORDS, OpCode, OpField } from '../../../src/backends/wasm/abi.ts';
import { WasmExecutor } from '../../../src/backends/wasm/executor.ts';
import { WasmRuntime } from '../../../src/backends/wasm/runtime.ts';
import { GGMLType } from '../../../src/core/ggml-type.ts';
import type { WeightData } from '../../../src/graph/executor.ts';
import { GraphBuilder } from '../../../src/graph/graph.ts';
import { quantize } from '../../../src/quant/registry.ts';
import { nmse } from '../../conformance/cases.ts';
import { ensureKernelsBuilt } from './build.ts';
import { nodeKernels, nodePlatform } from '../../../src/cli/node-wasm.ts';

const f32 = (v: Float32Array, dims: number[]): WeightData => ({ type: GGMLType.F32, dims, bytes: new Uint8Array(v.buffer) });
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

let rt: WasmRuntime;
beforeAll(async () => {
  ensureKernelsBuilt();
  rt = await WasmRuntime.create({ modules: await nodeKernels(), platform: nodePlatform(), threads: 2 });
});
afterAll(async () => {
  await rt?.dispose();
});

describe('WASM executor and pool', () => {
  it('runs concurrent calls on one executor in order, each with its own inputs', async () => {
    const weights = new Map<string, WeightData>([['w', { type: GGMLType.Q8_0, dims: [64, 16], bytes: quantize(GGMLType.Q8_0, rand(64 * 16)) }]]);
    const b = new GraphBuilder(1, (n) => weights.get(n)?.dims);
    const g = b.build(b.mulMat(b.weight('w'), b.getRows(b.weight('w'), b.input('tokens'))));
    const ex = new WasmExecutor(rt, (n) => weights.get(n)!, 16);
    const ref = new CpuRefExecutor((n) => weights.get(n)!, 16, true);
    const runs = Array.from({ length: 8 }, (_, i) => ({ tokens: Int32Array.of(i), positions: Int32Array.of(0) }));
    const outs = await Promise.all(runs.map((inp) => ex.run(g, inp)));
    outs.forEach((o, i) => expect(nmse(o, ref.runSync(g, runs[i]!))).toBeLessThan(1e-10));
    ex.dispose();
  });

  it('maps kernel status codes to typed errors (an expert id outside the tensors)', async () => {
    const [emb, ff, ne] = [256, 64, 4];
    const weights = new Map<string, WeightData>([
      ['x', f32(rand(emb), [emb, 1])],
      ['route', f32(Float32Array.of(0, 9, 0.5, 0.5), [4, 1])],
      ['gate', { type: GGMLType.Q4_0, dims: [emb, ff, ne], bytes: quantize(GGMLType.Q4_0, rand(emb * ff * ne)) }],
      ['up', { type: GGMLType.Q4_0, dims: [emb, ff, ne], bytes: quantize(GGMLType.Q4_0, rand(emb * ff * ne)) }],
      ['down', { type: GGMLType.Q4_0, dims: [ff, emb, ne], bytes: quantize(GGMLType.Q4_0, rand(emb * ff * ne)) }],
    ]);
    const b = new GraphBuilder(1, (n) => weights.get(n)?.dims);
    const g = b.build(b.moeExperts(b.weight('x'), b.weight('route'), b.weight('gate'), b.weight('up'), b.weight('down'), 2));
    const ex = new WasmExecutor(rt, (n) => weights.get(n)!, 16);
    await expect(ex.run(g, { tokens: Int32Array.of(0), positions: Int32Array.of(0) })).rejects.toMatchObject({ code: 'model_invalid' });
    ex.dispose();
  });

  it('rejects weight types without kernels at compile time, naming the tensor', async () => {
    const weights = new Map<string, WeightData>([
      ['blk.0.attn_q.weight', { type: GGMLType.IQ2_XXS, dims: [256, 4], bytes: new Uint8Array(66 * 4) }],
      ['x', f32(rand(256), [256, 1])],
    ]);
    const b = new GraphBuilder(1, (n) => weights.get(n)?.dims);
    const g = b.build(b.mulMat(b.weight('blk.0.attn_q.weight'), b.weight('x')));
    const ex = new WasmExecutor(rt, (n) => weights.get(n)!, 16);
    await expect(ex.run(g, { tokens: Int32Array.of(0), positions: Int32Array.of(0) })).rejects.toMatchObject({ code: 'unsupported_quant', details: { tensor: 'blk.0.attn_q.weight' } });
    ex.dispose();
  });

  it('aborts a run whose worker traps instead of hanging', async () => {
    const own = await WasmRuntime.create({ modules: await nodeKernels(), platform: nodePlatform(), threads: 2 });
    try {
      const ops = own.heap.alloc(4 * OP_WORDS);
      const rec = new Int32Array(OP_WORDS);
      rec[OpField.CODE] = OpCode.RMS_NORM;
      rec[OpField.NE] = 64;
      rec[OpField.NE + 1] = 1;
      rec[OpField.P] = -256; // a pointer past the end of memory: the load traps
      rec[OpField.P + 2] = -256;
      own.heap.i32.set(rec, ops / 4);
      await expect(own.run(ops, 1)).rejects.toThrow(/trapped/);
    } finally {
      await own.dispose();
    }
  });
});
