// Benchmark page: the same GGUF (embedded, stored in OPFS, or picked for this run) in ktweb's engine worker and in
// wllama, at several prompt lengths and thread counts, ktweb once per placement (hybrid, all GPU, all CPU); prefill
// and decode tokens/s (median of N runs) in a table and a chart; per-kernel GB/s where an engine reports them and
// ktweb's per-step GPU/CPU times; everything exportable as JSON. The page only orchestrates and draws: every token
// is computed in workers.
import { isEngineError } from '../core/errors.ts';
import { ModelStore, fmtBytes, type StoredModel } from '../storage/opfs-store.ts';
import { downloadJson, renderKernels, renderResults } from './bench-render.ts';
import { errorRow, resultRow } from './bench-rows.ts';
import { ktwebTargets, probeGpu, type BenchModel, type BenchTarget, type LoadedTarget } from './bench-targets.ts';
import {
  DEFAULT_GEN_TOKENS,
  DEFAULT_PROMPT_LENGTHS,
  DEFAULT_REPETITIONS,
  PROMPT_WORD,
  parseIntField,
  parseIntList,
  promptText,
  wordsFor,
  type BenchReport,
  type BenchSettings,
  type KernelReport,
  type KernelStat,
  type ResultRow,
  type Sample,
} from './bench-types.ts';
import { hasJspi, hasMemory64, hasWebGpu, wllamaTargets } from './bench-wllama.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const BUILTIN_URL = new URL('../../models/stories260K.gguf', import.meta.url).href;
const BUILTIN_NAME = 'stories260K.gguf';
/** Filled once the engine worker said what WebGPU offers here (the GPU placements depend on it). */
let TARGETS: readonly BenchTarget[] = [];
const PROBES = [1, 9] as const; // words in the two calibration prompts (also the warm-up runs)
const PROMPTS_DESC = `${PROBES[0]} and ×${PROBES[1]}`;

const storeP = ModelStore.open().catch(() => undefined); // no OPFS (private window): embedded and picked models still work
let stored: StoredModel[] = [];
let picked: File[] = [];
let rows: ResultRow[] = [];
let kernels: KernelReport[] = [];
let report: BenchReport | undefined;
let current: LoadedTarget | undefined;
let stopping = false;

