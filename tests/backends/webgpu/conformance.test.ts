// Every case of the conformance registry on WebGPU (Dawn in Node) against cpu-ref, on fresh random inputs, with
// every activation poisoned (NaN) before the run. Also: weights split over several bindings (a small binding
// limit forced on the executor), rows spanning several matvec tiles, and the shared-memory reductions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import type { GpuContext } from '../../../src/backends/webgpu/device.ts';
import { WebGpuExecutor, type WebGpuExecutorOptions } from '../../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../../src/backends/webgpu/shaders-vite.ts';
import { conformanceCases, int8DotCases, longContextCases, nmse, type ConformanceCase } from '../../conformance/cases.ts';
import { nodeGpuContext } from './node-gpu.ts';
import { SPLIT_OPS, splitBindingLimit, splitWeights } from './split.ts';

const shaders = viteShaderLibrary();
// Observed ~1e-14 vs rounded (the same integers); a single ±1 flip of a q (GPU division vs CPU) stays far below.
const Q8_ROUNDED_NMSE = 1e-5;
const Q8_EXACT_NMSE = 2e-3;
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
  const cpu = new CpuRefExecutor((n) => c.weights.get(n)!, 4096);
  const ex = new WebGpuExecutor(gpu, (n) => c.weights.get(n)!, { nCtx: 4096, shaders, poison: true, ...o });
  for (const s of c.setup ?? []) {
    cpu.runSync(s.graph, s.inputs);
    await ex.run(s.graph, s.inputs);
  }
  const ref = cpu.runSync(c.graph, c.inputs);
  const out = await ex.run(c.graph, c.inputs);
  const e = nmse(out, ref);
  report.push(`${(tag + c.name).padEnd(64)} nmse ${e.toExponential(2)} (budget ${c.nmse.toExponential(0)})`);
  expect(out.length, c.name).toBe(ref.length);
  expect(e, `${c.name}: nmse ${e}`).toBeLessThan(c.nmse);
  return ex;
}

describe('WebGPU conformance (Node, Dawn)', () => {
  for (const c of [...conformanceCases(), ...longContextCases()]) {
    it(c.name, async () => {
      (await check(c)).destroy();
    });
  }
});

// Weights cut into 2-3 bindings each (a small binding limit forced on the executor).
describe('weights split over several bindings', () => {
  for (const c of conformanceCases().filter((x) => SPLIT_OPS.has(x.op) && x.graph.nTokens < 40)) {
    it(c.name, async () => {
      const ex = await check(c, { maxBindingBytes: splitBindingLimit(c) }, 'split ');
      expect(Math.max(...splitWeights(c).map((n) => ex.segmentsOf(n))), c.name).toBeGreaterThanOrEqual(2);
      ex.destroy();
    });
  }
});

// The staged matvec with tiny workgroups: rows span several staged tiles, 3 rows per workgroup (a partial last group).
describe('staged matvec over several tiles per row', () => {
  for (const c of conformanceCases().filter((x) => ((x.op === 'mul_mat' || x.op === 'moe_experts') && x.graph.nTokens <= 4) || x.op === 'mul_mat_heads')) {
    it(c.name, async () => {
      (await check(c, { matvec: { stage: true, wg: 8, cpt: 1, rows: 3 } }, 'tiles ')).destroy();
    });
  }
});

// The int8 matvec (activations quantized once, dot4I8Packed): it must compute what llama.cpp's CPU computes (the
// activation rounded to Q8_0 / Q8_K, cpu-ref's llamaCppRounding) up to f32 accumulation and a rare ±1 where a
// GPU division rounds differently; against exact cpu-ref it carries that rounding's own error.
describe('int8 activations (matvec q8)', () => {
  for (const c of int8DotCases()) {
    for (const noSubgroups of [false, true]) {
      it(`${c.name}${noSubgroups ? ' nosg' : ''}`, async () => {
        const rounded = new CpuRefExecutor((n) => c.weights.get(n)!, 4096, true).runSync(c.graph, c.inputs);
        const exact = new CpuRefExecutor((n) => c.weights.get(n)!, 4096).runSync(c.graph, c.inputs);
        const ex = new WebGpuExecutor(gpu, (n) => c.weights.get(n)!, { nCtx: 4096, shaders, poison: true, noSubgroups, matvec: { q8: true } });
        try {
          const out = await ex.run(c.graph, c.inputs);
          const [er, ee] = [nmse(out, rounded), nmse(out, exact)];
          report.push(`${`q8 ${c.name}${noSubgroups ? ' nosg' : ''}`.padEnd(64)} nmse ${er.toExponential(2)} vs rounded, ${ee.toExponential(2)} vs exact`);
          expect(er, 'vs cpu-ref with llama.cpp activation rounding').toBeLessThan(Q8_ROUNDED_NMSE);
          expect(ee, 'vs exact cpu-ref').toBeLessThan(Math.max(c.nmse, Q8_EXACT_NMSE));
        } finally {
          ex.destroy();
        }
      });
    }
  }
});

describe('shared-memory reductions (subgroups off)', () => {
  for (const c of conformanceCases().filter((x) => (x.op === 'mul_mat' || x.op === 'moe_experts') && x.graph.nTokens <= 4)) {
    it(c.name, async () => {
      (await check(c, { noSubgroups: true }, 'nosg ')).destroy();
    });
  }
});
