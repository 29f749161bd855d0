// Registry of imported models in IndexedDB (idb-keyval), and where their bytes live in OPFS. Shared by the store
// (page or worker) and the import job (worker). An entry is written 'partial' before the first byte is copied and
// flips to 'complete' only once every file is written, flushed, size-checked and hashed, so a reader that trusts
// 'complete' never sees a half-written file. Per-file `bytesDone` is recorded only after the OPFS data up to it
// was flushed, so it is always a safe offset to resume from.
import { createStore, del, get, promisifyRequest, set, values, type UseStore } from 'idb-keyval';
import { EngineError } from '../core/errors.ts';

export type ModelState = 'partial' | 'complete';

export interface StoredFile {
  readonly name: string;
  readonly size: number;
  /** Bytes copied and flushed so far; equals size once the file is done. */
  readonly bytesDone: number;
  /** Lowercase hex SHA-256 of the whole file; null until the file is done. */
  readonly sha256: string | null;
}

export interface StoredModel {
  readonly id: string;
  readonly name: string;
  /** GGUF file(s) first (shards in order), then optional HF files (config.json, tokenizer*.json, ...). */
  readonly files: readonly StoredFile[];
  readonly totalBytes: number;
  readonly state: ModelState;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** OPFS layout: <origin root>/ktweb-models/<id>/<file name>. */
export const MODELS_DIR = 'ktweb-models';

let storeHandle: UseStore | undefined;
function db(): UseStore {
  // Created lazily: createStore opens the database at once, which must not happen on module load in Node tests.
  storeHandle ??= createStore('ktweb-models', 'models');
  return storeHandle;
}

export function getEntry(id: string): Promise<StoredModel | undefined> {
  return get<StoredModel>(id, db());
}

export function putEntry(entry: StoredModel): Promise<void> {
  return set(entry.id, entry, db());
}

export function deleteEntry(id: string): Promise<void> {
  return del(id, db());
}

export async function allEntries(): Promise<StoredModel[]> {
  const all = await values<StoredModel | undefined>(db());
  return all.filter((e): e is StoredModel => e !== undefined && typeof e.id === 'string').sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Read-modify-write in one transaction that does nothing when the entry is gone: a job whose model was deleted
 * (maybe from another tab) must not bring the entry back. Returns false when the entry was missing.
 */
export function updateEntry(id: string, change: (e: StoredModel) => StoredModel): Promise<boolean> {
  return db()('readwrite', (os) => {
    let found = false;
    const req = os.get(id);
    req.onsuccess = () => {
      const cur = req.result as StoredModel | undefined;
      if (cur === undefined) return;
      found = true;
      os.put(change(cur), id);
    };
    return promisifyRequest(os.transaction).then(() => found);
  });
}

/** Directory holding all models; created on first use. */
export async function modelsRoot(): Promise<FileSystemDirectoryHandle> {
  if (typeof navigator === 'undefined' || navigator.storage?.getDirectory === undefined) {
    throw new EngineError('io', 'this browser has no Origin Private File System (navigator.storage.getDirectory); use a current Chromium, Firefox or Safari');
  }
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(MODELS_DIR, { create: true });
}

export async function modelDir(id: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  return (await modelsRoot()).getDirectoryHandle(id, { create });
}

export function errorName(e: unknown): string {
  return e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException) ? e.name : '';
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** OPFS holds exclusive locks (sync access handles) a little after their worker died; retry such calls briefly. */
export async function retryWhileLocked<T>(fn: () => Promise<T>, waitMs = 3000): Promise<T> {
  const until = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    try {
      return await fn();
    } catch (e) {
      const n = errorName(e);
      if ((n !== 'NoModificationAllowedError' && n !== 'InvalidStateError') || Date.now() >= until) throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
