// Test page for the model store (e2e/store.e2e.test.ts): the test picks files with setInputFiles, then drives the
// store through window.storeTest. Outcomes come back as plain data ({id} or {error}) because thrown errors lose
// their code on the way through page.evaluate.
import { isEngineError, type ErrorCode } from '../../src/core/errors.ts';
import { BlobSource } from '../../src/storage/blob-source.ts';
import { builtinModels, fmtBytes, ModelStore, type ImportInput, type ImportProgress, type StoredModel } from '../../src/storage/opfs-store.ts';

export interface Outcome {
  readonly id?: string;
  readonly error?: { readonly code: ErrorCode | 'other'; readonly message: string };
}

export interface PageImportOptions {
  readonly quotaOverride?: number;
  /** Reload the page from the progress callback once this fraction is copied (simulates a closed tab). */
  readonly reloadAtFraction?: number;
}

export interface StoreTestApi {
  list(): Promise<StoredModel[]>;
  importPicked(inputSelector: string, opts?: PageImportOptions): Promise<Outcome>;
  /** Starts an import without waiting for it (the page may reload under it); its outcome lands in `started`. */
  startImport(inputSelector: string, opts?: PageImportOptions): void;
  started: Promise<Outcome> | null;
  resumePicked(id: string, inputSelector: string): Promise<Outcome>;
  /** Writes files into an OPFS folder outside the store and imports that folder through its directory handle. */
  importFolder(files: ReadonlyArray<{ name: string; copyOf?: string; text?: string }>, pickEntries?: boolean): Promise<Outcome>;
  readRange(id: string, name: string, offset: number, length: number): Promise<number[]>;
  remove(id: string): Promise<void>;
  estimate(): Promise<{ usage: number; quota: number }>;
  /** Folders under the store's OPFS directory (one per model). */
  opfsDirs(): Promise<string[]>;
  /** Leaves a folder in the store's OPFS directory that no registry entry knows (an interrupted delete). */
  makeOrphan(name: string): Promise<void>;
  builtinFetchSize(): Promise<{ expected: number; fetched: number }>;
  /** Progress events of this page load (since the last startImport), in order. */
  readonly progress: ImportProgress[];
}

const store = await ModelStore.open();
const progress: ImportProgress[] = [];
const status = document.querySelector<HTMLParagraphElement>('#status')!;

function picked(sel: string): File[] {
  const input = document.querySelector<HTMLInputElement>(sel);
  if (input === null) throw new Error(`no input ${sel}`);
  return [...(input.files ?? [])];
}

function onProgress(reloadAt: number | undefined): (p: ImportProgress) => void {
  let reloading = false;
  return (p) => {
    progress.push(p);
    const eta = p.etaSeconds === null ? '?' : `${p.etaSeconds.toFixed(1)} s`;
    status.textContent = `${p.phase} ${p.file}: ${fmtBytes(p.bytesDone)} of ${fmtBytes(p.bytesTotal)}, ${fmtBytes(p.bytesPerSecond)}/s, ETA ${eta}`;
    if (reloadAt !== undefined && !reloading && p.bytesDone / p.bytesTotal > reloadAt && p.bytesDone < p.bytesTotal) {
      reloading = true;
      sessionStorage.setItem('reloadedAt', String(p.bytesDone / p.bytesTotal));
      location.reload();
    }
  };
}

async function outcome(work: () => Promise<string>): Promise<Outcome> {
  try {
    const id = await work();
    status.textContent = `imported ${id}`;
    status.className = '';
    return { id };
  } catch (e) {
    status.textContent = isEngineError(e) ? e.oneLine() : String(e);
    status.className = 'error';
    return { error: isEngineError(e) ? { code: e.code, message: e.message } : { code: 'other', message: String(e) } };
  } finally {
    await render();
  }
}

async function render(): Promise<void> {
  const body = document.querySelector('#models tbody')!;
  body.replaceChildren();
  for (const m of await store.list()) {
    const tr = document.createElement('tr');
    for (const v of [m.name, m.state, fmtBytes(m.totalBytes), m.files.map((f) => f.name).join(', '), m.id]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
}

const api: StoreTestApi = {
  progress,
  list: () => store.list(),
  importPicked: (sel, opts = {}) => outcome(() => store.import(picked(sel), { onProgress: onProgress(opts.reloadAtFraction), quotaOverride: opts.quotaOverride })),
  started: null,
  startImport(sel, opts = {}) {
    progress.length = 0;
    api.started = outcome(() => store.import(picked(sel), { onProgress: onProgress(opts.reloadAtFraction), quotaOverride: opts.quotaOverride }));
  },
  resumePicked: (id, sel) => outcome(() => store.resume(id, picked(sel), { onProgress: onProgress(undefined) })),
  async importFolder(files, pickEntries = false) {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry('e2e-picked', { recursive: true }).catch(() => {});
    const dir = await root.getDirectoryHandle('e2e-picked', { create: true });
    const handles: FileSystemFileHandle[] = [];
    for (const f of files) {
      const body = f.copyOf !== undefined ? await (await fetch(f.copyOf)).arrayBuffer() : new TextEncoder().encode(f.text ?? '');
      const fh = await dir.getFileHandle(f.name, { create: true });
      const w = await fh.createWritable();
      await w.write(body);
      await w.close();
      handles.push(fh);
    }
    const inputs: ImportInput[] = pickEntries ? handles : [dir];
    return outcome(() => store.import(inputs, { onProgress: onProgress(undefined) }));
  },
  async readRange(id, name, offset, length) {
    const src = new BlobSource(await store.file(id, name));
    return Array.from(await src.read(offset, length));
  },
  async remove(id) {
    await store.delete(id);
    await render();
  },
  async estimate() {
    const e = await navigator.storage.estimate();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  },
  async opfsDirs() {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ktweb-models', { create: true });
    const names: string[] = [];
    for await (const h of (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) names.push(h.name);
    return names.sort();
  },
  async makeOrphan(name) {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ktweb-models', { create: true });
    const sub = await dir.getDirectoryHandle(name, { create: true });
    const w = await (await sub.getFileHandle('leftover.gguf', { create: true })).createWritable();
    await w.write(new Uint8Array(4096));
    await w.close();
  },
  async builtinFetchSize() {
    const b = builtinModels()[0]!;
    const f = b.files[0]!;
    const res = await fetch(`/${f.path}`);
    return { expected: f.size, fetched: (await res.arrayBuffer()).byteLength };
  },
};

(window as unknown as { storeTest: StoreTestApi }).storeTest = api;
await render();
document.body.dataset['ready'] = '1';
