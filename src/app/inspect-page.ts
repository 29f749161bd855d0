// Chat page entry. Until the engine lands (reference-engine issue), the page inspects picked GGUF files through
// the same ByteSource path the engine will load from: only header bytes are read, whatever the model's size.
import { EngineError, isEngineError } from '../core/errors.ts';
import { inspectModel, type ModelSummary } from '../api/inspect.ts';
import { BlobSource } from '../storage/blob-source.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function cell(text: string, numeric = false): HTMLTableCellElement {
  const td = document.createElement('td');
  if (numeric) td.className = 'num';
  const code = document.createElement('code');
  code.textContent = text;
  td.append(code);
  return td;
}

function renderTable(header: readonly string[], rows: readonly (readonly string[])[], numericCols: readonly number[] = []): HTMLTableElement {
  const t = document.createElement('table');
  const hr = t.createTHead().insertRow();
  for (const h of header) {
    const th = document.createElement('th');
    th.textContent = h;
    hr.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) body.insertRow().append(...r.map((c, i) => cell(c, numericCols.includes(i))));
  return t;
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(2)} MiB`;
}

function render(s: ModelSummary): void {
  $('model-name').textContent = s.files.map((f) => `${f.name} (GGUF v${f.version})`).join(', ');
  $('totals').replaceChildren(
    renderTable(
      ['type', 'tensors', 'elements', 'bytes'],
      [...Object.entries(s.totalsByType).map(([t, r]) => [t, String(r.tensors), String(r.elements), mib(r.bytes)]), ['all', String(s.totalTensors), String(s.totalElements), mib(s.totalBytes)]],
      [1, 2, 3],
    ),
  );
  $('metadata').replaceChildren(renderTable(['key', 'type', 'value'], Object.entries(s.metadata).map(([k, v]) => [k, v.type, v.text])));
  $('tensors').replaceChildren(renderTable(['name', 'type', 'shape', 'bytes'], s.tensors.map((t) => [t.name, t.type, `[${t.shape.join(', ')}]`, String(t.bytes)]), [3]));
  $('summary').hidden = false;
}

$<HTMLInputElement>('file').addEventListener('change', (ev) => {
  const files = [...((ev.target as HTMLInputElement).files ?? [])];
  const status = $('status');
  const byName = new Map(files.map((f) => [f.name, f]));
  // The first part of a split model sorts first; a single file is its own first part.
  const first = [...files].sort((a, b) => a.name.localeCompare(b.name))[0];
  if (first === undefined) return;
  status.className = '';
  status.textContent = `reading ${first.name}…`;
  const openShard = (name: string): Promise<BlobSource> => {
    const base = name.split('/').pop() ?? name;
    const f = byName.get(base);
    return f !== undefined ? Promise.resolve(new BlobSource(f)) : Promise.reject(new EngineError('bad_argument', `select ${base} too: it is part of this split model`, { file: base }));
  };
  inspectModel(new BlobSource(first), openShard).then(
    (s) => {
      status.textContent = '';
      render(s);
    },
    (e: unknown) => {
      status.className = 'error';
      status.textContent = isEngineError(e) ? e.oneLine() : String(e);
      $('summary').hidden = true;
    },
  );
});
