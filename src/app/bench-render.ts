// Output of the benchmark page: the results table, the per-kernel section and the JSON download. The table rows
// carry their numbers in data-* attributes (full precision) so tests and scripts can read them back.
import { fmtBytes } from '../storage/opfs-store.ts';
import { renderChart } from './bench-chart.ts';
import { fmtRate, type BenchReport, type KernelReport, type KernelStat, type ResultRow } from './bench-types.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function cell(tr: HTMLTableRowElement, text: string, cls?: string): HTMLTableCellElement {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls !== undefined) td.className = cls;
  return td;
}

/** Fills the results table (#results, #results-empty) and redraws the chart (#chart). */
export function renderResults(rows: readonly ResultRow[], promptLengths: readonly number[], log: boolean): void {
  const body = $<HTMLTableElement>('results').tBodies[0]!;
  body.replaceChildren();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset['engine'] = r.engine;
    tr.dataset['target'] = r.target;
    tr.dataset['threads'] = String(r.threads_requested);
    tr.dataset['prompt'] = String(r.prompt_target);
    tr.dataset['promptTokens'] = String(r.prompt_tokens);
    tr.dataset['prefill'] = String(r.prefill_tokens_per_s);
    tr.dataset['decode'] = String(r.decode_tokens_per_s);
    cell(tr, r.error !== undefined ? r.label : r.engine);
    if (r.error !== undefined) {
      tr.className = 'failed';
      const td = cell(tr, r.error);
      td.colSpan = 8;
      continue;
    }
    cell(tr, r.backend);
    cell(tr, r.placement);
    cell(tr, `${r.threads_requested} → ${r.threads_used === null ? 'not reported' : r.threads_used === 0 ? '0 (GPU only)' : r.threads_used}`, 'num');
    cell(tr, `${r.prompt_target} → ${r.prompt_tokens}`, 'num');
    cell(tr, String(r.completion_tokens), 'num');
    cell(tr, fmtRate(r.prefill_tokens_per_s), 'num prefill');
    cell(tr, fmtRate(r.decode_tokens_per_s), 'num decode');
    cell(tr, r.samples.map((s) => `${fmtRate(s.prefill_tokens_per_s)} / ${fmtRate(s.decode_tokens_per_s)}`).join(' · '), 'samples');
  }
  $('results-empty').hidden = rows.length > 0;
  renderChart($<HTMLCanvasElement>('chart'), rows, promptLengths, log);
}

function table(headers: readonly string[]): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const h of headers) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  return { table: t, body: t.createTBody() };
}

function memoryText(m: KernelReport['memory']): string | null {
  if (m === null) return null;
  const parts = [...(m.gpu !== undefined ? [`GPU buffers ${fmtBytes(m.gpu.reduce((a, b) => a + b, 0))}`] : []), ...(m.cpu ?? []).map((b, i) => `wasm memory ${i + 1} ${fmtBytes(b)}`)];
  return parts.length > 0 ? `memory after the runs: ${parts.join(', ')}` : null;
}

