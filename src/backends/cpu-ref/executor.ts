// cpu-ref: executes a Graph in plain TypeScript, dequantizing weights through the quant references and
// accumulating dot products in float64. Slow and exact: the oracle for the WebGPU and WASM backends.
// Holds the KV cache ([dk, n_kv_head, ctx] K and [dv, n_kv_head, ctx] V per layer) between calls.
import { EngineError } from '../../core/errors.ts';
import type { GraphExecutor, RunInputs, WeightData } from '../../graph/executor.ts';
import type { Graph, GraphNode } from '../../graph/graph.ts';
import { quantTraits } from '../../quant/registry.ts';
import { roundActivations } from './activation-rounding.ts';
import { moeGate } from './moe.ts';
import { rope } from './rope.ts';

export type { WeightData, RunInputs } from '../../graph/executor.ts';

interface LayerCache {
  k: Float32Array;
  v: Float32Array;
  dk: number;
  dv: number;
  nkv: number;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export class CpuRefExecutor implements GraphExecutor {
  private readonly f32 = new Map<string, Float32Array>();
  private readonly kv = new Map<number, LayerCache>();

  constructor(
    private readonly weights: (name: string) => WeightData,
    readonly nCtx: number,
    /** Round matmul inputs as llama.cpp's CPU backend does (see activation-rounding.ts); off = exact math. */
    private readonly llamaCppRounding = false,
  ) {}

  /** ggml type of the weight a node reads (through reshapes and slices), for activation rounding. */
  private weightType(g: Graph, id: number): number | undefined {
    let n = g.nodes[id]!;
    while (n.spec.op === 'reshape' || n.spec.op === 'slice0') n = g.nodes[n.src[0]!]!;
    return n.spec.op === 'weight' ? this.weights(n.spec.name).type : undefined;
  }

  private round(x: Float32Array, k: number, type: number | undefined): Float32Array {
    return this.llamaCppRounding && type !== undefined ? roundActivations(x, k, type) : x;
  }

  /** Dequantized weight, cached: cpu-ref is for small models and tests. */
  private weight(name: string): Float32Array {
    let w = this.f32.get(name);
    if (w === undefined) {
      const d = this.weights(name);
      const n = numel(d.dims);
      w = new Float32Array(n);
      quantTraits(d.type, name).dequantizeRow(d.bytes, w, n);
      this.f32.set(name, w);
    }
    return w;
  }

  resetCache(): void {
    this.kv.clear();
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return Promise.resolve(this.runSync(g, inputs));
  }

  /** Synchronous run: cpu-ref needs no device round trip. */
  runSync(g: Graph, inputs: RunInputs): Float32Array {
    return this.runManySync(g, inputs, [g.output])[0]!;
  }

  runMany(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]> {
    return Promise.resolve(this.runManySync(g, inputs, outputs));
  }

  runManySync(g: Graph, inputs: RunInputs, outputs: readonly number[]): Float32Array[] {
    const vals: (Float32Array | Int32Array | undefined)[] = [];
    const keep = new Set(outputs);
    const lastUse = new Int32Array(g.nodes.length).fill(-1);
    g.nodes.forEach((n) => n.src.forEach((s) => (lastUse[s] = n.id)));
    for (const n of g.nodes) {
      vals[n.id] = this.exec(n, g, vals, inputs);
      // Free activations nobody reads any more (prefill of long prompts stays bounded).
      for (const s of n.src) if (lastUse[s] === n.id && !keep.has(s) && g.nodes[s]!.spec.op !== 'weight') vals[s] = undefined;
    }
    return outputs.map((o) => vals[o] as Float32Array);
  }

  private exec(n: GraphNode, g: Graph, vals: (Float32Array | Int32Array | undefined)[], inp: RunInputs): Float32Array | Int32Array {
    const src = (i: number): Float32Array => vals[n.src[i]!] as Float32Array;
    const shp = (i: number): readonly number[] => g.nodes[n.src[i]!]!.shape;
    const s = n.spec;
    switch (s.op) {
      case 'input':
        return s.name === 'tokens' ? inp.tokens : inp.positions;
      case 'weight':
        return this.weight(s.name);
      case 'external': {
        const v = inp.externals?.get(n.id);
        if (v === undefined) throw new EngineError('bad_argument', `no value given for external node ${n.id} (${n.module})`);
        return v;
      }
      case 'get_rows': {
        const w = src(0);
        const ids = vals[n.src[1]!] as Int32Array;
        const [ne0, nRows] = shp(0) as [number, number];
        const out = new Float32Array(ne0 * ids.length);
        ids.forEach((id, t) => {
          if (id < 0 || id >= nRows) throw new EngineError('bad_argument', `token id ${id} is outside the vocabulary (${nRows} tokens)`);
          out.set(w.subarray(id * ne0, (id + 1) * ne0), t * ne0);
        });
        return out;
      }
      case 'rms_norm': {
        const x = src(0);
        const ne0 = n.shape[0]!;
        const out = new Float32Array(x.length);
        for (let r = 0; r < x.length / ne0; r++) {
          let ss = 0;
          for (let i = 0; i < ne0; i++) ss += x[r * ne0 + i]! ** 2;
          const k = 1 / Math.sqrt(ss / ne0 + s.eps);
          for (let i = 0; i < ne0; i++) out[r * ne0 + i] = x[r * ne0 + i]! * k;
        }
        return out;
      }
      case 'mul':
      case 'add':
        return broadcast(src(0), n.shape, src(1), shp(1), s.op);
      case 'scale':
        return src(0).map((v) => v * s.s);
      case 'sigmoid':
        return src(0).map((v) => 1 / (1 + Math.exp(-v)));
      case 'swiglu': {
        const a = src(0);
        const b = src(1);
        return a.map((v, i) => (v / (1 + Math.exp(-v))) * b[i]!);
      }
      case 'mul_mat':
        return mulMat(src(0), shp(0), this.round(src(1), shp(0)[0]!, this.weightType(g, n.src[0]!)), numel(n.shape.slice(1)));
      case 'mul_mat_heads': {
        const [k, m, nh] = shp(0) as [number, number, number];
        const nt = n.shape[2]!;
        const w = src(0);
        const x = this.round(src(1), k, this.weightType(g, n.src[0]!));
        const out = new Float32Array(m * nh * nt);
        for (let h = 0; h < nh; h++) {
          const wh = w.subarray(h * k * m, (h + 1) * k * m);
          for (let t = 0; t < nt; t++) out.set(mulMat(wh, [k, m], x.subarray((t * nh + h) * k, (t * nh + h + 1) * k), 1), (t * nh + h) * m);
        }
        return out;
      }
      case 'reshape':
        return src(0);
      case 'slice0': {
        const x = src(0);
        const ne0 = shp(0)[0]!;
        const len = n.shape[0]!;
        const rows = x.length / ne0;
        const out = new Float32Array(len * rows);
        for (let r = 0; r < rows; r++) out.set(x.subarray(r * ne0 + s.start, r * ne0 + s.start + len), r * len);
        return out;
      }
      case 'concat0': {
        const a = src(0);
        const b = src(1);
        const na = shp(0)[0]!;
        const nb = shp(1)[0]!;
        const rows = a.length / na;
        const out = new Float32Array((na + nb) * rows);
        for (let r = 0; r < rows; r++) {
          out.set(a.subarray(r * na, (r + 1) * na), r * (na + nb));
          out.set(b.subarray(r * nb, (r + 1) * nb), r * (na + nb) + na);
        }
        return out;
      }
      case 'repeat1': {
        const x = src(0);
        const [n0, rep, n2] = n.shape as [number, number, number];
        const out = new Float32Array(n0 * rep * n2);
        for (let t = 0; t < n2; t++) for (let r = 0; r < rep; r++) out.set(x.subarray(t * n0, (t + 1) * n0), (t * rep + r) * n0);
        return out;
      }
      case 'rope': {
        const out = src(0).slice();
        rope(out, n.shape, vals[n.src[1]!] as Int32Array, s.p);
        return out;
      }
      case 'attn':
        return this.attn(src(0), shp(0), src(1), shp(1), src(2), shp(2), vals[n.src[3]!] as Int32Array, s.layer, s.scale);
      case 'moe_gate': {
        const out = new Float32Array(numel(n.shape));
        moeGate(src(0), n.shape[1]!, s.p, n.src.length > 1 ? src(1) : undefined, out);
        return out;
      }
      case 'moe_experts':
        return moeExperts(src(0), shp(0), src(1), s.nUsed, [src(2), src(3), src(4)], shp(2), shp(4), (x, k, which) => this.round(x, k, this.weightType(g, n.src[2 + which]!)));
      case 'get_last': {
        const x = src(0);
        const ne0 = n.shape[0]!;
        return x.slice(x.length - ne0);
      }
    }
  }

  private attn(q: Float32Array, sq: readonly number[], k: Float32Array, sk: readonly number[], v: Float32Array, sv: readonly number[], pos: Int32Array, layer: number, scale: number): Float32Array {
    const [dk, nh, nt] = sq as [number, number, number];
    const nkv = sk[1]!;
    const dv = sv[0]!;
    let c = this.kv.get(layer);
    if (c === undefined) {
      c = { k: new Float32Array(dk * nkv * this.nCtx), v: new Float32Array(dv * nkv * this.nCtx), dk, dv, nkv };
      this.kv.set(layer, c);
    }
    for (let t = 0; t < nt; t++) {
      const p = pos[t]!;
      if (p >= this.nCtx) throw new EngineError('bad_argument', `position ${p} is past the context size ${this.nCtx}; start a new conversation or raise --ctx`);
      c.k.set(k.subarray(t * dk * nkv, (t + 1) * dk * nkv), p * dk * nkv);
      c.v.set(v.subarray(t * dv * nkv, (t + 1) * dv * nkv), p * dv * nkv);
    }
    const out = new Float32Array(dv * nh * nt);
    const group = nh / nkv;
    for (let t = 0; t < nt; t++) {
      const len = pos[t]! + 1; // causal: this token sees positions 0..pos
      const scores = new Float64Array(len);
      for (let h = 0; h < nh; h++) {
        const kh = Math.floor(h / group);
        const qo = (t * nh + h) * dk;
        let max = -Infinity;
        for (let j = 0; j < len; j++) {
          const ko = (j * nkv + kh) * dk;
          let d = 0;
          for (let i = 0; i < dk; i++) d += q[qo + i]! * c.k[ko + i]!;
          scores[j] = d * scale;
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < len; j++) sum += scores[j] = Math.exp(scores[j]! - max);
        const oo = (t * nh + h) * dv;
        for (let i = 0; i < dv; i++) {
          let acc = 0;
          for (let j = 0; j < len; j++) acc += scores[j]! * c.v[(j * nkv + kh) * dv + i]!;
          out[oo + i] = acc / sum;
        }
      }
    }
    return out;
  }
}

function broadcast(a: Float32Array, sa: readonly number[], b: Float32Array, sb: readonly number[], op: 'mul' | 'add'): Float32Array {
  const out = new Float32Array(a.length);
  const strides: number[] = [];
  let st = 1;
  for (let d = 0; d < sa.length; d++) {
    strides.push((sb[d] ?? 1) === 1 ? 0 : st);
    st *= sb[d] ?? 1;
  }
  const idx = new Array<number>(sa.length).fill(0);
  for (let i = 0; i < a.length; i++) {
    let bi = 0;
    for (let d = 0; d < sa.length; d++) bi += idx[d]! * strides[d]!;
    out[i] = op === 'mul' ? a[i]! * b[bi]! : a[i]! + b[bi]!;
    for (let d = 0; d < sa.length; d++) {
      if (++idx[d]! < sa[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** w [k, m] (dequantized, row j = output j), x [k, n] → [m, n]; float64 accumulation. */
function mulMat(w: Float32Array, sw: readonly number[], x: Float32Array, n: number): Float32Array {
  const [k, m] = sw as [number, number];
  const out = new Float32Array(m * n);
  for (let c = 0; c < n; c++) {
    const xo = c * k;
    for (let j = 0; j < m; j++) {
      const wo = j * k;
      let acc = 0;
      for (let i = 0; i < k; i++) acc += w[wo + i]! * x[xo + i]!;
      out[c * m + j] = acc;
    }
  }
  return out;
}

/** x [n_embd, nt], route [2*nUsed, nt], gate/up [n_embd, n_ff, n_expert], down [n_ff, n_embd, n_expert]. */
function moeExperts(
  x: Float32Array,
  sx: readonly number[],
  route: Float32Array,
  nUsed: number,
  w: [Float32Array, Float32Array, Float32Array],
  sg: readonly number[],
  sd: readonly number[],
  round: (x: Float32Array, k: number, which: 0 | 1 | 2) => Float32Array,
): Float32Array {
  const [nEmbd, nt] = sx as [number, number];
  const nFf = sg[1]!;
  const [gate, up, down] = w;
  const out = new Float32Array(nEmbd * nt);
  const h = new Float32Array(nFf);
  for (let t = 0; t < nt; t++) {
    const xt = x.subarray(t * nEmbd, (t + 1) * nEmbd);
    for (let i = 0; i < nUsed; i++) {
      const e = route[t * 2 * nUsed + i]!;
      const wt = route[t * 2 * nUsed + nUsed + i]!;
      const g = mulMat(gate.subarray(e * nEmbd * nFf, (e + 1) * nEmbd * nFf), [nEmbd, nFf], round(xt, nEmbd, 0), 1);
      const u = mulMat(up.subarray(e * nEmbd * nFf, (e + 1) * nEmbd * nFf), [nEmbd, nFf], round(xt, nEmbd, 1), 1);
      for (let j = 0; j < nFf; j++) h[j] = (g[j]! / (1 + Math.exp(-g[j]!))) * u[j]!;
      const d = mulMat(down.subarray(e * nFf * sd[1]!, (e + 1) * nFf * sd[1]!), [nFf, nEmbd], round(h, nFf, 2), 1);
      for (let j = 0; j < nEmbd; j++) out[t * nEmbd + j]! += wt * d[j]!;
    }
  }
  return out;
}
