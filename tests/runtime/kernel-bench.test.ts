// Per-kernel GB/s in the engine (LocalEngine.kernelBench, runtime/kernel-bench.ts) on a tiny Qwen2-MoE (Q4_K_M:
// Q4_K and Q6_K matrices, F32 router), loaded hybrid (Dawn on SwiftShader + WASM ×2), all-GPU and all-CPU, and on a
// tiny DeepSeek-V2 with split MLA weights (attn_k_b/attn_v_b: mul_mat_heads), hybrid and all-CPU:
// - the kernel list covers every weight-reading kernel of a decode step on the device the placement gives it: the
//   calls of all kinds, weighted by their bytes per call, add up per device to a count made here from the GGUF's
//   tensor table (every matrix once, of the routed experts n_used of n_expert per layer);
// - bytes per call are the tensors' sizes (experts: n_used experts' gate + up + down); µs, GB/s finite and > 0;
// - the graphs that were timed compute what cpu-ref computes with the same weights read from the GGUF (so the time
//   is the kernel's on that weight): cpu-ref with llama.cpp's activation rounding for the WASM side (its kernels
//   quantize the activation to Q8), exact for the GPU side; NMSE within KERNEL_NMSE, for two routes of the experts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../src/api/local-engine.ts';
import type { KernelStat } from '../../src/api/types.ts';
import { CpuRefExecutor } from '../../src/backends/cpu-ref/executor.ts';
import { readRuleFile } from '../../src/cli/rules-files.ts';
import { nodeModelSource } from '../../src/cli/load-text-model.ts';
import { nodeComputeDevices } from '../../src/cli/node-devices.ts';
import { ggmlTypeName } from '../../src/core/ggml-type.ts';
import type { WeightData } from '../../src/graph/executor.ts';
import { mdNumber } from '../../src/gguf/metadata.ts';
import { openGGUF, type GGUFModel } from '../../src/gguf/model.ts';
import { makeModel } from '../../src/models/synth/make-model.ts';
import { deviceExecutor, engineKernelCases } from '../../src/runtime/kernel-bench.ts';
import { nodeDevices } from '../../src/runtime/placement-devices.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { nmse } from '../conformance/cases.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../models/vocab/${n}`, import.meta.url).pathname) };
const KERNEL_NMSE = 1e-6; // measured ≤ 3e-13; a wrong weight or route gives ~1
const QUICK = { warmup: 1, minRuns: 2, maxRuns: 4, minMs: 1 };

interface Fixture {
  readonly arch: string;
  readonly path: string;
  readonly gguf: GGUFModel;
  readonly weights: ReadonlyMap<string, WeightData>;
}

let dir: string;
const fixtures = new Map<string, Fixture>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-kernels-'));
  for (const [key, o] of [
    ['qwen2moe', { arch: 'qwen2moe', preset: 'tiny', quant: 'Q4_K_M', seed: 5 }],
    ['deepseek2-split', { arch: 'deepseek2', preset: 'tiny', quant: 'Q4_K_M', seed: 5, mlaSplit: true }],
  ] as const) {
    const path = join(dir, `${key}.gguf`);
    await makeModel(o, await NodeFileSink.create(path), ASSETS);
    const gguf = await openGGUF(await NodeFileSource.open(path));
    const weights = new Map<string, WeightData>();
    for (const [name, t] of gguf.tensors) weights.set(name, { type: t.info.type, dims: t.info.dims, bytes: await gguf.readTensor(name) });
    fixtures.set(key, { arch: o.arch, path, gguf, weights });
  }
});
afterAll(async () => {
  for (const f of fixtures.values()) await f.gguf.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** What a decode step reads per device, counted from the tensor table: matrices whole, routed experts n_used/n_expert. */
function expectedBytes({ arch, path, gguf }: Fixture, expertsOn: 'gpu' | 'cpu', restOn: 'gpu' | 'cpu'): Record<'gpu' | 'cpu', number> {
  const nUsed = mdNumber(gguf.metadata, `${arch}.expert_used_count`, path);
  const nExpert = mdNumber(gguf.metadata, `${arch}.expert_count`, path);
  const out = { gpu: 0, cpu: 0 };
  for (const [name, t] of gguf.tensors) {
    // the embedding is a row lookup, norms and biases are read as values: not matrix kernels
    if (name === 'token_embd.weight' || /_norm\.weight$|\.bias$/.test(name)) continue;
    if (/_exps\.weight$/.test(name)) out[expertsOn] += (t.info.nBytes * nUsed) / nExpert;
    else out[restOn] += t.info.nBytes;
  }
  return out;
}

function checkStats(f: Fixture, ks: readonly KernelStat[], expertsOn: 'gpu' | 'cpu', restOn: 'gpu' | 'cpu'): void {
  const { arch, path, gguf } = f;
  const nUsed = mdNumber(gguf.metadata, `${arch}.expert_used_count`, path);
  const nLayer = mdNumber(gguf.metadata, `${arch}.block_count`, path);
  const moeLayers = nLayer - (arch === 'deepseek2' ? mdNumber(gguf.metadata, 'deepseek2.leading_dense_block_count', path) : 0);
  const ops = [`mul_mat:${restOn}`, `moe_experts:${expertsOn}`, ...(gguf.tensors.has('blk.0.attn_k_b.weight') ? [`mul_mat_heads:${restOn}`] : [])];
  expect(new Set(ks.map((k) => `${k.op}:${k.device}`))).toEqual(new Set(ops));
  // both quant types of the Q4_K_M mix and the F32 router appear among the matrices
  expect(new Set(ks.filter((k) => k.op === 'mul_mat').map((k) => k.type))).toEqual(new Set(['Q4_K', 'Q6_K', 'F32']));
  expect(ks.filter((k) => k.op === 'moe_experts').reduce((a, k) => a + k.callsPerRun, 0)).toBe(moeLayers);
  for (const k of ks) {
    const t = k.weights.map((w) => gguf.tensor(w).info);
    if (k.op === 'mul_mat_heads') expect(k.shape).toEqual(t[0]!.dims);
    expect(k.type).toBe(t.map((i) => ggmlTypeName(i.type)).join('/'));
    const bytes = t.reduce((a, i) => a + i.nBytes, 0);
    if (k.op === 'moe_experts') {
      expect(k.nUsed).toBe(nUsed);
      expect(k.bytesPerCall).toBe(Math.round((bytes * nUsed) / t[0]!.dims[2]!));
    } else {
      expect(k.bytesPerCall).toBe(bytes);
    }
    for (const v of [k.usPerCall, k.gbPerS, k.runOverheadUs]) expect(Number.isFinite(v) && v > 0, JSON.stringify(k)).toBe(true);
    expect(Math.abs(k.gbPerS / (k.bytesPerCall / k.usPerCall / 1e3) - 1)).toBeLessThan(1e-3);
    expect(k.backend).toMatch(k.device === 'gpu' ? /^WebGPU / : /^WASM \S+ ×2 threads$/);
    expect(k.runs).toBeGreaterThanOrEqual(QUICK.minRuns);
  }
  const got = { gpu: 0, cpu: 0 };
  for (const k of ks) got[k.device] += k.bytesPerCall * k.callsPerRun;
  const want = expectedBytes(f, expertsOn, restOn);
  expect(got.gpu).toBeCloseTo(want.gpu, -1);
  expect(got.cpu).toBeCloseTo(want.cpu, -1);
}

describe('kernel bench: per-kernel GB/s on the loaded weights', () => {
  const CASES = [
    ['qwen2moe', 'hybrid (qwen2moe.yaml)', 'gpu', undefined, 'cpu', 'gpu'],
    ['qwen2moe', 'all-gpu', 'gpu', 'all-gpu.yaml', 'gpu', 'gpu'],
    ['qwen2moe', 'all-cpu', 'cpu', 'all-cpu.yaml', 'cpu', 'cpu'],
    ['deepseek2-split', 'hybrid (deepseek-v2-lite.yaml)', 'gpu', undefined, 'cpu', 'gpu'],
    ['deepseek2-split', 'all-cpu', 'cpu', 'all-cpu.yaml', 'cpu', 'cpu'],
  ] as const;
  for (const [model, name, device, rules, expertsOn, restOn] of CASES) {
    it(`${model}: ${name}`, async () => {
      const f = fixtures.get(model)!;
      const engine = new LocalEngine({ devices: await nodeComputeDevices(device), readRule: readRuleFile });
      try {
        await engine.load(await nodeModelSource(f.path, undefined), { nCtx: 32, cpuThreads: 2, device, ...(rules !== undefined ? { rules } : {}) });
        const ks = await engine.kernelBench(QUICK);
        checkStats(f, ks, expertsOn, restOn);

        // The graphs that were timed (cached per executor) against cpu-ref on the GGUF's weights.
        const { executor, plan, model, session } = engine.runtime;
        const where = nodeDevices(plan);
        const cases = engineKernelCases(executor.exec, () => model.build({ nTokens: 1, allLogits: false, deferExperts: session.deferExperts }), (n) => where(n, 1), () => {
          throw new Error('the cases should be cached from kernelBench');
        });
        expect(cases.map((c) => `${c.op}:${c.device}:${c.modules[0]}`)).toEqual(ks.map((k) => `${k.op}:${k.device}:${k.module}`));
        for (const c of cases) {
          const ref = new CpuRefExecutor((n) => f.weights.get(n)!, 8, c.device === 'cpu');
          for (const rep of [0, 1]) {
            const got = await deviceExecutor(executor.exec, c.device).runMany!(c.graph, c.inputs(rep), c.outputs);
            const want = ref.runManySync(c.graph, c.inputs(rep), c.outputs);
            got.forEach((g, i) => {
              expect(want[i]!.some((v) => v !== 0)).toBe(true);
              expect(nmse(g, want[i]!), `${c.device} ${c.op} ${c.modules[i]} run ${rep}`).toBeLessThan(KERNEL_NMSE);
            });
          }
        }
      } finally {
        await engine.unload();
      }
    });
  }
});
