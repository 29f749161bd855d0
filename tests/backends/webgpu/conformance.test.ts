// Every case of the conformance registry on WebGPU (Dawn in Node) against cpu-ref, on fresh random inputs, with
// every activation poisoned (NaN) before the run. Also: weights split over several bindings (a small binding
// limit forced on the executor), rows spanning several matvec tiles, and the shared-memory reductions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor, type WebGpuExecutorOptions } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { conformanceCases, nmse, type ConformanceCase } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';
import { SPLIT_OPS, splitBindingLimit, splitWeights } from './split.ts';

const shaders = viteShaderLibrary();
let gpu: GpuContext;
const report: string[] = [];

beforeAll(async () => {
  gpu = await nodeGpuContext();
});
afterAll(() => {
  gpu.device.destroy();
  console.log(`WebGPU conformance on ${gpu.caps.description} (subgroups ${gpu.caps.subgroups ? gpu.caps.subgroupMinSize : 'off'}):\n${report.join('\n')}`);
});

async function check(c: ConformanceCase, o: Partial<WebGpuExecutorOptions> = {}, tag = ''): Promise<WebGpuExecutor> {
  const ref = new CpuRefExecutor((n) => c.weights.get(n)!, 4096).runSync(c.graph, c.inputs);
  const ex = new WebGpuExecutor(gpu, (n) => c.weights.get(n)!, { nCtx: 4096, shaders, poison: true, ...o });
  const out = await ex.run(c.graph, c.inputs);
  const e = nmse(out, ref);
  report.push(`${(tag + c.name).padEnd(64)} nmse ${e.toExponential(2)} (budget ${c.nmse.toExponential(0)})`);
  expect(out.length, c.name).toBe(ref.length);
  expect(e, `${c.name}: nmse ${e}`).toBeLessThan(c.nmse);
  return ex;
}

describe('WebGPU conformance (Node, Dawn)', () => {
  for (const c of conformanceCases()) {
    it(c.name, async () => {
      (await check(c)).destroy();
    });
  }
});

// Weights cut into 2-3 bindings each (a small binding limit forced on the executor).
describe('weights split over several bindings', () => {
  for (const c of conformanceCases().filter((x) => SPLIT_OPS.has(x.op))) {
    it(c.name, async () => {
      const ex = await check(c, { maxBindingBytes: splitBindingLimit(c) }, 'split ');
      expect(Math.max(...splitWeights(c).map((n) => ex.segmentsOf(n))), c.name).toBeGreaterThanOrEqual(2);
      ex.destroy();
    });
  }
});

// The staged matvec with tiny workgroups: rows span several staged tiles, 3 rows per workgroup (a partial last group).
describe('staged matvec over several tiles per row', () => {
  for (const c of conformanceCases().filter((x) => (x.op === 'mul_mat' && x.graph.nTokens === 1) || x.op === 'moe_experts' || x.op === 'mul_mat_heads')) {
    it(c.name, async () => {
      (await check(c, { matvec: { stage: true, wg: 8, cpt: 1, rows: 3 } }, 'tiles ')).destroy();
    });
  }
});

describe('shared-memory reductions (subgroups off)', () => {
  for (const c of conformanceCases().filter((x) => x.op === 'mul_mat' || x.op === 'moe_experts')) {
    it(c.name, async () => {
      (await check(c, { noSubgroups: true }, 'nosg ')).destroy();
    });
  }
});
