// MoE on the GPU: moe_gate (router: probabilities, bias, grouped top-k, weights) and moe_experts: per routed
// (token, slot) gate and up products with the expert's matrices (mul_mat_id), swiglu, the down product, then
// the route-weighted sum over slots (moe_sum). Decode runs the matvec per (token, slot); prefill groups the
// tokens by expert (moe_rows) and runs one tiled GEMM per expert, so each expert's weights stream once per batch
// rather than once per token.
import { grid1d } from '../dispatch.ts';
import { unsupported } from '../errors.ts';
import { Params } from '../uniforms.ts';
import type { OpEncoder } from './context.ts';
import { encodeSwiglu } from './elementwise.ts';
import { encodeMatmul, MATVEC_MAX_COLS, type MatmulCall } from './mul-mat.ts';

const MAX_EXPERTS = 256;
const MAX_GROUPS = 64;
const MAX_USED = 64;

export const moeGate: OpEncoder = (c) => {
  if (c.node.spec.op !== 'moe_gate') return;
  const p = c.node.spec.p;
  if (p.nExpert > MAX_EXPERTS || p.nGroup > MAX_GROUPS || p.nUsed > MAX_USED) throw unsupported(`moe_gate: ${p.nExpert} experts, ${p.nGroup} groups, top-${p.nUsed} exceed the kernel's ${MAX_EXPERTS}/${MAX_GROUPS}/${MAX_USED}`);
  const nt = c.srcShape(0)[1]!;
  const bias = c.node.src.length > 1;
  c.dispatch({
    kernel: { variant: 'moe_gate_f32', shader: 'moe_gate.wgsl', layout: 'rrwu' },
    buffers: [c.act(0), bias ? c.act(1) : c.act(0), c.out()],
    params: new Params()
      .u(p.nExpert)
      .u(nt)
      .u(p.nUsed)
      .u(p.func === 'sigmoid' ? 1 : 0)
      .u(p.norm ? 1 : 0)
      .f(p.scale)
      .u(p.nGroup)
      .u(p.topkGroup)
      .u(p.groupScore === 'max' ? 1 : 0)
      .u(bias ? 1 : 0),
    grid: [Math.ceil(nt / 64), 1, 1],
  });
};

/** src: x [n_embd, nt], route [2 n_used, nt], gate/up [n_embd, n_ff, n_expert], down [n_ff, n_embd, n_expert]. */
export const moeExperts: OpEncoder = (c) => {
  if (c.node.spec.op !== 'moe_experts') return;
  const nUsed = c.node.spec.nUsed;
  const [nEmbd, nt] = c.srcShape(0) as [number, number];
  const gate = c.matrix(2);
  const up = c.matrix(3);
  const down = c.matrix(4);
  const nFf = gate.dims[1]!;
  const x = c.act(0);
  const nExpert = gate.dims[2]!;
  let route: MatmulCall['route'] = { buf: c.act(1), nUsed };
  if (nt > MATVEC_MAX_COLS) {
    // Prefill: (token, slot) pairs grouped by expert once, shared by the three products.
    const rows = c.scratch(4 * nExpert * (1 + nt));
    c.dispatch({
      kernel: { variant: 'moe_rows_f32', shader: 'moe_rows.wgsl', layout: 'rwu' },
      buffers: [route.buf, rows],
      params: new Params().u(nExpert).u(nUsed).u(nt).u(2 * nUsed),
      grid: [nExpert, 1, 1],
    });
    route = { ...route, rows, nExpert };
  }
  const hidden = nFf * nUsed * nt;
  const g = c.scratch(hidden * 4);
  const u = c.scratch(hidden * 4);
  const h = c.scratch(hidden * 4);
  const y = c.scratch(nEmbd * nUsed * nt * 4);
  encodeMatmul(c, { w: gate, x, o: g, n: nt, xc: nEmbd, xb: 0, oc: nUsed * nFf, ob: nFf, route, xRoot: c.srcRoot(0) });
  encodeMatmul(c, { w: up, x, o: u, n: nt, xc: nEmbd, xb: 0, oc: nUsed * nFf, ob: nFf, route, xRoot: c.srcRoot(0) });
  encodeSwiglu(c, g, u, h, hidden);
  encodeMatmul(c, { w: down, x: h, o: y, n: nt, xc: nUsed * nFf, xb: nFf, oc: nUsed * nEmbd, ob: nEmbd, route });
  c.dispatch({
    kernel: { variant: 'moe_sum_f32', shader: 'moe_sum.wgsl', layout: 'rrwu' },
    buffers: [y, route.buf, c.out()],
    params: new Params().u(nEmbd).u(nUsed).u(nt),
    grid: grid1d(nEmbd * nt, 256, c.caps.maxWorkgroupsPerDim),
  });
};
