// A graph plan: built once per Graph object, replayed every run. Walks the nodes in order, gives each
// activation a pooled buffer (freed after its last reader, so a node never writes a buffer it reads), lets the
// op encoders record their steps, then prepares pipelines, params and bind groups in one go.
import { GGMLType } from '../../core/ggml-type.ts';
import type { Graph, GraphNode, RopeParams, Shape } from '../../graph/graph.ts';
import type { BufferPool, GpuWeight } from './buffers.ts';
import { SlotAllocator } from './buffers.ts';
import type { GpuCaps } from './device.ts';
import { grid1d, prepareSteps, type PreparedStep, type Step } from './dispatch.ts';
import { gpuFailure, graphInvalid, unsupported } from './errors.ts';
import { numel, type MatvecTuning, type OpContext, type OpEncoder } from './ops/context.ts';
import { concat0From, viewOf, type Strided } from './ops/copy.ts';
import { rmsNormMul } from './ops/elementwise.ts';
import { OP_ENCODERS } from './ops/index.ts';
import type { PipelineCache } from './pipeline-cache.ts';
import { quantKernel, type QuantKernel } from './quant-kernels.ts';
import { Params } from './uniforms.ts';
import type { ShaderLibrary } from './wgsl-pre.ts';
import { BufferUsage } from './gpu-flags.ts';

/** What plans borrow from their executor. */
export interface PlanHost {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
  readonly lib: ShaderLibrary;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  readonly nCtx: number;
  readonly matvec: MatvecTuning;
  /** The weight as uploaded (raw blocks, maybe split). */
  weight(name: string): GpuWeight;
  /** The weight as f32 values in one buffer (its own bytes for F32, else a dequantized copy). */
  weightF32(name: string): GPUBuffer;
  kvCache(layer: number, which: 'k' | 'v', rowFloats: number): GPUBuffer;
}

export interface Plan {
  readonly steps: readonly PreparedStep[];
  /** Fill steps that poison every activation buffer the plan uses (tests). */
  readonly poison: readonly PreparedStep[];
  readonly tokens: GPUBuffer | undefined;
  readonly positions: GPUBuffer | undefined;
  readonly ropes: readonly { readonly p: RopeParams; readonly buf: GPUBuffer }[];
  /** The values read back, in the order asked for: the graph output, or runMany's list. */
  readonly outputs: readonly { readonly buf: GPUBuffer; readonly shape: Shape }[];
  /** Buffers of `external` nodes, written from RunInputs.externals before each run. */
  readonly externals: readonly { readonly id: number; readonly buf: GPUBuffer; readonly floats: number }[];
  /** Row counts of the tables get_rows reads with the tokens input (ids are checked against them). */
  readonly vocabLimits: readonly number[];
  readonly usesPositions: boolean;
}

type Val =
  | { readonly kind: 'act'; readonly buf: GPUBuffer }
  | { readonly kind: 'ids'; readonly buf: GPUBuffer }
  | { readonly kind: 'weight'; readonly name: string; readonly dims: Shape };

type Slot = { size: number; index: number };

const NAN_BITS = 0x7fc00000;

