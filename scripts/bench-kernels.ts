// Kernel benchmark (issue 4): GB/s of the WebGPU matvec (decode) per (type, shape) over weights streamed from
// device memory, against the device's measured copy bandwidth (copyBufferToBuffer, read + write bytes) and read
// bandwidth (a plain vec4 read kernel); plus tiled mul_mat (prefill) TFLOP/s. Node + Dawn (`webgpu` package),
// GPU time from timestamp queries when the device has them. JSON + printed table. Matvec paths: f32 (weights
// unpacked to f32, every type) and q8 (activation quantized to int8 once, dot4I8Packed; Q4_0, Q8_0, Q4_K).
//   npx tsx scripts/bench-kernels.ts [--smoke] [--json FILE] [--types q4_k,q4_0] [--shapes ffn,lm_head] [--paths f32,q8]
//   [--wg N] [--rows N] [--stage --cpt N] [--sweep (with --stage: the staged variant too)] [--no-prefill]
//   [--no-baseline] [--no-subgroups] [--shaders DIR (or KTWEB_SHADERS; default ../shaders next to the script, or ./shaders)]
// On a machine without a GPU it re-runs itself on Chromium's SwiftShader when that exists (--smoke sizes).
// Bundled for the lent GPU machine by scripts/gpu-bundle-app.mjs, which copies shaders/ next to the bundle.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { create } from 'webgpu';
import { requestGpuContext, type GpuContext } from '../src/backends/webgpu/device.ts';
import { grid1d, prepareSteps, encodeSteps } from '../src/backends/webgpu/dispatch.ts';
import { WebGpuExecutor } from '../src/backends/webgpu/executor.ts';
import { PipelineCache } from '../src/backends/webgpu/pipeline-cache.ts';
import { Params } from '../src/backends/webgpu/uniforms.ts';
import { shaderLibrary, type ShaderLibrary } from '../src/backends/webgpu/wgsl-pre.ts';
import { GGMLType, ggmlTypeName, parseGGMLType } from '../src/core/ggml-type.ts';
import type { WeightData } from '../src/graph/executor.ts';
import { GraphBuilder, type Graph } from '../src/graph/graph.ts';
import { QUANT_TRAITS, quantize, rowBytes } from '../src/quant/registry.ts';

const { values: opt } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    json: { type: 'string' },
    types: { type: 'string' },
    wg: { type: 'string' },
    rows: { type: 'string' },
    cpt: { type: 'string' },
    stage: { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
    'no-subgroups': { type: 'boolean', default: false },
    'no-prefill': { type: 'boolean', default: false },
    shapes: { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
    'shared-device': { type: 'boolean', default: false },
    paths: { type: 'string', default: 'f32,q8' },
    // chained: every product writes the same buffer (a barrier between calls, as a dependent decode chain);
    // independent: each its own output, so consecutive calls may overlap their ramp-up and drain.
    modes: { type: 'string', default: 'chained,independent' },
    shaders: { type: 'string' },
  },
});
const PATHS = opt.paths.split(',') as ('f32' | 'q8')[];
const MODES = opt.modes.split(',') as ('chained' | 'independent')[];
/** Weight types the q8 (int8 dot) path covers. */
const Q8_TYPES: readonly GGMLType[] = [GGMLType.Q4_K, GGMLType.Q4_0, GGMLType.Q8_0];

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const MiB = 2 ** 20;

// (name, k, m): ggml order, k = row length. DeepSeek-V2-Lite (n_embd 2048, 16 heads): routed experts 2048x1408
// (gate/up) and 1408x2048 (down), dense FFN 2048x10944, MLA projections q_proj 2048 x 16*192, kv_a_proj_with_mqa
// 2048 x 512+64, kv_b 512 x 16*256, o_proj 16*128 x 2048; lm_head 2048 x 102400; Llama/Mixtral FFN 4096x14336.
const SHAPES: readonly [string, number, number][] = opt.smoke
  ? [['smoke 256x512', 256, 512], ['smoke 512x384', 512, 384]]
  : [
      ['ds2-lite expert gate/up', 2048, 1408],
      ['ds2-lite expert down', 1408, 2048],
      ['ds2-lite dense gate/up', 2048, 10944],
      ['ds2-lite q_proj', 2048, 16 * 192],
      ['ds2-lite kv_a_mqa', 2048, 576],
      ['ds2-lite kv_b', 512, 16 * 256],
      ['ds2-lite o_proj', 2048, 2048],
      ['ds2-lite lm_head', 2048, 102400],
      ['llama/mixtral ffn', 4096, 14336],
    ];
