// Kernel GEMV benchmark shared by scripts/bench-wasm.ts (Node) and e2e/wasm-page.ts (Chromium): GB/s of weight
// bytes of one mul_mat with n = 1 (a decode GEMV) over a [k, m] weight far larger than the caches, per weight type.
import type { WasmIsa } from '../src/backends/wasm/abi.ts';
import { WasmExecutor } from '../src/backends/wasm/executor.ts';
import type { WasmRuntime } from '../src/backends/wasm/runtime.ts';
import { GGMLType, ggmlTypeName } from '../src/core/ggml-type.ts';
import type { WeightData } from '../src/graph/executor.ts';
import { GraphBuilder } from '../src/graph/graph.ts';
import { quantize, rowBytes } from '../src/quant/registry.ts';

export interface BenchRow {
  readonly isa: WasmIsa;
  readonly type: string;
  readonly threads: number;
  readonly bytes: number;
  readonly ms: number;
  readonly gbs: number;
  /** Activation columns (1: a decode GEMV; more: a prefill GEMM) and multiply-adds per second. */
  readonly cols: number;
  readonly gmacs: number;
}

function randn(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 0.5;
  return out;
}

/** A [k, m] weight of about `mb` MiB: 64 quantized rows tiled (the content does not change the speed). */
export function tiledWeight(type: number, k: number, mb: number): WeightData {
  const rb = rowBytes(type, k);
  const m = Math.max(64, Math.floor((mb * 2 ** 20) / rb / 64) * 64);
  const tile = quantize(type, randn(64 * k));
  const bytes = new Uint8Array(rb * m);
  for (let o = 0; o < bytes.length; o += tile.length) bytes.set(tile.subarray(0, Math.min(tile.length, bytes.length - o)), o);
  return { type, dims: [k, m], bytes };
}

export async function benchGemv(rt: WasmRuntime, type: number, k: number, mb: number, reps: number, now: () => number, cols = 1): Promise<BenchRow> {
  const w = tiledWeight(type, k, mb);
  const x: WeightData = { type: GGMLType.F32, dims: [k, cols], bytes: new Uint8Array(randn(k * cols).buffer) };
  const weights = new Map([['w', w], ['x', x]]);
  const b = new GraphBuilder(cols, (n) => weights.get(n)?.dims);
  const g = b.build(b.mulMat(b.weight('w'), b.weight('x')));
  const ex = new WasmExecutor(rt, (n) => weights.get(n)!, 16);
  try {
    const inputs = { tokens: new Int32Array(cols), positions: Int32Array.from({ length: cols }, (_, i) => i) };
    await ex.run(g, inputs); // compile, copy the weights in, warm up
    await ex.run(g, inputs);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = now();
      await ex.run(g, inputs);
      times.push(now() - t0);
    }
    // the median: robust against other load on a shared machine
    const ms = times.sort((x, y) => x - y)[Math.floor(reps / 2)]!;
    const macs = k * w.dims[1]! * cols;
    return { isa: rt.isa, type: ggmlTypeName(type), threads: rt.threads, bytes: w.bytes.length, ms, gbs: w.bytes.length / ms / 1e6, cols, gmacs: macs / ms / 1e6 };
  } finally {
    ex.dispose();
  }
}

export function formatRow(r: BenchRow): string {
  return `${r.isa.padEnd(8)} ${r.type.padEnd(7)} ${String(r.threads).padStart(2)}t ${(r.bytes / 2 ** 20).toFixed(0).padStart(5)} MiB x ${String(r.cols).padStart(3)} cols ${r.ms.toFixed(2).padStart(8)} ms ${r.gbs.toFixed(2).padStart(7)} GB/s ${r.gmacs.toFixed(1).padStart(6)} GMAC/s`;
}
