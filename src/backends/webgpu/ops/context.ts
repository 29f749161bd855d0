// What an op encoder sees while a graph plan is built: its node, source tensors as GPU buffers, its output,
// scratch space, and the one dispatch helper. Encoders record steps; nothing runs until the plan is replayed.
import type { GraphNode, RopeParams, Shape } from '../../../graph/graph.ts';
import type { GpuWeight } from '../buffers.ts';
import type { GpuCaps } from '../device.ts';
import type { Step } from '../dispatch.ts';
import type { QuantKernel } from '../quant-kernels.ts';

export interface MatvecTuning {
  /** Threads per workgroup (power of two, 32..256). */
  readonly wg?: number;
  /** Rows per workgroup (1..8; 1..4 staged). */
  readonly rows?: number;
  /** Stage weight tiles through workgroup memory (coalesced loads) instead of reading blocks directly. */
  readonly stage?: boolean;
  /** Dot chunks per thread per staged tile. */
  readonly cpt?: number;
  /**
   * Quantize the activation to int8 once (llama.cpp's CPU rounding: Q8_0 or Q8_K) and use dot4I8Packed for the
   * weight types that have such a kernel (Q4_0, Q8_0, Q4_K). Off by default: it adds the rounding error
   * llama.cpp's CPU backend has (~1e-5 NMSE per product) to results otherwise exact to f32.
   */
  readonly q8?: boolean;
}

export interface OpContext {
  readonly caps: GpuCaps;
  readonly node: GraphNode;
  readonly nTokens: number;
  readonly nCtx: number;
  readonly matvec: MatvecTuning;
  srcShape(i: number): Shape;
  /** Source i as f32 values (activations; weights through their F32 bytes or a dequantized copy). */
  act(i: number): GPUBuffer;
  /** Source i as a matrix: a weight as stored (maybe split), or an f32 activation seen as an F32 weight. */
  matrix(i: number): GpuWeight;
  /** Source i as i32 values (the tokens / positions inputs). */
  ids(i: number): GPUBuffer;
  /** This node's f32 output. */
  out(): GPUBuffer;
  /** A buffer of at least `bytes` that lives until this node's steps are recorded. */
  scratch(bytes: number): GPUBuffer;
  dispatch(step: Step): void;
  /** The layer's K or V cache, [row floats, n_ctx]; created on first use. */
  kvCache(layer: number, which: 'k' | 'v', rowFloats: number): GPUBuffer;
  /** cos/sin table [n_dims, nt] of this run's positions for `p`, refreshed before every run. */
  ropeTable(p: RopeParams): GPUBuffer;
  quant(type: number, tensor?: string): QuantKernel;
  /** Node id of source i with reshapes looked through: a key for values derived from it within the plan. */
  srcRoot(i: number): number;
  /** A value derived once per plan (e.g. an activation quantized for several matvecs), made on first request. */
  memo<T>(key: string, make: () => T): T;
  /** A buffer owned by the plan, never pooled (memoised values outlive the node that made them). */
  planBuffer(bytes: number, label: string): GPUBuffer;
  /** Whether the shader library has a file (optional kernels such as the int8 dot helpers). */
  hasShader(path: string): boolean;
}

export type OpEncoder = (c: OpContext) => void;

export const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);
