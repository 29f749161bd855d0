// Elementwise ops: rms_norm (alone or times its weight), add / mul with broadcast, scale, sigmoid, swiglu.
import type { GraphNode } from '../../../graph/graph.ts';
import { grid1d } from '../dispatch.ts';
import { unsupported } from '../errors.ts';
import { Params } from '../uniforms.ts';
import { numel, type OpEncoder } from './context.ts';

export const rmsNorm: OpEncoder = (c) => {
  if (c.node.spec.op !== 'rms_norm') return;
  const ne0 = c.node.shape[0]!;
  const rows = numel(c.node.shape) / ne0;
  c.dispatch({
    kernel: { variant: 'rms_norm_f32', shader: 'rms_norm.wgsl', layout: 'rwu' },
    buffers: [c.act(0), c.out()],
    params: new Params().u(ne0).u(rows).f(c.node.spec.eps),
    grid: grid1d(rows, 1, c.caps.maxWorkgroupsPerDim),
  });
};

/** A mul by the norm's weight vector, fused with the rms_norm `norm` that reads `x` (buildPlan decides). */
export const rmsNormMul = (norm: GraphNode, x: GPUBuffer): OpEncoder => (c) => {
  if (norm.spec.op !== 'rms_norm') return;
  const ne0 = norm.shape[0]!;
  const rows = numel(norm.shape) / ne0;
  c.dispatch({
    kernel: { variant: 'rms_norm_mul_f32', shader: 'rms_norm.wgsl', defines: { MUL_W: true }, layout: 'rrwu' },
    buffers: [x, c.act(1), c.out()],
    params: new Params().u(ne0).u(rows).f(norm.spec.eps),
    grid: grid1d(rows, 1, c.caps.maxWorkgroupsPerDim),
  });
};

/** add / mul: b repeats over a along its size-1 dims (strides 0 there). */
export const binary: OpEncoder = (c) => {
  const op = c.node.spec.op;
  const sa = c.srcShape(0);
  const sb = c.srcShape(1);
  if (sa.length > 4) throw unsupported(`${op} of a ${sa.length}-dimensional tensor`);
  const dims = [0, 1, 2, 3].map((d) => sa[d] ?? 1);
  const bs: number[] = [];
  let st = 1;
  for (let d = 0; d < 4; d++) {
    const nb = sb[d] ?? 1;
    bs.push(nb === 1 ? 0 : st);
    st *= nb;
  }
  const n = numel(sa);
  c.dispatch({
    kernel: { variant: `${op}_f32_f32`, shader: 'binary.wgsl', defines: { OP_ADD: op === 'add' }, layout: 'rrwu' },
    buffers: [c.act(0), c.act(1), c.out()],
    params: new Params().u(n).u(dims[0]!).u(dims[1]!).u(dims[2]!).u(bs[0]!).u(bs[1]!).u(bs[2]!).u(bs[3]!),
    grid: grid1d(n, 256, c.caps.maxWorkgroupsPerDim),
  });
};

export const unary: OpEncoder = (c) => {
  const s = c.node.spec;
  const n = numel(c.node.shape);
  const scale = s.op === 'scale';
  c.dispatch({
    kernel: { variant: scale ? 'scale_f32' : 'sigmoid_f32', shader: 'unary.wgsl', defines: { OP_SCALE: scale }, layout: 'rwu' },
    buffers: [c.act(0), c.out()],
    params: new Params().u(n).f(s.op === 'scale' ? s.s : 0),
    grid: grid1d(n, 256, c.caps.maxWorkgroupsPerDim),
  });
};

export function encodeSwiglu(c: Parameters<OpEncoder>[0], a: GPUBuffer, b: GPUBuffer, o: GPUBuffer, n: number): void {
  c.dispatch({
    kernel: { variant: 'glu_swiglu_f32', shader: 'glu.wgsl', layout: 'rrwu' },
    buffers: [a, b, o],
    params: new Params().u(n),
    grid: grid1d(n, 256, c.caps.maxWorkgroupsPerDim),
  });
}

export const swiglu: OpEncoder = (c) => encodeSwiglu(c, c.act(0), c.act(1), c.out(), numel(c.node.shape));
