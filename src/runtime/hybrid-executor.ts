// Runs a graph across two executors (GPU and CPU) by device segments: each segment executes on its device, and
// only the values other segments need cross over (for the MoE split: the normed hidden state and the router's
// ids/weights go to the CPU, the experts' output comes back). Segments run as soon as the values they read are
// there and their device is free, so with `overlap` the GPU computes the shared experts while the CPU computes
// the routed ones. A value only GPU segments read stays on the GPU (no read-back; a segment with nothing to read
// back, like the shared experts, does not wait for the GPU at all); a GPU segment waiting for the CPU's experts is
// recorded meanwhile, so that only the hand-off and the submit remain. Graph splits are cached per graph.
import { EngineError } from '../core/errors.ts';
import type { DeviceValue, GraphExecutor, PreparedRun, RunInputs } from '../graph/executor.ts';
import type { Graph, GraphNode } from '../graph/graph.ts';
import { splitGraph, type Segment, type SegmentDevice } from './segments.ts';
import { withRepeatPenalty } from './sampler.ts';
import type { TopKExecutor, TopKOptions } from './session.ts';

export interface HybridStats {
  /** Wall time of the last run (ms). */
  wallMs: number;
  /** Time each device spent running segments in the last run (ms; includes its dispatch and read-back). */
  gpuMs: number;
  cpuMs: number;
  /** Time both devices were busy at once. */
  overlapMs: number;
  /** Segments run in the last run. */
  segments: number;
  /** Values handed from one segment to another on the GPU, without a read-back, in the last run. */
  keptOnDevice: number;
}

export interface HybridOptions {
  /** Run independent GPU work (shared experts) while the CPU computes the routed experts. */
  readonly overlap?: boolean;
}

/** A split and, per segment, which of its outputs are read back and which stay on its device. */
interface Split {
  readonly segs: readonly Segment[];
  readonly read: readonly (readonly number[])[];
  readonly keep: readonly (readonly number[])[];
  /** The same as the segment's own node ids. */
  readonly readLocal: readonly (readonly number[])[];
  readonly keepLocal: readonly (readonly number[])[];
  /** Segments each waits for on its own device and on the other one. */
  readonly sameDeps: readonly (readonly number[])[];
  readonly otherDeps: readonly (readonly number[])[];
  /** Original node id → how many segments read it. */
  readonly readers: ReadonlyMap<number, number>;
}

export class HybridExecutor implements GraphExecutor {
  private readonly splits = new WeakMap<Graph, Split>();
  readonly stats: HybridStats = { wallMs: 0, gpuMs: 0, cpuMs: 0, overlapMs: 0, segments: 0, keptOnDevice: 0 };

  constructor(
    readonly executors: Readonly<Record<SegmentDevice, GraphExecutor>>,
    private readonly deviceOf: (n: GraphNode, nTokens: number) => SegmentDevice,
    private readonly o: HybridOptions = {},
  ) {}

  segments(g: Graph): readonly Segment[] {
    return this.split(g).segs;
  }

  private split(g: Graph): Split {
    let s = this.splits.get(g);
    if (s === undefined) {
      const segs = splitGraph(g, (n) => this.deviceOf(n, g.nTokens), { overlap: this.o.overlap === true });
      const readerDevs = new Map<number, SegmentDevice[]>();
      for (const seg of segs) for (const orig of seg.externals.values()) readerDevs.set(orig, [...(readerDevs.get(orig) ?? []), seg.device]);
      const read: number[][] = [];
      const keep: number[][] = [];
      for (const seg of segs) {
        const canKeep = this.executors[seg.device].runKeeping !== undefined;
        const onDevice = (orig: number): boolean => canKeep && (readerDevs.get(orig) ?? []).every((d) => d === seg.device);
        read.push([...seg.outputs.keys()].filter((o) => !onDevice(o)));
        keep.push([...seg.outputs.keys()].filter(onDevice));
      }
      const local = (ids: readonly (readonly number[])[]): number[][] => ids.map((os, i) => os.map((o) => segs[i]!.outputs.get(o)!));
      s = {
        segs,
        read,
        keep,
        readLocal: local(read),
        keepLocal: local(keep),
        sameDeps: segs.map((seg) => seg.deps.filter((d) => segs[d]!.device === seg.device)),
        otherDeps: segs.map((seg) => seg.deps.filter((d) => segs[d]!.device !== seg.device)),
        readers: new Map([...readerDevs].map(([o, d]) => [o, d.length])),
      };
      this.splits.set(g, s);
    }
    return s;
  }

  resetCache(): void {
    this.executors.gpu.resetCache();
    this.executors.cpu.resetCache();
  }

  async dispose(): Promise<void> {
    await this.executors.gpu.dispose?.();
    await this.executors.cpu.dispose?.();
  }

