// The copying half of a model import: streams picked Files into OPFS through sync access handles. Those exist only
// in dedicated workers, so this runs in src/workers/import.worker.ts (or in-process when the store itself lives in
// a dedicated worker). Sync handles were chosen over createWritable because a writable commits only on close(),
// through a swap file that is copied again on every reopen: with it, resuming means re-copying the whole prefix,
// while a sync handle's flush() makes the written prefix durable in place and we can record it as resumable.
//
// Per file: open handle → keep the flushed prefix the registry vouches for → check a sample of it against the
// picked file → re-hash it (@noble/hashes' state cannot be saved) → stream the rest in 8 MiB chunks: the next read
// is in flight while the current chunk is written here and hashed in a second worker (chunk-hasher.ts) → flush +
// record bytesDone every 32 MiB or second → final flush, size check, digest. The entry turns 'complete' when all
// files are.
import { EngineError, isEngineError, type ErrorCode, type ErrorDetails } from '../core/errors.ts';
import { InlineHasher, RemoteHasher, serveHasher, type ChunkHasher } from './chunk-hasher.ts';
import { errorName, errorText, getEntry, modelDir, modelsRoot, retryWhileLocked, updateEntry, type StoredModel } from './model-registry.ts';

export const CHUNK_BYTES = 8 << 20;
const COMMIT_BYTES = 32 << 20;
const COMMIT_MS = 1000;
const SAMPLE_BYTES = 64 << 10;

export interface ImportProgress {
  readonly id: string;
  /** 'checking': re-reading the prefix kept from an interrupted import; 'writing': copying; 'done'. */
  readonly phase: 'checking' | 'writing' | 'done';
  readonly file: string;
  /** Bytes of the whole model in OPFS (all files), out of bytesTotal. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Copy rate of this session so far (0 until measurable). */
  readonly bytesPerSecond: number;
  /** Seconds left at that rate; null until measurable. */
  readonly etaSeconds: number | null;
}

export type ProgressFn = (p: ImportProgress) => void;

/** Copies every unfinished file of entry `id` from `sources` (matched by name) and marks the entry complete. */
export async function runImportJob(
  id: string,
  sources: readonly File[],
  onProgress: ProgressFn,
  shouldStop: () => boolean = () => false,
  hasher: ChunkHasher = new InlineHasher(),
): Promise<void> {
  const entry = await getEntry(id);
  if (entry === undefined) throw new EngineError('bad_argument', `no stored model with id ${id}; it was deleted, import it again`);
  if (entry.state === 'complete') return;
  const dir = await modelDir(id, true);
  const stats = { done: entry.files.reduce((s, f) => s + f.bytesDone, 0), sessionBytes: 0, started: performance.now() };
  const report = (phase: ImportProgress['phase'], file: string): void => {
    const secs = (performance.now() - stats.started) / 1000;
    const rate = secs > 0.05 && stats.sessionBytes > 0 ? stats.sessionBytes / secs : 0;
    const etaSeconds = rate > 0 ? (entry.totalBytes - stats.done) / rate : null;
    onProgress({ id, phase, file, bytesDone: stats.done, bytesTotal: entry.totalBytes, bytesPerSecond: rate, etaSeconds });
  };

  for (let fi = 0; fi < entry.files.length; fi++) {
    const want = entry.files[fi]!;
    if (want.sha256 !== null && want.bytesDone === want.size) continue;
    const src = sources.find((s) => s.name === want.name);
    if (src === undefined) throw new EngineError('bad_argument', `${want.name} was not among the picked files; pick it again to finish importing ${entry.name}`, { file: want.name });
    if (src.size !== want.size) {
      throw new EngineError('bad_argument', `${want.name} is ${src.size} bytes but the interrupted import was of a ${want.size}-byte file; pick the original file, or delete ${entry.name} and import anew`, { file: want.name });
    }
    const fh = await dir.getFileHandle(want.name, { create: true });
    const handle = await retryWhileLocked(() => fh.createSyncAccessHandle()).catch((e: unknown) => {
      throw new EngineError('io', `${want.name} is locked by another import of this model (another tab?); close it or wait for it, then resume (${errorName(e) || errorText(e)})`, { file: want.name });
    });
    try {
      await copyFile(id, fi, want.name, want.size, want.bytesDone, src, handle, hasher, stats, report, shouldStop);
    } finally {
      handle.close();
    }
  }
  const ok = await updateEntry(id, (e) => ({ ...e, state: e.files.every((f) => f.sha256 !== null && f.bytesDone === f.size) ? 'complete' : 'partial' }));
  if (!ok) throw deletedMeanwhile(entry);
  const final = await getEntry(id);
  if (final?.state !== 'complete') throw new EngineError('io', `import of ${entry.name} did not complete every file; resume it`);
  report('done', '');
}

