// Tensor bytes for synthetic models, produced lazily in chunks so a 10 GB model is written in bounded memory.
// Small tensors are drawn element by element and quantized. Quantizing billions of weights in TS is too slow
// (Q4_K encodes ~3 M elements/s), so big tensors are assembled from a pool: per (type, unit, init) a few
// thousand random "units" (256 elements or the largest power-of-two run of whole blocks that divides the row)
// are quantized once, and each unit of the tensor is a seeded random pick from it. ggml blocks are
// self-contained (their scales travel with them), so any sequence of pooled units is a valid tensor, and since
// picks are per unit rather than per row, rows are all different.
import { ggmlTypeName, type GGMLType } from '../../core/ggml-type.ts';
import type { TensorBytes } from '../../gguf/writer.ts';
import { quantTraits, rowBytes } from '../../quant/registry.ts';
import { Rng } from './rng.ts';
import type { Init, TensorPlan } from './spec.ts';

export interface WeightOptions {
  /** Tensors with more elements than this come from pools. */
  readonly poolThreshold?: number;
  /** Elements quantized per pool. A power of two. */
  readonly poolElements?: number;
}

const DEFAULT_POOL_THRESHOLD = 1 << 18;
const DEFAULT_POOL_ELEMENTS = 1 << 18;
const EXACT_CHUNK_ELEMENTS = 1 << 18;
const POOL_CHUNK_BYTES = 4 << 20;
const UNITS = [256, 128, 64, 32];

interface Pool {
  readonly bytes: Uint8Array;
  readonly unitBytes: number;
  /** Number of units minus one (the unit count is a power of two). */
  readonly mask: number;
}

export class WeightFactory {
  private readonly pools = new Map<string, Pool>();
  private readonly threshold: number;
  private readonly poolElements: number;

  constructor(
    private readonly seed: number,
    opt: WeightOptions = {},
  ) {
    this.threshold = opt.poolThreshold ?? DEFAULT_POOL_THRESHOLD;
    this.poolElements = opt.poolElements ?? DEFAULT_POOL_ELEMENTS;
  }

  /** Whether `plan` stored as `type` will be drawn from a pool (true) or element by element. */
  pooled(plan: TensorPlan, type: GGMLType): boolean {
    return elements(plan) > this.threshold && unitOf(plan.dims[0]!, quantTraits(type).blockSize) !== undefined;
  }

  /** The tensor's bytes as a lazily evaluated chunk stream (writeGGUF pulls it when the tensor's turn comes). */
  bytes(plan: TensorPlan, type: GGMLType): () => TensorBytes {
    return () => (this.pooled(plan, type) ? this.fromPool(plan, type) : exact(this.seed, plan, type));
  }

  private pool(type: GGMLType, unit: number, init: Init): Pool {
    const key = `${ggmlTypeName(type)}|${unit}|${init.mean}|${init.std}`;
    let p = this.pools.get(key);
    if (p === undefined) {
      const n = this.poolElements;
      const f32 = new Float32Array(n);
      new Rng(this.seed, `pool|${key}`).fillNormal(f32, init.mean, init.std);
      const bytes = new Uint8Array(rowBytes(type, n));
      quantTraits(type).quantizeRow(f32, bytes, n);
      p = { bytes, unitBytes: rowBytes(type, unit), mask: n / unit - 1 };
      this.pools.set(key, p);
    }
    return p;
  }

  private *fromPool(plan: TensorPlan, type: GGMLType): Generator<Uint8Array> {
    const unit = unitOf(plan.dims[0]!, quantTraits(type).blockSize)!;
    const { bytes: pool, unitBytes: ub, mask } = this.pool(type, unit, plan.init);
    const rng = new Rng(this.seed, plan.name);
    let left = elements(plan) / unit;
    const perChunk = Math.max(1, Math.floor(POOL_CHUNK_BYTES / ub));
    while (left > 0) {
      const k = Math.min(left, perChunk);
      const out = new Uint8Array(k * ub);
      for (let j = 0, o = 0; j < k; j++, o += ub) {
        const s = (rng.u32() & mask) * ub;
        out.set(pool.subarray(s, s + ub), o);
      }
      left -= k;
      yield out;
    }
  }
}

function elements(plan: TensorPlan): number {
  return plan.dims.reduce((a, d) => a * d, 1);
}

/** Largest power-of-two run (<= 256) that divides the row and is whole blocks; undefined when none does. */
function unitOf(rowLen: number, blockSize: number): number | undefined {
  return UNITS.find((u) => rowLen % u === 0 && u % blockSize === 0);
}

function* exact(seed: number, plan: TensorPlan, type: GGMLType): Generator<Uint8Array> {
  const traits = quantTraits(type, plan.name);
  const d0 = plan.dims[0]!;
  const rng = new Rng(seed, plan.name);
  const rows = elements(plan) / d0;
  const perChunk = Math.max(1, Math.floor(EXACT_CHUNK_ELEMENTS / d0));
  const f32 = new Float32Array(Math.min(rows, perChunk) * d0);
  for (let r = 0; r < rows; r += perChunk) {
    const n = Math.min(perChunk, rows - r) * d0;
    const src = f32.subarray(0, n);
    rng.fillNormal(src, plan.init.mean, plan.init.std);
    // Rows are whole blocks, so several rows quantize as one long row with identical bytes.
    const out = new Uint8Array(rowBytes(type, n));
    traits.quantizeRow(src, out, n);
    yield out;
  }
}