  /**
   * Runs the segments, each device's in order, each starting when the segments it reads from are done; the one
   * holding the graph's output runs through `last`, whose result is returned.
   */
  private async runSegments<T>(g: Graph, inputs: RunInputs, last: (seg: Segment, ex: GraphExecutor, inputs: RunInputs) => Promise<T>): Promise<T> {
    const sp = this.split(g);
    const segs = sp.segs;
    const outSeg = segs.findIndex((s) => s.outputs.has(g.output));
    const values = new Map<number, Float32Array>();
    const onDevice = new Map<number, DeviceValue>();
    const unread = new Map(sp.readers); // device values are released when their last reader has run
    const busy: Record<SegmentDevice, [number, number][]> = { gpu: [], cpu: [] };
    const done: Promise<unknown>[] = [];
    const lastOn: Partial<Record<SegmentDevice, Promise<unknown>>> = {};
    const t0 = performance.now();
    let result: T | undefined;
    segs.forEach((seg, i) => {
      const ex = this.executors[seg.device];
      const sameDevice = [...sp.sameDeps[i]!.map((d) => done[d]!), lastOn[seg.device] ?? Promise.resolve()];
      const otherDevice = sp.otherDeps[i]!.map((d) => done[d]!);
      const read = sp.readLocal[i]!;
      const keep = sp.keepLocal[i]!;
      // A segment waiting for the other device is recorded while it waits (the GPU's command buffer), so that
      // only writing the handed-over values and submitting remain once they arrive.
      const ahead = i !== outSeg && otherDevice.length > 0 && ex.prepareKeeping !== undefined;
      const p = (async () => {
        await Promise.all(sameDevice);
        const deviceExternals = new Map<number, DeviceValue>();
        for (const [local, orig] of seg.externals) {
          const d = onDevice.get(orig);
          if (d !== undefined) deviceExternals.set(local, d);
        }
        let prepared: PreparedRun | undefined;
        if (ahead) {
          const t = performance.now();
          prepared = await ex.prepareKeeping!(seg.graph, deviceExternals, read, keep);
          busy[seg.device].push([t, performance.now()]);
        }
        try {
          await Promise.all(otherDevice);
        } catch (e) {
          prepared?.drop();
          throw e;
        }
        const externals = new Map<number, Float32Array>();
        for (const [local, orig] of seg.externals) if (!onDevice.has(orig)) externals.set(local, values.get(orig)!);
        const segInputs = { ...inputs, externals, deviceExternals };
        const start = performance.now();
        if (i === outSeg) {
          result = await last(seg, ex, segInputs);
        } else if (prepared !== undefined || keep.length > 0) {
          const r = await (prepared !== undefined ? prepared.submit(segInputs) : ex.runKeeping!(seg.graph, segInputs, read, keep));
          sp.read[i]!.forEach((o, k) => values.set(o, r.read[k]!));
          sp.keep[i]!.forEach((o, k) => onDevice.set(o, r.kept[k]!));
        } else {
          if (ex.runMany === undefined) throw new EngineError('bad_argument', `the ${seg.device} executor cannot run graph segments`);
          const r = await ex.runMany(seg.graph, segInputs, read);
          sp.read[i]!.forEach((o, k) => values.set(o, r[k]!));
        }
        busy[seg.device].push([start, performance.now()]);
        for (const orig of seg.externals.values()) {
          const left = unread.get(orig)! - 1;
          unread.set(orig, left);
          if (left === 0) onDevice.get(orig)?.release();
        }
      })();
      done.push(p);
      lastOn[seg.device] = p;
    });
    // Wait for everything (a failed segment must not leave another still running on its device).
    const settled = await Promise.allSettled(done);
    for (const d of onDevice.values()) d.release();
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    this.recordStats(performance.now() - t0, busy, segs.length, onDevice.size);
    return result as T;
  }

  private recordStats(wallMs: number, busy: Record<SegmentDevice, [number, number][]>, segments: number, keptOnDevice: number): void {
    const sum = (iv: [number, number][]): number => iv.reduce((a, [s, e]) => a + e - s, 0);
    let overlap = 0;
    for (const [gs, ge] of busy.gpu) for (const [cs, ce] of busy.cpu) overlap += Math.max(0, Math.min(ge, ce) - Math.max(gs, cs));
    Object.assign(this.stats, { wallMs, gpuMs: sum(busy.gpu), cpuMs: sum(busy.cpu), overlapMs: overlap, segments, keptOnDevice });
  }

  run(g: Graph, inputs: RunInputs): Promise<Float32Array> {
    return this.runSegments(g, inputs, (seg, ex, segInputs) => ex.run(seg.graph, segInputs));
  }

  /** On the device of the last segment (lm_head) when it can cut the logits there, else on the host. */
  runTopK(g: Graph, inputs: RunInputs, o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array }> {
    return this.runSegments(g, inputs, async (seg, ex, segInputs) => {
      const tk = ex as Partial<TopKExecutor>;
      if (tk.runTopK !== undefined) return tk.runTopK.call(ex, seg.graph, segInputs, o);
      return topKOnHost(await ex.run(seg.graph, segInputs), o);
    });
  }
}

/** The k best logits (after llama.cpp's repeat penalty), sorted descending, ties by lower id: the sampler's order. */
export function topKOnHost(logits: Float32Array, o: TopKOptions): { ids: Int32Array; logits: Float32Array } {
  const l = withRepeatPenalty(logits, o.penaltyIds, o.penalty);
  const idx = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b).slice(0, o.k);
  return { ids: Int32Array.from(idx), logits: Float32Array.from(idx, (i) => l[i]!) };
}
