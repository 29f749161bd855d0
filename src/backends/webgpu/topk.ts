// Sampling candidates on the GPU: the repetition penalty applied to the logits column in place, then the k best
// (value, id) pairs by repeated chunk sorts (shaders/topk.wgsl), so a step reads back 2k words instead of the
// vocabulary. Built once per (graph plan, k) and replayed after the graph's steps.
import { prepareSteps, type PreparedStep, type Step } from './dispatch.ts';
import type { GpuCaps } from './device.ts';
import { BufferUsage } from './gpu-flags.ts';
import type { PipelineCache } from './pipeline-cache.ts';
import { Params } from './uniforms.ts';

/** Elements one workgroup sorts (CH in topk.wgsl). */
const CHUNK = 1024;
export const MAX_TOP_K = 256;

export interface TopKPlan {
  readonly k: number;
  readonly steps: readonly PreparedStep[];
  /** [count, penalty bits, ids...], rewritten before each run. */
  readonly penalty: GPUBuffer;
  /** Ids the penalty buffer has room for. */
  readonly capacity: number;
  /** The last pass's output: values then ids, each at least k long. */
  readonly values: GPUBuffer;
  readonly ids: GPUBuffer;
  readonly buffers: readonly GPUBuffer[];
}

const pow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Steps that penalize and cut the column `col` of the logits `out` [nVocab, cols] to the k best.
 * Pass p reads n_p entries in chunks of CHUNK and keeps kp of each, until one chunk remains.
 */
export async function buildTopK(device: GPUDevice, pipelines: PipelineCache, caps: GpuCaps, out: GPUBuffer, nVocab: number, col: number, k: number, capacity: number): Promise<TopKPlan> {
  const kp = pow2(k);
  const penalty = device.createBuffer({ label: 'topk_penalty', size: 4 * (capacity + 2), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
  const pairs = Math.ceil(nVocab / CHUNK) * kp;
  const mk = (label: string): GPUBuffer => device.createBuffer({ label, size: 4 * Math.max(4, pairs), usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  const bufs = [
    [mk('topk_v0'), mk('topk_i0')],
    [mk('topk_v1'), mk('topk_i1')],
  ] as const;
  const steps: Step[] = [{ kernel: { variant: 'repeat_penalty_f32', shader: 'repeat_penalty.wgsl', layout: 'rwu' }, buffers: [penalty, out], params: new Params().u(nVocab).u(col * nVocab), grid: [64, 1, 1] }];
  let n = nVocab;
  let pass = 0;
  for (;;) {
    const chunks = Math.ceil(n / CHUNK);
    const [dv, di] = bufs[pass % 2]!;
    const first = pass === 0;
    const [sv, si] = first ? [out, out] : bufs[(pass + 1) % 2]!;
    steps.push({
      kernel: { variant: first ? 'topk_f32_first' : 'topk_f32', shader: 'topk.wgsl', defines: { FIRST: first }, layout: 'rrwwu' },
      buffers: [sv, si, dv, di],
      params: new Params().u(n).u(first ? col * nVocab : 0).u(kp),
      grid: [chunks, 1, 1],
    });
    pass++;
    if (chunks === 1) break;
    n = chunks * kp;
  }
  const { steps: prepared } = await prepareSteps(device, pipelines, steps, caps.minUniformOffsetAlign, `topk${k}`);
  const [values, ids] = bufs[(pass - 1) % 2]!;
  return { k, steps: prepared, penalty, capacity, values, ids, buffers: [penalty, ...bufs.flat()] };
}

/** The penalty buffer's words for this run: distinct ids in first-seen order, as llama.cpp penalizes each once. */
export function penaltyWords(ids: Int32Array | undefined, penalty: number | undefined): Uint32Array<ArrayBuffer> {
  const use = ids !== undefined && penalty !== undefined && penalty !== 1;
  const distinct = use ? [...new Set(ids)] : [];
  const w = new Uint32Array(2 + distinct.length);
  w[0] = distinct.length;
  w[1] = new Uint32Array(Float32Array.of(penalty ?? 1).buffer)[0]!;
  w.set(distinct, 2);
  return w;
}

export function destroyTopK(p: TopKPlan): void {
  for (const b of p.buffers) b.destroy();
}
