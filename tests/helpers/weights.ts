// Weights for tests: every tensor of a GGUF read into memory, a reader that counts reads (loadWeights must read
// each weight once and keep no JS copy), a weights callback that must not be called, and a graph run segment by
// segment on one executor (hybrid-style: externals in, several outputs out).
import { expect } from 'vitest';
import type { GraphExecutor, RunInputs, WeightData } from '../../src/graph/executor.ts';
import type { Graph, GraphNode } from '../../src/graph/graph.ts';
import type { GGUFModel } from '../../src/gguf/model.ts';
import { splitGraph } from '../../src/runtime/segments.ts';

export async function readAllWeights(gguf: GGUFModel): Promise<Map<string, WeightData>> {
  const weights = new Map<string, WeightData>();
  for (const [n, t] of gguf.tensors) weights.set(n, { type: t.info.type, dims: t.info.dims, bytes: await gguf.readTensor(n) });
  return weights;
}

export const noCallback = (name: string): WeightData => {
  throw new Error(`the weights callback was asked for ${name}`);
};

/** A reader over a map that counts reads per name and hands out copies (the executor must not keep them). */
export function countingReader(weights: ReadonlyMap<string, WeightData>): { read: (n: string) => Promise<WeightData>; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    read: (n) => {
      reads.set(n, (reads.get(n) ?? 0) + 1);
      const w = weights.get(n)!;
      return Promise.resolve({ ...w, bytes: w.bytes.slice() });
    },
  };
}

/** Runs g segment by segment on one executor, nodes whose module matches `cpu` in their own segments. */
export async function runSegments(ex: GraphExecutor, g: Graph, inputs: RunInputs, cpu: RegExp): Promise<Float32Array> {
  const values = new Map<number, Float32Array>();
  const segs = splitGraph(g, (n: GraphNode) => (cpu.test(n.module) ? 'cpu' : 'gpu'));
  expect(segs.length).toBeGreaterThan(2);
  for (const seg of segs) {
    const externals = new Map([...seg.externals].map(([l, o]) => [l, values.get(o)!] as const));
    const outs = [...seg.outputs];
    const res = await ex.runMany!(seg.graph, { ...inputs, externals }, outs.map(([, l]) => l));
    outs.forEach(([o], i) => values.set(o, res[i]!));
  }
  return values.get(g.output)!;
}
