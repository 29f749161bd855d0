// Expert deferral (kt-kernel; rules kwarg defer_experts, off by default): the lowest-ranked routed experts of
// each MoE layer are added into the next layer's output, the last layer's before the final norm.
// - When the only MoE layer is the last (tiny deepseek2: one dense layer, then one MoE layer), deferral moves the
//   deferred experts only past the layer's own add, so the model computes the same function: logits equal the
//   undeferred ones up to summation order.
// - With two MoE layers (tiny mixtral) the function changes (the next layer's attention does not see them).
// - The real backends (WebGPU on SwiftShader + WASM, hybrid) compute the deferred graph as cpu-ref does.
// - A bad kwarg is a rule error with file:line, before any weight is read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../src/api/local-engine.ts';
import { CpuRefExecutor } from '../../src/backends/cpu-ref/executor.ts';
import { nodeComputeDevices } from '../../src/cli/node-devices.ts';
import { readRuleFile } from '../../src/cli/rules-files.ts';
import { EngineError } from '../../src/core/errors.ts';
import type { WeightData } from '../../src/graph/executor.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { type Model } from '../../src/models/model.ts';
import { modelFromGGUF } from '../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../src/models/synth/make-model.ts';
import { HybridExecutor } from '../../src/runtime/hybrid-executor.ts';
import { nodeDevices } from '../../src/runtime/placement-devices.ts';
import { Session } from '../../src/runtime/session.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { nmse } from '../conformance/cases.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../models/vocab/${n}`, import.meta.url).pathname) };
const PROMPT = [1, 17, 99, 5, 42, 7];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-defer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tiny(arch: MakeModelOptions['arch']): Promise<{ path: string; model: Model; weights: (n: string) => WeightData }> {
  const path = join(dir, `${arch}.gguf`);
  await makeModel({ arch, preset: 'tiny', quant: 'Q8_0', seed: 13 }, await NodeFileSink.create(path), ASSETS);
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const model = modelFromGGUF(gguf);
  const map = new Map<string, WeightData>();
  for (const [n, t] of gguf.tensors) map.set(n, { type: t.info.type, dims: t.info.dims, bytes: await gguf.readTensor(n) });
  await gguf.close();
  return { path, model, weights: (n) => map.get(n)! };
}

/** Logits of the prompt (all positions) and two decode steps on cpu-ref. */
async function run(model: Model, weights: (n: string) => WeightData, defer: number): Promise<Float32Array[]> {
  const s = new Session(model, new CpuRefExecutor(weights, 32), 32, 512, defer);
  return [await s.eval(PROMPT, true), await s.eval([11]), await s.eval([12])];
}

describe('expert deferral', () => {
  it('the last MoE layer deferring to the head computes the same function', async () => {
    const { model, weights } = await tiny('deepseek2');
    const a = await run(model, weights, 0);
    const b = await run(model, weights, 1);
    a.forEach((x, i) => expect(nmse(b[i]!, x), `step ${i}`).toBeLessThan(1e-12));
  });

  it('across two MoE layers it changes the function; the real backends agree with cpu-ref', async () => {
    const { path, model, weights } = await tiny('mixtral');
    const a = await run(model, weights, 0);
    const b = await run(model, weights, 1);
    expect(nmse(b[0]!, a[0]!)).toBeGreaterThan(1e-6);
    const engine = new LocalEngine({ devices: await nodeComputeDevices('gpu'), readRule: readRuleFile });
    const rules = 'extends: mixtral.yaml\nrules:\n  - match: { name: "^model\\\\.layers\\\\.\\\\d+\\\\.block_sparse_moe\\\\.experts$" }\n    replace: { class: experts, kwargs: { generate_device: cpu, prefill_device: cpu, defer_experts: 1 } }\n    recursive: false\n';
    await engine.load({ first: await NodeFileSource.open(path) }, { nCtx: 32, device: 'gpu', rules: 'defer.yaml', rulesText: rules, cpuThreads: 2 });
    try {
      const { session, plan } = engine.runtime;
      expect(session.deferExperts).toBe(1);
      // cpu-ref split the same way (CPU-placed nodes with the WASM kernels' Q8 activation rounding), deferred too
      const ref = new Session(model, new HybridExecutor({ gpu: new CpuRefExecutor(weights, 32), cpu: new CpuRefExecutor(weights, 32, true) }, nodeDevices(plan)), 32, 512, 1);
      const want = [await ref.eval(PROMPT, true), await ref.eval([11]), await ref.eval([12])];
      const ours = [await session.eval(PROMPT, true), await session.eval([11]), await session.eval([12])];
      ours.forEach((x, i) => expect(nmse(x, want[i]!), `step ${i}`).toBeLessThan(1e-6));
    } finally {
      await engine.unload();
    }
  });

  it('a defer_experts value out of range is a rule error naming file and line', async () => {
    const { path } = await tiny('mixtral');
    const engine = new LocalEngine({ devices: await nodeComputeDevices('cpu'), readRule: readRuleFile });
    const bad = 'extends: all-cpu.yaml\nrules:\n  - match: { name: "experts$" }\n    replace: { class: experts, kwargs: { defer_experts: 2 } }\n';
    const err = await engine.load({ first: await NodeFileSource.open(path) }, { nCtx: 32, rules: 'bad.yaml', rulesText: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('rule_invalid');
    expect((err as EngineError).message).toMatch(/bad\.yaml:3: defer_experts must be an integer from 0 to n_used − 1 = 1, got 2/);
  });
});