async function copyFile(
  id: string,
  fi: number,
  name: string,
  size: number,
  recorded: number,
  src: File,
  handle: FileSystemSyncAccessHandle,
  hasher: ChunkHasher,
  stats: { done: number; sessionBytes: number },
  report: (phase: ImportProgress['phase'], file: string) => void,
  shouldStop: () => boolean,
): Promise<void> {
  // Bytes past the recorded offset may be unflushed or torn; only the recorded prefix is trusted.
  let pos = Math.min(recorded, handle.getSize());
  stats.done -= recorded - pos;
  handle.truncate(pos);
  if (pos > 0) {
    report('checking', name);
    await checkSamePrefix(name, src, handle, pos);
    for (let at = 0; at < pos; ) {
      // a fresh buffer per chunk: the hasher may take it over
      const buf = new Uint8Array(Math.min(CHUNK_BYTES, pos - at));
      const n = handle.read(buf, { at });
      if (n !== buf.length) throw new EngineError('io', `stored prefix of ${name} ends at ${at + Math.max(0, n)} bytes, expected ${pos}; delete the model and import it again`, { file: name, offset: at });
      await hasher.update(buf);
      at += n;
    }
  }

  const readChunk = (at: number): Promise<ArrayBuffer> | null => {
    if (at >= size) return null;
    const p = src.slice(at, Math.min(size, at + CHUNK_BYTES)).arrayBuffer();
    p.catch(() => {}); // a prefetch we abandon (error, stop) must not surface as an unhandled rejection
    return p;
  };
  let lastCommitPos = pos;
  let lastCommitTime = performance.now();
  let pending = readChunk(pos);
  while (pending !== null) {
    let chunk: Uint8Array;
    try {
      chunk = new Uint8Array(await pending);
    } catch (e) {
      throw new EngineError('io', `cannot read ${name} at byte ${pos} (${errorName(e) || errorText(e)}): the file changed or moved since it was picked; pick it again and resume`, { file: name, offset: pos });
    }
    const expect = Math.min(CHUNK_BYTES, size - pos);
    if (chunk.byteLength !== expect) throw new EngineError('io', `${name} gave ${chunk.byteLength} bytes at ${pos}, expected ${expect}: it changed since it was picked; pick it again and resume`, { file: name, offset: pos });
    pending = readChunk(pos + chunk.byteLength);
    if (shouldStop()) throw stopped(name);
    const n = chunk.byteLength;
    writeAll(handle, chunk, pos, name);
    await hasher.update(chunk); // after the write: the chunk's buffer is gone once handed over
    pos += n;
    stats.done += n;
    stats.sessionBytes += n;
    const now = performance.now();
    if (pos < size && (pos - lastCommitPos >= COMMIT_BYTES || now - lastCommitTime >= COMMIT_MS)) {
      handle.flush();
      await commit(id, fi, pos, null);
      lastCommitPos = pos;
      lastCommitTime = now;
    }
    report('writing', name);
  }
  handle.flush();
  const written = handle.getSize();
  if (written !== size) throw new EngineError('io', `${name} is ${written} bytes in browser storage after copying, expected ${size}; resume the import`, { file: name });
  await commit(id, fi, size, await hasher.digest());
}

function writeAll(handle: FileSystemSyncAccessHandle, chunk: Uint8Array, at: number, name: string): void {
  try {
    const n = handle.write(chunk, { at });
    if (n !== chunk.byteLength) throw new DOMException(`short write of ${n} of ${chunk.byteLength} bytes`, 'QuotaExceededError');
  } catch (e) {
    if (errorName(e) === 'QuotaExceededError') {
      throw new EngineError('out_of_memory', `browser storage is full while writing ${name} at byte ${at}; delete stored models or free disk space, then resume the import`, { file: name, offset: at });
    }
    throw new EngineError('io', `cannot write ${name} at byte ${at} into browser storage: ${errorText(e)}`, { file: name, offset: at });
  }
}

