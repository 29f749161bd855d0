// The op conformance registry (llama.cpp test-backend-ops style): every case is a small graph of one op (plus
// weight leaves) over fresh random inputs. A backend under test runs the same graph as cpu-ref and the outputs
// are compared by NMSE under the case's budget. Activations enter as F32 "weights", so a case needs no model.
import { GGMLType, ggmlTypeName } from '../../src/core/ggml-type.ts';
import type { RunInputs, WeightData } from '../../src/graph/executor.ts';
import { GraphBuilder, type Graph, type MoeGateParams, type RopeParams } from '../../src/graph/graph.ts';
import { QUANT_TRAITS, quantize } from '../../src/quant/registry.ts';

export interface ConformanceCase {
  readonly name: string;
  readonly op: string;
  readonly graph: Graph;
  readonly weights: ReadonlyMap<string, WeightData>;
  readonly inputs: RunInputs;
  /** Normalised mean squared error allowed against cpu-ref. */
  readonly nmse: number;
  /** Graphs run first on the same executor, unchecked (they fill the KV cache a decode case reads). */
  readonly setup?: readonly { readonly graph: Graph; readonly inputs: RunInputs }[];
}

/** Gaussian N(0, 1) via Box-Muller from Math.random: fresh inputs every run. */
function randn(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - Math.random();
    const v = Math.random();
    const r = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function weight(type: number, dims: number[], scale = 1): WeightData {
  const n = dims.reduce((a, b) => a * b, 1);
  return { type, dims, bytes: quantize(type, randn(n, scale)) };
}

class CaseBuilder {
  readonly weights = new Map<string, WeightData>();
  readonly g: GraphBuilder;
  constructor(readonly nTokens: number) {
    this.g = new GraphBuilder(nTokens, (n) => this.weights.get(n)?.dims);
  }
  w(name: string, type: number, dims: number[], scale = 1): number {
    this.weights.set(name, weight(type, dims, scale));
    return this.g.weight(name);
  }
  done(name: string, op: string, out: number, nmse: number, positions?: Int32Array): ConformanceCase {
    const tokens = Int32Array.from({ length: this.nTokens }, () => Math.floor(Math.random() * 8));
    return { name, op, graph: this.g.build(out), weights: this.weights, inputs: { tokens, positions: positions ?? Int32Array.from(tokens, (_, i) => i) }, nmse };
  }
}

// Per-type NMSE budgets against cpu-ref (which dequantizes exactly and accumulates in f64): a backend computing
// on the same blocks differs only by f32 accumulation, or by quantizing activations to Q8 (WASM's int8 dots):
// ~(1/127)²/3 per element for Q8 activations, so 1e-4 covers both; F16/BF16 paths round activations too.
export const MUL_MAT_NMSE = 1e-4;

/** Weight types every backend must run (the foundation issue's list, activation-only Q8_1/Q8_K excluded). */
export const WEIGHT_TYPES: readonly GGMLType[] = [...QUANT_TRAITS.keys()].filter((t) => t !== GGMLType.Q8_1 && t !== GGMLType.Q8_K);

const ROPE = (nDims: number, mode: 'normal' | 'neox', yarn: boolean): RopeParams => ({
  nDims,
  mode,
  freqBase: 10000,
  freqScale: yarn ? 1 / 40 : 1,
  extFactor: yarn ? 1 : 0,
  attnFactor: yarn ? 0.8 : 1,
  betaFast: 32,
  betaSlow: 1,
  nCtxOrig: 4096,
});

export function conformanceCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  // mul_mat: every type; k = one or several blocks, odd m, decode (n = 1) and prefill (n > 1) shapes.
  for (const type of WEIGHT_TYPES) {
    const bs = QUANT_TRAITS.get(type)!.blockSize;
    for (const [k, m, n] of [[bs, 7, 1], [bs * 3, 33, 1], [bs * 2, 65, 5], [Math.max(512, bs * 2), 130, 17]] as const) {
      const b = new CaseBuilder(n);
      const out = b.g.mulMat(b.w('w', type, [k, m], 0.5), b.w('x', GGMLType.F32, [k, n]));
      cases.push(b.done(`mul_mat ${ggmlTypeName(type)} k=${k} m=${m} n=${n}`, 'mul_mat', out, MUL_MAT_NMSE));
    }
    if (bs <= 64) {
      // MLA's absorbed k_b/v_b: one [k, m] matrix per head (k is qk_nope = 128 or kv_lora = 512 in DeepSeek).
      const h = new CaseBuilder(3);
      const out = h.g.mulMatHeads(h.w('w', type, [bs * 2, 24, 4], 0.5), h.w('x', GGMLType.F32, [bs * 2, 4, 3]));
      cases.push(h.done(`mul_mat_heads ${ggmlTypeName(type)}`, 'mul_mat_heads', out, MUL_MAT_NMSE));
    }
    const b = new CaseBuilder(4);
    const ids = b.g.input('tokens');
    const out = b.g.getRows(b.w('emb', type, [bs * 2, 8]), ids);
    cases.push(b.done(`get_rows ${ggmlTypeName(type)}`, 'get_rows', out, 1e-10));
  }
  for (const [n0, n1] of [[64, 3], [1000, 5], [4096, 1]] as const) {
    let b = new CaseBuilder(n1);
    cases.push(b.done(`rms_norm ${n0}x${n1}`, 'rms_norm', b.g.rmsNorm(b.w('x', GGMLType.F32, [n0, n1]), 1e-6), 1e-10));
    b = new CaseBuilder(n1);
    cases.push(b.done(`mul broadcast ${n0}x${n1}`, 'mul', b.g.mul(b.w('x', GGMLType.F32, [n0, n1]), b.w('y', GGMLType.F32, [n0])), 1e-12));
    b = new CaseBuilder(n1);
    cases.push(b.done(`add ${n0}x${n1}`, 'add', b.g.addT(b.w('x', GGMLType.F32, [n0, n1]), b.w('y', GGMLType.F32, [n0, n1])), 1e-12));
    b = new CaseBuilder(n1);
    cases.push(b.done(`swiglu ${n0}x${n1}`, 'swiglu', b.g.swiglu(b.w('x', GGMLType.F32, [n0, n1]), b.w('y', GGMLType.F32, [n0, n1])), 1e-10));
    b = new CaseBuilder(n1);
    cases.push(b.done(`scale+sigmoid ${n0}x${n1}`, 'sigmoid', b.g.sigmoid(b.g.scale(b.w('x', GGMLType.F32, [n0, n1]), 0.7)), 1e-10));
  }
  for (const [hd, nh, nt, nDims, mode, yarn] of [[64, 4, 5, 64, 'normal', false], [128, 2, 3, 128, 'neox', false], [96, 3, 4, 32, 'normal', true], [64, 1, 7, 64, 'neox', true]] as const) {
    const b = new CaseBuilder(nt);
    const pos = Int32Array.from({ length: nt }, () => Math.floor(Math.random() * 3000));
    const out = b.g.rope(b.w('x', GGMLType.F32, [hd, nh, nt]), b.g.input('positions'), ROPE(nDims, mode, yarn));
    cases.push(b.done(`rope ${mode}${yarn ? ' yarn' : ''} hd=${hd} nh=${nh}`, 'rope', out, 1e-8, pos));
  }
  for (const [dk, dv, nh, nkv, nt] of [[64, 64, 4, 2, 1], [96, 128, 4, 4, 6], [576, 512, 8, 1, 3], [128, 128, 8, 8, 19]] as const) {
    const b = new CaseBuilder(nt);
    const q = b.w('q', GGMLType.F32, [dk, nh, nt]);
    const k = b.w('k', GGMLType.F32, [dk, nkv, nt]);
    const v = b.w('v', GGMLType.F32, [dv, nkv, nt]);
    cases.push(b.done(`attn dk=${dk} dv=${dv} heads ${nh}/${nkv} nt=${nt}`, 'attn', b.g.attn(q, k, v, b.g.input('positions'), 0, 1 / Math.sqrt(dk)), 1e-8));
  }
  const gates: [string, MoeGateParams, boolean][] = [
    ['softmax top-2 of 8, norm', { nExpert: 8, nUsed: 2, func: 'softmax', norm: true, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' }, false],
    ['softmax top-6 of 64', { nExpert: 64, nUsed: 6, func: 'softmax', norm: false, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' }, false],
    ['sigmoid+bias top-8 of 64, 8 groups keep 4, scale 2.5', { nExpert: 64, nUsed: 8, func: 'sigmoid', norm: true, scale: 2.5, nGroup: 8, topkGroup: 4, groupScore: 'top2_sum' }, true],
  ];
  for (const [name, p, bias] of gates) {
    const b = new CaseBuilder(9);
    const logits = b.w('logits', GGMLType.F32, [p.nExpert, 9], 2);
    const out = b.g.moeGate(logits, p, bias ? b.w('bias', GGMLType.F32, [p.nExpert], 0.1) : undefined);
    cases.push(b.done(`moe_gate ${name}`, 'moe_gate', out, 1e-10));
  }
  // moe_experts (mul_mat_id): every type, a decode-sized batch (per-slot matvec) and prefill batches (tokens
  // grouped by expert, one tiled GEMM per expert); odd expert counts and sizes where the block size allows.
  for (const type of WEIGHT_TYPES) {
    const bs = QUANT_TRAITS.get(type)!.blockSize;
    const [emb, ff] = bs === 1 ? [72, 52] : bs === 32 ? [96, 160] : [256, 512];
    const runs: [number, number, number][] = [[8, 2, 3], [6, 2, 9]];
    if ([GGMLType.F32, GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q6_K].includes(type)) runs.push([5, 3, 40]);
    for (const [ne, nu, nt] of runs) {
      const b = new CaseBuilder(nt);
      const x = b.w('x', GGMLType.F32, [emb, nt]);
      const route = b.g.moeGate(b.w('logits', GGMLType.F32, [ne, nt], 2), { nExpert: ne, nUsed: nu, func: 'softmax', norm: true, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' });
      const out = b.g.moeExperts(x, route, b.w('gate', type, [emb, ff, ne], 0.1), b.w('up', type, [emb, ff, ne], 0.1), b.w('down', type, [ff, emb, ne], 0.1), nu);
      cases.push(b.done(`moe_experts ${ggmlTypeName(type)} ${ne}x${nu} nt=${nt}`, 'moe_experts', out, MUL_MAT_NMSE));
    }
  }
  {
    const b = new CaseBuilder(3);
    const x = b.w('x', GGMLType.F32, [96, 4, 3]);
    const y = b.w('y', GGMLType.F32, [32, 1, 3]);
    const out = b.g.concat0(b.g.slice0(x, 64, 32), b.g.repeat1(y, 4));
    cases.push(b.done('slice0+repeat1+concat0', 'concat0', b.g.getLast(b.g.reshape(out, [64 * 4, 3])), 1e-12));
  }
  return cases;
}

/**
 * Matvec-sized products for backends that quantize the activation to int8 (llama.cpp's vec_dot inputs: Q8_0 for
 * Q4_0/Q8_0, Q8_K for Q4_K): whole 256-element blocks, odd row counts, 1-3 columns, per-head and per-expert forms.
 */
export function int8DotCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const type of [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K]) {
    const t = ggmlTypeName(type);
    for (const [k, m, n] of [[256, 7, 1], [768, 33, 3], [2048, 130, 1]] as const) {
      const b = new CaseBuilder(n);
      const out = b.g.mulMat(b.w('w', type, [k, m], 0.5), b.w('x', GGMLType.F32, [k, n]));
      cases.push(b.done(`mul_mat ${t} k=${k} m=${m} n=${n}`, 'mul_mat', out, MUL_MAT_NMSE));
    }
    const h = new CaseBuilder(2);
    cases.push(h.done(`mul_mat_heads ${t} k=512`, 'mul_mat_heads', h.g.mulMatHeads(h.w('w', type, [512, 24, 4], 0.5), h.w('x', GGMLType.F32, [512, 4, 2])), MUL_MAT_NMSE));
    const [ne, nu, emb, ff, nt] = [8, 2, 256, 512, 3];
    const e = new CaseBuilder(nt);
    const route = e.g.moeGate(e.w('logits', GGMLType.F32, [ne, nt], 2), { nExpert: ne, nUsed: nu, func: 'softmax', norm: true, scale: 1, nGroup: 1, topkGroup: 1, groupScore: 'max' });
    const out = e.g.moeExperts(e.w('x', GGMLType.F32, [emb, nt]), route, e.w('gate', type, [emb, ff, ne], 0.1), e.w('up', type, [emb, ff, ne], 0.1), e.w('down', type, [ff, emb, ne], 0.1), nu);
    cases.push(e.done(`moe_experts ${t} ${ne}x${nu} nt=${nt}`, 'moe_experts', out, MUL_MAT_NMSE));
  }
  return cases;
}

/**
 * Decode attention over long contexts (flash-decoding's splits): a setup graph writes `past` positions of K and V
 * (with as many query heads as KV heads, which the cache does not depend on, to keep it cheap), then the case
 * attends from `nt` new tokens at positions past.. over all of them. GQA groups, one head (dk != dv) and DeepSeek
 * MLA's absorbed form (576/512 over one compressed KV head, 16 query heads). The setup's causal prefill costs
 * past² on software WebGPU, hence about a thousand positions.
 */
export function longContextCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const [dk, dv, nh, nkv, past, nt] of [[64, 64, 8, 2, 1030, 3], [96, 128, 1, 1, 1100, 1], [576, 512, 16, 1, 1030, 1]] as const) {
    const weights = new Map<string, WeightData>();
    const leaf = (g: GraphBuilder, name: string, dims: number[]): number => {
      weights.set(name, weight(GGMLType.F32, dims));
      return g.weight(name);
    };
    const sg = new GraphBuilder(past, (n) => weights.get(n)?.dims);
    const fill = sg.attn(leaf(sg, 'sq', [dk, nkv, past]), leaf(sg, 'sk', [dk, nkv, past]), leaf(sg, 'sv', [dv, nkv, past]), sg.input('positions'), 0, 1 / Math.sqrt(dk));
    const g = new GraphBuilder(nt, (n) => weights.get(n)?.dims);
    const o = g.attn(leaf(g, 'q', [dk, nh, nt]), leaf(g, 'k', [dk, nkv, nt]), leaf(g, 'v', [dv, nkv, nt]), g.input('positions'), 0, 1 / Math.sqrt(dk));
    const ids = (n: number, from: number): RunInputs => ({ tokens: new Int32Array(n), positions: Int32Array.from({ length: n }, (_, i) => from + i) });
    out.push({
      name: `attn decode dk=${dk} dv=${dv} heads ${nh}/${nkv} over ${past} positions, nt=${nt}`,
      op: 'attn',
      graph: g.build(o),
      weights,
      inputs: ids(nt, past),
      nmse: 1e-8,
      setup: [{ graph: sg.build(fill), inputs: ids(past, 0) }],
    });
  }
  return out;
}

/** Normalised mean squared error Σ(a−b)² / Σb². */
export function nmse(a: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (a[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return den === 0 ? num : num / den;
}