export async function buildPlan(h: PlanHost, g: Graph, outputIds: readonly number[] = [g.output], label = 'graph'): Promise<Plan> {
  const nodes = g.nodes;
  const vals: (Val | undefined)[] = [];
  const slots = new Map<number, Slot>();
  const alloc = new SlotAllocator();
  const used = new Set<GPUBuffer>();
  const steps: Step[] = [];
  const ropes = new Map<string, { p: RopeParams; buf: GPUBuffer }>();
  const vocabLimits: number[] = [];
  const externals: { id: number; buf: GPUBuffer; floats: number }[] = [];
  let tokens: GPUBuffer | undefined;
  let positions: GPUBuffer | undefined;
  const memo = new Map<string, unknown>();
  const idsBuffer = (name: string): GPUBuffer => h.device.createBuffer({ label: `${label}_${name}`, size: Math.max(16, g.nTokens * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });

  // Last reader of each node; a reshape keeps its source alive as long as the reshape is read.
  const root = (id: number): number => (nodes[id]!.spec.op === 'reshape' ? root(nodes[id]!.src[0]!) : id);
  const lastUse = new Array<number>(nodes.length).fill(-1);
  for (const n of nodes) for (const s of n.src) lastUse[s] = n.id;
  for (const o of outputIds) lastUse[o] = Infinity;
  for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i]!.spec.op === 'reshape') lastUse[nodes[i]!.src[0]!] = Math.max(lastUse[nodes[i]!.src[0]!]!, lastUse[i]!);

  // rms_norm read only by the next node, a mul by a weight vector [ne0] (the norm's weight): one rms_norm_mul
  // dispatch at the mul (the same arithmetic, one dispatch and one activation fewer).
  const readers = new Array<number>(nodes.length).fill(0);
  for (const n of nodes) for (const s of n.src) readers[s]!++;
  const normTimesWeight = (r: GraphNode): boolean => {
    const m = nodes[r.id + 1];
    if (r.spec.op !== 'rms_norm' || m === undefined || m.spec.op !== 'mul' || m.src[0] !== r.id || m.src[1] === r.id) return false;
    if (readers[r.id] !== 1 || outputIds.includes(r.id) || nodes[root(m.src[1]!)]!.spec.op !== 'weight') return false;
    return numel(nodes[m.src[1]!]!.shape) === r.shape[0] && numel(m.shape) === numel(r.shape);
  };
  const fusedNorms = new Set<number>();
  // slice0 / repeat1 read only by a concat0: the concat's copy reads through the strided view instead.
  const soleReader = new Array<number>(nodes.length).fill(-1);
  for (const n of nodes) for (const s of n.src) soleReader[s] = readers[s] === 1 ? n.id : -1;
  const folded = new Map<number, Strided>();
  const normSource = (r: GraphNode): GPUBuffer => {
    const v = vals[r.src[0]!];
    if (v?.kind !== 'act') throw graphInvalid(`rms_norm node ${r.id} reads no activation`);
    return v.buf;
  };

  const take = (bytes: number): { slot: Slot; buf: GPUBuffer } => {
    const slot = alloc.alloc(bytes);
    const buf = h.pool.get(slot.size, slot.index);
    used.add(buf);
    return { slot, buf };
  };

  for (const n of nodes) {
    const s = n.spec;
    if (s.op === 'input') {
      const buf = s.name === 'tokens' ? (tokens ??= idsBuffer('tokens')) : (positions ??= idsBuffer('positions'));
      vals[n.id] = { kind: 'ids', buf };
      continue;
    }
    if (s.op === 'external') {
      // Its own buffer, outside the pool: written before the command buffer, so never poisoned or reused.
      const floats = numel(n.shape);
      const buf = h.device.createBuffer({ label: `${label}_external_${n.id}`, size: Math.max(16, floats * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
      externals.push({ id: n.id, buf, floats });
      vals[n.id] = { kind: 'act', buf };
      continue;
    }
    if (s.op === 'weight') {
      vals[n.id] = { kind: 'weight', name: s.name, dims: n.shape };
      continue;
    }
    if (s.op === 'reshape') {
      const v = vals[n.src[0]!]!;
      vals[n.id] = v.kind === 'weight' ? { ...v, dims: n.shape } : v;
      continue;
    }
    // A node encoded with a later reader: its source stays alive until that reader.
    const deferTo = (reader: number): void => {
      const r = root(n.src[0]!);
      lastUse[r] = Math.max(lastUse[r]!, reader);
    };
    if (normTimesWeight(n)) {
      fusedNorms.add(n.id);
      deferTo(n.id + 1);
      continue;
    }
    const view = soleReader[n.id]! >= 0 && nodes[soleReader[n.id]!]!.spec.op === 'concat0' && !outputIds.includes(n.id) ? viewOf(n, nodes[n.src[0]!]!.shape) : undefined;
    const base = vals[n.src[0]!];
    if (view !== undefined && base?.kind === 'act') {
      folded.set(n.id, { buf: base.buf, view });
      deferTo(soleReader[n.id]!);
      continue;
    }
    const parts = s.op === 'concat0' ? n.src.filter((x) => folded.has(x)) : [];
    const norm = s.op === 'mul' && fusedNorms.has(n.src[0]!) ? nodes[n.src[0]!]! : undefined;
    const scratch: Slot[] = [];
    const ctx = opContext(h, g, n, vals, root, memo, {
      out: () => {
        const v = vals[n.id];
        if (v !== undefined && v.kind === 'act') return v.buf;
        const t = take(numel(n.shape) * 4);
        slots.set(n.id, t.slot);
        vals[n.id] = { kind: 'act', buf: t.buf };
        return t.buf;
      },
      scratch: (bytes) => {
        const t = take(bytes);
        scratch.push(t.slot);
        return t.buf;
      },
      dispatch: (st) => steps.push(st),
      ropeTable: (p) => {
        const key = JSON.stringify(p);
        let r = ropes.get(key);
        if (r === undefined) {
          r = { p, buf: h.device.createBuffer({ label: `${label}_rope`, size: Math.max(16, p.nDims * g.nTokens * 4), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST }) };
          ropes.set(key, r);
        }
        return r.buf;
      },
    });
    if (s.op === 'get_rows' && nodes[n.src[1]!]!.spec.op === 'input') vocabLimits.push(numel(nodes[n.src[0]!]!.shape) / nodes[n.src[0]!]!.shape[0]!);
    const encode =
      norm !== undefined ? rmsNormMul(norm, normSource(norm))
      : parts.length > 0 ? concat0From(folded.get(n.src[0]!), folded.get(n.src[1]!))
      : (OP_ENCODERS[s.op as keyof typeof OP_ENCODERS] as OpEncoder | undefined);
    if (encode === undefined) throw unsupported(`op ${s.op} has no WebGPU kernel; place its module on the CPU`);
    encode(ctx);
    ctx.out();
    for (const sl of scratch) alloc.release(sl);
    // sources of this node and of the nodes encoded with it
    const withIt = [...(norm !== undefined ? [norm.id] : []), ...parts];
    for (const src of new Set([...n.src, ...withIt.flatMap((id) => nodes[id]!.src)])) {
      const r = root(src);
      const sl = slots.get(r);
      if (sl !== undefined && lastUse[r] === n.id) {
        alloc.release(sl);
        slots.delete(r);
      }
    }
  }

  const outputs = outputIds.map((id) => {
    const v = vals[id];
    if (v === undefined || v.kind !== 'act') throw graphInvalid(`output node ${id} (${nodes[id]!.spec.op}) is not a computed activation`);
    return { buf: v.buf, shape: nodes[id]!.shape };
  });
  const fill = (buf: GPUBuffer): Step => ({
    kernel: { variant: 'fill_u32', shader: 'fill.wgsl', layout: 'wu' },
    buffers: [buf],
    params: new Params().u(buf.size / 4).u(NAN_BITS),
    grid: grid1d(buf.size / 4, 256, h.caps.maxWorkgroupsPerDim),
  });
  h.device.pushErrorScope('validation');
  const prepared = await prepareSteps(h.device, h.pipelines, steps, h.caps.minUniformOffsetAlign, label);
  const poison = await prepareSteps(h.device, h.pipelines, [...used].map(fill), h.caps.minUniformOffsetAlign, `${label}_poison`);
  const err = await h.device.popErrorScope();
  if (err !== null) throw gpuFailure(`building the plan of ${label} failed: ${err.message}`);
  return {
    steps: prepared.steps,
    poison: poison.steps,
    tokens,
    positions,
    ropes: [...ropes.values()],
    outputs,
    externals,
    vocabLimits,
    usesPositions: positions !== undefined,
  };
}

interface PlanHooks {
  out(): GPUBuffer;
  scratch(bytes: number): GPUBuffer;
  dispatch(s: Step): void;
  ropeTable(p: RopeParams): GPUBuffer;
}

function opContext(h: PlanHost, g: Graph, n: GraphNode, vals: readonly (Val | undefined)[], root: (id: number) => number, memo: Map<string, unknown>, hooks: PlanHooks): OpContext {
  const val = (i: number): Val => {
    const v = vals[n.src[i]!];
    if (v === undefined) throw graphInvalid(`node ${n.id} (${n.spec.op}) reads node ${n.src[i]} before it is computed`);
    return v;
  };
  const shapeOf = (i: number): Shape => g.nodes[n.src[i]!]!.shape;
  return {
    caps: h.caps,
    node: n,
    nTokens: g.nTokens,
    nCtx: h.nCtx,
    matvec: h.matvec,
    srcShape: shapeOf,
    act(i) {
      const v = val(i);
      if (v.kind === 'weight') return h.weightF32(v.name);
      if (v.kind === 'ids') throw graphInvalid(`${n.spec.op} reads the ${g.nodes[n.src[i]!]!.spec.op} input as values`);
      return v.buf;
    },
    matrix(i) {
      const v = val(i);
      if (v.kind === 'ids') throw graphInvalid(`${n.spec.op} reads an id input as a matrix`);
      if (v.kind === 'weight') return reshapedWeight(h.weight(v.name), v.dims, h.lib);
      const dims = shapeOf(i);
      const unitRows = dims.length >= 3 ? dims[1]! : 1;
      const units = numel(dims) / dims[0]! / unitRows;
      return { name: `node ${n.src[i]}`, type: GGMLType.F32, dims, rowBytes: dims[0]! * 4, unitRows, segments: [{ buffer: v.buf, first: 0, count: units }] };
    },
    ids(i) {
      const v = val(i);
      if (v.kind !== 'ids') throw graphInvalid(`${n.spec.op} needs the tokens or positions input as source ${i}`);
      return v.buf;
    },
    out: hooks.out,
    scratch: hooks.scratch,
    dispatch: hooks.dispatch,
    kvCache: (layer, which, rowFloats) => h.kvCache(layer, which, rowFloats),
    ropeTable: hooks.ropeTable,
    quant: (type, tensor): QuantKernel => quantKernel(h.lib, type, tensor),
    srcRoot: (i) => root(n.src[i]!),
    memo<T>(key: string, make: () => T): T {
      if (!memo.has(key)) memo.set(key, make());
      return memo.get(key) as T;
    },
    planBuffer: (bytes, label) => h.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: BufferUsage.STORAGE }),
    hasShader: (path) => h.lib.has(path),
  };
}

/** A weight seen through a reshape: same bytes, rows of the new dims[0]. */
function reshapedWeight(w: GpuWeight, dims: Shape, lib: ShaderLibrary): GpuWeight {
  if (dims.length === w.dims.length && dims.every((d, i) => d === w.dims[i])) return w;
  if (w.segments.length !== 1) throw unsupported(`reshape of the split weight ${w.name}`, w.name);
  const q = quantKernel(lib, w.type, w.name);
  const rowBytes = (dims[0]! / q.blockSize) * q.typeSize;
  const unitRows = dims.length >= 3 ? dims[1]! : 1;
  const units = numel(dims) / dims[0]! / unitRows;
  return { ...w, dims, rowBytes, unitRows, segments: [{ buffer: w.segments[0]!.buffer, first: 0, count: units }] };
}
