// A generation session on the cpu-ref backend: weights read from the GGUF once, a KV cache, and eval() that
// appends tokens and returns logits. The oracle the hybrid engine is compared against.
import { CpuRefExecutor, type WeightData } from '../backends/cpu-ref/executor.ts';
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import type { GGUFModel } from '../gguf/model.ts';
import type { Graph } from '../graph/graph.ts';
import type { Model } from '../models/model.ts';
import { modelFromGGUF } from '../models/registry.ts';

export class ReferenceSession {
  private nPast = 0;
  private readonly graphs = new Map<string, Graph>();

  private constructor(
    readonly model: Model,
    private readonly exec: CpuRefExecutor,
    readonly nCtx: number,
  ) {}

  /** `llamaCppRounding`: round matmul inputs as llama.cpp's CPU backend does (tests against llama.cpp). */
  /** `metadata`: the GGUF's metadata completed by an HF config (models/hf-config.ts); default the GGUF's own. */
  static async load(gguf: GGUFModel, nCtx = 512, llamaCppRounding = false, metadata: Metadata = gguf.metadata, onProgress?: (done: number, total: number) => void): Promise<ReferenceSession> {
    const model = modelFromGGUF(gguf, metadata);
    // Build once to learn which tensors the graph uses, then read exactly those.
    const probe = model.build({ nTokens: 1, allLogits: false });
    const weights = new Map<string, WeightData>();
    const names = [...new Set(probe.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : [])))];
    const total = names.reduce((a, n) => a + gguf.tensor(n).info.nBytes, 0);
    let done = 0;
    for (const name of names) {
      const { info } = gguf.tensor(name);
      weights.set(name, { type: info.type, dims: info.dims, bytes: await gguf.readTensor(info.name) });
      done += info.nBytes;
      onProgress?.(done, total);
    }
    const exec = new CpuRefExecutor((n) => {
      const w = weights.get(n);
      if (w === undefined) throw new EngineError('model_invalid', `tensor ${n} was not loaded`, { tensor: n });
      return w;
    }, nCtx, llamaCppRounding);
    return new ReferenceSession(model, exec, nCtx);
  }

  get position(): number {
    return this.nPast;
  }

  reset(): void {
    this.nPast = 0;
    this.exec.resetCache();
  }

  /** Appends `tokens`; returns logits [n_vocab * n] for every new position, or [n_vocab] for the last. */
  eval(tokens: readonly number[], allLogits = false): Float32Array {
    if (tokens.length === 0) throw new EngineError('bad_argument', 'eval needs at least one token');
    if (this.nPast + tokens.length > this.nCtx) {
      throw new EngineError('bad_argument', `${this.nPast + tokens.length} tokens exceed the context size ${this.nCtx}; raise --ctx or start a new conversation`);
    }
    const key = `${tokens.length}:${allLogits}`;
    let g = this.graphs.get(key);
    if (g === undefined) {
      g = this.model.build({ nTokens: tokens.length, allLogits });
      this.graphs.set(key, g);
    }
    const positions = Int32Array.from(tokens, (_, i) => this.nPast + i);
    const out = this.exec.runSync(g, { tokens: Int32Array.from(tokens), positions });
    this.nPast += tokens.length;
    return out;
  }
}
