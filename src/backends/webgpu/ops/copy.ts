// Copies through strided views (ggml cpy) into a contiguous output, one kernel (concat.wgsl) for all of them:
// concat0 of two parts, and one part alone for slice0, repeat1 and get_last. Offsets and strides in elements.
import type { GraphNode, Shape } from '../../../graph/graph.ts';
import { grid1d } from '../dispatch.ts';
import { Params } from '../uniforms.ts';
import { numel, type OpContext, type OpEncoder } from './context.ts';

export interface View3 {
  readonly off: number;
  readonly s1: number;
  readonly s2: number;
}

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

/** out [na + nb, n1, n2] = a [na, n1, n2] ‖ b [nb, n1, n2] (nb = 0: a alone), each read through its view. */
function gather(c: OpContext, a: Strided, b: Strided, na: number, nb: number, n1: number, n2: number): void {
  const total = (na + nb) * n1 * n2;
  if (total === 0) return;
  c.dispatch({
    kernel: { variant: 'concat_f32', shader: 'concat.wgsl', layout: 'rrwu' },
    buffers: [a.buf, b.buf, c.out()],
    params: new Params().u(na).u(nb).u(n1).u(n2).u(a.view.off).u(a.view.s1).u(a.view.s2).u(b.view.off).u(b.view.s1).u(b.view.s2),
    grid: grid1d(total, 256, c.caps.maxWorkgroupsPerDim),
  });
}

/** slice0 / repeat1: the node's own view of its source, copied out. */
export const view: OpEncoder = (c) => {
  const v = viewOf(c.node, c.srcShape(0));
  if (v === undefined) return;
  const n0 = c.node.shape[0]!;
  const n1 = c.node.shape[1] ?? 1;
  const a = { buf: c.act(0), view: v };
  gather(c, a, a, n0, 0, n1, numel(c.node.shape) / (n0 * n1));
};

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
  gather(c, pa, pb, na, nb, n1, n2);
};

export const concat0: OpEncoder = concat0From(undefined, undefined);

export const getLast: OpEncoder = (c) => {
  const ne0 = c.node.shape[0]!;
  const a = { buf: c.act(0), view: { off: numel(c.srcShape(0)) - ne0, s1: 0, s2: 0 } };
  gather(c, a, a, ne0, 0, 1, 1);
};
