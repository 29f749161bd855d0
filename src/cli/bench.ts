// `ktweb bench`: prefill and decode tokens/s of a GGUF under several placements (hybrid = the model's own rules,
// all-gpu, all-cpu, or rule files) and CPU thread counts, with a per-step breakdown of decode (GPU busy, CPU busy,
// both at once, time outside both = hand-offs and JS; on the GPU side, recording vs waiting), the CPU-side roofline (measured DRAM GB/s ÷ the weight bytes
// the CPU reads per token: the routed experts in hybrid) and what fraction of it decode reaches; with --kernels the
// per-kernel GB/s of a decode step on the model's own weights (LocalEngine.kernelBench). Tables; --out writes JSON.
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import type { Command } from 'commander';
import type { KernelStat } from '../api/types.ts';
import { EngineError } from '../core/errors.ts';
import { mulberry32 } from '../core/random.ts';
import { WebGpuExecutor, type GpuRunCounters } from '../backends/webgpu/executor.ts';
import { HybridExecutor } from '../runtime/hybrid-executor.ts';
import { cpuBytesPerToken } from '../runtime/cpu-bytes.ts';
import { nodeDevices } from '../runtime/placement-devices.ts';
import { argmax } from '../runtime/sampler.ts';
import { measureDramGBps } from './dram-probe.ts';
import { addEngineOptions, intArg, loadEngine, type EngineCliOptions } from './engine-options.ts';
import { physicalCores } from './node-wasm.ts';
import { peakRssBytes, resetPeakRss } from './peak-memory.ts';
import { formatBytes, table } from './format.ts';

interface BenchOptions extends EngineCliOptions {
  placements: string;
  promptLengths: string;
  genTokens: string;
  repetitions: string;
  out?: string;
  dram: boolean;
  seed: string;
  kernels: boolean;
  kernelMs: string;
}

export interface StepBreakdown {
  /** Mean per decode step, ms. */
  readonly wallMs: number;
  readonly gpuBusyMs: number;
  readonly cpuBusyMs: number;
  readonly overlapMs: number;
  /** Neither device running a segment: hand-off copies, scheduling, JS. */
  readonly outsideMs: number;
  readonly segments: number;
  /** Values handed between GPU segments on the GPU (not read back) per step. */
  readonly keptOnDevice: number;
  /** GPU side, host clock: command buffers per step, dispatches, time writing inputs and recording them (JS and
   * Dawn), and time from submit until the read-back was mapped (GPU execution plus the map's completion). */
  readonly gpuRuns?: number;
  readonly gpuDispatches?: number;
  readonly gpuEncodeMs?: number;
  readonly gpuWaitMs?: number;
  /** GPU execution of those command buffers from timestamp queries (where the device has them). */
  readonly gpuExecMs?: number;
}

export interface BenchRow {
  readonly placement: string;
  readonly rules: string;
  readonly backend: string;
  /** CPU worker threads of this load (--cpu-threads); 0 when the placement has no CPU side. */
  readonly cpuThreads: number;
  readonly loadMs: number;
  /** Host memory: the process's peak resident bytes from this placement's load to its last run (Linux; valid for
   * the first placement of a process, later ones may include what earlier engines left to the garbage collector),
   * against what the plan predicted for the CPU side (weights, KV cache, scratch) and the GPU. */
  readonly memory: { readonly peakRssBytes?: number; readonly plannedCpuBytes: number; readonly plannedGpuBytes: number; readonly peakOverPlannedCpu?: number };
  readonly promptTokens: number;
  readonly prefillTokensPerS: number;
  readonly decodeTokens: number;
  readonly decodeTokensPerS: number;
  readonly step: StepBreakdown;
  /** Weight bytes the CPU reads per decode token. */
  readonly cpuBytesPerToken: number;
  /** Decode tokens/s the CPU side could reach at DRAM speed (when it reads more than 1 MiB per token). */
  readonly cpuRooflineTokensPerS?: number;
  readonly fractionOfRoofline?: number;
}

