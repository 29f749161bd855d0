// Every case of the op conformance registry on the WASM backend, for each kernel variant this Node can run
// (scalar, SIMD128, relaxed SIMD) and 1, 2 and 4 worker threads. Two checks per case: against cpu-ref with
// llama.cpp's activation rounding (what the kernels compute: activations through Q8_0/Q8_K/F16/BF16), within
// the case's budget; and against exact cpu-ref, where activation quantization adds its own noise (Q8: up to
// ~5e-4 NMSE on experts, whose SiLU·up activations are heavy-tailed), within max(budget, Q8_ACT_NMSE).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../../src/backends/cpu-ref/executor.ts';
import type { WasmIsa } from '../../../src/backends/wasm/abi.ts';
import { WasmExecutor } from '../../../src/backends/wasm/executor.ts';
import { selectIsa, WasmRuntime, type KernelModules } from '../../../src/backends/wasm/runtime.ts';
import { conformanceCases, nmse } from '../../conformance/cases.ts';
import { ensureKernelsBuilt } from './build.ts';
import { nodeKernels, nodePlatform } from '../../../src/cli/node-wasm.ts';

const Q8_ACT_NMSE = 2e-3;

ensureKernelsBuilt();
const modules: KernelModules = await nodeKernels();
const cases = conformanceCases().map((c) => {
  const weights = (n: string) => c.weights.get(n)!;
  return { c, rounded: new CpuRefExecutor(weights, 4096, true).runSync(c.graph, c.inputs), exact: new CpuRefExecutor(weights, 4096).runSync(c.graph, c.inputs) };
});

function works(isa: WasmIsa): boolean {
  try {
    return selectIsa(modules, isa) === isa;
  } catch {
    return false;
  }
}

describe('registry', () => {
  it('has cases for every op', () => {
    expect(cases.length).toBeGreaterThan(100);
  });
  it('this Node runs the SIMD128 kernels (relaxed SIMD needs Node 22 or the flags src/cli/node-wasm.ts sets)', () => {
    expect(works('simd128')).toBe(true);
  });
});

for (const isa of ['scalar', 'simd128', 'relaxed'] as const) {
  for (const threads of [1, 2, 4]) {
    describe.skipIf(!works(isa))(`wasm ${isa}, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
      let rt: WasmRuntime;
      beforeAll(async () => {
        rt = await WasmRuntime.create({ modules, isa, platform: nodePlatform(), threads });
      });
      afterAll(async () => {
        await rt?.dispose();
      });
      for (const { c, rounded, exact } of cases) {
        it(c.name, async () => {
          const ex = new WasmExecutor(rt, (n) => c.weights.get(n)!, 4096);
          try {
            const out = await ex.run(c.graph, c.inputs);
            expect(out.length).toBe(exact.length);
            expect(nmse(out, rounded), 'vs cpu-ref with llama.cpp activation rounding').toBeLessThanOrEqual(c.nmse);
            expect(nmse(out, exact), 'vs exact cpu-ref').toBeLessThanOrEqual(Math.max(c.nmse, Q8_ACT_NMSE));
          } finally {
            ex.dispose();
          }
        });
      }
    });
  }
}
