// Model store: GGUF models (one file or `-0000i-of-0000N.gguf` shards, plus optional HF config/tokenizer files)
// imported into the Origin Private File System, listed from an IndexedDB registry (model-registry.ts).
//
// Writes: OPFS sync access handles in a dedicated worker (src/workers/import.worker.ts runs import-job.ts). They
// write in place and flush() makes the prefix durable, so an import interrupted by a reload or a closed tab resumes
// from the last recorded offset; createWritable() on the main thread commits only on close() through a swap copy,
// which would make every checkpoint re-copy the file. When the store itself runs in a dedicated worker (the engine
// worker), the job runs in-process instead of in a nested worker.
//
// Reads: `file(id, name)` returns the OPFS File (a Blob); wrap it in BlobSource for ranged reads.
import { EngineError, engineErrorFromJSON } from '../core/errors.ts';
import { runImportJob, type ImportJobMessage, type ImportJobRequest, type ProgressFn } from './import-job.ts';
import {
  allEntries,
  deleteEntry,
  errorName,
  errorText,
  getEntry,
  modelDir,
  modelsRoot,
  putEntry,
  retryWhileLocked,
  type StoredFile,
  type StoredModel,
} from './model-registry.ts';

export type { ImportProgress } from './import-job.ts';
export type { ModelState, StoredFile, StoredModel } from './model-registry.ts';

/** A picked File, or a handle from drag and drop / showDirectoryPicker (a folder contributes its top-level files). */
export type ImportInput = File | FileSystemFileHandle | FileSystemDirectoryHandle;

export interface ImportOptions {
  readonly onProgress?: ProgressFn;
  /** Display name; defaults to the GGUF file name without `.gguf` and the shard suffix. */
  readonly name?: string;
  /** Stops the copy; the model stays 'partial' and can be resumed. */
  readonly signal?: AbortSignal;
  /** Tests only: pretend the storage quota is this many bytes. */
  readonly quotaOverride?: number;
}

export interface StoreOptions {
  /** Where import jobs run when the store lives on a page; defaults to src/workers/import.worker.ts. */
  readonly createWorker?: () => Worker;
}

/** A model shipped with the site: fetched from `path` (relative to the site root), never imported. */
export interface BuiltinModel {
  readonly id: string;
  readonly name: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly size: number; readonly sha256: string; readonly path: string }>;
  readonly totalBytes: number;
}