/** --kernels: one placement's kernel table (LocalEngine.kernelBench after its token runs, same loaded engine). */
export interface KernelRun {
  readonly placement: string;
  readonly rules: string;
  readonly backend: string;
  /** 0 when the placement has no CPU side. */
  readonly cpuThreads: number;
  readonly kernels: readonly KernelStat[];
  /** Why timing the kernels failed (then `kernels` is empty; the placement's token rows stand). */
  readonly error?: string;
}

function memoryAgainstPlan(peak: number | undefined, cpu: number, gpu: number): BenchRow['memory'] {
  return { ...(peak !== undefined ? { peakRssBytes: peak } : {}), plannedCpuBytes: cpu, plannedGpuBytes: gpu, ...(peak !== undefined && cpu > 0 ? { peakOverPlannedCpu: Math.round((peak / cpu) * 1000) / 1000 } : {}) };
}

const PLACEMENTS: Record<string, string | undefined> = { hybrid: undefined, 'all-gpu': 'all-gpu.yaml', 'all-cpu': 'all-cpu.yaml' };

interface PlacementResult {
  readonly rows: BenchRow[];
  readonly kernels?: KernelRun;
  /** The placement loaded a CPU side (other thread counts would measure something else). */
  readonly usesCpu: boolean;
}

async function benchPlacement(o: BenchOptions, placement: string, threads: number | undefined, lengths: number[], gen: number, reps: number, dramGBps: number | undefined): Promise<PlacementResult> {
  const rules = placement in PLACEMENTS ? PLACEMENTS[placement] : placement;
  const nCtx = Math.max(...lengths) + gen + 8;
  const peakReset = resetPeakRss();
  const t0 = performance.now();
  const { engine, info } = await loadEngine({ ...o, ...(rules !== undefined ? { rules } : {}), ...(threads !== undefined ? { cpuThreads: String(threads) } : {}), ctx: String(Math.max(nCtx, intArg('ctx', o.ctx, 8))) }, true);
  const loadMs = performance.now() - t0;
  try {
    const { session, executor, plan, model } = engine.runtime;
    const decodeGraph = model.build({ nTokens: 1, allLogits: false });
    const where = nodeDevices(plan);
    const cpuBytes = cpuBytesPerToken(decodeGraph, (n) => where(n, 1) === 'cpu', (n) => plan.tensorBytes.get(n) ?? 0);
    const hybrid = executor.exec instanceof HybridExecutor ? executor.exec : undefined;
    const rand = mulberry32(intArg('seed', o.seed, 0));
    const rows: BenchRow[] = [];
    for (const len of lengths) {
      let best: BenchRow | undefined;
      for (let r = 0; r < reps; r++) {
        session.reset();
        const prompt = Array.from({ length: len }, () => 1 + Math.floor(rand() * (model.hp.nVocab - 1)));
        const p0 = performance.now();
        let next = (await session.evalTopK(prompt, { k: 1 }))?.ids[0] ?? argmax(await session.eval(prompt));
        const prefillMs = performance.now() - p0;
        const acc = { wallMs: 0, gpuBusyMs: 0, cpuBusyMs: 0, overlapMs: 0, outsideMs: 0, segments: 0, keptOnDevice: 0 };
        const gpuEx = hybrid?.executors.gpu ?? executor.exec;
        const counters = gpuEx instanceof WebGpuExecutor ? gpuEx.counters : undefined;
        const c0: GpuRunCounters | undefined = counters !== undefined ? { ...counters } : undefined;
        const d0 = performance.now();
        for (let i = 0; i < gen; i++) {
          const s0 = performance.now();
          next = (await session.evalTopK([next], { k: 1 }))?.ids[0] ?? argmax(await session.eval([next]));
          const wall = performance.now() - s0;
          acc.wallMs += wall;
          if (hybrid !== undefined) {
            const st = hybrid.stats;
            acc.gpuBusyMs += st.gpuMs;
            acc.cpuBusyMs += st.cpuMs;
            acc.overlapMs += st.overlapMs;
            acc.outsideMs += Math.max(0, wall - (st.gpuMs + st.cpuMs - st.overlapMs));
            acc.segments += st.segments;
            acc.keptOnDevice += st.keptOnDevice;
          } else {
            acc[executor.usesGpu ? 'gpuBusyMs' : 'cpuBusyMs'] += wall;
            acc.segments += 1;
          }
        }
        const decodeMs = performance.now() - d0;
        const mean = (v: number): number => Math.round((v / gen) * 1000) / 1000;
        const gpuSide = counters !== undefined && c0 !== undefined
          ? { gpuRuns: mean(counters.runs - c0.runs), gpuDispatches: mean(counters.dispatches - c0.dispatches), gpuEncodeMs: mean(counters.encodeMs - c0.encodeMs), gpuWaitMs: mean(counters.waitMs - c0.waitMs), ...(counters.timedRuns > c0.timedRuns ? { gpuExecMs: mean(counters.gpuMs - c0.gpuMs) } : {}) }
          : {};
        const decodeTps = gen / (decodeMs / 1e3);
        const roofline = dramGBps !== undefined && cpuBytes > 2 ** 20 ? (dramGBps * 1e9) / cpuBytes : undefined;
        const row: BenchRow = {
          placement,
          rules: info.rules,
          backend: info.backend,
          cpuThreads: executor.cpuThreads,
          loadMs: Math.round(loadMs),
          memory: memoryAgainstPlan(peakReset ? peakRssBytes() : undefined, plan.devices.cpu.total, plan.devices.gpu.total),
          promptTokens: len,
          prefillTokensPerS: round1(len / (prefillMs / 1e3)),
          decodeTokens: gen,
          decodeTokensPerS: round1(decodeTps),
          cpuBytesPerToken: Math.round(cpuBytes),
          step: { wallMs: mean(acc.wallMs), gpuBusyMs: mean(acc.gpuBusyMs), cpuBusyMs: mean(acc.cpuBusyMs), overlapMs: mean(acc.overlapMs), outsideMs: mean(acc.outsideMs), segments: Math.round(acc.segments / gen), keptOnDevice: Math.round(acc.keptOnDevice / gen), ...gpuSide },
          ...(roofline !== undefined ? { cpuRooflineTokensPerS: round1(roofline), fractionOfRoofline: Math.round((decodeTps / roofline) * 1000) / 1000 } : {}),
        };
        if (best === undefined || row.decodeTokensPerS > best.decodeTokensPerS) best = row;
      }
      rows.push(best!);
    }
    const run = { placement, rules: info.rules, backend: info.backend, cpuThreads: executor.cpuThreads };
    let kernels: KernelRun | undefined;
    if (o.kernels) {
      try {
        kernels = { ...run, kernels: await engine.kernelBench({ minMs: intArg('kernel-ms', o.kernelMs, 1) }) };
      } catch (e) {
        // e.g. no room left in a wasm memory for the kernel graphs: reported, the token rows stand
        if (!(e instanceof EngineError)) throw e;
        kernels = { ...run, kernels: [], error: e.oneLine() };
      }
    }
    return { rows, usesCpu: executor.usesCpu, ...(kernels !== undefined ? { kernels } : {}) };
  } finally {
    await engine.unload();
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;


function list(name: string, v: string): number[] {
  const out = v.split(',').map((s) => intArg(name, s.trim(), 1));
  if (out.length === 0) throw new EngineError('bad_argument', `--${name}: give a comma-separated list`);
  return out;
}

const fmt = (x: number | undefined): string => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));

