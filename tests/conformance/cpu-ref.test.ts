// Sanity of the registry itself: every case builds and cpu-ref runs it to finite values, and a perturbed
// output fails the NMSE check (so a backend test built on it can fail).
import { describe, expect, it } from 'vitest';
import { CpuRefExecutor } from '../../src/backends/cpu-ref/executor.ts';
import { conformanceCases, nmse } from './cases.ts';

describe('conformance registry', () => {
  const cases = conformanceCases();
  it('covers every op the models emit', () => {
    const ops = new Set(cases.map((c) => c.op));
    for (const op of ['mul_mat', 'mul_mat_heads', 'get_rows', 'rms_norm', 'mul', 'add', 'swiglu', 'sigmoid', 'rope', 'attn', 'moe_gate', 'moe_experts', 'concat0']) expect(ops.has(op), op).toBe(true);
  });
  it('cpu-ref runs every case to finite values; a 1% perturbation exceeds the budget', () => {
    for (const c of cases) {
      const exec = new CpuRefExecutor((n) => c.weights.get(n)!, 4096);
      const out = exec.runSync(c.graph, c.inputs);
      expect(out.every(Number.isFinite), c.name).toBe(true);
      const bad = out.map((v, i) => v * (1 + (i % 2 === 0 ? 0.02 : -0.02)));
      expect(nmse(bad, out), c.name).toBeGreaterThan(Math.min(c.nmse, 1e-4));
    }
  });
});
