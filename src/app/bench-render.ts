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
    cell(tr, `${r.threads_requested} → ${r.threads_used ?? 'not reported'}`, 'num');
    cell(tr, `${r.prompt_target} → ${r.prompt_tokens}`, 'num');
    cell(tr, String(r.completion_tokens), 'num');
    cell(tr, fmtRate(r.prefill_tokens_per_s), 'num prefill');
    cell(tr, fmtRate(r.decode_tokens_per_s), 'num decode');
    cell(tr, r.samples.map((s) => `${fmtRate(s.prefill_tokens_per_s)} / ${fmtRate(s.decode_tokens_per_s)}`).join(' · '), 'samples');
  }
  $('results-empty').hidden = rows.length > 0;
  renderChart($<HTMLCanvasElement>('chart'), rows, promptLengths, log);
}

/** The per-kernel section (#kernels): a table per engine that reports kernels, an honest line for the others. */
export function renderKernels(kernels: readonly KernelReport[]): void {
  const box = $('kernels');
  box.replaceChildren();
  for (const k of kernels) {
    const h = document.createElement('p');
    const who = `${k.label}, ${k.threads_requested} thread${k.threads_requested === 1 ? '' : 's'}`;
    if (k.kernels === null) {
      h.className = 'kernel-na';
      h.textContent = `${who}: ${k.note}.`;
      box.append(h);
      continue;
    }
    h.textContent = who;
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const t of ['Kernel', 'Calls', 'Bytes', 'ms', 'GB/s']) head.append(Object.assign(document.createElement('th'), { textContent: t }));
    const tb = table.createTBody();
    for (const s of k.kernels) {
      const tr = tb.insertRow();
      cell(tr, s.kernel);
      cell(tr, String(s.calls), 'num');
      cell(tr, fmtBytes(s.bytes), 'num');
      cell(tr, s.ms.toFixed(2), 'num');
      cell(tr, s.gb_per_s.toFixed(1), 'num');
    }
    box.append(h, table);
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