/** The modules of a kernel kind, at most two named (the JSON has them all). */
function rolesText(roles: readonly string[]): string {
  const short = roles.map((r) => r.replace(/^model\./, ''));
  return short.length <= 2 ? short.join(', ') : `${short.slice(0, 2).join(', ')} +${short.length - 2} more`;
}

/** One placement's kernel table, then the per-run overhead of each device's executor. */
export function kernelTable(k: KernelRun): string {
  if (k.error !== undefined) return `kernels of a decode step, ${k.placement} (${k.backend}): timing them failed: ${k.error}\n`;
  const ks = k.kernels;
  const gpuTimes = ks.some((s) => s.gpuUsPerCall !== undefined);
  const head = ['op', 'modules', 'type', 'shape', 'device', 'calls/run', 'bytes/call', 'us/call', 'GB/s', ...(gpuTimes ? ['gpu us/call', 'gpu GB/s'] : [])];
  const rows = ks.map((s) => [
    s.op,
    rolesText(s.roles),
    s.type,
    `${s.shape.join('x')}${s.nUsed !== undefined ? ` top-${s.nUsed}` : ''}`,
    s.device,
    String(s.callsPerRun),
    formatBytes(s.bytesPerCall),
    fmt(s.usPerCall),
    fmt(s.gbPerS),
    ...(gpuTimes ? [fmt(s.gpuUsPerCall), fmt(s.gpuGbPerS)] : []),
  ]);
  const overhead = [...new Map(ks.map((s) => [s.device, `${s.device} ${fmt(s.runOverheadUs)} us (${s.backend})`])).values()].join('; ');
  return (
    `kernels of a decode step, ${k.placement} (${k.backend}):\n${table(head, rows)}\n` +
    `per-run overhead of a trivial graph: ${overhead}. us/call = median run ÷ calls per run, so it includes overhead ÷ calls/run ` +
    `(WebGPU: write inputs, submit, map the read-back; WASM: write inputs, start the pool, read outputs)${gpuTimes ? '; gpu us/call: the calls replayed in one compute pass, timestamp queries' : ''}\n`
  );
}