function errorText(e: unknown): string {
  if (isEngineError(e)) return e.oneLine();
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function setStatus(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

// ---------------------------------------------------------------- environment, engines, method note

let env: BenchReport['environment'] = { webgpu: hasWebGpu(), gpuAdapter: null, softwareGpu: false, jspi: hasJspi(), memory64: hasMemory64() };

async function setup(): Promise<void> {
  $<HTMLButtonElement>('run').disabled = true;
  const gpu = await probeGpu().catch(() => ({ webgpu: env.webgpu, adapter: null, software: false }));
  env = { ...env, webgpu: gpu.webgpu, gpuAdapter: gpu.adapter, softwareGpu: gpu.software };
  TARGETS = [...ktwebTargets(gpu), ...wllamaTargets()];
  renderEnvironment();
  $<HTMLButtonElement>('run').disabled = false;
}

function renderEnvironment(): void {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const adapter = env.gpuAdapter === null ? '' : ` (${env.gpuAdapter}${env.softwareGpu ? ', software' : ''})`;
  $('env').textContent =
    `${navigator.hardwareConcurrency} logical CPUs · cross-origin isolated (SharedArrayBuffer, wasm threads): ${yes(crossOriginIsolated)} · ` +
    `WebGPU: ${yes(env.webgpu)}${adapter} · JSPI: ${yes(env.jspi)} · Memory64: ${yes(env.memory64)}`;
  $<HTMLInputElement>('threads').value = [...new Set([1, navigator.hardwareConcurrency || 1])].join(', ');
  $<HTMLInputElement>('prompt-lengths').value = DEFAULT_PROMPT_LENGTHS.join(', ');
  $<HTMLInputElement>('gen-tokens').value = String(DEFAULT_GEN_TOKENS);
  $<HTMLInputElement>('repetitions').value = String(DEFAULT_REPETITIONS);

  const box = $('targets');
  const notes: string[] = [];
  for (const t of TARGETS) {
    const why = t.unavailable();
    const label = document.createElement('label');
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.id = `target-${t.id}`;
    cb.value = t.id;
    cb.checked = t.defaultOn && why === null;
    cb.disabled = why !== null;
    label.append(cb, ` ${t.label}`);
    if (why !== null) {
      label.className = 'target-off';
      label.title = why;
      if (t.defaultOn) notes.push(`${t.label}: ${why}.`);
    }
    const caveat = why === null ? t.caveat() : null;
    if (caveat !== null) label.title = caveat;
    box.append(label);
  }
  const caveats = new Map<string, string[]>();
  for (const t of TARGETS) {
    const c = t.unavailable() === null ? t.caveat() : null;
    if (c !== null) caveats.set(c, [...(caveats.get(c) ?? []), t.label]);
  }
  for (const [c, who] of caveats) notes.push(`${who.join(', ')}: ${c}; off by default.`);
  if (!crossOriginIsolated) notes.push('This page is not cross-origin isolated (COOP/COEP headers missing): wllama falls back to one thread.');
  const n = $('target-notes');
  n.textContent = notes.join(' ');
  n.hidden = notes.length === 0;

  const method = $('method-text');
  const seen = new Set<string>();
  const para = (text: string): void => {
    const p = document.createElement('p');
    p.textContent = text;
    method.append(p);
  };
  para(
    `Both engines get the same GGUF bytes (the same File objects) and the same raw prompt: the word "${PROMPT_WORD}" repeated, ` +
      'tokenized by each engine with its BOS token, no chat template, greedy sampling (temperature 0). The word count for each target length comes from two ' +
      `calibration runs (${PROMPT_WORD} ×${PROMPTS_DESC}, one generated token); the table shows the prompt tokens each engine reports. ` +
      'Each engine is loaded once per thread count, then runs the calibration prompts and, before each prompt length, one warm-up run at that length (2 generated tokens); none of these is recorded. ' +
      'Every cell is the median of the repetitions that follow. Wall-clock time per run (request to answer, seen from the page) is in the JSON export. ' +
      'Engines run one after another, never at the same time.',
  );
  for (const t of TARGETS) {
    if (seen.has(t.method)) continue;
    seen.add(t.method);
    para(t.method);
  }
}

// ---------------------------------------------------------------- model choice

async function fillModelSelect(select?: string): Promise<void> {
  const store = await storeP;
  stored = store === undefined ? [] : (await store.list()).filter((m) => m.state === 'complete');
  const sel = $<HTMLSelectElement>('model-select');
  const keep = select ?? sel.value;
  sel.replaceChildren(new Option('stories260K (embedded, 1.1 MiB)', 'builtin'));
  for (const m of stored) sel.add(new Option(`${m.name} (stored, ${fmtBytes(m.totalBytes)})`, `stored:${m.id}`));
  if (picked.length > 0) {
    const bytes = picked.reduce((s, f) => s + f.size, 0);
    sel.add(new Option(`${picked.find((f) => f.name.endsWith('.gguf'))?.name ?? picked[0]!.name} (picked for this run, ${fmtBytes(bytes)})`, 'picked'));
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function ggufsOf(files: readonly File[]): File[] {
  return files.filter((f) => f.name.endsWith('.gguf')).sort((a, b) => a.name.localeCompare(b.name));
}

async function chosenModel(): Promise<BenchModel> {
  const v = $<HTMLSelectElement>('model-select').value;
  let files: File[];
  let name: string;
  if (v === 'picked') {
    files = picked;
    name = ggufsOf(files)[0]?.name ?? 'picked files';
  } else if (v.startsWith('stored:')) {
    const store = await storeP;
    const m = stored.find((x) => `stored:${x.id}` === v);
    if (store === undefined || m === undefined) throw new Error('that stored model is gone; pick another');
    files = await Promise.all(m.files.map((f) => store.file(m.id, f.name)));
    name = m.name;
  } else {
    const r = await fetch(BUILTIN_URL);
    if (!r.ok) throw new Error(`could not read the embedded model (${r.status} ${r.statusText})`);
    files = [new File([await r.blob()], BUILTIN_NAME)];
    name = BUILTIN_NAME;
  }
  const ggufs = ggufsOf(files);
  if (ggufs.length === 0) throw new Error('no .gguf file among the chosen files; pick the model file (all parts of a split model)');
  return { name, bytes: ggufs.reduce((s, f) => s + f.size, 0), ggufs, files };
}

// ---------------------------------------------------------------- settings

function readSettings(): BenchSettings {
  const targets = TARGETS.filter((t) => $<HTMLInputElement>(`target-${t.id}`).checked).map((t) => t.id);
  if (targets.length === 0) throw new Error('Engines: choose at least one');
  return {
    promptLengths: parseIntList($<HTMLInputElement>('prompt-lengths').value, 'Prompt lengths', 2, 16384),
    genTokens: parseIntField($<HTMLInputElement>('gen-tokens').value, 'Tokens to generate', 1, 4096),
    repetitions: parseIntField($<HTMLInputElement>('repetitions').value, 'Repetitions', 1, 50),
    threads: parseIntList($<HTMLInputElement>('threads').value, 'Threads', 1, 256),
    targets,
  };
}

// ---------------------------------------------------------------- running

interface Calibration {
  readonly by: string;
  readonly probes: ReadonlyArray<{ words: number; tokens: number }>;
}

async function runAll(): Promise<void> {
  const err = $('form-error');
  let settings: BenchSettings;
  try {
    settings = readSettings();
    err.hidden = true;
  } catch (e) {
    err.textContent = errorText(e);
    err.hidden = false;
    return;
  }
  document.body.dataset['state'] = 'running';
  stopping = false;
  rows = [];
  kernels = [];
  report = undefined;
  show(settings);
  setBusy(true);
  const bar = $<HTMLProgressElement>('progress');
  const runsOf = (t: BenchTarget): number => (t.usesThreads ? settings.threads.length : 1);
  const total = TARGETS.filter((t) => settings.targets.includes(t.id)).reduce((a, t) => a + runsOf(t), 0) * settings.promptLengths.length * settings.repetitions;
  let done = 0;
  bar.hidden = false;
  bar.value = 0;
  let failed = false;
  let model: BenchModel;
  try {
    setStatus('reading the model…');
    model = await chosenModel();
  } catch (e) {
    setStatus(errorText(e), true);
    finish(false);
    return;
  }
  $('model-info').textContent = `${model.name}: ${fmtBytes(model.bytes)}`;
  const maxLen = Math.max(...settings.promptLengths);
  const nCtx = Math.ceil((maxLen * 1.25 + settings.genTokens + 64) / 256) * 256;
  let calib: Calibration | undefined;

  outer: for (const threads of settings.threads) {
    for (const id of settings.targets) {
      const target = TARGETS.find((t) => t.id === id)!;
      if (!target.usesThreads && threads !== settings.threads[0]) continue; // no CPU side: once is enough
      const where = `${target.label}, ${threads} thread${threads === 1 ? '' : 's'}`;
      if (stopping) break outer;
      const fail = (e: unknown): void => {
        failed = true;
        const message = errorText(e);
        for (const len of settings.promptLengths) {
          if (rows.some((r) => r.target === target.id && r.threads_requested === threads && r.prompt_target === len)) continue;
          rows.push(errorRow(target, threads, len, message));
        }
        setStatus(`${where}: ${message}`, true);
      };
      let loaded: LoadedTarget;
      try {
        setStatus(`${where}: loading ${model.name}…`);
        loaded = await target.load(model, { threads, nCtx, onProgress: (t) => setStatus(`${where}: ${t}`) });
        current = loaded;
      } catch (e) {
        fail(e);
        done += settings.promptLengths.length * settings.repetitions;
        bar.value = done / total;
        show(settings);
        continue;
      }
      try {
        // Calibration / warm-up: two short prompts, one generated token each; not recorded.
        setStatus(`${where}: warm-up`);
        const probes: Array<{ words: number; tokens: number }> = [];
        for (const words of PROBES) probes.push({ words, tokens: (await loaded.run(promptText(words), 1)).prompt_tokens });
        if (calib === undefined) calib = { by: loaded.label, probes };
        for (const len of settings.promptLengths) {
          const words = wordsFor(len, calib.probes[0]!, calib.probes[1]!);
          const samples: Sample[] = [];
          // One unrecorded run at this length first: engines size their buffers for a new batch shape on first use.
          if (stopping) break outer;
          setStatus(`${where}: prompt ${len} tokens, warm-up`);
          await loaded.run(promptText(words), 2);
          for (let rep = 0; rep < settings.repetitions; rep++) {
            if (stopping) break outer;
            setStatus(`${where}: prompt ${len} tokens, run ${rep + 1}/${settings.repetitions}`);
            samples.push(await loaded.run(promptText(words), settings.genTokens));
            bar.value = ++done / total;
          }
          rows.push(resultRow(target.id, loaded, threads, len, samples, await loaded.lastStep()));
          show(settings);
        }
        // Per-kernel GB/s on the loaded model; a failure here is reported in its section, the rows stand.
        if (stopping) break outer;
        setStatus(`${where}: timing the kernels`);
        let ks: readonly KernelStat[] | null = null;
        let note = loaded.kernelNote;
        try {
          ks = await loaded.kernelStats();
        } catch (e) {
          note = `timing the kernels failed: ${errorText(e)}`;
        }
        kernels.push({ label: loaded.label, backend: loaded.backend, threads_requested: threads, kernels: ks, note, memory: await loaded.memory() });
      } catch (e) {
        if (!stopping) fail(e);
      } finally {
        current = undefined;
        await loaded.dispose().catch(() => {});
      }
      show(settings);
    }
  }
  report = buildReport(model, settings, calib);
  show(settings);
  renderKernels(kernels, rows);
  const bad = rows.filter((r) => r.error !== undefined).length;
  if (stopping) setStatus('stopped; the table holds what finished');
  else if (failed) setStatus(`finished with errors: ${bad} of ${rows.length} rows failed (the table says why)`, true);
  else setStatus(`done: ${rows.length} rows (${model.name})`);
  finish(!stopping && !failed);
}

function show(settings: BenchSettings): void {
  renderResults(rows, settings.promptLengths, $<HTMLInputElement>('log-scale').checked);
}

function finish(ok: boolean): void {
  setBusy(false);
  $<HTMLProgressElement>('progress').hidden = true;
  $<HTMLButtonElement>('export').disabled = report === undefined;
  document.body.dataset['state'] = ok ? 'done' : stopping ? 'stopped' : 'error';
}

function setBusy(busy: boolean): void {
  $<HTMLButtonElement>('run').disabled = busy;
  $<HTMLButtonElement>('stop').disabled = !busy;
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('#bench-form fieldset input, #bench-form fieldset select')) {
    el.disabled = busy || el.closest('.target-off') !== null;
  }
}

function buildReport(model: BenchModel, settings: BenchSettings, calib: Calibration | undefined): BenchReport {
  const method: Record<string, string> = {
    prompt: `raw text: "${PROMPT_WORD}" repeated; word counts from calibration prompts of ${PROBES.join(' and ')} words${calib !== undefined ? ` on ${calib.by} (${calib.probes.map((p) => `${p.words} words → ${p.tokens} tokens`).join(', ')})` : ''}; greedy; one unrecorded warm-up run per engine load and prompt length; medians of the repetitions`,
  };
  for (const t of TARGETS) if (settings.targets.includes(t.id)) method[t.id] = t.method;
  return {
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated,
    environment: env,
    model: { name: model.name, bytes: model.bytes },
    settings,
    method,
    results: rows,
    kernels,
  };
}

// ---------------------------------------------------------------- wiring

$('bench-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void runAll().catch((e: unknown) => {
    setStatus(errorText(e), true);
    finish(false);
  });
});
$('stop').addEventListener('click', () => {
  stopping = true;
  setStatus('stopping…');
  current?.abort();
});
$('export').addEventListener('click', () => {
  if (report !== undefined) downloadJson(report);
});
$('log-scale').addEventListener('change', () => {
  try {
    show(report?.settings ?? readSettings());
  } catch {
    /* settings being edited: the chart follows on the next run */
  }
});
$<HTMLInputElement>('file-input').addEventListener('change', (ev) => {
  const input = ev.target as HTMLInputElement;
  picked = [...(input.files ?? [])];
  input.value = '';
  void fillModelSelect(picked.length > 0 ? 'picked' : undefined);
});

void setup();
void fillModelSelect();
