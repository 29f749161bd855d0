// Chat page: picks a model (the embedded default or picked files), loads it in the engine worker with progress,
// shows and validates the placement rules in place, and chats with streaming tokens, stop, regenerate, clear.
// The UI thread only awaits the worker; it never computes.
import { isEngineError } from '../core/errors.ts';
import { WorkerEngine } from '../api/worker-engine.ts';
import type { ChatMessage, PlanSummary } from '../api/types.ts';
import type { WorkerModelSource } from '../api/worker-protocol.ts';
import { ModelStore, fmtBytes, type StoredModel } from '../storage/opfs-store.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const BUILTIN = { kind: 'url', url: new URL('../../models/stories260K.gguf', import.meta.url).href, name: 'stories260K.gguf' } as const;

const engine = new WorkerEngine(new Worker(new URL('../workers/engine.worker.ts', import.meta.url), { type: 'module' }));
const storeP = ModelStore.open();
let stored: StoredModel[] = [];
let history: ChatMessage[] = [];
let rulesName = '';
let generating = false;

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
  const current = stored.find((m) => m.id === sel.value);
  $<HTMLButtonElement>('delete-button').disabled = current === undefined;
  $<HTMLButtonElement>('load-button').disabled = current !== undefined && current.state !== 'complete';
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

function chatEnabled(on: boolean): void {
  for (const id of ['chat-input', 'send', 'regenerate', 'clear']) $<HTMLButtonElement>(id).disabled = !on;
  $<HTMLButtonElement>('stop').disabled = on || !generating;
}

function renderPlan(p: PlanSummary): void {
  const d = p.devices;
  $('plan-summary').textContent =
    `Plan: GPU ${mib(d.gpu.total)} (weights ${mib(d.gpu.weights)}, KV ${mib(d.gpu.kvCache)}) · CPU ${mib(d.cpu.total)} (weights ${mib(d.cpu.weights)}) · ` +
    `${p.modulesOnGpu} modules on the GPU, ${p.modulesOnCpu} on the CPU. This build runs every module on the reference CPU engine; the plan shows where the hybrid runtime will put them.`;
}

async function applyRules(): Promise<void> {
  const err = $('rules-error');
  try {
    renderPlan(await engine.plan(rulesName, $<HTMLTextAreaElement>('rules-text').value));
    err.hidden = true;
  } catch (e) {
    err.textContent = errorText(e);
    err.hidden = false;
  }
}

async function load(): Promise<void> {
  const id = $<HTMLSelectElement>('model-select').value;
  const m = stored.find((x) => x.id === id);
  const store = await storeP;
  const src: WorkerModelSource = m === undefined ? BUILTIN : { kind: 'files', files: await Promise.all(m.files.map((f) => store.file(m.id, f.name))) };
  const bar = $<HTMLProgressElement>('load-progress');
  bar.hidden = false;
  chatEnabled(false);
  setStatus('loading…');
  const t0 = performance.now();
  let loading = true; // progress callbacks are async messages and may arrive after load() resolved
  try {
    const info = await engine.load(src, { nCtx: 2048 }, (p) => {
      if (!loading) return;
      bar.value = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0;
      const s = (performance.now() - t0) / 1000;
      setStatus(`${p.phase}: ${mib(p.bytesDone)} / ${mib(p.bytesTotal)} (${(p.bytesDone / 2 ** 20 / Math.max(s, 1e-3)).toFixed(0)} MiB/s)`);
    });
    loading = false;
    setStatus(`${info.name}: ${info.architecture}, ${(info.nParams / 1e6).toFixed(2)}M parameters, ${mib(info.weightBytes)}, context ${info.nCtx}, on ${info.backend}${info.hasChatTemplate ? '' : ' — no chat template: text is continued as written'}`);
    const r = await engine.defaultRules();
    rulesName = r.name;
    $('rules-name').textContent = `(${r.name}, chosen for this architecture)`;
    $<HTMLTextAreaElement>('rules-text').value = r.text;
    await applyRules();
    history = [];
    $('chat-log').replaceChildren();
    chatEnabled(true);
  } catch (e) {
    loading = false;
    setStatus(errorText(e), true);
  } finally {
    bar.hidden = true;
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
  chatEnabled(false);
  $<HTMLButtonElement>('stop').disabled = false;
  const div = addMessage('assistant', '');
  let text = '';
  try {
    for await (const c of engine.chat.completions.create({ messages: history, max_tokens: 256, temperature: 0, stream: true })) {
      const d = c.choices[0].delta.content;
      if (d !== undefined && d !== '') {
        text += d;
        div.textContent = text;
        div.scrollIntoView({ block: 'end' });
      }
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
    chatEnabled(true);
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

if (!('gpu' in navigator)) {
  const n = $('webgpu-note');
  n.textContent = 'This browser has no WebGPU. Models run on the CPU (WASM); choose the all-CPU rules (rules/all-cpu.yaml) for big models.';
  n.hidden = false;
}
void fillModelSelect();
