// The one dispatch helper: op encoders record steps (kernel, buffers, params, grid); a finished plan resolves
// pipelines, packs params into the uniform arena and builds every bind group once, so a run only replays
// setPipeline / setBindGroup / dispatchWorkgroups into one compute pass.
import type { KernelSpec, PipelineCache } from './pipeline-cache.ts';
import { UniformArena, type Params } from './uniforms.ts';

export type Grid = readonly [number, number, number];

export interface Step {
  readonly kernel: KernelSpec;
  /** Storage buffers in layout order (the 'u' binding is filled from params). */
  readonly buffers: readonly GPUBuffer[];
  readonly params?: Params;
  readonly grid: Grid;
}

export interface PreparedStep {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly grid: Grid;
}

/** Workgroups for `n` invocations of `wg` threads, wrapped into y when x would pass the per-dimension limit. */
export function grid1d(n: number, wg: number, maxPerDim: number): Grid {
  const groups = Math.max(1, Math.ceil(n / wg));
  const x = Math.min(groups, maxPerDim);
  return [x, Math.ceil(groups / x), 1];
}

export async function prepareSteps(device: GPUDevice, cache: PipelineCache, steps: readonly Step[], uniformAlign: number, label: string): Promise<{ steps: PreparedStep[]; uniforms: GPUBuffer | undefined }> {
  const arena = new UniformArena(uniformAlign);
  const slices = steps.map((s) => (s.params !== undefined ? arena.add(s.params) : undefined));
  const uniforms = arena.upload(device, `${label}_params`);
  const pipelines = await Promise.all(steps.map((s) => cache.get(s.kernel)));
  const prepared = steps.map((s, k): PreparedStep => {
    let bi = 0;
    const entries = [...s.kernel.layout].map((c, binding): GPUBindGroupEntry => {
      if (c === 'u') {
        const sl = slices[k];
        if (sl === undefined || uniforms === undefined) throw new Error(`${s.kernel.variant}: layout has a uniform binding but no params were given`);
        return { binding, resource: { buffer: uniforms, offset: sl.offset, size: sl.size } };
      }
      const buffer = s.buffers[bi++];
      if (buffer === undefined) throw new Error(`${s.kernel.variant}: layout ${s.kernel.layout} needs more buffers than the ${s.buffers.length} given`);
      return { binding, resource: { buffer } };
    });
    const bindGroup = device.createBindGroup({ label: s.kernel.variant, layout: cache.bindGroupLayout(s.kernel.layout), entries });
    return { label: s.kernel.variant, pipeline: pipelines[k]!, bindGroup, grid: s.grid };
  });
  return { steps: prepared, uniforms };
}

/** Records prepared steps into an open compute pass. */
export function encodeSteps(pass: GPUComputePassEncoder, steps: readonly PreparedStep[]): void {
  for (const s of steps) {
    pass.setPipeline(s.pipeline);
    pass.setBindGroup(0, s.bindGroup);
    pass.dispatchWorkgroups(s.grid[0], s.grid[1], s.grid[2]);
  }
}