const BUILTINS: readonly BuiltinModel[] = [
  {
    id: 'builtin:stories260K',
    name: 'stories260K',
    files: [{ name: 'stories260K.gguf', size: 1185376, sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d', path: 'models/stories260K.gguf' }],
    totalBytes: 1185376,
  },
];

export function builtinModels(): readonly BuiltinModel[] {
  return BUILTINS;
}

const HF_FILES = new Set(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']);
const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf$/i;

interface ActiveJob {
  cancel(): void;
}

export class ModelStore {
  private readonly active = new Map<string, ActiveJob>();

  private constructor(private readonly createWorker: () => Worker) {}

  /** Opens the store and removes OPFS leftovers that no registry entry points to (an interrupted delete). */
  static async open(opts: StoreOptions = {}): Promise<ModelStore> {
    const store = new ModelStore(opts.createWorker ?? (() => new Worker(new URL('../workers/import.worker.ts', import.meta.url), { type: 'module' })));
    await store.collectOrphans();
    return store;
  }

  list(): Promise<StoredModel[]> {
    return allEntries();
  }

  get(id: string): Promise<StoredModel | undefined> {
    return getEntry(id);
  }

  /** Removes the registry entry first, then the files: a crash in between leaves only an orphan folder to collect. */
  async delete(id: string): Promise<void> {
    this.active.get(id)?.cancel();
    await deleteEntry(id);
    await removeModelDir(id);
  }

  /** The stored bytes of one file of a complete model, as an OPFS File (read it by range with BlobSource). */
  async file(id: string, name: string): Promise<File> {
    const entry = await getEntry(id);
    if (entry === undefined) throw new EngineError('bad_argument', `no stored model with id ${id}; pick one from the list or import it`);
    if (entry.state !== 'complete') throw new EngineError('bad_argument', `${entry.name} is only partly imported; resume its import (pick its files again) or delete it`);
    if (!entry.files.some((f) => f.name === name)) throw new EngineError('bad_argument', `${entry.name} has no file ${name}; it has ${entry.files.map((f) => f.name).join(', ')}`, { file: name });
    try {
      const dir = await modelDir(id, false);
      return await (await dir.getFileHandle(name)).getFile();
    } catch (e) {
      throw new EngineError('io', `${name} of ${entry.name} is missing from browser storage (${errorName(e) || errorText(e)}; site data cleared?); delete the model and import it again`, { file: name });
    }
  }

  /** Imports one model; resolves to its id once every file is copied and verified. */
  async import(inputs: Iterable<ImportInput>, opts: ImportOptions = {}): Promise<string> {
    const files = await resolveInputs(inputs);
    const plan = await planModel(files);
    const name = opts.name ?? plan.name;
    // Re-importing a model whose earlier import was abandoned replaces it rather than leaving its bytes behind.
    for (const e of await allEntries()) if (e.state === 'partial' && e.name === name) await this.delete(e.id);
    await checkQuota(plan.totalBytes, opts.quotaOverride);
    await requestPersistence();
    const id = newId();
    const entry: StoredModel = {
      id,
      name,
      files: plan.files.map((f): StoredFile => ({ name: f.name, size: f.size, bytesDone: 0, sha256: null })),
      totalBytes: plan.totalBytes,
      state: 'partial',
      createdAt: Date.now(),
    };
    await putEntry(entry);
    await this.run(id, plan.files, opts);
    return id;
  }

  /** Continues an interrupted import with the same files picked again (only the unfinished ones are needed). */
  async resume(id: string, inputs: Iterable<ImportInput>, opts: ImportOptions = {}): Promise<string> {
    const entry = await getEntry(id);
    if (entry === undefined) throw new EngineError('bad_argument', `no stored model with id ${id}; it was deleted, import it again`);
    if (entry.state === 'complete') return id;
    if (this.active.has(id)) throw new EngineError('bad_argument', `${entry.name} is being imported already; wait for it`);
    const files = await resolveInputs(inputs);
    const missing = entry.files.filter((f) => f.sha256 === null && !files.some((p) => p.name === f.name)).map((f) => f.name);
    if (missing.length > 0) throw new EngineError('bad_argument', `to resume ${entry.name}, pick again: ${missing.join(', ')}`);
    const left = entry.files.reduce((s, f) => s + f.size - f.bytesDone, 0);
    await checkQuota(left, opts.quotaOverride);
    await requestPersistence();
    await this.run(id, files, opts);
    return id;
  }

  private async run(id: string, files: readonly File[], opts: ImportOptions): Promise<void> {
    const onProgress = opts.onProgress ?? (() => {});
    opts.signal?.throwIfAborted();
    if (inDedicatedWorker()) {
      let stop = false;
      const job: ActiveJob = { cancel: () => (stop = true) };
      const onAbort = (): void => job.cancel();
      this.active.set(id, job);
      opts.signal?.addEventListener('abort', onAbort);
      try {
        await runImportJob(id, files, onProgress, () => stop);
      } finally {
        this.active.delete(id);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      return;
    }
    // Two workers from the same entry: one copies, the other hashes what was copied (chunk-hasher.ts).
    const worker = this.createWorker();
    const hashWorker = this.createWorker();
    try {
      await new Promise<void>((resolve, reject) => {
        const finish = (): void => {
          this.active.delete(id);
          opts.signal?.removeEventListener('abort', onAbort);
        };
        const job: ActiveJob = {
          cancel: () => {
            worker.terminate();
            hashWorker.terminate();
            finish();
            reject(new EngineError('io', 'import stopped; resume it to finish, or delete the partial model'));
          },
        };
        const onAbort = (): void => job.cancel();
        this.active.set(id, job);
        opts.signal?.addEventListener('abort', onAbort);
        worker.onmessage = (ev: MessageEvent<ImportJobMessage>) => {
          const m = ev.data;
          if (m.type === 'progress') {
            onProgress(m.progress);
          } else if (m.type === 'done') {
            finish();
            resolve();
          } else {
            finish();
            reject(engineErrorFromJSON(m.error));
          }
        };
        worker.onerror = hashWorker.onerror = (ev) => {
          ev.preventDefault();
          finish();
          reject(new EngineError('io', `the import worker failed: ${ev.message || 'it could not start'}; reload the page and resume the import`));
        };
        const ch = new MessageChannel();
        const hashReq: ImportJobRequest = { type: 'hash', port: ch.port1 };
        hashWorker.postMessage(hashReq, [ch.port1]);
        const req: ImportJobRequest = { type: 'run', id, files: [...files], hashPort: ch.port2 };
        worker.postMessage(req, [ch.port2]);
      });
    } finally {
      worker.terminate();
      hashWorker.terminate();
    }
  }

  private async collectOrphans(): Promise<void> {
    let root: FileSystemDirectoryHandle;
    try {
      root = await modelsRoot();
    } catch {
      return; // no OPFS: list() still works, imports will report it
    }
    // Folders are listed before the registry is read: an import writes its entry before creating its folder, so
    // a folder seen here that the registry does not know cannot belong to an import still starting.
    const dirs: string[] = [];
    for await (const h of dirValues(root)) if (h.kind === 'directory') dirs.push(h.name);
    const known = new Set((await allEntries()).map((e) => e.id));
    for (const d of dirs) if (!known.has(d)) await removeModelDir(d).catch(() => {});
  }
}

async function removeModelDir(id: string): Promise<void> {
  const root = await modelsRoot();
  try {
    await retryWhileLocked(() => root.removeEntry(id, { recursive: true }));
  } catch (e) {
    if (errorName(e) === 'NotFoundError') return;
    // Still locked: an import of it runs in another tab; that job sees its entry gone and removes the folder.
    if (errorName(e) === 'NoModificationAllowedError') return;
    throw new EngineError('io', `cannot remove the files of model ${id} from browser storage: ${errorText(e)}; reload the page to retry`);
  }
}

interface ModelPlan {
  readonly name: string;
  readonly files: readonly File[];
  readonly totalBytes: number;
}

/** Picks the model files out of what the user gave and checks that they form one model. */
async function planModel(picked: readonly File[]): Promise<ModelPlan> {
  const seen = new Set<string>();
  for (const f of picked) {
    if (seen.has(f.name)) throw new EngineError('bad_argument', `two picked files are named ${f.name}; pick the files of one model (one folder level)`, { file: f.name });
    seen.add(f.name);
  }
  const ggufs = picked.filter((f) => f.name.toLowerCase().endsWith('.gguf'));
  const extras = picked.filter((f) => HF_FILES.has(f.name));
  if (ggufs.length === 0) {
    const names = picked.map((f) => f.name).join(', ') || 'nothing';
    throw new EngineError('bad_argument', `no .gguf file among the picked files (${names}); pick a GGUF file, all shards of a split GGUF, or the folder holding them`);
  }
  let name: string;
  let ordered: File[];
  const first = SPLIT_RE.exec(ggufs[0]!.name);
  if (ggufs.length === 1 && first === null) {
    name = ggufs[0]!.name.replace(/\.gguf$/i, '');
    ordered = ggufs;
  } else {
    if (first === null) throw oneModelOnly(ggufs);
    const prefix = ggufs[0]!.name.slice(0, first.index);
    const count = Number(first[2]);
    const byNo = new Map<number, File>();
    for (const g of ggufs) {
      const m = SPLIT_RE.exec(g.name);
      if (m === null || g.name.slice(0, m.index) !== prefix || Number(m[2]) !== count) throw oneModelOnly(ggufs);
      byNo.set(Number(m[1]), g);
    }
    const wanted = Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(5, '0')}-of-${first[2]}.gguf`);
    const missing = wanted.filter((_, i) => !byNo.has(i + 1));
    if (missing.length > 0 || byNo.size !== count) {
      throw new EngineError('bad_argument', `${prefix} is split into ${count} GGUF files; pick all of them together (missing: ${missing.join(', ') || 'some'})`);
    }
    name = prefix;
    ordered = wanted.map((_, i) => byNo.get(i + 1)!);
  }
  for (const g of ordered) await checkMagic(g);
  const files = [...ordered, ...extras];
  return { name, files, totalBytes: files.reduce((s, f) => s + f.size, 0) };
}

function oneModelOnly(ggufs: readonly File[]): EngineError {
  return new EngineError('bad_argument', `pick one model at a time: ${ggufs.map((g) => g.name).join(', ')} are not the shards of one split GGUF (NAME-0000i-of-0000N.gguf)`);
}

async function checkMagic(f: File): Promise<void> {
  let head: Uint8Array;
  try {
    head = new Uint8Array(await f.slice(0, 4).arrayBuffer());
  } catch (e) {
    throw new EngineError('io', `cannot read ${f.name} (${errorName(e) || errorText(e)}); pick it again`, { file: f.name });
  }
  if (head.length < 4 || String.fromCharCode(...head) !== 'GGUF') {
    throw new EngineError('gguf_invalid', `${f.name} is not a GGUF file (it does not start with "GGUF"); pick a .gguf model file`, { file: f.name, offset: 0 });
  }
}

async function resolveInputs(inputs: Iterable<ImportInput>): Promise<File[]> {
  const out: File[] = [];
  for (const x of inputs) {
    if (x instanceof File) out.push(x);
    else if (x.kind === 'file') out.push(await (x as FileSystemFileHandle).getFile());
    else for await (const h of dirValues(x as FileSystemDirectoryHandle)) if (h.kind === 'file') out.push(await (h as FileSystemFileHandle).getFile());
  }
  return out;
}

// The project's TS lib set has no DOM.AsyncIterable, where FileSystemDirectoryHandle.values() is declared.
function dirValues(dir: FileSystemDirectoryHandle): AsyncIterable<FileSystemHandle> {
  return (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
}

async function checkQuota(need: number, quotaOverride: number | undefined): Promise<void> {
  if (typeof navigator === 'undefined' || navigator.storage?.estimate === undefined) return;
  const est = await navigator.storage.estimate();
  const quota = quotaOverride ?? est.quota;
  if (quota === undefined) return;
  const usage = est.usage ?? 0;
  const free = Math.max(0, quota - usage);
  if (need > free) {
    throw new EngineError(
      'out_of_memory',
      `this model needs ${fmtBytes(need)} of browser storage but only ${fmtBytes(free)} is free (quota ${fmtBytes(quota)}, used ${fmtBytes(usage)}); delete stored models or free disk space, then import again`,
    );
  }
}

async function requestPersistence(): Promise<void> {
  // Without persistence the browser may evict a multi-GB model under storage pressure. persist() exists only on
  // pages; a refusal is not an error, the import goes on as best-effort storage.
  try {
    const s = navigator.storage;
    if (typeof s.persist === 'function' && !(await s.persisted())) await s.persist();
  } catch {
    // best effort
  }
}

function inDedicatedWorker(): boolean {
  return 'DedicatedWorkerGlobalScope' in globalThis && !('document' in globalThis);
}

function newId(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `m${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]!}`;
}
