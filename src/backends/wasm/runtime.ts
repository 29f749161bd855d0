// One shared WebAssembly.Memory, a kernel instance on the caller's thread (allocation queries, single-thread
// runs) and a pool of N workers that run programs together (wasm/src/pool.c). The caller hands in the compiled
// modules and a platform that creates workers (Node worker_threads or browser Workers running
// src/workers/wasm-kernel*.ts); setup goes through comlink, and a run is one Atomics.notify plus one
// Atomics.waitAsync: tensors never cross postMessage.
import { wrap, type Endpoint, type Remote } from 'comlink';
import { EngineError } from '../../core/errors.ts';
import { GGMLType } from '../../core/ggml-type.ts';
import { Act, Ctl, ctlBytes, ISAS_BEST_FIRST, kernelExports, type KernelExports, type WasmIsa } from './abi.ts';
import { WasmHeap } from './heap.ts';

/** What a kernel worker offers over comlink (src/backends/wasm/worker-side.ts implements it). */
export interface KernelWorkerApi {
  init(module: WebAssembly.Module, memory: WebAssembly.Memory, stackTop: number): void;
  /** Returns at once; the worker then runs we_worker_main until the pool quits. */
  start(ctl: number, ith: number): void;
}

export interface KernelWorkerHandle {
  readonly endpoint: Endpoint;
  terminate(): unknown;
}

/** Provided by the face (CLI, page, test): creates workers; only it touches platform globals. */
export interface WasmPlatform {
  createWorker(): KernelWorkerHandle;
  /** Default thread count. */
  readonly hardwareConcurrency: number;
}

export type KernelModules = Partial<Record<WasmIsa, WebAssembly.Module>>;

/** The kernel binaries' imported memory minimum (scripts/build-wasm.mjs links with --initial-memory=1 MiB). */
const INITIAL_PAGES = 16;
const STACK_BYTES = 256 * 1024;

export function newSharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: 65536, shared: true });
}

/** Validates and compiles the variants the runtime supports (feature detection); unsupported ones are left out. */
export async function compileKernels(binaries: Partial<Record<WasmIsa, BufferSource>>): Promise<KernelModules> {
  const out: KernelModules = {};
  for (const isa of ISAS_BEST_FIRST) {
    const b = binaries[isa];
    if (b !== undefined && WebAssembly.validate(b)) out[isa] = await WebAssembly.compile(b);
  }
  return out;
}

/**
 * Whether `module` computes what its scalar reference computes. Catches engines that validate relaxed SIMD but
 * compute its dot wrongly (Node 20's Liftoff without --no-liftoff).
 */
export function selfTest(module: WebAssembly.Module): boolean {
  const memory = newSharedMemory();
  const k = kernelExports(new WebAssembly.Instance(module, { env: { memory } }));
  const heap = new WasmHeap(memory, k.__heap_base.value as number);
  const n = 256;
  const x = heap.alloc(4 * n);
  const w = heap.alloc(4 * n);
  const act = heap.alloc(k.we_act_row_bytes(Act.Q8_0, n));
  const out = heap.alloc(8);
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < n; i++) heap.f32[x / 4 + i] = rnd();
  k.we_quantize_act(Act.Q8_0, x, act, n);
  for (let i = 0; i < n; i++) heap.f32[x / 4 + i] = rnd();
  k.we_quantize_row_q8_0(x, w, n); // Q8_0 weights: the signed dot path
  const w4 = heap.alloc(18 * (n / 32)); // Q4_0 weights, d = 1/64: the unsigned dot path
  for (let b = 0; b < n / 32; b++) {
    heap.u8[w4 + 18 * b] = 0x00;
    heap.u8[w4 + 18 * b + 1] = 0x24;
    for (let j = 2; j < 18; j++) heap.u8[w4 + 18 * b + j] = Math.floor((rnd() + 1) * 128) & 0xff;
  }
  const dots: number[] = [];
  for (const [type, ptr] of [[GGMLType.Q8_0, w], [GGMLType.Q4_0, w4]] as const) {
    for (const generic of [1, 0]) {
      k.we_vec_dot(type, n, ptr, act, out, generic);
      dots.push(heap.f32[out / 4]!);
    }
  }
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-3 * Math.abs(b) + 1e-3;
  return close(dots[1]!, dots[0]!) && close(dots[3]!, dots[2]!);
}

/** The best variant that compiled and passes selfTest (scalar needs no test). */
export function selectIsa(modules: KernelModules, prefer?: WasmIsa): WasmIsa {
  const order = prefer !== undefined ? [prefer] : ISAS_BEST_FIRST;
  for (const isa of order) {
    const m = modules[isa];
    if (m !== undefined && (isa === 'scalar' || selfTest(m))) return isa;
  }
  throw new EngineError('bad_argument', prefer !== undefined ? `the ${prefer} WASM kernels do not run here (not compiled, or they compute wrong results)` : 'no WASM kernel variant compiled here');
}

export interface WasmRuntimeOptions {
  readonly modules: KernelModules;
  /** Workers; without one the runtime computes on the caller's thread. */
  readonly platform?: WasmPlatform;
  /** Worker count; default platform.hardwareConcurrency. */
  readonly threads?: number;
  /** Force a variant (tests); default: the best that works. */
  readonly isa?: WasmIsa;
  /** Iterations a waiting thread spins before it sleeps; default DEFAULT_SPIN, 0 when threads exceed cores. */
  readonly spin?: number;
}

