// Chat page: picks a model (the embedded default or one stored in OPFS), loads it in the engine worker on the chosen
// device (auto / GPU / CPU), rules and CPU threads with progress, shows the rules it runs with and reloads it with
// edited rules, shows where it runs and its live memory, and chats with streaming tokens, stop, regenerate, clear.
// The UI thread only awaits the worker; it never computes.
import { isEngineError } from '../core/errors.ts';
import { WorkerEngine } from '../api/worker-engine.ts';
import type { ChatMessage, ModelInfo, PlanSummary } from '../api/types.ts';
import type { LoadedRules, WorkerLoadOptions, WorkerModelSource } from '../api/worker-protocol.ts';
import { ModelStore, fmtBytes, type StoredModel } from '../storage/opfs-store.ts';
import { gpuNote, hideEngine, mib, renderEngine, renderPlan } from './chat-engine-view.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const BUILTIN = { kind: 'url', url: new URL('../../models/stories260K.gguf', import.meta.url).href, name: 'stories260K.gguf' } as const;
const N_CTX = 2048;

const engine = new WorkerEngine(new Worker(new URL('../workers/engine.worker.ts', import.meta.url), { type: 'module' }));
const storeP = ModelStore.open();
let stored: StoredModel[] = [];
let history: ChatMessage[] = [];
let generating = false;
let loadingModel = false;
/** The loaded model: where it came from (a rules edit reloads the same source) and what it runs with. */
let current: { src: WorkerModelSource; info: ModelInfo; rules: LoadedRules; plan?: PlanSummary } | undefined;
/** What the rules editor edits: set by a successful load, kept when a reload with edited rules fails (to fix them). */
let editing: { src: WorkerModelSource; rules: LoadedRules } | undefined;

