// The op vocabulary (ggml op names) and the graph models emit. A model never computes: it records nodes over
// named GGUF weights and runtime inputs; a backend executes the nodes in order. Shapes are ggml order
// (shape[0] is contiguous) and checked when a node is added, so a wrong model file fails at build time.
import { EngineError } from '../core/errors.ts';

export type Shape = readonly number[];

/** Rope modes as in ggml: NORMAL rotates adjacent pairs (llama, deepseek2), NEOX rotates halves (qwen). */
export type RopeMode = 'normal' | 'neox';

export interface RopeParams {
  readonly nDims: number;
  readonly mode: RopeMode;
  readonly freqBase: number;
  readonly freqScale: number;
  readonly extFactor: number;
  readonly attnFactor: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  readonly nCtxOrig: number;
}

export interface MoeGateParams {
  readonly nExpert: number;
  readonly nUsed: number;
  readonly func: 'softmax' | 'sigmoid';
  /** Normalise the selected weights to sum 1. */
  readonly norm: boolean;
  /** Multiplies the final weights (DeepSeek routed_scaling_factor); 1 when unused. */
  readonly scale: number;
  /** Grouped top-k (DeepSeek V3 noaux_tc, V2 group_limited_greedy); nGroup 1 disables it. */
  readonly nGroup: number;
  readonly topkGroup: number;
  /** How a group is scored: sum of its top-2 biased scores (V3) or its max score (V2). */
  readonly groupScore: 'top2_sum' | 'max';
}

export type NodeSpec =
  | { op: 'input'; name: 'tokens' | 'positions' }
  | { op: 'weight'; name: string }
  | { op: 'external' } // a value computed elsewhere (another device's segment), given per run in RunInputs.externals
  | { op: 'get_rows' } // src: [weight [n_embd, n_rows], ids [n_tok]] → [n_embd, n_tok]
  | { op: 'rms_norm'; eps: number }
  | { op: 'mul' } // a * b, b broadcast along higher dims when smaller
  | { op: 'add' }
  | { op: 'scale'; s: number }
  | { op: 'sigmoid' }
  | { op: 'mul_mat' } // src: [w [k, m], x [k, n]] → [m, n]
  | { op: 'mul_mat_heads' } // src: [w [k, m, H], x [k, H, n]] → [m, H, n]: W_h · x_h per head (MLA k_b/v_b)
  | { op: 'swiglu' } // src: [gate, up] → silu(gate) * up
  | { op: 'reshape' }
  | { op: 'slice0'; start: number } // columns [start, start + shape[0]) of dim 0
  | { op: 'concat0' } // concatenate along dim 0
  | { op: 'repeat1' } // [n0, 1, n2] → [n0, shape[1], n2]
  | { op: 'rope'; p: RopeParams } // src: [x [hd, n_head, n_tok], positions]
  | { op: 'attn'; layer: number; scale: number } // src: [q [dk, nh, nt], k [dk, nkv, nt], v [dv, nkv, nt], positions] → [dv, nh, nt]
  | { op: 'moe_gate'; p: MoeGateParams } // src: [logits [n_expert, nt], bias?] → [2 * n_used, nt]: ids then weights
  | { op: 'moe_experts'; nUsed: number } // src: [x [n_embd, nt], route, gate_exps, up_exps, down_exps] → [n_embd, nt]
  | { op: 'get_last' }; // last column of [n, nt] → [n, 1]

export type Op = NodeSpec['op'];

export interface GraphNode {
  readonly id: number;
  readonly spec: NodeSpec;
  readonly src: readonly number[];
  readonly shape: Shape;
  /** HF module path that produced the node (placement binds to it), e.g. model.layers.3.mlp.experts. */
  readonly module: string;
}

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly output: number;
  readonly nTokens: number;
}

function bad(module: string, message: string): EngineError {
  return new EngineError('model_invalid', `${module}: ${message}`);
}