const SHAPE_FILTER = opt.shapes?.split(',');
const TYPES = (opt.types ?? 'q4_k,q4_0,q8_0,f16,f32').split(',').map((t) => {
  const v = parseGGMLType(t.trim());
  if (v === undefined || !QUANT_TRAITS.has(v)) throw new Error(`unknown type ${t}`);
  return v;
});
// Weights are cycled over copies totalling at least this much, so each read comes from device memory, not L2.
const STREAM_BYTES = opt.smoke ? 0 : 1024 * MiB;
const TARGET_NS = opt.smoke ? 2e6 : 50e6;

interface Row {
  op: string;
  shape: string;
  type: string;
  k: number;
  m: number;
  n: number;
  weightBytes: number;
  copies: number;
  reps: number;
  usPerCall: number;
  gbps: number;
  tflops: number;
  fracCopy: number;
  fracRead: number;
  path: 'f32' | 'q8';
  mode: 'chained' | 'independent';
  tuning: { wg?: number; rows?: number; cpt?: number; stage?: boolean; q8?: boolean };
  maxRelErr: number;
}

/** shaders/: --shaders, KTWEB_SHADERS, next to the script (source tree or bundle folder), or the working folder. */
function shaderDir(): string {
  const given = opt.shaders ?? process.env['KTWEB_SHADERS'];
  const candidates = given !== undefined ? [given] : [new URL('../shaders/', import.meta.url).pathname, join(process.cwd(), 'shaders')];
  const dir = candidates.find((d) => existsSync(join(d, 'mul_mat_vec.wgsl')));
  if (dir === undefined) throw new Error(`no shaders/ found (looked in ${candidates.join(', ')}); pass --shaders DIR or set KTWEB_SHADERS`);
  return dir;
}

function loadShaders(root: string): ShaderLibrary {
  const out: [string, string][] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.wgsl')) out.push([relative(root, p), readFileSync(p, 'utf8')]);
    }
  };
  walk(root);
  return shaderLibrary(out);
}

function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 0.8;
  return a;
}

/** m rows of `type`: 16 quantized random rows tiled (the reference quantizers are too slow for 100M elements). */
function weightBytes(type: GGMLType, k: number, m: number): Uint8Array {
  const rb = rowBytes(type, k);
  const tile = quantize(type, randn(k * 16));
  const out = new Uint8Array(rb * m);
  for (let r = 0; r < m; r += 16) out.set(tile.subarray(0, Math.min(16, m - r) * rb), r * rb);
  return out;
}

async function timeNs(ex: WebGpuExecutor, g: Graph, inputs: { tokens: Int32Array; positions: Int32Array }, reps: number, outputs: readonly number[]): Promise<number> {
  const t0 = performance.now();
  const ns = await ex.profile(g, inputs, reps, outputs);
  return ns ?? (performance.now() - t0) * 1e6;
}

