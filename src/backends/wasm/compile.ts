// Graph -> program: one we_op record per computing node, buffers planned in one activation arena (lifetimes
// from the last reader, aliases for reshape and get_last), weights placed by the executor's store. Pure
// bookkeeping in TS; every byte of compute runs in the kernels.
import { EngineError } from '../../core/errors.ts';
import { ggmlTypeName } from '../../core/ggml-type.ts';
import type { Graph, GraphNode, RopeParams } from '../../graph/graph.ts';
import { OP_WORDS, OpCode, OpField, type KernelExports } from './abi.ts';
import { ArenaPlan } from './arena-plan.ts';

export interface RawWeight {
  readonly ptr: number;
  readonly type: number;
  readonly dims: readonly number[];
}

/** What the compiler needs from the executor. */
export interface CompileContext {
  readonly kernels: KernelExports;
  readonly threads: number;
  readonly nCtx: number;
  rawWeight(name: string): RawWeight;
  f32Weight(name: string): number;
  kvCache(layer: number, dk: number, dv: number, nkv: number): { k: number; v: number };
  /** Scratch of 128 bytes for queries that read a we_op record. */
  readonly queryOp: number;
  writeI32(ptr: number, words: Int32Array): void;
}

export interface RopeSlot {
  readonly off: number;
  readonly p: RopeParams;
}

export interface ExternalSlot {
  readonly id: number;
  readonly off: number;
  readonly len: number;
}

