// Copies through strided views (ggml cpy): slice0, concat0, repeat1, get_last. Offsets and strides in elements.
import { grid1d } from '../dispatch.ts';
import { Params } from '../uniforms.ts';
import { numel, type OpContext, type OpEncoder } from './context.ts';

interface View3 {
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

export const concat0: OpEncoder = (c) => {
  const na = c.srcShape(0)[0]!;
  const nb = c.srcShape(1)[0]!;
  const rows = numel(c.node.shape) / (na + nb);
  const o = c.out();
  copy3(c, c.act(0), o, [na, rows, 1], { off: 0, s1: na, s2: 0 }, { off: 0, s1: na + nb, s2: 0 });
  copy3(c, c.act(1), o, [nb, rows, 1], { off: 0, s1: nb, s2: 0 }, { off: na, s1: na + nb, s2: 0 });
};

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