async function benchMatmul(lib: ShaderLibrary, type: GGMLType, shape: string, k: number, m: number, n: number, tuning: Row['tuning'], copyGBps: number, readGBps: number, mode: Row['mode'] = 'chained'): Promise<Row> {
  const bytes = weightBytes(type, k, m);
  const copies = Math.max(1, Math.min(Math.ceil(STREAM_BYTES / bytes.length), Math.floor((4096 * MiB) / bytes.length)));
  const weights = new Map<string, WeightData>();
  for (let i = 0; i < copies; i++) weights.set(`w${i}`, { type, dims: [k, m], bytes });
  const x = randn(k * n);
  weights.set('x', { type: GGMLType.F32, dims: [k, n], bytes: new Uint8Array(x.buffer) });
  const b = new GraphBuilder(n, (name) => weights.get(name)?.dims);
  const xs = b.weight('x');
  const outs: number[] = [];
  for (let i = 0; i < copies; i++) outs.push(b.mulMat(b.weight(`w${i}`), xs));
  const g = b.build(outs[outs.length - 1]!);
  const timed = mode === 'independent' ? outs : [g.output];
  // A fresh device per measurement: on the H100 (Dawn/Vulkan) kernels ran up to 4x slower after earlier
  // measurements' buffers had been created and destroyed on the same device.
  const gpu = opt['shared-device'] ? shared! : await freshContext();
  const ex = new WebGpuExecutor(gpu, (name) => weights.get(name)!, { nCtx: 16, shaders: lib, matvec: tuning, noSubgroups: opt['no-subgroups'] });
  const inputs = { tokens: new Int32Array(n), positions: new Int32Array(n) };
  try {
    // Correctness first: a few outputs against the host dequantization (a broken kernel must not look fast).
    const y = await ex.run(g, inputs);
    const wf = new Float32Array(k * 8);
    QUANT_TRAITS.get(type)!.dequantizeRow(bytes.subarray(0, rowBytes(type, k) * 8), wf, k * 8);
    let maxRelErr = 0;
    for (let r = 0; r < 8; r++) {
      let ref = 0;
      let mag = 0;
      for (let i = 0; i < k; i++) {
        ref += wf[r * k + i]! * x[i]!;
        mag += Math.abs(wf[r * k + i]! * x[i]!);
      }
      maxRelErr = Math.max(maxRelErr, Math.abs(y[r]! - ref) / Math.max(mag, 1e-30));
    }
    const one = await timeNs(ex, g, inputs, 1, timed);
    const reps = Math.max(1, Math.min(500, Math.ceil(TARGET_NS / one)));
    const ns = await timeNs(ex, g, inputs, reps, timed);
    const perCall = ns / (reps * copies);
    const gbps = bytes.length / perCall;
    return { op: n === 1 ? 'mul_mat_vec' : 'mul_mat', path: tuning.q8 === true && n <= 4 ? 'q8' : 'f32', mode, shape, type: ggmlTypeName(type).toLowerCase(), k, m, n, weightBytes: bytes.length, copies, reps, usPerCall: perCall / 1e3, gbps, tflops: (2 * k * m * n) / perCall / 1e3, fracCopy: gbps / copyGBps, fracRead: gbps / readGBps, tuning, maxRelErr };
  } finally {
    ex.destroy();
    if (!opt['shared-device']) gpu.device.destroy();
  }
}

