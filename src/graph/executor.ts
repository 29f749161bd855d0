// What every backend implements to run a Graph: weights by GGUF name (raw GGUF block bytes), per-call inputs,
// and a KV cache that lives between calls. cpu-ref is the reference; WebGPU and WASM must agree with it.
import type { Graph } from './graph.ts';

export interface WeightData {
  readonly type: number;
  /** ggml order, dims[0] contiguous. */
  readonly dims: readonly number[];
  /** The tensor's bytes exactly as stored in the GGUF (quant blocks, not dequantized). */
  readonly bytes: Uint8Array;
}

export interface RunInputs {
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  /** Values of `external` nodes, by node id (hybrid segments: produced on the other device). */
  readonly externals?: ReadonlyMap<number, Float32Array>;
  /** Values of `external` nodes that an earlier run of the same executor left on its device (see runKeeping). */
  readonly deviceExternals?: ReadonlyMap<number, DeviceValue>;
}

export interface PreparedRun {
  submit(inputs: RunInputs): Promise<{ read: Float32Array[]; kept: DeviceValue[] }>;
  /** It will not be submitted: frees what it holds. */
  drop(): void;
}

/** A value a run left on its executor's device for later runs of that executor (GPU→GPU hand-offs). */
export interface DeviceValue {
  readonly floats: number;
  /** The value is no longer needed: later runs may reuse its memory. */
  release(): void;
}

export interface GraphExecutor {
  /** Executes the graph; resolves to the output node's values (f32, ggml order). */
  run(g: Graph, inputs: RunInputs): Promise<Float32Array>;
  /** Forgets the KV cache (a new sequence). */
  resetCache(): void;
  /** Executes the graph and returns the values of several nodes (segments hand more than one value on). */
  runMany?(g: Graph, inputs: RunInputs, outputs: readonly number[]): Promise<Float32Array[]>;
  /**
   * Like runMany, but the values of `keep` stay on the device (no read-back) for later runs' deviceExternals;
   * resolves once the work is queued when nothing is read back. The caller releases the kept values.
   */
  runKeeping?(g: Graph, inputs: RunInputs, read: readonly number[], keep: readonly number[]): Promise<{ read: Float32Array[]; kept: DeviceValue[] }>;
  /**
   * Records a runKeeping ahead of its host inputs (tokens, positions, externals), which `submit` writes before it
   * runs it; device externals are given now. A prepared run not submitted is dropped.
   */
  prepareKeeping?(g: Graph, deviceExternals: ReadonlyMap<number, DeviceValue>, read: readonly number[], keep: readonly number[]): Promise<PreparedRun>;
  /**
   * Puts every weight `g` reads on the device ahead of the first run, reading each one once through `read` and
   * keeping no JS copy (loading streams tensor by tensor). Afterwards no graph of the same model that reads only
   * these weights asks the constructor's weight callback again.
   */
  loadWeights?(g: Graph, read: (name: string) => Promise<WeightData>, onProgress?: (bytes: number) => void): Promise<void>;
  /** Frees device memory and workers; the executor is unusable afterwards. */
  dispose?(): void | Promise<void>;
}