/** A compiled graph with arena-relative buffers; records hold absolute pointers once linked to an arena. */
export interface Program {
  readonly records: Int32Array;
  readonly nOps: number;
  /** Node of each record (error messages). */
  readonly opNodes: readonly GraphNode[];
  /** Which record words hold arena offsets (made absolute by link()). */
  readonly relocs: Int32Array;
  readonly arenaBytes: number;
  readonly tokensOff: number;
  readonly positionsOff: number;
  readonly ropes: readonly RopeSlot[];
  /** Arena slots of `external` nodes, written before each run from RunInputs.externals. */
  readonly externals: readonly ExternalSlot[];
  /** Where the requested outputs live (compileGraph's `outputs`, default the graph output). */
  readonly outputs: readonly { readonly off: number; readonly len: number }[];
  /** Vocabulary size per get_rows over the tokens (ids checked before a run). */
  readonly idLimits: readonly number[];
  readonly hasAttn: boolean;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Where a node's value lives: a weight's bytes (absolute), or an arena offset (relative). */
type Loc = { abs: number } | { rel: number };

class RecordWriter {
  readonly words: number[] = [];
  readonly relocs: number[] = [];
  readonly nodes: GraphNode[] = [];
  op(node: GraphNode, code: number, fields: { type?: number; act?: number; ne?: readonly number[]; p?: readonly (Loc | 0)[]; i?: readonly number[]; f?: readonly number[] }): void {
    const base = this.words.length;
    const w = new Array<number>(OP_WORDS).fill(0);
    w[OpField.CODE] = code;
    w[OpField.TYPE] = fields.type ?? 0;
    w[OpField.ACT] = fields.act ?? 0;
    (fields.ne ?? []).forEach((v, j) => (w[OpField.NE + j] = v));
    (fields.p ?? []).forEach((loc, j) => {
      if (loc === 0) return;
      if ('abs' in loc) w[OpField.P + j] = loc.abs;
      else {
        w[OpField.P + j] = loc.rel;
        this.relocs.push(base + OpField.P + j);
      }
    });
    (fields.i ?? []).forEach((v, j) => (w[OpField.I + j] = v));
    const f32 = new Float32Array(1);
    const i32 = new Int32Array(f32.buffer);
    (fields.f ?? []).forEach((v, j) => {
      f32[0] = v;
      w[OpField.F + j] = i32[0]!;
    });
    this.words.push(...w);
    this.nodes.push(node);
  }
}

function unsupported(node: GraphNode, what: string): EngineError {
  return new EngineError('model_invalid', `${node.module}: ${what} is not supported by the WASM backend`);
}

export interface WeightForms {
  /** GGUF blocks as stored (matrix operands, embedding tables, expert tensors). */
  raw: boolean;
  /** Dequantized f32 (a weight an op reads as an activation: norms, biases). */
  f32: boolean;
}

/** Walks reshape/get_last chains down to a weight; undefined when the value is not a view of a weight. */
export function weightOfNode(g: Graph, id: number): string | undefined {
  let n = g.nodes[id]!;
  while (n.spec.op === 'reshape' || n.spec.op === 'get_last') n = g.nodes[n.src[0]!]!;
  return n.spec.op === 'weight' ? n.spec.name : undefined;
}

/** Sources each op reads as raw blocks (compileGraph's rawOf calls); every other weight source is read as f32. */
const RAW_SOURCES: Readonly<Partial<Record<GraphNode['spec']['op'], readonly number[]>>> = { get_rows: [0], mul_mat: [0], mul_mat_heads: [0], moe_experts: [2, 3, 4] };

/** The forms in which compileGraph will ask for each weight of `g` (what loading must put into wasm memory). */
export function weightForms(g: Graph): Map<string, WeightForms> {
  const out = new Map<string, WeightForms>();
  for (const n of g.nodes) {
    if (n.spec.op === 'reshape' || n.spec.op === 'get_last') continue;
    const raw = RAW_SOURCES[n.spec.op] ?? [];
    n.src.forEach((s, i) => {
      const name = weightOfNode(g, s);
      if (name === undefined) return;
      const f = out.get(name) ?? { raw: false, f32: false };
      if (raw.includes(i)) f.raw = true;
      else f.f32 = true;
      out.set(name, f);
    });
  }
  return out;
}

/** `outputs`: the nodes whose values a run reads back (they live to the end of the program). */
export function compileGraph(g: Graph, ctx: CompileContext, outputs: readonly number[] = [g.output]): Program {
  const nodes = g.nodes;
  const k = ctx.kernels;
  // Root of aliases (reshape, get_last) and the byte offset into it.
  const root = new Int32Array(nodes.length);
  const rootOff = new Float64Array(nodes.length);
  for (const n of nodes) {
    root[n.id] = n.id;
    if (n.spec.op === 'reshape' || n.spec.op === 'get_last') {
      const s = n.src[0]!;
      root[n.id] = root[s]!;
      rootOff[n.id] = rootOff[s]! + (n.spec.op === 'get_last' ? 4 * (numel(nodes[s]!.shape) - n.shape[0]!) : 0);
    }
  }
  const isWeight = (id: number): boolean => nodes[root[id]!]!.spec.op === 'weight';
  const weightName = (id: number): string => {
    const spec = nodes[root[id]!]!.spec;
    return spec.op === 'weight' ? spec.name : '';
  };
  for (const o of outputs) if (isWeight(o) || nodes[root[o]!]!.spec.op === 'input') throw unsupported(nodes[o]!, 'reading back a weight or an input');
  // Last reader of every root (outputs live to the end).
  const lastUse = new Int32Array(nodes.length).fill(-1);
  for (const n of nodes) for (const s of n.src) lastUse[root[s]!] = Math.max(lastUse[root[s]!]!, n.id);
  for (const o of outputs) lastUse[root[o]!] = nodes.length;

  const plan = new ArenaPlan();
  const tokensOff = plan.alloc(4 * g.nTokens);
  const positionsOff = plan.alloc(4 * g.nTokens);
  // Inputs written before the run (tokens, positions, rope tables) stay reserved for the whole program.
  const ropes: RopeSlot[] = [];
  for (const n of nodes) {
    if (n.spec.op !== 'rope') continue;
    const key = JSON.stringify(n.spec.p);
    if (!ropes.some((r) => JSON.stringify(r.p) === key)) ropes.push({ off: plan.alloc(8 * n.spec.p.nDims * g.nTokens), p: n.spec.p });
  }
  const idLimits: number[] = [];
  const rel = new Map<number, number>(); // root id -> arena offset
  // External values are written before the run, so their slots are reserved before any node's buffer.
  const externals: ExternalSlot[] = [];
  for (const n of nodes) {
    if (n.spec.op !== 'external') continue;
    const off = plan.alloc(4 * numel(n.shape));
    rel.set(n.id, off);
    externals.push({ id: n.id, off, len: numel(n.shape) });
  }
  const rec = new RecordWriter();

  /** f32 value of node id (activation, F32 input view of a weight, or an input's int32 buffer). */
  const val = (id: number): Loc => {
    const r = root[id]!;
    const spec = nodes[r]!.spec;
    if (spec.op === 'weight') return { abs: ctx.f32Weight(spec.name) + rootOff[id]! };
    if (spec.op === 'input') return { rel: spec.name === 'tokens' ? tokensOff : positionsOff };
    const off = rel.get(r);
    if (off === undefined) throw unsupported(nodes[id]!, `reading node ${id} before it is computed`);
    return { rel: off + rootOff[id]! };
  };
  const inputOf = (n: GraphNode, i: number, name: 'tokens' | 'positions'): Loc => {
    const s = nodes[n.src[i]!]!.spec;
    if (s.op !== 'input' || s.name !== name) throw unsupported(n, `${n.spec.op} over anything but the ${name} input`);
    return val(n.src[i]!);
  };
  const rawOf = (n: GraphNode, i: number): RawWeight => {
    const raw = ctx.rawWeight(weightName(n.src[i]!));
    if (k.we_type_supported(raw.type) === 0) throw new EngineError('unsupported_quant', `ggml type ${ggmlTypeName(raw.type)} of tensor ${weightName(n.src[i]!)} has no WASM kernel`, { tensor: weightName(n.src[i]!) });
    return raw;
  };
  const rowBytes = (n: GraphNode, type: number, len: number): number => {
    const b = k.we_row_bytes(type, len);
    if (b < 0) throw unsupported(n, `rows of ${len} elements of ${ggmlTypeName(type)} (not whole blocks)`);
    return b;
  };

  for (const n of nodes) {
    const s = n.spec;
    const op = s.op;
    if (op === 'input' || op === 'weight' || op === 'external' || op === 'reshape' || op === 'get_last') continue;
    const shp = (i: number): readonly number[] => nodes[n.src[i]!]!.shape;
    const dst = plan.alloc(4 * numel(n.shape));
    rel.set(n.id, dst);
    const out: Loc = { rel: dst };
    const temps: number[] = [];
    const temp = (bytes: number): Loc => {
      const off = plan.alloc(bytes);
      temps.push(off);
      return { rel: off };
    };
    switch (op) {
      case 'get_rows': {
        const w = rawOf(n, 0);
        const [kk, nRows] = w.dims as [number, number];
        idLimits.push(nRows);
        rec.op(n, OpCode.GET_ROWS, { type: w.type, ne: [kk, nRows, n.shape[1]!], p: [{ abs: w.ptr }, inputOf(n, 1, 'tokens'), out], i: [rowBytes(n, w.type, kk)] });
        break;
      }
      case 'rms_norm':
        rec.op(n, OpCode.RMS_NORM, { ne: [n.shape[0]!, numel(n.shape) / n.shape[0]!], p: [val(n.src[0]!), 0, out], f: [s.eps] });
        break;
      case 'mul':
      case 'add': {
        const a = [...n.shape];
        const b = [...shp(1)];
        if (a.length > 4) throw unsupported(n, `${op} over ${a.length} dimensions`);
        while (a.length < 4) a.push(1);
        while (b.length < 4) b.push(1);
        rec.op(n, OpCode.BINARY, { ne: a, p: [val(n.src[0]!), val(n.src[1]!), out], i: [...b, op === 'add' ? 1 : 0] });
        break;
      }
      case 'scale':
        rec.op(n, OpCode.UNARY, { ne: [numel(n.shape)], p: [val(n.src[0]!), 0, out], i: [0], f: [s.s] });
        break;
      case 'sigmoid':
        rec.op(n, OpCode.UNARY, { ne: [numel(n.shape)], p: [val(n.src[0]!), 0, out], i: [1] });
        break;
      case 'swiglu':
        rec.op(n, OpCode.UNARY, { ne: [numel(n.shape)], p: [val(n.src[0]!), val(n.src[1]!), out], i: [2] });
        break;
      case 'mul_mat':
      case 'mul_mat_heads': {
        const sw = shp(0);
        const heads = op === 'mul_mat_heads' ? sw[2]! : 1;
        const [kk, m] = sw as [number, number];
        const cols = numel(shp(1)) / kk / heads;
        let w: Loc;
        let type: number;
        let stride: number;
        if (isWeight(n.src[0]!)) {
          const raw = rawOf(n, 0);
          type = raw.type;
          stride = rowBytes(n, type, kk);
          // a reshaped weight keeps its bytes: byte offsets of reshapes of weights are 0
          w = { abs: raw.ptr };
        } else {
          type = 0;
          stride = 4 * kk;
          w = val(n.src[0]!);
        }
        const act = k.we_act_type(type);
        const arb = k.we_act_row_bytes(act, kk);
        if (act < 0 || arb < 0) throw unsupported(n, `mul_mat of ${ggmlTypeName(type)} with k = ${kk}`);
        const scratch = temp(arb * cols * heads);
        rec.op(n, OpCode.MUL_MAT, { type, act, ne: [kk, m, cols, heads], p: [w, val(n.src[1]!), out, scratch], i: [stride, arb, stride * m] });
        break;
      }
      case 'slice0': {
        const n0 = shp(0)[0]!;
        rec.op(n, OpCode.SLICE0, { ne: [n0, n.shape[0]!, numel(shp(0)) / n0], p: [val(n.src[0]!), 0, out], i: [s.start] });
        break;
      }
      case 'concat0': {
        const na = shp(0)[0]!;
        const nb = shp(1)[0]!;
        rec.op(n, OpCode.CONCAT0, { ne: [na, nb, numel(shp(0)) / na], p: [val(n.src[0]!), val(n.src[1]!), out] });
        break;
      }
      case 'repeat1':
        rec.op(n, OpCode.REPEAT1, { ne: [n.shape[0]!, n.shape[1]!, n.shape[2]!], p: [val(n.src[0]!), 0, out] });
        break;
      case 'rope': {
        inputOf(n, 1, 'positions');
        const key = JSON.stringify(s.p);
        const slot = ropes.find((r) => JSON.stringify(r.p) === key)!;
        const [hd, nh, nt] = n.shape as [number, number, number];
        if (nt !== g.nTokens) throw unsupported(n, 'rope over a token count other than the graph input');
        rec.op(n, OpCode.ROPE, { ne: [hd, nh, nt], p: [val(n.src[0]!), { rel: slot.off }, out], i: [s.p.nDims, s.p.mode === 'neox' ? 1 : 0] });
        break;
      }
      case 'attn': {
        const [dk, nh, nt] = shp(0) as [number, number, number];
        const nkv = shp(1)[1]!;
        const dv = shp(2)[0]!;
        const cache = ctx.kvCache(s.layer, dk, dv, nkv);
        const scratch = temp(4 * ctx.nCtx * Math.max(1, ctx.threads));
        rec.op(n, OpCode.ATTN, {
          ne: [dk, dv, nh, nt],
          p: [val(n.src[0]!), val(n.src[1]!), val(n.src[2]!), inputOf(n, 3, 'positions'), { abs: cache.k }, { abs: cache.v }, out, scratch],
          i: [nkv, ctx.nCtx],
          f: [s.scale],
        });
        break;
      }
      case 'moe_gate': {
        const p = s.p;
        rec.op(n, OpCode.MOE_GATE, {
          ne: [p.nExpert, n.shape[1]!, p.nUsed],
          p: [val(n.src[0]!), n.src.length > 1 ? val(n.src[1]!) : 0, out],
          i: [p.func === 'sigmoid' ? 1 : 0, p.norm ? 1 : 0, p.nGroup, p.topkGroup, p.groupScore === 'max' ? 1 : 0],
          f: [p.scale],
        });
        break;
      }
      case 'moe_experts': {
        const [gate, up, down] = [rawOf(n, 2), rawOf(n, 3), rawOf(n, 4)];
        const [nEmbd, nFf, nExpert] = gate.dims as [number, number, number];
        const nt = n.shape[1]!;
        const ne = [nEmbd, nFf, nExpert, nt];
        const ii = [s.nUsed, gate.type, up.type, down.type];
        // ask the kernels how much scratch this shape needs
        const q = new Int32Array(OP_WORDS);
        ne.forEach((v, j) => (q[OpField.NE + j] = v));
        ii.forEach((v, j) => (q[OpField.I + j] = v));
        ctx.writeI32(ctx.queryOp, q);
        const bytes = k.we_moe_scratch_bytes(ctx.queryOp);
        if (bytes < 0) throw unsupported(n, `experts of ${ggmlTypeName(gate.type)}/${ggmlTypeName(up.type)}/${ggmlTypeName(down.type)} with n_embd ${nEmbd}, n_ff ${nFf}`);
        const scratch = temp(bytes);
        rec.op(n, OpCode.MOE_EXPERTS, { ne, p: [val(n.src[0]!), val(n.src[1]!), { abs: gate.ptr }, { abs: up.ptr }, { abs: down.ptr }, out, scratch], i: ii });
        break;
      }
      default:
        throw unsupported(n, `op ${op}`);
    }
    for (const t of temps) plan.release(t);
    if (lastUse[n.id] === -1) plan.release(dst); // nobody reads it (a dead node)
    for (const src of new Set(n.src.map((x) => root[x]!))) if (lastUse[src] === n.id && rel.has(src)) plan.release(rel.get(src)!);
  }
  const outs = outputs.map((o) => {
    const loc = val(o);
    if (!('rel' in loc)) throw unsupported(nodes[o]!, 'an output outside the arena');
    return { off: loc.rel, len: numel(nodes[o]!.shape) };
  });
  return {
    records: Int32Array.from(rec.words),
    nOps: rec.nodes.length,
    opNodes: rec.nodes,
    relocs: Int32Array.from(rec.relocs),
    arenaBytes: plan.peak,
    externals,
    outputs: outs,
    tokensOff,
    positionsOff,
    ropes,
    idLimits,
    hasAttn: rec.nodes.some((n) => n.spec.op === 'attn'),
  };
}

/** Records with arena offsets made absolute. */
export function linkRecords(p: Program, arena: number): Int32Array {
  const r = p.records.slice();
  for (const w of p.relocs) r[w] = r[w]! + arena;
  return r;
}