/** µs and GB/s with as many decimals as their size needs (3 below 1). */
function fmtNum(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** One engine's kernel table: a row per kernel kind, numbers in data-* attributes; then the per-run overheads. */
function renderKernelTable(sec: HTMLElement, ks: readonly KernelStat[]): void {
  const para = (text: string, cls = ''): void => void sec.append(Object.assign(document.createElement('p'), { className: cls, textContent: text }));
  para("Per-kernel GB/s of a decode step, on the model's own weights where the placement put them (µs/call includes the per-run overhead below ÷ calls per run):");
  const gpuTimes = ks.some((s) => s.gpuUsPerCall !== undefined);
  const t = table(['Kernel', 'Modules', 'Weight type', 'Shape', 'Device', 'Calls/run', 'Bytes/call', 'µs/call', 'GB/s', ...(gpuTimes ? ['GPU µs/call', 'GPU GB/s'] : [])]);
  t.table.className = 'kernels';
  for (const s of ks) {
    const tr = t.body.insertRow();
    Object.assign(tr.dataset, { op: s.op, device: s.device, type: s.type, bytes: String(s.bytesPerCall), us: String(s.usPerCall), gbps: String(s.gbPerS), calls: String(s.callsPerRun) });
    if (s.gpuGbPerS !== undefined) tr.dataset['gpuGbps'] = String(s.gpuGbPerS);
    cell(tr, s.op);
    cell(tr, s.roles.map((r) => r.replace(/^model\./, '')).join(', ')).title = `e.g. ${s.module}: ${s.weights.join(', ')}`;
    cell(tr, s.type);
    cell(tr, `${s.shape.join('×')}${s.nUsed !== undefined ? ` (top-${s.nUsed})` : ''}`);
    cell(tr, s.device === 'gpu' ? 'GPU' : 'CPU');
    cell(tr, String(s.callsPerRun), 'num');
    cell(tr, fmtBytes(s.bytesPerCall), 'num');
    cell(tr, fmtNum(s.usPerCall), 'num');
    cell(tr, fmtNum(s.gbPerS), 'num');
    if (gpuTimes) {
      cell(tr, fmtNum(s.gpuUsPerCall), 'num');
      cell(tr, fmtNum(s.gpuGbPerS), 'num');
    }
  }
  sec.append(t.table);
  const overheads = new Map(ks.map((s) => [s.device, `${s.device === 'gpu' ? 'GPU' : 'CPU'} ${fmtNum(s.runOverheadUs)} µs (${s.backend})`]));
  para(`Per-run overhead, a trivial graph on the same executor (WebGPU: write inputs, submit, map the read-back; WASM: write inputs, start the worker pool, read outputs): ${[...overheads.values()].join('; ')}.`, 'hint');
  if (gpuTimes) para('GPU µs/call: the same calls replayed in one compute pass, timed with timestamp queries (no per-run overhead).', 'hint');
}

/**
 * The per-kernel section (#kernels), per loaded engine: a kernel table where the engine reports kernels (ktweb), an
 * honest line where it does not (wllama), its live memory, and, for ktweb's hybrid placement, the GPU/CPU times of
 * the last decode step at each prompt length.
 */
export function renderKernels(kernels: readonly KernelReport[], rows: readonly ResultRow[]): void {
  const box = $('kernels');
  box.replaceChildren();
  for (const k of kernels) {
    const who = `${k.label}, ${k.threads_requested} thread${k.threads_requested === 1 ? '' : 's'}`;
    const sec = document.createElement('div');
    sec.className = 'kernel-report';
    const para = (text: string, cls = ''): void => void sec.append(Object.assign(document.createElement('p'), { className: cls, textContent: text }));
    sec.append(Object.assign(document.createElement('h3'), { textContent: who }));
    if (k.kernels === null) para(`Per-kernel GB/s: ${k.note}.`, 'kernel-na');
    else renderKernelTable(sec, k.kernels);
    const mem = memoryText(k.memory);
    if (mem !== null) para(`${mem[0]!.toUpperCase()}${mem.slice(1)}.`, 'hint');
    const steps = rows.filter((r) => r.label === k.label && r.threads_requested === k.threads_requested && r.last_step !== null);
    if (steps.length > 0) {
      para('The last decode step of the last run at each prompt length, by device:');
      const t = table(['Prompt tokens', 'Step wall ms', 'GPU busy ms', 'CPU busy ms', 'Both at once ms', 'Segments']);
      t.table.className = 'steps';
      for (const r of steps) {
        const s = r.last_step!;
        const tr = t.body.insertRow();
        Object.assign(tr.dataset, { target: r.target, prompt: String(r.prompt_target), gpuMs: String(s.gpu_ms), cpuMs: String(s.cpu_ms), overlapMs: String(s.overlap_ms) });
        cell(tr, String(r.prompt_target), 'num');
        for (const v of [s.wall_ms, s.gpu_ms, s.cpu_ms, s.overlap_ms]) cell(tr, v.toFixed(2), 'num');
        cell(tr, String(s.segments), 'num');
      }
      sec.append(t.table);
    }
    box.append(sec);
  }
  if (kernels.length === 0) box.append(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'No engine finished a run.' }));
}

/** Offers the report as a JSON download (NaN, a phase that was not timed, becomes null). */
export function downloadJson(report: BenchReport): void {
  const blob = new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `ktweb-bench-${report.date.replace(/[:.]/g, '-')}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
