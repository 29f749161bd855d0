// Node face of the WASM backend (CLI, tests, benchmarks): reads the kernels `npm run build:wasm` built into
// wasm/out, enables relaxed SIMD on Node 20 (both flags, DESIGN.md §6: Liftoff computes the relaxed dot wrongly)
// and creates worker_threads running src/workers/wasm-kernel.node.ts through tsx, which works whether the main
// thread runs under bin/ktweb.mjs (tsx's loader), vitest or plain tsx.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { WasmIsa } from '../backends/wasm/abi.ts';
import { nodeStyleEndpoint } from '../backends/wasm/node-endpoint.ts';
import { compileKernels, WasmRuntime, type KernelModules, type WasmPlatform } from '../backends/wasm/runtime.ts';
import { ShardedWasmExecutor } from '../backends/wasm/sharded.ts';
import { EngineError } from '../core/errors.ts';
import type { DeviceExecutor, DeviceExecutorOptions } from '../runtime/engine-executor.ts';

const ISAS: readonly WasmIsa[] = ['scalar', 'simd128', 'relaxed'];

/** Where the built kernels are: KTWEB_WASM_OUT (prebuilt, e.g. a machine without the toolchain) or wasm/out. */
export function kernelDir(): string {
  const env = process.env['KTWEB_WASM_OUT'];
  return env !== undefined ? env : fileURLToPath(new URL('../../wasm/out/', import.meta.url));
}

let modules: Promise<KernelModules> | undefined;

/** The kernel variants this Node can run, compiled once per process. */
export function nodeKernels(): Promise<KernelModules> {
  modules ??= (async () => {
    if (Number(process.versions.node.split('.')[0]) < 22) {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      setFlagsFromString('--no-liftoff');
    }
    const dir = kernelDir();
    const bins: Partial<Record<WasmIsa, Uint8Array<ArrayBuffer>>> = {};
    for (const isa of ISAS) {
      try {
        bins[isa] = new Uint8Array(await readFile(`${dir}/kernels-${isa}.wasm`));
      } catch {
        throw new EngineError('io', `the WASM kernels are not built (${dir}/kernels-${isa}.wasm is missing); run \`npm run build:wasm\` in the ktweb checkout`, { file: `${dir}/kernels-${isa}.wasm` });
      }
    }
    return compileKernels(bins);
  })();
  modules.catch(() => (modules = undefined)); // a later call after building retries
  return modules;
}

/**
 * Physical cores (one per core, not per hyperthread): decode is bound by memory bandwidth and spinning threads, so
 * a sibling thread only competes for the same core. Linux: distinct (physical id, core id) pairs; else all CPUs.
 */
export function physicalCores(): number {
  try {
    const ids = new Set<string>();
    let phys = '';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [k, v] = line.split(':').map((s) => s.trim());
      if (k === 'physical id') phys = v ?? '';
      else if (k === 'core id') ids.add(`${phys}/${v ?? ''}`);
    }
    if (ids.size > 0) return Math.min(ids.size, availableParallelism());
  } catch {
    // not Linux
  }
  return availableParallelism();
}

const WORKER = new URL('../workers/wasm-kernel.node.ts', import.meta.url);

export function nodePlatform(): WasmPlatform {
  // KTWEB_WASM_WORKER: a prebuilt (bundled) worker script, for machines without the dev dependencies
  const bundled = process.env['KTWEB_WASM_WORKER'];
  // an absolute URL: an eval'd worker resolves bare specifiers from the current directory, not from ktweb
  // (the ESM entry: require.resolve would give the CJS one, which cannot register the loader inside a worker)
  // (resolved only without a bundled worker: a bundled CLI runs where tsx is not installed)
  const boot = (): string => `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER.href)}); })`;
  return {
    hardwareConcurrency: physicalCores(),
    createWorker() {
      const w = bundled !== undefined ? new Worker(bundled) : new Worker(boot(), { eval: true });
      return { endpoint: nodeStyleEndpoint(w), terminate: () => w.terminate() };
    },
  };
}

export interface NodeWasmOptions {
  /** Worker threads (`--cpu-threads`); default: physical cores. 0 computes on the calling thread. */
  readonly threads?: number;
  /** Force a kernel variant; default: the best this Node runs correctly. */
  readonly isa?: WasmIsa;
  readonly spin?: number;
}

/** A WASM runtime (one memory and its worker pool) for WasmExecutor or as one shard of ShardedWasmExecutor. */
export async function createNodeWasmRuntime(o: NodeWasmOptions = {}): Promise<WasmRuntime> {
  const threads = o.threads ?? physicalCores();
  if (!Number.isInteger(threads) || threads < 0) throw new EngineError('bad_argument', `--cpu-threads must be a non-negative integer, got ${threads}`);
  return WasmRuntime.create({
    modules: await nodeKernels(),
    ...(threads > 0 ? { platform: nodePlatform(), threads } : {}),
    ...(o.isa !== undefined ? { isa: o.isa } : {}),
    ...(o.spin !== undefined ? { spin: o.spin } : {}),
  });
}

/** The CPU device of the Node face: the WASM kernels over as many memories as the weights need. */
export async function nodeCpuExecutor(o: DeviceExecutorOptions): Promise<DeviceExecutor> {
  const threads = o.cpuThreads;
  return ShardedWasmExecutor.create({ nCtx: o.nCtx, weights: o.weights, createRuntime: () => createNodeWasmRuntime({ threads }) });
}
