// `ktweb bench --kernels` on a tiny MoE at two thread counts: every placement prints its kernel table (per-run
// overhead included) and the JSON carries it per (placement, threads); a GPU-only placement runs once; the kernels
// of one decode step read the same bytes under every placement, and in hybrid the CPU's share is the routed
// experts' (n_used of n_expert per layer), counted here from the GGUF's tensor table.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ktweb } from '../helpers/ktweb-cli.ts';
import type { BenchRow, KernelRun } from '../../src/cli/bench.ts';
import { mdNumber } from '../../src/gguf/metadata.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { NodeFileSource } from '../../src/storage/node-fs.ts';

let dir: string;
let gguf: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-bench-kernels-'));
  gguf = join(dir, 'q2.gguf');
  expect((await ktweb('make-model', '--arch', 'qwen2moe', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '5', gguf)).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ktweb bench --kernels', () => {
  it('prints and writes per-kernel GB/s per placement and thread count', async () => {
    const out = join(dir, 'bench.json');
    const r = await ktweb('bench', '--gguf-path', gguf, '--device', 'gpu', '--prompt-lengths', '3', '--gen-tokens', '2', '--cpu-threads', '1,2', '--no-dram', '--kernels', '--kernel-ms', '5', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['hybrid', 'all-gpu', 'all-cpu']) expect(r.stdout).toMatch(new RegExp(`kernels of a decode step, ${p} \\(`));
    expect(r.stdout).toMatch(/op\s+modules\s+type\s+shape\s+device\s+calls\/run\s+bytes\/call\s+us\/call\s+GB\/s/);
    expect(r.stdout).toMatch(/per-run overhead of a trivial graph: gpu [\d.]+ us \(WebGPU .*\); cpu [\d.]+ us \(WASM \S+ ×2 threads\)/);

    const j = JSON.parse(await readFile(out, 'utf8')) as { results: BenchRow[]; kernels: KernelRun[]; skipped: unknown[] };
    expect(j.skipped).toEqual([]);
    expect(j.results.map((x) => `${x.placement}:${x.cpuThreads}`)).toEqual(['hybrid:1', 'hybrid:2', 'all-gpu:0', 'all-cpu:1', 'all-cpu:2']);
    expect(j.kernels.map((k) => `${k.placement}:${k.cpuThreads}`)).toEqual(['hybrid:1', 'hybrid:2', 'all-gpu:0', 'all-cpu:1', 'all-cpu:2']);

    const m = await openGGUF(await NodeFileSource.open(gguf));
    const nUsed = mdNumber(m.metadata, 'qwen2moe.expert_used_count', gguf);
    const nExpert = mdNumber(m.metadata, 'qwen2moe.expert_count', gguf);
    let experts = 0;
    for (const [name, t] of m.tensors) if (/_exps\.weight$/.test(name)) experts += (t.info.nBytes * nUsed) / nExpert;
    await m.close();

    const totals = j.kernels.map((k) => {
      expect(k.error).toBeUndefined();
      const by = { gpu: 0, cpu: 0 };
      for (const s of k.kernels) {
        expect(Number.isFinite(s.gbPerS) && s.gbPerS > 0, JSON.stringify(s)).toBe(true);
        expect(s.runOverheadUs).toBeGreaterThan(0);
        by[s.device] += s.bytesPerCall * s.callsPerRun;
      }
      const devices = new Set(k.kernels.map((s) => `${s.op}:${s.device}`));
      if (k.placement === 'hybrid') expect(devices).toEqual(new Set(['mul_mat:gpu', 'moe_experts:cpu']));
      if (k.placement === 'all-gpu') expect(devices).toEqual(new Set(['mul_mat:gpu', 'moe_experts:gpu']));
      if (k.placement === 'all-cpu') expect(devices).toEqual(new Set(['mul_mat:cpu', 'moe_experts:cpu']));
      if (k.placement === 'hybrid') expect(by.cpu).toBeCloseTo(experts, -1);
      return by.gpu + by.cpu;
    });
    expect(new Set(totals).size).toBe(1);
  });
});
