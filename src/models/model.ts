// What an architecture file provides: hyperparameters from GGUF metadata and the graph of one forward step.
import type { Metadata } from '../gguf/metadata.ts';
import { GraphBuilder, type Graph, type Shape } from '../graph/graph.ts';
import type { CommonHParams } from './hparams.ts';

export interface BuildOptions {
  readonly nTokens: number;
  /** Logits for every position (tests) or only the last (generation). */
  readonly allLogits: boolean;
  /**
   * Expert deferral (kt-kernel, a rules kwarg, off by default): at each MoE layer the `deferExperts` lowest-ranked
   * of the n_used routed experts are added into the next layer's output instead of this one's, so the CPU can
   * compute them while the GPU runs the next layer's attention. Changes the model's function slightly.
   */
  readonly deferExperts?: number;
}

export interface Architecture<H extends CommonHParams = CommonHParams> {
  readonly name: string;
  hparams(md: Metadata, file: string): H;
  /** Records the forward pass; returns the logits node ([n_vocab, n_tok] or [n_vocab, 1]). */
  forward(g: GraphBuilder, hp: H, allLogits: boolean): number;
}

export interface Model {
  readonly arch: Architecture;
  readonly hp: CommonHParams;
  build(o: BuildOptions): Graph;
}

/** Shared tail: final norm, optionally the last position only, lm_head (tied to token_embd when output is absent). */
export function lmHead(g: GraphBuilder, hp: CommonHParams, x: number, allLogits: boolean): number {
  return g.scope('lm_head', () => {
    if (g.pendingDeferred !== undefined) {
      // the last MoE layer's deferred experts have no next layer: they join the residual before the final norm
      x = g.addT(x, g.pendingDeferred);
      g.pendingDeferred = undefined;
    }
    const h = allLogits ? x : g.getLast(x);
    const n = g.scope('model.norm', () => g.mul(g.rmsNorm(h, hp.eps), g.weight('output_norm.weight', [hp.nEmbd])));
    const w = g.hasWeight('output.weight') ? 'output.weight' : 'token_embd.weight';
    return g.mulMat(g.weight(w, [hp.nEmbd, hp.nVocab]), n);
  });
}

export function makeModel<H extends CommonHParams>(arch: Architecture<H>, md: Metadata, file: string, weightShape: (name: string) => Shape | undefined): Model {
  const hp = arch.hparams(md, file);
  return {
    arch: arch as unknown as Architecture,
    hp,
    build(o: BuildOptions): Graph {
      const g = new GraphBuilder(o.nTokens, weightShape, o.deferExperts ?? 0);
      return g.build(arch.forward(g, hp, o.allLogits));
    },
  };
}
