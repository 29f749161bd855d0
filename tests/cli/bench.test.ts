// `ktweb bench` on a tiny MoE: every placement runs (hybrid and all-gpu on Dawn's SwiftShader, all-cpu on the
// WASM kernels), the JSON carries finite speeds and a step breakdown that adds up, and the CPU bytes per token
// the roofline divides by equal a count made here from the GGUF's tensor table.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ktweb } from '../helpers/ktweb-cli.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { mdNumber } from '../../src/gguf/metadata.ts';
import { NodeFileSource } from '../../src/storage/node-fs.ts';
import type { BenchRow } from '../../src/cli/bench.ts';

let dir: string;
let gguf: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-bench-'));
  gguf = join(dir, 'q2.gguf');
  expect((await ktweb('make-model', '--arch', 'qwen2moe', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '5', gguf)).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ktweb bench', () => {
  it('measures every placement; breakdown and roofline bytes are consistent', async () => {
    const out = join(dir, 'bench.json');
    const r = await ktweb('bench', '--gguf-path', gguf, '--device', 'gpu', '--prompt-lengths', '5,9', '--gen-tokens', '3', '--cpu-threads', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/placement\s+backend\s+prompt\s+prefill t\/s\s+decode t\/s/);
    expect(r.stdout).toMatch(/^hybrid \(2 threads\): peak resident memory .* on the CPU side/m);
    const j = JSON.parse(await readFile(out, 'utf8')) as { dramReadGBps: number; results: BenchRow[]; skipped: unknown[] };
    expect(j.skipped).toEqual([]);
    expect(j.dramReadGBps).toBeGreaterThan(0);
    expect(j.results.map((x) => `${x.placement}:${x.promptTokens}`)).toEqual(['hybrid:5', 'hybrid:9', 'all-gpu:5', 'all-gpu:9', 'all-cpu:5', 'all-cpu:9']);
    for (const x of j.results) {
      expect(x.prefillTokensPerS, JSON.stringify(x)).toBeGreaterThan(0);
      expect(x.decodeTokensPerS).toBeGreaterThan(0);
      const s = x.step;
      // busy time of the two devices, minus what overlapped, plus time outside both, is the step (rounding aside)
      expect(Math.abs(s.gpuBusyMs + s.cpuBusyMs - s.overlapMs + s.outsideMs - s.wallMs)).toBeLessThan(0.01 + s.wallMs * 1e-3);
    }
    expect(j.results.find((x) => x.placement === 'hybrid')!.backend).toMatch(/^hybrid: WebGPU .* \+ WASM /);
    expect(j.results.find((x) => x.placement === 'hybrid')!.step.segments).toBeGreaterThan(3);
    for (const x of j.results) {
      // host memory: the process's peak since this placement's load beside the plan (tiny model: Node itself dominates)
      expect(x.memory.peakRssBytes, x.placement).toBeGreaterThan(x.memory.plannedCpuBytes);
      expect(x.memory.plannedGpuBytes > 0).toBe(x.placement !== 'all-cpu');
      expect(x.memory.plannedCpuBytes > 0).toBe(x.placement !== 'all-gpu');
      expect(x.cpuThreads).toBe(x.placement === 'all-gpu' ? 0 : 2);
      if (x.placement === 'all-cpu') continue;
      // the GPU side's own counters: command buffers, dispatches, host time recording and waiting, GPU time
      const s = x.step;
      expect(s.gpuRuns, x.placement).toBeGreaterThanOrEqual(1);
      expect(s.gpuDispatches!).toBeGreaterThan(s.gpuRuns!);
      expect(s.gpuEncodeMs!).toBeGreaterThan(0);
      expect(s.gpuExecMs!).toBeGreaterThan(0);
      expect(s.gpuEncodeMs! + s.gpuWaitMs!).toBeLessThanOrEqual(s.gpuBusyMs + 0.01);
    }
    // the shared expert's output and the residual stream go from GPU segment to GPU segment without a read-back
    expect(j.results.find((x) => x.placement === 'hybrid')!.step.keptOnDevice).toBeGreaterThan(0);

    // Independent count from the tensor table: hybrid puts the routed experts and the embedding on the CPU;
    // all-CPU adds every other tensor (this model has its own output.weight).
    const m = await openGGUF(await NodeFileSource.open(gguf));
    const nUsed = mdNumber(m.metadata, 'qwen2moe.expert_used_count', gguf);
    const nExpert = mdNumber(m.metadata, 'qwen2moe.expert_count', gguf);
    let experts = 0;
    let all = 0;
    for (const [name, t] of m.tensors) {
      if (/_exps\.weight$/.test(name)) experts += (t.info.nBytes * nUsed) / nExpert;
      else if (name === 'token_embd.weight') experts += t.info.nBytes / t.info.dims[1]!; // one row per token
      else all += t.info.nBytes;
    }
    await m.close();
    const bytes = (p: string): number => j.results.find((x) => x.placement === p)!.cpuBytesPerToken;
    expect(bytes('hybrid')).toBeCloseTo(experts, -1);
    expect(bytes('all-cpu')).toBeCloseTo(experts + all, -1);
    expect(bytes('all-gpu')).toBe(0);
  });
});
