// The Memory64 question in Chromium: the same GEMV source (wasm/bench/gemv.c over the relaxed-SIMD dot products)
// built for wasm32 and wasm64, one thread (this page's main thread), GB/s of weight bytes. Driven by
// scripts/bench-memory64.ts through window.mem64.
import { quantize, rowBytes } from '../src/quant/registry.ts';

interface GemvExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  we_act_type(type: number): number;
  we_act_row_bytes(act: number, n: number): number;
  we_quantize_act(act: number, x: number | bigint, dst: number | bigint, n: number): number;
  bench_gemv(type: number, k: number, m: number, w: number | bigint, act: number | bigint, out: number | bigint): number;
}

export interface Mem64Row {
  readonly target: 'wasm32' | 'wasm64';
  readonly type: number;
  readonly bytes: number;
  readonly ms: number;
  readonly gbs: number;
}

const modules = new Map<string, Promise<WebAssembly.Module>>();

async function bench(target: 'wasm32' | 'wasm64', type: number, k: number, mb: number, reps: number): Promise<Mem64Row> {
  let mod = modules.get(target);
  if (mod === undefined) modules.set(target, (mod = fetch(`/wasm/out/bench-gemv-${target}.wasm`).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b))));
  const e = (await WebAssembly.instantiate(await mod, {})).exports as unknown as GemvExports;
  const p = (v: number): number | bigint => (target === 'wasm64' ? BigInt(v) : v); // i64 pointers are BigInts in JS
  const rb = rowBytes(type, k);
  const m = Math.max(64, Math.floor((mb * 2 ** 20) / rb / 64) * 64);
  const tile = quantize(type, Float32Array.from({ length: 64 * k }, () => (Math.random() + Math.random() + Math.random() - 1.5) * 0.5));
  const base = Math.ceil(Number(e.__heap_base.value) / 64) * 64;
  const x = base;
  const act = x + 4 * k;
  const out = act + Math.ceil(e.we_act_row_bytes(e.we_act_type(type), k) / 64) * 64;
  const w = out + Math.ceil((4 * m) / 64) * 64;
  const need = w + rb * m;
  const pages = Math.ceil((need - e.memory.buffer.byteLength) / 65536);
  if (pages > 0) (e.memory.grow as (d: number | bigint) => unknown)(p(pages));
  const u8 = new Uint8Array(e.memory.buffer);
  for (let o = 0; o < rb * m; o += tile.length) u8.set(tile.subarray(0, Math.min(tile.length, rb * m - o)), w + o);
  new Float32Array(e.memory.buffer, x, k).set(Float32Array.from({ length: k }, () => Math.random() * 2 - 1));
  e.we_quantize_act(e.we_act_type(type), p(x), p(act), k);
  const times: number[] = [];
  for (let r = 0; r < reps + 2; r++) {
    const t0 = performance.now();
    if (e.bench_gemv(type, k, m, p(w), p(act), p(out)) !== 0) throw new Error(`bench_gemv failed for type ${type}`);
    if (r >= 2) times.push(performance.now() - t0);
  }
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  return { target, type, bytes: rb * m, ms, gbs: (rb * m) / ms / 1e6 };
}

declare global {
  interface Window {
    mem64: { bench: typeof bench };
  }
}
window.mem64 = { bench };
document.getElementById('status')!.textContent = 'ready';
