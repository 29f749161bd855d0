// The op table: every graph op except the leaves (input, weight, external) and reshape, which the plan resolves.
import type { Op } from '../../../graph/graph.ts';
import { attn } from './attn.ts';
import type { OpEncoder } from './context.ts';
import { concat0, getLast, view } from './copy.ts';
import { binary, rmsNorm, swiglu, unary } from './elementwise.ts';
import { getRows } from './get-rows.ts';
import { moeExperts, moeGate } from './moe.ts';
import { mulMat, mulMatHeads } from './mul-mat.ts';
import { rope } from './rope.ts';

export const OP_ENCODERS: Readonly<Record<Exclude<Op, 'input' | 'weight' | 'external' | 'reshape'>, OpEncoder>> = {
  get_rows: getRows,
  rms_norm: rmsNorm,
  mul: binary,
  add: binary,
  scale: unary,
  sigmoid: unary,
  mul_mat: mulMat,
  mul_mat_heads: mulMatHeads,
  swiglu,
  slice0: view,
  concat0,
  repeat1: view,
  rope,
  attn,
  moe_gate: moeGate,
  moe_experts: moeExperts,
  get_last: getLast,
};