/**
 * ~50-100 us. A sleeping thread costs a futex wake-up per barrier (decode runs ~200 barriers per token): measured on
 * 16 cores, decode went from 72 (no spin) to 387 tokens/s. Spinning loses only when threads outnumber cores.
 */
export const DEFAULT_SPIN = 1 << 16;

/** Atomics.waitAsync (ES2024; not in this project's lib): the caller's thread (a page's main thread) may not block. */
type WaitAsync = (a: Int32Array, i: number, v: number) => { async: false; value: string } | { async: true; value: Promise<string> };

export class WasmRuntime {
  private workers: KernelWorkerHandle[] = [];
  private ctl = 0;
  private busy: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly isa: WasmIsa,
    readonly memory: WebAssembly.Memory,
    readonly kernels: KernelExports,
    readonly heap: WasmHeap,
    readonly threads: number,
  ) {}

  static async create(o: WasmRuntimeOptions): Promise<WasmRuntime> {
    const isa = selectIsa(o.modules, o.isa);
    const module = o.modules[isa]!;
    const memory = newSharedMemory();
    // The caller's instance first: it runs the data-segment initialisation before any worker exists.
    const kernels = kernelExports(new WebAssembly.Instance(module, { env: { memory } }));
    const heap = new WasmHeap(memory, kernels.__heap_base.value as number);
    const threads = o.platform === undefined ? 0 : Math.max(1, Math.floor(o.threads ?? o.platform.hardwareConcurrency));
    const rt = new WasmRuntime(isa, memory, kernels, heap, threads);
    if (o.platform !== undefined) await rt.startWorkers(module, o.platform, o.spin ?? (threads <= o.platform.hardwareConcurrency ? DEFAULT_SPIN : 0));
    return rt;
  }

  private async startWorkers(module: WebAssembly.Module, platform: WasmPlatform, spin: number): Promise<void> {
    const n = this.threads;
    this.ctl = this.heap.alloc(ctlBytes(n));
    this.heap.u8.fill(0, this.ctl, this.ctl + ctlBytes(n));
    const c = this.ctl / 4;
    this.heap.i32[c + Ctl.N_THREADS] = n;
    this.heap.i32[c + Ctl.SPIN] = spin;
    const apis: Remote<KernelWorkerApi>[] = [];
    for (let i = 0; i < n; i++) {
      const h = platform.createWorker();
      this.workers.push(h);
      apis.push(wrap<KernelWorkerApi>(h.endpoint));
    }
    await Promise.all(
      apis.map(async (api, i) => {
        const stack = this.heap.alloc(STACK_BYTES, 16);
        await api.init(module, this.memory, stack + STACK_BYTES);
        await api.start(this.ctl, i);
      }),
    );
  }

  /** Runs a program (n_ops we_op records at `ops`); resolves to the first non-zero status and its op, or 0. */
  run(ops: number, nOps: number): Promise<{ status: number; op: number }> {
    const next = this.busy.then(() => this.runNow(ops, nOps));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async runNow(ops: number, nOps: number): Promise<{ status: number; op: number }> {
    if (this.disposed) throw new EngineError('bad_argument', 'the WASM runtime was disposed');
    if (this.threads === 0) {
      const status = this.kernels.we_run_program(ops, nOps);
      return { status, op: 0 };
    }
    const i32 = this.heap.i32;
    const c = this.ctl / 4;
    i32[c + Ctl.OPS] = ops;
    i32[c + Ctl.N_OPS] = nOps;
    i32[c + Ctl.STATUS] = 0;
    i32[c + Ctl.STATUS_OP] = 0;
    i32[c + Ctl.PC_OP] = 0;
    i32[c + Ctl.PC_PHASE] = -1;
    const seq = (Atomics.load(i32, c + Ctl.RUN_SEQ) + 1) | 0;
    Atomics.store(i32, c + Ctl.RUN_SEQ, seq);
    Atomics.notify(i32, c + Ctl.RUN_SEQ);
    const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
    for (;;) {
      const done = Atomics.load(i32, c + Ctl.DONE_SEQ);
      if (done === seq) break;
      if (Atomics.load(i32, c + Ctl.ABORT) !== 0) throw new Error('a WASM kernel worker trapped; the runtime cannot run further (see the worker error)');
      if (waitAsync !== undefined) {
        const r = waitAsync(i32, c + Ctl.DONE_SEQ, done);
        if (r.async) await r.value;
      } else {
        await new Promise((res) => setTimeout(res, 0));
      }
    }
    return { status: Atomics.load(i32, c + Ctl.STATUS), op: Atomics.load(i32, c + Ctl.STATUS_OP) };
  }

  /** Stops the workers (they leave we_worker_main) and terminates them. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.busy;
    this.disposed = true;
    if (this.threads > 0) {
      const i32 = this.heap.i32;
      const c = this.ctl / 4;
      Atomics.store(i32, c + Ctl.QUIT, 1);
      Atomics.add(i32, c + Ctl.RUN_SEQ, 1);
      Atomics.notify(i32, c + Ctl.RUN_SEQ);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
