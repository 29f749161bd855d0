// ShardedWasmExecutor with a small per-memory byte cap, so a tiny model spreads over several wasm memories (each
// its own runtime and workers): prefill + greedy decode give exactly the logits of one WasmExecutor over one
// memory (same kernels, same per-output summation order; only activations cross between memories), hybrid segment
// graphs (externals in, several values out) run across shards, attention stays in the memory that holds its KV
// cache, and after loadWeights no weight is read again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmExecutor } from '../../../src/backends/wasm/executor.ts';
import type { WasmRuntime } from '../../../src/backends/wasm/runtime.ts';
import { ShardedWasmExecutor } from '../../../src/backends/wasm/sharded.ts';
import { createNodeWasmRuntime } from '../../../src/cli/node-wasm.ts';
import type { RunInputs, WeightData } from '../../../src/graph/executor.ts';
import { openGGUF } from '../../../src/gguf/model.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';
import { makeModel, type MakeModelOptions } from '../../../src/models/synth/make-model.ts';
import { splitGraph } from '../../../src/runtime/segments.ts';
import { NodeFileSink, NodeFileSource } from '../../../src/storage/node-fs.ts';
import { ensureKernelsBuilt } from './build.ts';
import { readAllWeights } from '../../helpers/weights.ts';

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../../models/vocab/${n}`, import.meta.url).pathname) };

let single: WasmRuntime;
let dir: string;
beforeAll(async () => {
  ensureKernelsBuilt();
  single = await createNodeWasmRuntime({ threads: 2 });
  dir = await mkdtemp(join(tmpdir(), 'ktweb-wasm-shards-'));
});
afterAll(async () => {
  await single?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const random = (n: number, vocab: number): number[] => Array.from({ length: n }, () => 3 + Math.floor(Math.random() * (vocab - 3)));

describe('ShardedWasmExecutor', () => {
  for (const [name, spec, ranged] of [
    ['mixtral Q4_0, whole-tensor loading', { arch: 'mixtral', quant: 'Q4_0' }, false],
    ['deepseek2 Q4_K_M (attn_kv_b), ranged loading', { arch: 'deepseek2', quant: 'Q4_K_M' }, true],
  ] as const) {
    it(`${name}: several memories give the logits of one`, async () => {
      const path = join(dir, `${name.replace(/\W+/g, '_')}.gguf`);
      await makeModel({ preset: 'tiny', seed: 3, ...(spec as Pick<MakeModelOptions, 'arch' | 'quant'>) }, await NodeFileSink.create(path), ASSETS);
      const gguf = await openGGUF(await NodeFileSource.open(path));
      const model = modelFromGGUF(gguf);
      const weights = await readAllWeights(gguf);
      await gguf.close();
      const total = [...weights.values()].reduce((a, w) => a + w.bytes.length, 0);

      const reads = new Map<string, number>();
      const sharded = await ShardedWasmExecutor.create({
        nCtx: 64,
        shardBytes: Math.ceil(total / 4),
        createRuntime: () => createNodeWasmRuntime({ threads: 2 }),
        weights: (n) => {
          throw new Error(`weights callback asked for ${n}`);
        },
      });
      const one = new WasmExecutor(single, (n) => weights.get(n)!, 64);
      try {
        const g1 = model.build({ nTokens: 1, allLogits: false });
        const count = (n: string): void => void reads.set(n, (reads.get(n) ?? 0) + 1);
        if (ranged) {
          await sharded.loadWeightsRanged(g1, {
            info: (n) => ({ ...weights.get(n)!, nBytes: weights.get(n)!.bytes.length }),
            read: (n, off, len) => {
              if (off === 0) count(n);
              return Promise.resolve(weights.get(n)!.bytes.slice(off, off + len));
            },
          });
        } else {
          await sharded.loadWeights(g1, (n) => {
            count(n);
            return Promise.resolve(weights.get(n)!);
          });
        }
        expect(sharded.shardCount).toBeGreaterThanOrEqual(3);
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
        expect(reads.size).toBe(new Set(g1.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : []))).size);

        const nVocab = g1.nodes[g1.output]!.shape[0]!;
        const prompt = random(9, nVocab);
        const gp = model.build({ nTokens: prompt.length, allLogits: false });
        const pre: RunInputs = { tokens: Int32Array.from(prompt), positions: Int32Array.from(prompt, (_, i) => i) };
        const [a, b] = [await sharded.run(gp, pre), await one.run(gp, pre)];
        expect(Array.from(a)).toEqual(Array.from(b));
        let tok = argmax(b);
        for (let pos = prompt.length; pos < prompt.length + 6; pos++) {
          const inp: RunInputs = { tokens: Int32Array.of(tok), positions: Int32Array.of(pos) };
          // odd steps as hybrid segments: each segment graph is itself cut across memories
          const x = pos % 2 === 1 ? await segments(sharded, g1, inp) : await sharded.run(g1, inp);
          const y = await one.run(g1, inp);
          expect(Array.from(x), `step at position ${pos}`).toEqual(Array.from(y));
          tok = argmax(y);
        }
        expect([...reads.values()].every((v) => v === 1)).toBe(true);
      } finally {
        one.dispose();
        await sharded.dispose();
      }
    });
  }

  it('stays in one memory when everything fits, and runs without a weights callback only after loadWeights', async () => {
    const w: WeightData = { type: 0, dims: [32, 8], bytes: new Uint8Array(new Float32Array(256).fill(0.5).buffer) };
    const { GraphBuilder } = await import('../../../src/graph/graph.ts');
    const b = new GraphBuilder(1, () => w.dims);
    const g = b.build(b.getRows(b.weight('w'), b.input('tokens')));
    const ex = await ShardedWasmExecutor.create({ nCtx: 8, createRuntime: () => createNodeWasmRuntime({ threads: 1 }) });
    try {
      await expect(ex.run(g, { tokens: Int32Array.of(1), positions: Int32Array.of(0) })).rejects.toThrow(/not loaded/);
      await ex.loadWeights(g, () => Promise.resolve(w));
      expect(Array.from(await ex.run(g, { tokens: Int32Array.of(1), positions: Int32Array.of(0) }))).toEqual(new Array(32).fill(0.5));
      expect(ex.shardCount).toBe(1);
      expect(ex.label).toMatch(/^WASM \w+ ×1 thread$/);
    } finally {
      await ex.dispose();
    }
  });
});

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** Runs g by hybrid segments (experts as one device, the rest as the other) on one executor. */
async function segments(ex: ShardedWasmExecutor, g: ReturnType<typeof splitGraph>[number]['graph'], inputs: RunInputs): Promise<Float32Array> {
  const values = new Map<number, Float32Array>();
  for (const seg of splitGraph(g, (n) => (/experts/.test(n.module) ? 'cpu' : 'gpu'))) {
    const externals = new Map([...seg.externals].map(([l, o]) => [l, values.get(o)!] as const));
    const outs = [...seg.outputs];
    const res = await ex.runMany(seg.graph, { ...inputs, externals }, outs.map(([, l]) => l));
    outs.forEach(([o], i) => values.set(o, res[i]!));
  }
  return values.get(g.output)!;
}
