// TypeScript mirror of wasm/include/engine_kernels.h: enums, the we_op record layout, control-block words and
// the exports of a kernel instance. Keep in step with the header (tests/backends/wasm checks the layout).

export type WasmIsa = 'scalar' | 'simd128' | 'relaxed';
/** Best first: feature detection walks this list. */
export const ISAS_BEST_FIRST: readonly WasmIsa[] = ['relaxed', 'simd128', 'scalar'];
export const ISA_ID: Readonly<Record<WasmIsa, number>> = { scalar: 0, simd128: 1, relaxed: 2 };

export const Status = { OK: 0, TYPE: 1, SHAPE: 2, INDEX: 3, OP: 4, EXPERT: 5 } as const;

export const Act = { F32: 0, F16: 1, BF16: 2, Q8_0: 3, Q8_K: 4 } as const;

export const OpCode = {
  MUL_MAT: 1,
  GET_ROWS: 2,
  RMS_NORM: 3,
  BINARY: 4,
  UNARY: 5,
  SLICE0: 6,
  CONCAT0: 7,
  REPEAT1: 8,
  ROPE: 9,
  ATTN: 10,
  MOE_GATE: 11,
  MOE_EXPERTS: 12,
} as const;

/** we_op: 32 int32 words. */
export const OP_WORDS = 32;
export const OP_BYTES = OP_WORDS * 4;
export const OpField = { CODE: 0, TYPE: 1, ACT: 2, NE: 4, P: 8, I: 16, F: 24 } as const;

export const Ctl = {
  RUN_SEQ: 0,
  DONE_SEQ: 16,
  QUIT: 32,
  N_THREADS: 33,
  OPS: 34,
  N_OPS: 35,
  STATUS: 36,
  STATUS_OP: 37,
  SPIN: 38,
  ABORT: 39,
  BAR_COUNT: 48,
  EXIT_COUNT: 49,
  BAR_GEN: 64,
  BAR_WAITERS: 65,
  PC_OP: 80,
  PC_PHASE: 81,
  N_TASKS: 82,
  RANGES: 96,
  RANGE_STRIDE: 16,
} as const;
export const ctlBytes = (nth: number): number => 4 * (Ctl.RANGES + Ctl.RANGE_STRIDE * nth);

/** Exports of one kernel instance (pointers are byte offsets in the shared memory). */
export interface KernelExports {
  readonly __stack_pointer: WebAssembly.Global;
  readonly __heap_base: WebAssembly.Global;
  we_isa(): number;
  we_type_supported(type: number): number;
  we_block_size(type: number): number;
  we_row_bytes(type: number, n: number): number;
  we_act_type(type: number): number;
  we_act_row_bytes(act: number, n: number): number;
  we_quantize_row_q8_0(x: number, y: number, n: number): number;
  we_quantize_row_q8_1(x: number, y: number, n: number): number;
  we_quantize_row_q8_k(x: number, y: number, n: number): number;
  we_quantize_act(act: number, x: number, dst: number, n: number): number;
  we_dequantize_row(type: number, src: number, dst: number, n: number): number;
  we_vec_dot(type: number, n: number, w: number, act: number, out: number, generic: number): number;
  we_vec_dot4(type: number, n: number, w: number, acts: number, out: number): number;
  we_moe_scratch_bytes(op: number): number;
  we_worker_main(ctl: number, ith: number): number;
  we_run_program(ops: number, nOps: number): number;
}

export function kernelExports(instance: WebAssembly.Instance): KernelExports {
  return instance.exports as unknown as KernelExports;
}
