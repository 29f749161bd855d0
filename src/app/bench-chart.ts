// The benchmark chart: one bar per engine row (engine · threads) in each phase × prompt-length group, tokens/s on
// a log or linear axis. Only the chart.js pieces a bar chart needs are registered.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LogarithmicScale, Title, Tooltip } from 'chart.js';
import type { ResultRow } from './bench-types.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Legend, Title, Tooltip);

const COLORS = ['#1565c0', '#ef6c00', '#2e7d32', '#6a1b9a', '#c62828', '#00838f', '#5d4037', '#9e9d24'];

let chart: Chart<'bar', (number | null)[], string> | undefined;

export function seriesKey(r: Pick<ResultRow, 'label' | 'threads_requested'>): string {
  return `${r.label} · ${r.threads_requested} thread${r.threads_requested === 1 ? '' : 's'}`;
}

export function renderChart(canvas: HTMLCanvasElement, rows: readonly ResultRow[], promptLengths: readonly number[], log: boolean): void {
  const ok = rows.filter((r) => r.error === undefined);
  const labels: string[] = [];
  const cells: Array<{ phase: 'prefill' | 'decode'; len: number }> = [];
  for (const phase of ['prefill', 'decode'] as const)
    for (const len of promptLengths) {
      labels.push(`${phase} · ${len}-token prompt`);
      cells.push({ phase, len });
    }
  const series = [...new Set(ok.map(seriesKey))];
  const datasets = series.map((key, i) => ({
    label: key,
    backgroundColor: COLORS[i % COLORS.length]!,
    data: cells.map(({ phase, len }) => {
      const r = ok.find((x) => seriesKey(x) === key && x.prompt_target === len);
      const v = r === undefined ? Number.NaN : phase === 'prefill' ? r.prefill_tokens_per_s : r.decode_tokens_per_s;
      return Number.isFinite(v) && v > 0 ? v : null;
    }),
  }));
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const fg = dark ? '#ddd' : '#333';
  const grid = dark ? 'rgba(255,255,255,0.12)' : 'rgba(0,0,0,0.1)';
  chart?.destroy();
  chart = new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        title: { display: true, text: 'Tokens per second (median of the repetitions; higher is better)', color: fg },
        legend: { position: 'bottom', labels: { color: fg } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label ?? ''}: ${typeof c.raw === 'number' ? c.raw.toFixed(1) : '—'} tokens/s` } },
      },
      scales: {
        x: { ticks: { color: fg }, grid: { color: grid } },
        y: { type: log ? 'logarithmic' : 'linear', title: { display: true, text: 'tokens/s', color: fg }, ticks: { color: fg }, grid: { color: grid } },
      },
    },
  });
}