async function copyBandwidth(gpu: GpuContext): Promise<number> {
  const size = Math.min(opt.smoke ? 64 * MiB : 1024 * MiB, gpu.caps.maxBufferBytes);
  const d = gpu.device;
  const a = d.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const b = d.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const run = async (reps: number): Promise<number> => {
    const enc = d.createCommandEncoder();
    for (let i = 0; i < reps; i++) enc.copyBufferToBuffer(i % 2 === 0 ? a : b, 0, i % 2 === 0 ? b : a, 0, size);
    const t0 = performance.now();
    d.queue.submit([enc.finish()]);
    await d.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await run(2);
  const reps = opt.smoke ? 4 : 40;
  const ms = await run(reps);
  a.destroy();
  b.destroy();
  return (2 * size * reps) / (ms * 1e6);
}

/** GB/s of a lab kernel over `size` bytes: 'read' sums the buffer, 'copy' copies it (read + write bytes). */
async function probeBandwidth(gpu: GpuContext, lib: ShaderLibrary, kind: 'read' | 'copy'): Promise<number> {
  const size = Math.min(opt.smoke ? 64 * MiB : 1024 * MiB, gpu.caps.maxBindingBytes);
  const d = gpu.device;
  const threads = Math.min(size / 16, 1 << 20);
  const x = d.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
  const o = d.createBuffer({ size: kind === 'copy' ? size : threads * 4, usage: GPUBufferUsage.STORAGE });
  const cache = new PipelineCache(d, lib);
  const { steps } = await prepareSteps(d, cache, [{ kernel: { variant: `bench_${kind}_f32`, shader: `lab/bench_${kind}.wgsl`, layout: 'rwu' }, buffers: [x, o], params: new Params().u(size / 16).u(threads), grid: grid1d(threads, 256, gpu.caps.maxWorkgroupsPerDim) }], gpu.caps.minUniformOffsetAlign, `bench_${kind}`);
  const run = async (reps: number): Promise<number> => {
    const qs = gpu.caps.timestampQuery ? d.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass(qs !== undefined ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    for (let i = 0; i < reps; i++) encodeSteps(pass, steps);
    pass.end();
    const rb = d.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const res = d.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    if (qs !== undefined) {
      enc.resolveQuerySet(qs, 0, 2, res, 0);
      enc.copyBufferToBuffer(res, 0, rb, 0, 16);
    }
    const t0 = performance.now();
    d.queue.submit([enc.finish()]);
    await d.queue.onSubmittedWorkDone();
    const wall = (performance.now() - t0) * 1e6;
    if (qs === undefined) return wall;
    await rb.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(rb.getMappedRange().slice(0));
    rb.unmap();
    return Number(t[1]! - t[0]!);
  };
  await run(1);
  const reps = opt.smoke ? 3 : 30;
  const ns = await run(reps);
  x.destroy();
  o.destroy();
  return ((kind === 'copy' ? 2 : 1) * size * reps) / ns;
}

// Dawn's instance lives as long as this object: keep it for the whole run.
let gpuApi: GPU | undefined;
let shared: GpuContext | undefined;

/** A new device (an adapter creates only one). */
async function freshContext(): Promise<GpuContext> {
  const a = await gpuApi!.requestAdapter({ powerPreference: 'high-performance' });
  if (a === null) throw new Error('the WebGPU adapter went away');
  return requestGpuContext(a, { timestamps: true, noSubgroups: opt['no-subgroups'] });
}

async function main(): Promise<void> {
  gpuApi = create([]);
  const adapter = await gpuApi.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    if (process.env['VK_ICD_FILENAMES'] === undefined && existsSync(SWIFTSHADER) && process.env['KTWEB_BENCH_REEXEC'] === undefined) {
      console.error('no GPU adapter: re-running on Chromium SwiftShader (software, correctness only)');
      const env = { ...process.env, KTWEB_BENCH_REEXEC: '1', VK_ICD_FILENAMES: SWIFTSHADER, LD_LIBRARY_PATH: `/usr/lib/chromium${process.env['LD_LIBRARY_PATH'] !== undefined ? `:${process.env['LD_LIBRARY_PATH']}` : ''}` };
      const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
      process.exit(r.status ?? 1);
    }
    throw new Error('no WebGPU adapter (Dawn found no Vulkan/Metal/D3D device)');
  }
  Object.assign(globalThis, (await import('webgpu')).globals);
  const gpu = await requestGpuContext(adapter, { timestamps: true, noSubgroups: opt['no-subgroups'] });
  shared = gpu;
  const lib = loadShaders(shaderDir());
  const caps = gpu.caps;
  console.log(`device: ${caps.description} | subgroups ${caps.subgroups ? `${caps.subgroupMinSize}-${caps.subgroupMaxSize}` : 'off'} | shader-f16 ${caps.shaderF16} | timestamps ${caps.timestampQuery} | max binding ${(caps.maxBindingBytes / MiB).toFixed(0)} MiB`);
  const base = !opt['no-baseline'];
  const copyEngineGBps = base ? await copyBandwidth(gpu) : NaN;
  const copyKernelGBps = base ? await probeBandwidth(gpu, lib, 'copy') : NaN;
  const readGBps = base ? await probeBandwidth(gpu, lib, 'read') : NaN;
  // The copy baseline is the faster of the two buffer copies (Dawn's copyBufferToBuffer can trail a plain kernel).
  const copyGBps = Math.max(copyEngineGBps, copyKernelGBps);
  console.log(`copy, read+write bytes: copyBufferToBuffer ${copyEngineGBps.toFixed(1)} GB/s, vec4 copy kernel ${copyKernelGBps.toFixed(1)} GB/s | read (vec4 kernel): ${readGBps.toFixed(1)} GB/s`);
  const tuning: Row['tuning'] = { ...(opt.wg !== undefined ? { wg: Number(opt.wg) } : {}), ...(opt.rows !== undefined ? { rows: Number(opt.rows) } : {}), ...(opt.cpt !== undefined ? { cpt: Number(opt.cpt) } : {}), ...(opt.stage ? { stage: true } : {}) };
  const rows: Row[] = [];
  const print = (r: Row): void => {
    console.log(
      `${r.op.padEnd(12)} ${r.path.padEnd(3)} ${r.mode.slice(0, 5)} ${r.type.padEnd(5)} ${r.shape.padEnd(26)} ${`${r.k}x${r.m}${r.n > 1 ? `x${r.n}` : ''}`.padStart(16)} ${(r.weightBytes / MiB).toFixed(1).padStart(8)} MiB ${r.usPerCall.toFixed(1).padStart(9)} us ${r.gbps.toFixed(1).padStart(8)} GB/s ${(100 * r.fracCopy).toFixed(0).padStart(4)}% copy ${(100 * r.fracRead).toFixed(0).padStart(4)}% read ${r.n > 1 ? `${r.tflops.toFixed(2)} TFLOP/s` : ''} ${r.tuning.wg !== undefined ? `${r.tuning.stage === true ? 'staged ' : ''}wg${r.tuning.wg} r${r.tuning.rows} c${r.tuning.cpt}` : ''} err ${r.maxRelErr.toExponential(0)}`,
    );
  };
  for (const [shape, k, m] of SHAPES.filter(([s]) => SHAPE_FILTER === undefined || SHAPE_FILTER.some((f) => s.includes(f)))) {
    for (const type of TYPES) {
      if (k % QUANT_TRAITS.get(type)!.blockSize !== 0) continue;
      for (const path of PATHS) {
        if (path === 'q8' && !Q8_TYPES.includes(type)) continue;
        for (const mode of MODES) {
          const r = await benchMatmul(lib, type, shape, k, m, 1, { ...tuning, ...(path === 'q8' ? { q8: true } : {}) }, copyGBps, readGBps, mode);
          rows.push(r);
          print(r);
        }
      }
    }
  }
  if (opt.sweep) {
    const [shape, k, m] = SHAPES[SHAPES.length - 1]!;
    for (const type of TYPES.filter((t) => Q8_TYPES.includes(t))) {
      for (const path of PATHS) {
        for (const stage of opt.stage && path === 'f32' ? [false, true] : [false]) {
          for (const wg of stage ? [32, 64, 128, 256] : [32, 64, 128]) {
            for (const nr of stage ? [1, 2, 4] : [2, 4, 8]) {
              for (const cpt of stage ? [1, 2] : [1]) {
                const r = await benchMatmul(lib, type, `${shape} sweep`, k, m, 1, { wg, rows: nr, cpt, stage, ...(path === 'q8' ? { q8: true } : {}) }, copyGBps, readGBps, MODES[0]);
                rows.push(r);
                print(r);
              }
            }
          }
        }
      }
    }
  }
  if (!opt['no-prefill']) {
    const [shape, k, m] = opt.smoke ? SHAPES[0]! : SHAPES[SHAPES.length - 1]!;
    for (const type of TYPES) {
      const r = await benchMatmul(lib, type, shape, k, m, opt.smoke ? 17 : 128, {}, copyGBps, readGBps);
      rows.push(r);
      print(r);
    }
  }
  const info = adapter.info as unknown as Record<string, unknown>;
  const adapterInfo = Object.fromEntries(['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter'].map((k2) => [k2, info[k2]]));
  const result = { date: new Date().toISOString(), device: caps.description, adapterInfo, features: [...adapter.features].sort(), wgslLanguageFeatures: [...(gpuApi.wgslLanguageFeatures ?? [])].sort(), caps, copyGBps, copyEngineGBps, copyKernelGBps, readGBps, copyCounts: 'read+write bytes per second; copyGBps = max(copyBufferToBuffer, vec4 copy kernel)', rows };
  if (opt.json !== undefined) {
    writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${opt.json}`);
  }
  gpu.device.destroy();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