function setStatus(text: string, error = false): void {
  const s = $('load-status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

function errorText(e: unknown): string {
  return isEngineError(e) ? e.oneLine() : e instanceof Error ? e.message : String(e);
}

async function fillModelSelect(select?: string): Promise<void> {
  const store = await storeP;
  stored = await store.list();
  const sel = $<HTMLSelectElement>('model-select');
  const keep = select ?? sel.value;
  sel.replaceChildren(new Option('stories260K (embedded, 1.1 MiB)', 'builtin'));
  for (const m of stored) {
    const label = m.state === 'complete' ? `${m.name} (${fmtBytes(m.totalBytes)})` : `${m.name} (partial: import the same files again to resume)`;
    sel.add(new Option(label, m.id));
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  const chosen = stored.find((m) => m.id === sel.value);
  $<HTMLButtonElement>('delete-button').disabled = chosen === undefined;
  $<HTMLButtonElement>('load-button').disabled = loadingModel || generating || (chosen !== undefined && chosen.state !== 'complete');
}

async function importFiles(files: File[]): Promise<void> {
  if (files.length === 0) return;
  const store = await storeP;
  const bar = $<HTMLProgressElement>('load-progress');
  bar.hidden = false;
  const partial = stored.find((m) => m.state === 'partial' && files.some((f) => m.files.some((x) => x.name === f.name)));
  try {
    const onProgress = (p: { bytesDone: number; bytesTotal: number; bytesPerSecond: number; etaSeconds: number | null; file: string }): void => {
      bar.value = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0;
      setStatus(`importing ${p.file}: ${fmtBytes(p.bytesDone)} / ${fmtBytes(p.bytesTotal)} at ${fmtBytes(p.bytesPerSecond)}/s${p.etaSeconds !== null ? `, ${Math.ceil(p.etaSeconds)} s left` : ''}`);
    };
    const id = partial !== undefined ? await store.resume(partial.id, files, { onProgress }) : await store.import(files, { onProgress });
    await fillModelSelect(id);
    setStatus(`imported ${stored.find((m) => m.id === id)?.name ?? id}; press Load`);
  } catch (e) {
    setStatus(errorText(e), true);
    await void fillModelSelect();
  } finally {
    bar.hidden = true;
  }
}

/** Enables what the state allows: chat while a model is loaded and idle; loads and rule edits while nothing runs. */
function updateControls(): void {
  const idle = !generating && !loadingModel;
  for (const id of ['chat-input', 'send', 'regenerate', 'clear']) $<HTMLButtonElement>(id).disabled = !idle || current === undefined;
  $<HTMLButtonElement>('stop').disabled = !generating;
  for (const id of ['rules-apply', 'rules-revert', 'rules-text']) $<HTMLButtonElement>(id).disabled = !idle || editing === undefined;
  const chosen = stored.find((m) => m.id === $<HTMLSelectElement>('model-select').value);
  $<HTMLButtonElement>('load-button').disabled = !idle || (chosen !== undefined && chosen.state !== 'complete');
}

/** Load options from the page's controls: device, rules file ('' = the engine chooses), CPU threads ('' = default). */
function loadOptions(): WorkerLoadOptions {
  const threads = $<HTMLInputElement>('cpu-threads').value.trim();
  const rules = $<HTMLSelectElement>('rules-select').value;
  return {
    nCtx: N_CTX,
    device: $<HTMLSelectElement>('device-select').value as 'auto' | 'gpu' | 'cpu',
    ...(rules !== '' ? { rules } : {}),
    ...(threads !== '' ? { cpuThreads: Math.max(1, Math.round(Number(threads))) } : {}),
  };
}

/** Engine panel and rules panel from the worker's view of the loaded model. */
async function refreshEngine(): Promise<void> {
  if (current === undefined) return;
  try {
    renderEngine(current.info, current.rules, await engine.stats(), current.plan);
  } catch (e) {
    $('engine-step').textContent = `statistics unavailable: ${errorText(e)}`;
  }
}

function showLoadedRules(r: LoadedRules): void {
  $('rules-name').textContent = `(${r.name}${r.edited ? ', edited' : ''} — the rules the model runs with)`;
  $<HTMLTextAreaElement>('rules-text').value = r.text;
  $('rules-error').hidden = true;
}

/** Loads `src` with `opts`; `keepChat` keeps the conversation (a rules reload: each answer re-reads the history). */
async function loadModel(src: WorkerModelSource, opts: WorkerLoadOptions, keepChat: boolean): Promise<boolean> {
  const bar = $<HTMLProgressElement>('load-progress');
  bar.hidden = false;
  loadingModel = true;
  current = undefined;
  document.body.dataset['engine'] = 'loading';
  updateControls();
  setStatus('loading…');
  const t0 = performance.now();
  let loading = true; // progress callbacks are async messages and may arrive after load() resolved
  try {
    const info = await engine.load(src, opts, (p) => {
      if (!loading) return;
      bar.value = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0;
      const s = (performance.now() - t0) / 1000;
      setStatus(`${p.phase}: ${mib(p.bytesDone)} / ${mib(p.bytesTotal)} (${(p.bytesDone / 2 ** 20 / Math.max(s, 1e-3)).toFixed(0)} MiB/s)`);
    });
    loading = false;
    const rules = await engine.loadedRules();
    current = { src, info, rules, plan: await engine.plan(rules.name, rules.text) };
    editing = { src, rules };
    setStatus(
      `${info.name}: ${info.architecture}, ${(info.nParams / 1e6).toFixed(2)}M parameters, ${mib(info.weightBytes)}, context ${info.nCtx}, on ${info.backend}` +
        (info.hasChatTemplate ? '' : ' — no chat template: text is continued as written'),
    );
    showLoadedRules(rules);
    renderPlan(current.plan!, rules.name);
    if (!keepChat) {
      history = [];
      $('chat-log').replaceChildren();
      $('stats').textContent = '';
    }
    await refreshEngine();
    document.body.dataset['engine'] = 'ready';
    return true;
  } catch (e) {
    loading = false;
    hideEngine();
    setStatus(errorText(e), true);
    document.body.dataset['engine'] = 'failed';
    return false;
  } finally {
    // Finished loads, counted for scripts and tests that wait for "this" load (a reload looks like the last one).
    document.body.dataset['loads'] = String(Number(document.body.dataset['loads'] ?? '0') + 1);
    loadingModel = false;
    bar.hidden = true;
    updateControls();
  }
}

async function load(): Promise<void> {
  const id = $<HTMLSelectElement>('model-select').value;
  const m = stored.find((x) => x.id === id);
  const store = await storeP;
  const src: WorkerModelSource = m === undefined ? BUILTIN : { kind: 'files', files: await Promise.all(m.files.map((f) => store.file(m.id, f.name))) };
  editing = undefined; // the rules shown belong to the previous model
  await loadModel(src, loadOptions(), false);
}

/** Checks the edited rules against the loaded model (errors inline, with their line); valid and changed → reload. */
async function applyRules(): Promise<void> {
  const base = editing;
  if (base === undefined) return;
  const err = $('rules-error');
  const { name } = base.rules;
  const text = $<HTMLTextAreaElement>('rules-text').value;
  // With a model loaded the rules are checked and planned before anything is unloaded; after a failed reload
  // there is nothing to plan against, and the load itself reports rule errors with their line.
  if (current !== undefined) {
    try {
      renderPlan(await engine.plan(name, text), name);
      err.hidden = true;
    } catch (e) {
      err.textContent = errorText(e);
      err.hidden = false;
      $('plan-summary').textContent = ''; // the plan shown was for other text
      return;
    }
    if (text === current.rules.text) {
      setStatus(`${name}: valid and unchanged; the model already runs with these rules`);
      return;
    }
  }
  const ok = await loadModel(base.src, { ...loadOptions(), rules: name, rulesText: text }, true);
  if (!ok) {
    // The old model is gone (the worker unloads before it loads): say why where the edit was made too, and keep
    // the edited text so it can be fixed in place.
    editing = base;
    err.textContent = `${$('load-status').textContent ?? ''}\nThe model is not loaded now: fix the rules or the device and apply again, or press Load.`;
    err.hidden = false;
    updateControls();
  }
}

function addMessage(role: string, text: string): HTMLElement {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.textContent = text;
  $('chat-log').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function answer(): Promise<void> {
  generating = true;
  updateControls();
  const div = addMessage('assistant', '');
  const maxTokens = Math.max(1, Math.min(4096, Math.round(Number($<HTMLInputElement>('max-tokens').value) || 256)));
  let text = '';
  const ids: number[] = [];
  try {
    for await (const c of engine.chat.completions.create({ messages: history, max_tokens: maxTokens, temperature: 0, stream: true })) {
      const d = c.choices[0].delta.content;
      ids.push(...(c.token_ids ?? []));
      if (d !== undefined && d !== '') {
        text += d;
        div.textContent = text;
        div.scrollIntoView({ block: 'end' });
      }
      // The generated token ids, for scripts and tests that compare with another engine token by token.
      div.dataset['tokens'] = ids.join(',');
      if (c.timings !== undefined) {
        const t = c.timings;
        $('stats').textContent = `prefill ${t.prompt_tokens} tokens at ${t.prefill_tokens_per_s} t/s · decode ${t.completion_tokens} tokens at ${t.decode_tokens_per_s} t/s · ${c.choices[0].finish_reason ?? ''}`;
      }
    }
    history.push({ role: 'assistant', content: text });
  } catch (e) {
    div.className = 'msg error';
    div.textContent = errorText(e);
  } finally {
    generating = false;
    updateControls();
    await refreshEngine();
    document.body.dataset['answers'] = String(Number(document.body.dataset['answers'] ?? '0') + 1);
  }
}

$<HTMLInputElement>('file-input').addEventListener('change', (ev) => {
  const input = ev.target as HTMLInputElement;
  void importFiles([...(input.files ?? [])]).then(() => (input.value = ''));
});
document.addEventListener('dragover', (ev) => ev.preventDefault());
document.addEventListener('drop', (ev) => {
  ev.preventDefault();
  void importFiles([...(ev.dataTransfer?.files ?? [])]);
});
$('model-select').addEventListener('change', () => void fillModelSelect());
$('delete-button').addEventListener('click', () => {
  const id = $<HTMLSelectElement>('model-select').value;
  const m = stored.find((x) => x.id === id);
  if (m === undefined || !confirm(`Delete ${m.name} (${fmtBytes(m.totalBytes)}) from this browser?`)) return;
  void storeP.then((s) => s.delete(id)).then(() => fillModelSelect('builtin')).then(() => setStatus(`deleted ${m.name}`));
});
$('load-button').addEventListener('click', () => void load());
$('rules-apply').addEventListener('click', () => void applyRules());
$('rules-revert').addEventListener('click', () => {
  if (editing !== undefined) showLoadedRules(editing.rules);
});
$('use-all-cpu').addEventListener('click', () => {
  $<HTMLSelectElement>('device-select').value = 'cpu';
  $<HTMLSelectElement>('rules-select').value = 'all-cpu.yaml';
  if (current !== undefined && current.rules.name !== 'all-cpu.yaml' && !generating && !loadingModel) void loadModel(current.src, loadOptions(), true);
});
$('chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $<HTMLTextAreaElement>('chat-input');
  const text = input.value.trim();
  if (text === '' || generating) return;
  input.value = '';
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  void answer();
});
$('chat-input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $<HTMLFormElement>('chat-form').requestSubmit();
  }
});
$('stop').addEventListener('click', () => void engine.abort());
$('regenerate').addEventListener('click', () => {
  if (generating || history.length === 0) return;
  if (history[history.length - 1]!.role === 'assistant') {
    history.pop();
    $('chat-log').lastElementChild?.remove();
  }
  void answer();
});
$('clear').addEventListener('click', () => {
  history = [];
  $('chat-log').replaceChildren();
});

$<HTMLInputElement>('cpu-threads').placeholder = 'auto';
$<HTMLInputElement>('cpu-threads').title = `auto: all ${navigator.hardwareConcurrency || 1} when the CPU computes alone; beside the GPU a quarter of them stay free for the GPU side`;
void engine.ruleFiles().then((names) => {
  const sel = $<HTMLSelectElement>('rules-select');
  for (const n of names) sel.add(new Option(n, n));
});
void engine.probeGpu().then(
  (p) => {
    const isolation = crossOriginIsolated ? null : 'This page is not cross-origin isolated (its server sends no COOP/COEP headers, see the README): the WASM kernels cannot share memory, so models cannot load.';
    const text = [isolation, gpuNote(p)].filter((t) => t !== null).join(' ');
    $('webgpu-note-text').textContent = text;
    $('webgpu-note').hidden = text === '';
  },
  (e: unknown) => setStatus(`could not ask WebGPU for an adapter: ${errorText(e)}`, true),
);
void fillModelSelect();