const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Records nodes; every method validates shapes and returns the new node's id. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private module = 'model';

  /**
   * Expert deferral (kt-kernel): the output of the experts deferred at the previous MoE layer, to be added into
   * the next layer's output (see models/blocks/ffn.ts moe()); the head adds what is left.
   */
  pendingDeferred: number | undefined;

  constructor(
    readonly nTokens: number,
    private readonly weightShape: (name: string) => Shape | undefined,
    /** Routed experts per token whose output is added one layer later (0: none). */
    readonly deferExperts = 0,
  ) {}

  /** Runs `f` with nodes attributed to HF module path `path`. */
  scope<T>(path: string, f: () => T): T {
    const prev = this.module;
    this.module = path;
    try {
      return f();
    } finally {
      this.module = prev;
    }
  }

  /** The HF module path nodes are attributed to now. */
  get modulePath(): string {
    return this.module;
  }

  /** scope() relative to the current module: sub('gate_proj', f) inside model.layers.3.mlp. */
  sub<T>(name: string, f: () => T): T {
    return this.scope(`${this.module}.${name}`, f);
  }

  shape(id: number): Shape {
    return this.nodes[id]!.shape;
  }

  private add(spec: NodeSpec, src: number[], shape: Shape): number {
    const id = this.nodes.length;
    this.nodes.push({ id, spec, src, shape, module: this.module });
    return id;
  }

  input(name: 'tokens' | 'positions'): number {
    return this.add({ op: 'input', name }, [], [this.nTokens]);
  }

  /** A value of `shape` provided per run from outside the graph (hybrid segments). */
  external(shape: Shape): number {
    return this.add({ op: 'external' }, [], shape);
  }

  hasWeight(name: string): boolean {
    return this.weightShape(name) !== undefined;
  }

  weight(name: string, expect?: Shape): number {
    const s = this.weightShape(name);
    if (s === undefined) throw new EngineError('model_invalid', `tensor ${name} is missing from the model (needed by ${this.module})`, { tensor: name });
    if (expect !== undefined && (s.length !== expect.length || s.some((d, i) => d !== expect[i]))) {
      throw new EngineError('model_invalid', `tensor ${name} has shape [${s.join(', ')}], expected [${expect.join(', ')}] from the model's hyperparameters`, { tensor: name });
    }
    return this.add({ op: 'weight', name }, [], s);
  }

  getRows(w: number, ids: number): number {
    return this.add({ op: 'get_rows' }, [w, ids], [this.shape(w)[0]!, this.shape(ids)[0]!]);
  }

  rmsNorm(x: number, eps: number): number {
    return this.add({ op: 'rms_norm', eps }, [x], this.shape(x));
  }

  private broadcast(op: 'mul' | 'add', a: number, b: number): number {
    const sa = this.shape(a);
    const sb = this.shape(b);
    // b repeats over a: every dim of b is 1 or equal to a's (ggml_can_repeat).
    if (sb.length > sa.length || sb.some((d, i) => d !== 1 && d !== sa[i])) throw bad(this.module, `${op}: cannot broadcast [${sb.join(', ')}] over [${sa.join(', ')}]`);
    return this.add({ op }, [a, b], sa);
  }
  mul(a: number, b: number): number {
    return this.broadcast('mul', a, b);
  }
  addT(a: number, b: number): number {
    return this.broadcast('add', a, b);
  }
  scale(x: number, s: number): number {
    return this.add({ op: 'scale', s }, [x], this.shape(x));
  }
  sigmoid(x: number): number {
    return this.add({ op: 'sigmoid' }, [x], this.shape(x));
  }

  mulMat(w: number, x: number): number {
    const sw = this.shape(w);
    const sx = this.shape(x);
    if (sw.length !== 2 || sw[0] !== sx[0]) throw bad(this.module, `mul_mat: weight [${sw.join(', ')}] does not fit input [${sx.join(', ')}]`);
    return this.add({ op: 'mul_mat' }, [w, x], [sw[1]!, ...sx.slice(1)]);
  }

  /** Per-head product: w [k, m, H] (one [k, m] matrix per head), x [k, H, n] → [m, H, n]. */
  mulMatHeads(w: number, x: number): number {
    const sw = this.shape(w);
    const sx = this.shape(x);
    if (sw.length !== 3 || sx.length !== 3 || sw[0] !== sx[0] || sw[2] !== sx[1]) throw bad(this.module, `mul_mat_heads: weight [${sw.join(', ')}] does not fit input [${sx.join(', ')}]`);
    return this.add({ op: 'mul_mat_heads' }, [w, x], [sw[1]!, sx[1]!, sx[2]!]);
  }

  swiglu(gate: number, up: number): number {
    return this.add({ op: 'swiglu' }, [gate, up], this.shape(gate));
  }

  reshape(x: number, shape: Shape): number {
    if (numel(shape) !== numel(this.shape(x))) throw bad(this.module, `reshape [${this.shape(x).join(', ')}] → [${shape.join(', ')}]`);
    return this.add({ op: 'reshape' }, [x], shape);
  }

  slice0(x: number, start: number, len: number): number {
    const s = this.shape(x);
    if (start + len > s[0]!) throw bad(this.module, `slice0 ${start}+${len} of ${s[0]}`);
    return this.add({ op: 'slice0', start }, [x], [len, ...s.slice(1)]);
  }

  concat0(a: number, b: number): number {
    const sa = this.shape(a);
    const sb = this.shape(b);
    if (sa.length !== sb.length || sa.slice(1).some((d, i) => d !== sb[i + 1])) throw bad(this.module, `concat0 [${sa.join(', ')}] with [${sb.join(', ')}]`);
    return this.add({ op: 'concat0' }, [a, b], [sa[0]! + sb[0]!, ...sa.slice(1)]);
  }

  repeat1(x: number, n: number): number {
    const s = this.shape(x);
    if (s.length !== 3 || s[1] !== 1) throw bad(this.module, 'repeat1 needs [n0, 1, n2]');
    return this.add({ op: 'repeat1' }, [x], [s[0]!, n, s[2]!]);
  }

  rope(x: number, positions: number, p: RopeParams): number {
    if (this.shape(x).length !== 3) throw bad(this.module, 'rope needs [head_dim, n_head, n_tok]');
    return this.add({ op: 'rope', p }, [x, positions], this.shape(x));
  }

  attn(q: number, k: number, v: number, positions: number, layer: number, scale: number): number {
    const [dk, nh, nt] = this.shape(q) as [number, number, number];
    const [dk2, nkv] = this.shape(k) as [number, number];
    const [dv, nkv2] = this.shape(v) as [number, number];
    if (dk !== dk2 || nkv !== nkv2 || nh % nkv !== 0) throw bad(this.module, `attn: q [${this.shape(q).join(', ')}], k [${this.shape(k).join(', ')}], v [${this.shape(v).join(', ')}]`);
    return this.add({ op: 'attn', layer, scale }, [q, k, v, positions], [dv, nh, nt]);
  }

  moeGate(logits: number, p: MoeGateParams, bias?: number): number {
    return this.add({ op: 'moe_gate', p }, bias === undefined ? [logits] : [logits, bias], [2 * p.nUsed, this.shape(logits)[1]!]);
  }

  moeExperts(x: number, route: number, gate: number, up: number, down: number, nUsed: number): number {
    const sg = this.shape(gate);
    const sd = this.shape(down);
    if (sg.length !== 3 || sg[0] !== this.shape(x)[0] || sd[1] !== sg[0] || sd[0] !== sg[1]) throw bad(this.module, `experts: gate [${sg.join(', ')}], down [${sd.join(', ')}]`);
    return this.add({ op: 'moe_experts', nUsed }, [x, route, gate, up, down], this.shape(x));
  }

  getLast(x: number): number {
    const s = this.shape(x);
    return this.add({ op: 'get_last' }, [x], [s[0]!, 1]);
  }

  build(output: number): Graph {
    return { nodes: this.nodes, output, nTokens: this.nTokens };
  }
}
