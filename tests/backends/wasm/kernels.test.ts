// The C kernels one by one, in every variant this Node runs: the Q8 activation quantizers are bit-exact with
// the TS references (src/quant), dequantize_row equals the TS dequantizer for every weight type, and each SIMD
// dot agrees with its scalar reference in the same binary. Plus: abi.ts mirrors engine_kernels.h.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ctl, kernelExports, OpCode, OP_BYTES, type KernelExports, type WasmIsa } from '../../../src/backends/wasm/abi.ts';
import { WasmHeap } from '../../../src/backends/wasm/heap.ts';
import { newSharedMemory, selectIsa } from '../../../src/backends/wasm/runtime.ts';
import { GGMLType, ggmlTypeName } from '../../../src/core/ggml-type.ts';
import { QUANT_TRAITS, quantize } from '../../../src/quant/registry.ts';
import { WEIGHT_TYPES } from '../../conformance/cases.ts';
import { ensureKernelsBuilt } from './build.ts';
import { nodeKernels } from '../../../src/cli/node-wasm.ts';

ensureKernelsBuilt();
const modules = await nodeKernels();

function instance(isa: WasmIsa): { k: KernelExports; heap: WasmHeap } {
  const memory = newSharedMemory();
  const k = kernelExports(new WebAssembly.Instance(modules[isa]!, { env: { memory } }));
  return { k, heap: new WasmHeap(memory, k.__heap_base.value as number) };
}

function randn(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 2 * scale;
  return out;
}

const works = (isa: WasmIsa): boolean => {
  try {
    return selectIsa(modules, isa) === isa;
  } catch {
    return false;
  }
};

describe('abi.ts mirrors engine_kernels.h', () => {
  const h = readFileSync(new URL('../../../wasm/include/engine_kernels.h', import.meta.url), 'utf8');
  const num = (name: string): number => Number(new RegExp(`\\b${name}\\s*=\\s*(\\d+)`).exec(h)?.[1]);
  it('op codes and control words', () => {
    for (const [name, v] of Object.entries(OpCode)) expect(num(`WE_OP_${name}`), name).toBe(v);
    for (const [name, v] of Object.entries(Ctl)) expect(num(`WE_CTL_${name}`), name).toBe(v);
    expect(OP_BYTES).toBe(128);
  });
});

for (const isa of ['scalar', 'simd128', 'relaxed'] as const) {
  describe.skipIf(!works(isa))(`kernels ${isa}`, () => {
    const { k, heap } = instance(isa);
    it('reports its variant', () => {
      expect(k.we_isa()).toBe({ scalar: 0, simd128: 1, relaxed: 2 }[isa]);
    });

    for (const [type, fn, blocks] of [
      [GGMLType.Q8_0, 'we_quantize_row_q8_0', 32],
      [GGMLType.Q8_1, 'we_quantize_row_q8_1', 32],
      [GGMLType.Q8_K, 'we_quantize_row_q8_k', 256],
    ] as const) {
      it(`${ggmlTypeName(type)} quantizer is bit-exact with the TS reference`, () => {
        for (const n of [blocks, blocks * 7]) {
          for (const scale of [1, 1e-3, 0]) {
            const x = randn(n, scale);
            if (scale !== 0) x[3] = 2 * scale; // a tie-prone value
            const ref = quantize(type, x);
            const px = heap.alloc(4 * n);
            const py = heap.alloc(ref.length);
            heap.f32.set(x, px / 4);
            expect(k[fn](px, py, n)).toBe(0);
            expect(Buffer.from(heap.u8.subarray(py, py + ref.length)).equals(Buffer.from(ref)), `${n} x ${scale}`).toBe(true);
            heap.release(px);
            heap.release(py);
          }
        }
      });
    }

    for (const type of WEIGHT_TYPES) {
      const traits = QUANT_TRAITS.get(type)!;
      const n = Math.max(256, traits.blockSize) * 3;
      it(`${ggmlTypeName(type)}: dequantize_row equals the TS reference; SIMD dot equals the scalar one`, () => {
        const bytes = quantize(type, randn(n, 0.5));
        const pw = heap.alloc(bytes.length);
        heap.u8.set(bytes, pw);
        const pd = heap.alloc(4 * n);
        expect(k.we_dequantize_row(type, pw, pd, n)).toBe(0);
        const ref = new Float32Array(n);
        traits.dequantizeRow(bytes, ref, n);
        expect(Array.from(heap.f32.subarray(pd / 4, pd / 4 + n))).toEqual(Array.from(ref));
        const act = k.we_act_type(type);
        const pa = heap.alloc(k.we_act_row_bytes(act, n));
        const x = randn(n);
        heap.f32.set(x, pd / 4);
        expect(k.we_quantize_act(act, pd, pa, n)).toBe(0);
        const out = heap.alloc(8);
        expect(k.we_vec_dot(type, n, pw, pa, out, 1)).toBe(0);
        const generic = heap.f32[out / 4]!;
        expect(k.we_vec_dot(type, n, pw, pa, out, 0)).toBe(0);
        const simd = heap.f32[out / 4]!;
        // f32 sums in another order differ by a few ulps of the summed magnitudes, not of the (possibly cancelled) result
        const mag = ref.reduce((a, w, i) => a + Math.abs(w * x[i]!), 0);
        expect(Math.abs(simd - generic)).toBeLessThanOrEqual(1e-5 * (Math.abs(generic) + 1) + 1e-6 * mag);
        // dot4 (where the type has one): four activation rows, each equal to its single dot
        const arb = k.we_act_row_bytes(act, n);
        const acts = heap.alloc(4 * arb);
        const ptrs = heap.alloc(16);
        const out4 = heap.alloc(16);
        for (let c = 0; c < 4; c++) {
          heap.f32.set(randn(n), pd / 4);
          k.we_quantize_act(act, pd, acts + c * arb, n);
          heap.i32[ptrs / 4 + c] = acts + c * arb;
        }
        if (k.we_vec_dot4(type, n, pw, ptrs, out4) === 0) {
          for (let c = 0; c < 4; c++) {
            k.we_vec_dot(type, n, pw, acts + c * arb, out, 0);
            expect(heap.f32[out4 / 4 + c]!, `column ${c}`).toBeCloseTo(heap.f32[out / 4]!, 4);
          }
        } else {
          expect(isa === 'scalar' || [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.IQ4_XS].includes(type)).toBe(true);
        }
        for (const p of [pw, pd, pa, out, acts, ptrs, out4]) heap.release(p);
      });
    }
  });
}

describe('heap', () => {
  it('reuses freed blocks, coalesces and grows', () => {
    const { heap } = instance('scalar');
    const a = heap.alloc(1000);
    const b = heap.alloc(1000);
    heap.release(a);
    expect(heap.alloc(500)).toBe(a);
    heap.release(b);
    const big = heap.alloc(64 << 20);
    expect(big).toBe(a + 512); // b merged with the free tail
    expect(heap.stats().memory).toBeGreaterThanOrEqual(big + (64 << 20));
    heap.f32[(big + (64 << 20)) / 4 - 1] = 1;
  });
});
