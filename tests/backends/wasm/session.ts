// A greedy generation loop over any GraphExecutor (the runtime's ReferenceSession is cpu-ref only): graphs built
// once per token count (the WASM executor caches programs per Graph object), logits of the last position.
import type { GraphExecutor, WeightData } from '../../../src/graph/executor.ts';
import type { Graph } from '../../../src/graph/graph.ts';
import type { GGUFModel } from '../../../src/gguf/model.ts';
import type { Model } from '../../../src/models/model.ts';
import { modelFromGGUF } from '../../../src/models/registry.ts';

export interface LoadedModel {
  readonly model: Model;
  readonly weights: ReadonlyMap<string, WeightData>;
  readonly nVocab: number;
}

export async function loadModel(gguf: GGUFModel): Promise<LoadedModel> {
  const model = modelFromGGUF(gguf);
  const probe = model.build({ nTokens: 1, allLogits: false });
  const weights = new Map<string, WeightData>();
  for (const node of probe.nodes) {
    if (node.spec.op !== 'weight' || weights.has(node.spec.name)) continue;
    const { info } = gguf.tensor(node.spec.name);
    weights.set(node.spec.name, { type: info.type, dims: info.dims, bytes: await gguf.readTensor(info.name) });
  }
  return { model, weights, nVocab: probe.nodes[probe.output]!.shape[0]! };
}

export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export class GreedySession {
  private readonly graphs = new Map<number, Graph>();
  constructor(
    private readonly exec: GraphExecutor,
    private readonly model: Model,
  ) {}

  private graph(n: number): Graph {
    let g = this.graphs.get(n);
    if (g === undefined) {
      g = this.model.build({ nTokens: n, allLogits: false });
      this.graphs.set(n, g);
    }
    return g;
  }

  /** Prompt, then `steps` greedy tokens; returns the tokens and the logits that chose them. */
  async generate(prompt: readonly number[], steps: number): Promise<{ tokens: number[]; logits: Float32Array[] }> {
    this.exec.resetCache();
    const tokens: number[] = [];
    const logits: Float32Array[] = [];
    let input = [...prompt];
    let pos = 0;
    for (let s = 0; s < steps; s++) {
      const out = await this.exec.run(this.graph(input.length), { tokens: Int32Array.from(input), positions: Int32Array.from(input, (_, i) => pos + i) });
      pos += input.length;
      logits.push(out);
      tokens.push(argmax(out));
      input = [tokens[tokens.length - 1]!];
    }
    return { tokens, logits };
  }
}
