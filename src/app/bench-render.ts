// Output of the benchmark page: the results table, the per-kernel section and the JSON download. The table rows
// carry their numbers in data-* attributes (full precision) so tests and scripts can read them back.
import { fmtBytes } from '../storage/opfs-store.ts';
import { renderChart } from './bench-chart.ts';
import { fmtRate, type BenchReport, type KernelReport, type ResultRow } from './bench-types.ts';

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

/**
 * The per-kernel section (#kernels), per loaded engine: a kernel table where the engine reports kernels, an honest
 * line where it does not, its live memory, and, for ktweb's hybrid placement, the GPU/CPU times of the last decode
 * step at each prompt length (the nearest thing to a per-device breakdown the engine gives today).
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
    para(k.kernels === null ? `Per-kernel GB/s: ${k.note}.` : 'Per-kernel GB/s:', k.kernels === null ? 'kernel-na' : '');
    if (k.kernels !== null) {
      const t = table(['Kernel', 'Calls', 'Bytes', 'ms', 'GB/s']);
      for (const s of k.kernels) {
        const tr = t.body.insertRow();
        cell(tr, s.kernel);
        cell(tr, String(s.calls), 'num');
        cell(tr, fmtBytes(s.bytes), 'num');
        cell(tr, s.ms.toFixed(2), 'num');
        cell(tr, s.gb_per_s.toFixed(1), 'num');
      }
      sec.append(t.table);
    }
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
