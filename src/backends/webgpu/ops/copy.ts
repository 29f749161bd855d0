// Copies through strided views (ggml cpy): slice0, repeat1, get_last; concat0 in one dispatch of its own kernel.
// Offsets and strides in elements.
import type { GraphNode, Shape } from '../../../graph/graph.ts';
import { grid1d } from '../dispatch.ts';
import { Params } from '../uniforms.ts';
import { numel, type OpContext, type OpEncoder } from './context.ts';

export interface View3 {
  readonly off: number;
  readonly s1: number;
  readonly s2: number;
}

function copy3(c: OpContext, x: GPUBuffer, o: GPUBuffer, n: readonly [number, number, number], src: View3, dst: View3): void {
  const total = n[0] * n[1] * n[2];
  if (total === 0) return;
  c.dispatch({
    kernel: { variant: 'cpy_f32_f32', shader: 'cpy.wgsl', layout: 'rwu' },
    buffers: [x, o],
    params: new Params().u(n[0]).u(n[1]).u(n[2]).u(src.off).u(src.s1).u(src.s2).u(dst.off).u(dst.s1).u(dst.s2),
    grid: grid1d(total, 256, c.caps.maxWorkgroupsPerDim),
  });
}

export const slice0: OpEncoder = (c) => {
  if (c.node.spec.op !== 'slice0') return;
  const ne0 = c.srcShape(0)[0]!;
  const len = c.node.shape[0]!;
  const rows = numel(c.node.shape) / len;
  copy3(c, c.act(0), c.out(), [len, rows, 1], { off: c.node.spec.start, s1: ne0, s2: 0 }, { off: 0, s1: len, s2: 0 });
};

/** A tensor read through a strided view of another buffer (a slice0 or repeat1 folded into its reader). */
export interface Strided {
  readonly buf: GPUBuffer;
  readonly view: View3;
}

/** The view a slice0 or repeat1 node takes of its source's buffer, as [n0, n1, n2 (the rest)] element strides. */
export function viewOf(node: GraphNode, srcShape: Shape): View3 | undefined {
  if (node.spec.op === 'slice0') return { off: node.spec.start, s1: srcShape[0]!, s2: srcShape[0]! * (srcShape[1] ?? 1) };
  if (node.spec.op === 'repeat1') return { off: 0, s1: 0, s2: srcShape[0]! };
  return undefined;
}

/**
 * concat0 of two parts, each read contiguously or through the view of a slice0/repeat1 that buildPlan folded
 * into it (saving that node's copy): [na, n1, n2] ‖ [nb, n1, n2] → [na + nb, n1, n2].
 */
export const concat0From = (a: Strided | undefined, b: Strided | undefined): OpEncoder => (c) => {
  const na = c.srcShape(0)[0]!;
  const nb = c.srcShape(1)[0]!;
  const n1 = c.node.shape[1] ?? 1;
  const n2 = numel(c.node.shape) / ((na + nb) * n1);
  const pa = a ?? { buf: c.act(0), view: { off: 0, s1: na, s2: na * n1 } };
  const pb = b ?? { buf: c.act(1), view: { off: 0, s1: nb, s2: nb * n1 } };
  const total = (na + nb) * n1 * n2;
  if (total === 0) return;
  c.dispatch({
    kernel: { variant: 'concat_f32', shader: 'concat.wgsl', layout: 'rrwu' },
    buffers: [pa.buf, pb.buf, c.out()],
    params: new Params().u(na).u(nb).u(n1).u(n2).u(pa.view.off).u(pa.view.s1).u(pa.view.s2).u(pb.view.off).u(pb.view.s1).u(pb.view.s2),
    grid: grid1d(total, 256, c.caps.maxWorkgroupsPerDim),
  });
};

export const concat0: OpEncoder = concat0From(undefined, undefined);

/** [n0, 1, n2] → [n0, rep, n2]. */
export const repeat1: OpEncoder = (c) => {
  const [n0, rep, n2] = c.node.shape as [number, number, number];
  copy3(c, c.act(0), c.out(), [n0, rep, n2], { off: 0, s1: 0, s2: n0 }, { off: 0, s1: n0, s2: n0 * rep });
};

export const getLast: OpEncoder = (c) => {
  const ne0 = c.node.shape[0]!;
  const total = numel(c.srcShape(0));
  copy3(c, c.act(0), c.out(), [ne0, 1, 1], { off: total - ne0, s1: 0, s2: 0 }, { off: 0, s1: 0, s2: 0 });
};
