// get_rows: embedding rows by token id, dequantized from the stored blocks; one dispatch per weight segment.
import { grid1d } from '../dispatch.ts';
import { Params } from '../uniforms.ts';
import type { OpEncoder } from './context.ts';

export const getRows: OpEncoder = (c) => {
  const w = c.matrix(0);
  const q = c.quant(w.type, w.name);
  const ne0 = w.dims[0]!;
  const nt = c.srcShape(1)[0]!;
  for (const seg of w.segments) {
    c.dispatch({
      kernel: { variant: `get_rows_${q.name}_i32`, shader: 'get_rows.wgsl', defines: { QUANT: q.name }, layout: 'rrwu' },
      buffers: [seg.buffer, c.ids(1), c.out()],
      params: new Params().u(ne0).u(nt).u(w.rowBytes).u(seg.first * w.unitRows).u(seg.count * w.unitRows),
      grid: grid1d(nt * Math.ceil(ne0 / 4), 64, c.caps.maxWorkgroupsPerDim),
    });
  }
};