export function registerBench(program: Command): void {
  const cmd = addEngineOptions(program.command('bench').description('prefill/decode tokens/s per placement and thread count with a per-step breakdown, per-kernel GB/s (--kernels); JSON + tables'))
    .option('--placements <list>', 'comma-separated: hybrid (the model\'s rules), all-gpu, all-cpu, or rule files', 'hybrid,all-gpu,all-cpu')
    .option('--prompt-lengths <list>', 'prompt lengths in tokens (random ids)', '128,1024')
    .option('--gen-tokens <n>', 'decode steps per run', '32')
    .option('--repetitions <n>', 'runs per prompt length (the fastest counts)', '1')
    .option('--seed <n>', 'seed of the random prompt ids', '0')
    .option('--kernels', 'also time every weight-reading kernel of a decode step on the model\'s weights (GB/s per kernel)', false)
    .option('--kernel-ms <n>', 'with --kernels: time each kernel for at least this long (ms)', '200')
    .option('--no-dram', 'skip measuring DRAM bandwidth (no roofline)')
    .option('--out <file>', 'write the results as JSON');
  // bench takes a list: each placement with a CPU side is loaded once per thread count
  const threadsOpt = cmd.options.find((x) => x.long === '--cpu-threads');
  if (threadsOpt !== undefined) threadsOpt.description = 'CPU worker threads, a comma-separated list: each placement with a CPU side runs at each (default: physical cores, fewer beside a GPU)';
  cmd.action(async (o: BenchOptions) => {
    const lengths = list('prompt-lengths', o.promptLengths);
    const gen = intArg('gen-tokens', o.genTokens, 1);
    const reps = intArg('repetitions', o.repetitions, 1);
    // undefined: each placement's default (defaultCpuThreads); the DRAM probe then uses every physical core
    const threadList: (number | undefined)[] = o.cpuThreads !== undefined ? [...new Set(list('cpu-threads', o.cpuThreads))] : [undefined];
    const probeThreads = (t: number | undefined): number => t ?? physicalCores();
    if (o.kernels) intArg('kernel-ms', o.kernelMs, 1);
    const dram = new Map<number, number>();
    if (o.dram) for (const t of threadList) dram.set(probeThreads(t), Math.round((await measureDramGBps(probeThreads(t))) * 10) / 10);
    const rows: BenchRow[] = [];
    const kernels: KernelRun[] = [];
    const skipped: { placement: string; cpuThreads?: number; reason: string }[] = [];
    for (const p of o.placements.split(',').map((s) => s.trim())) {
      for (const t of threadList) {
        try {
          const r = await benchPlacement(o, p, t, lengths, gen, reps, dram.get(probeThreads(t)));
          rows.push(...r.rows);
          if (r.kernels !== undefined) kernels.push(r.kernels);
          if (!r.usesCpu) break; // no CPU side: the thread count changes nothing
        } catch (e) {
          // A placement this machine cannot run (no GPU, too little memory) is reported, the others still run.
          if (!(e instanceof EngineError)) throw e;
          skipped.push({ placement: p, ...(t !== undefined ? { cpuThreads: t } : {}), reason: e.oneLine() });
          break;
        }
      }
    }
    const machine = { cpu: cpus()[0]?.model ?? 'unknown', logicalCpus: cpus().length, physicalCores: physicalCores(), memoryBytes: totalmem(), cpuThreads: threadList.map((t) => t ?? 'default'), node: process.versions.node };
    const dramReadGBps = dram.get(probeThreads(threadList[0]));
    const result = {
      date: new Date().toISOString(),
      model: o.ggufPath,
      machine,
      dramReadGBps,
      dramReadGBpsByThreads: Object.fromEntries(dram),
      results: rows,
      ...(o.kernels ? { kernels } : {}),
      skipped,
    };
    process.stdout.write(
      table(
        ['placement', 'backend', 'prompt', 'prefill t/s', 'decode t/s', 'step ms', 'gpu ms', 'gpu encode ms', 'gpu wait ms', 'gpu exec ms', 'cpu ms', 'both ms', 'outside ms', 'roofline t/s', 'of roofline', 'threads'],
        rows.map((r) => [r.placement, r.backend, String(r.promptTokens), String(r.prefillTokensPerS), String(r.decodeTokensPerS), String(r.step.wallMs), String(r.step.gpuBusyMs), String(r.step.gpuEncodeMs ?? '—'), String(r.step.gpuWaitMs ?? '—'), String(r.step.gpuExecMs ?? '—'), String(r.step.cpuBusyMs), String(r.step.overlapMs), String(r.step.outsideMs), String(r.cpuRooflineTokensPerS ?? '—'), r.fractionOfRoofline !== undefined ? `${(r.fractionOfRoofline * 100).toFixed(0)}%` : '—', String(r.cpuThreads)]),
      ) + '\n',
    );
    for (const [t, gbps] of dram) process.stdout.write(`DRAM read ${gbps} GB/s with ${t} threads (roofline = that ÷ the weight bytes the CPU reads per token)\n`);
    for (const r of rows) {
      const m = r.memory;
      if (m.peakRssBytes === undefined || r !== rows.find((x) => x.placement === r.placement && x.cpuThreads === r.cpuThreads)) continue;
      process.stdout.write(`${r.placement} (${r.cpuThreads} threads): peak resident memory ${formatBytes(m.peakRssBytes)}; the plan: ${formatBytes(m.plannedCpuBytes)} on the CPU side${m.peakOverPlannedCpu !== undefined ? ` (peak ${m.peakOverPlannedCpu}x)` : ''}, ${formatBytes(m.plannedGpuBytes)} on the GPU\n`);
    }
    for (const k of kernels) process.stdout.write(`\n${kernelTable(k)}`);
    for (const s of skipped) process.stdout.write(`skipped ${s.placement}: ${s.reason}\n`);
    if (o.out !== undefined) await writeFile(o.out, `${JSON.stringify(result, null, 2)}\n`);
  });
}