/** Cheap guard against resuming with a different file of the same size: compare the head and the tail of the prefix. */
async function checkSamePrefix(name: string, src: File, handle: FileSystemSyncAccessHandle, prefix: number): Promise<void> {
  const ranges: Array<[number, number]> = [[0, Math.min(SAMPLE_BYTES, prefix)]];
  if (prefix > SAMPLE_BYTES) ranges.push([Math.max(SAMPLE_BYTES, prefix - SAMPLE_BYTES), prefix]);
  for (const [a, b] of ranges) {
    const stored = new Uint8Array(b - a);
    handle.read(stored, { at: a });
    let picked: Uint8Array;
    try {
      picked = new Uint8Array(await src.slice(a, b).arrayBuffer());
    } catch (e) {
      throw new EngineError('io', `cannot read ${name} (${errorName(e) || errorText(e)}); pick it again and resume`, { file: name, offset: a });
    }
    for (let i = 0; i < stored.length; i++) {
      if (stored[i] !== picked[i]) {
        throw new EngineError('bad_argument', `${name} differs from the file whose import was interrupted (at byte ${a + i}); pick the original file, or delete the partial model and import anew`, { file: name, offset: a + i });
      }
    }
  }
}

async function commit(id: string, fi: number, bytesDone: number, hex: string | null): Promise<void> {
  let entry: StoredModel | undefined;
  const ok = await updateEntry(id, (e) => {
    entry = e;
    return { ...e, files: e.files.map((f, i) => (i === fi ? { ...f, bytesDone, sha256: hex } : f)) };
  });
  if (!ok) {
    // Deleted while we were copying (another tab, or the store): our handle is the lock that kept the deleter from
    // removing the files, so the cleanup is ours once the handle is closed.
    queueMicrotask(() => void removeLater(id));
    throw deletedMeanwhile(entry);
  }
}

async function removeLater(id: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  try {
    const root = await modelsRoot();
    await retryWhileLocked(() => root.removeEntry(id, { recursive: true }));
  } catch {
    // The next ModelStore.open() collects directories the registry no longer knows.
  }
}

function deletedMeanwhile(entry: StoredModel | undefined): EngineError {
  return new EngineError('bad_argument', `${entry?.name ?? 'the model'} was deleted while it was being imported; import it again if you still want it`);
}

function stopped(name: string): EngineError {
  return new EngineError('io', `import stopped while copying ${name}; resume it to finish`, { file: name });
}

// ---- worker protocol: one job per worker; the store terminates the worker to cancel ----

export type ImportJobRequest =
  | { readonly type: 'run'; readonly id: string; readonly files: readonly File[]; readonly hashPort?: MessagePort }
  /** Makes this worker the hasher of another one's job (chunk-hasher.ts). */
  | { readonly type: 'hash'; readonly port: MessagePort };

export type ImportJobMessage =
  | { readonly type: 'progress'; readonly progress: ImportProgress }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly error: { code: ErrorCode; message: string; details: ErrorDetails } };

interface WorkerScope {
  onmessage: ((ev: MessageEvent<ImportJobRequest>) => void) | null;
  postMessage(msg: ImportJobMessage): void;
}

/** Installs the job runner on a dedicated worker's global scope. */
export function serveImportJobs(scope: WorkerScope): void {
  scope.onmessage = (ev) => {
    const req = ev.data;
    if (req.type === 'hash') {
      serveHasher(req.port);
      return;
    }
    const hasher = req.hashPort === undefined ? new InlineHasher() : new RemoteHasher(req.hashPort);
    runImportJob(req.id, req.files, (progress) => scope.postMessage({ type: 'progress', progress }), undefined, hasher).then(
      () => scope.postMessage({ type: 'done' }),
      (e: unknown) => {
        const err = isEngineError(e) ? e : new EngineError('io', `import failed: ${errorText(e)}`);
        scope.postMessage({ type: 'error', error: err.toJSON() });
      },
    );
  };
}
