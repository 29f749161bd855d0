// Model store in Chromium (e2e/pages/store.html): import through the file chooser into OPFS, registry survives a
// reload, ranged reads of the stored bytes, delete frees space, an import cut by a reload resumes, quota refusal,
// folder import of a split model. Expected hashes come from node:crypto over the files on disk.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGGUF } from '../src/gguf/index.ts';
import { NodeFileSource } from '../src/storage/node-fs.ts';
import type { PageImportOptions, StoreTestApi } from './pages/store-page.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';

const STORIES = join('models', 'stories260K.gguf');
const BIG_BYTES = 192 << 20;

let env: BrowserEnv;
let page: Page;
let tmp: string;
let bigPath: string;
let bigSha: string;

function sha256Hex(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A "GGUF" of random bytes (the store checks only the magic), written and hashed in 8 MiB pieces. */
async function makeBigFile(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const out = createWriteStream(path);
  for (let done = 0; done < size; ) {
    const n = Math.min(8 << 20, size - done);
    const chunk = randomBytes(n);
    if (done === 0) chunk.write('GGUF', 0, 'latin1');
    h.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    done += n;
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return h.digest('hex');
}

async function openStorePage(): Promise<void> {
  await page.goto(`${env.baseURL}/e2e/pages/store.html`);
  await page.waitForSelector('body[data-ready="1"]');
}

/** The page's store API; evaluated functions reach it through window (they run in the page, not here). */
type W = { storeTest: StoreTestApi };

const list = () => page.evaluate(() => (window as unknown as W).storeTest.list());
const usage = async () => (await page.evaluate(() => (window as unknown as W).storeTest.estimate())).usage;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ktweb-store-'));
  bigPath = join(tmp, 'synthetic-moe.gguf');
  bigSha = await makeBigFile(bigPath, BIG_BYTES);
  env = await startBrowser();
  page = await env.context.newPage();
  await openStorePage();
});

afterAll(async () => {
  await env?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('model store in Chromium (OPFS + IndexedDB registry)', () => {
  let storiesId = '';

  it('imports stories260K through the file chooser: listed with its size and SHA-256', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const bytes = await readFile(STORIES);
    await page.setInputFiles('#import', STORIES);
    const res = await page.evaluate(() => (window as unknown as W).storeTest.importPicked('#import'));
    expect(res.error).toBeUndefined();
    storiesId = res.id!;
    const models = await list();
    expect(models).toHaveLength(1);
    const m = models[0]!;
    expect(m).toMatchObject({ id: storiesId, name: 'stories260K', state: 'complete', totalBytes: bytes.length });
    expect(m.files).toEqual([{ name: 'stories260K.gguf', size: bytes.length, bytesDone: bytes.length, sha256: sha256Hex(bytes) }]);
    const prog = await page.evaluate(() => (window as unknown as W).storeTest.progress);
    expect(prog.at(-1)).toMatchObject({ phase: 'done', bytesDone: bytes.length, bytesTotal: bytes.length });
    // the embedded model is described, not imported; its relative path is served by the site
    expect(await page.evaluate(() => (window as unknown as W).storeTest.builtinFetchSize())).toEqual({ expected: bytes.length, fetched: bytes.length });
  });

  it('keeps the model across a reload; ranged reads through BlobSource match the file on disk', async () => {
    await openStorePage();
    const models = await list();
    expect(models.map((m) => [m.id, m.state])).toEqual([[storiesId, 'complete']]);
    const read = (offset: number, length: number) =>
      page.evaluate((a) => (window as unknown as W).storeTest.readRange(a[0], 'stories260K.gguf', a[1], a[2]), [storiesId, offset, length] as const);
    expect(Buffer.from(await read(0, 4)).toString('latin1')).toBe('GGUF');

    const src = await NodeFileSource.open(STORIES);
    const gguf = await readGGUF(src);
    const tensors = gguf.tensors;
    const picks = [tensors[0]!, tensors[Math.floor(tensors.length / 2)]!, tensors[tensors.length - 1]!];
    for (const t of picks) {
      const len = Math.min(512, t.nBytes);
      for (const off of [t.fileOffset, t.fileOffset + t.nBytes - len]) {
        const want = Array.from(await src.read(off, len));
        expect(await read(off, len), `${t.name} at ${off}`).toEqual(want);
      }
    }
    await src.close();
    // the last byte is readable, one past it is refused
    expect(await read(src.size - 1, 1)).toHaveLength(1);
    await expect(read(src.size - 1, 2)).rejects.toThrow(/past the end/);
  });

  it('delete removes the model and frees its OPFS space', async () => {
    const before = await usage();
    await page.evaluate((id) => (window as unknown as W).storeTest.remove(id), storiesId);
    expect(await list()).toEqual([]);
    const after = await usage();
    expect(before - after).toBeGreaterThan(0.9 * 1185376);
    await expect(page.evaluate((id) => (window as unknown as W).storeTest.readRange(id, 'stories260K.gguf', 0, 4), storiesId)).rejects.toThrow(/no stored model/);
  });

  it('refuses an import that does not fit the quota, with a clear message, and writes nothing', async () => {
    await page.setInputFiles('#import', STORIES);
    const res = await page.evaluate((o) => (window as unknown as W).storeTest.importPicked('#import', o), { quotaOverride: 100_000 } satisfies PageImportOptions);
    expect(res.error?.code).toBe('out_of_memory');
    expect(res.error?.message).toMatch(/needs 1\.13 MiB of browser storage but only .* is free \(quota 97\.7 KiB.*\); delete stored models or free disk space/);
    expect(await list()).toEqual([]);
  });

  it('resumes an import interrupted by a reload; the finished file hashes like the original', async () => {
    await page.setInputFiles('#import', bigPath);
    const loaded = page.waitForEvent('load', { timeout: 120_000 });
    await page.evaluate((o) => (window as unknown as W).storeTest.startImport('#import', o), { reloadAtFraction: 0.2 } satisfies PageImportOptions);
    await loaded;
    await page.waitForSelector('body[data-ready="1"]');
    const reloadedAt = Number(await page.evaluate(() => sessionStorage.getItem('reloadedAt')));
    expect(reloadedAt).toBeGreaterThan(0.2);

    const [partial] = await list();
    expect(partial).toMatchObject({ name: 'synthetic-moe', state: 'partial', totalBytes: BIG_BYTES });
    const kept = partial!.files[0]!.bytesDone;
    expect(partial!.files[0]!.sha256).toBeNull();
    expect(kept).toBeLessThan(BIG_BYTES);
    // a partial model is never handed out as a file
    await expect(page.evaluate((id) => (window as unknown as W).storeTest.readRange(id, 'synthetic-moe.gguf', 0, 4), partial!.id)).rejects.toThrow(/only partly imported/);

    await page.setInputFiles('#resume', bigPath);
    const t0 = performance.now();
    const res = await page.evaluate((id) => (window as unknown as W).storeTest.resumePicked(id, '#resume'), partial!.id);
    const secs = (performance.now() - t0) / 1000;
    expect(res).toEqual({ id: partial!.id });
    const [done] = await list();
    expect(done).toMatchObject({ id: partial!.id, state: 'complete' });
    expect(done!.files[0]).toEqual({ name: 'synthetic-moe.gguf', size: BIG_BYTES, bytesDone: BIG_BYTES, sha256: bigSha });

    const prog = await page.evaluate(() => (window as unknown as W).storeTest.progress);
    expect(prog[0]?.bytesDone).toBe(kept); // resumed from the recorded offset, not from 0
    expect(prog.some((p) => p.phase === 'checking')).toBe(kept > 0);
    const writing = prog.filter((p) => p.phase === 'writing');
    expect(writing.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
    expect(writing.at(-1)!.etaSeconds).not.toBeNull();
    console.log(
      `resume: kept ${(kept / 2 ** 20).toFixed(0)} MiB (reloaded at ${(reloadedAt * 100).toFixed(0)}%), ` +
        `copied ${((BIG_BYTES - kept) / 2 ** 20).toFixed(0)} MiB in ${secs.toFixed(2)} s incl. re-hash; ` +
        `write rate ${(writing.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
    );

    // fresh import of the same big file for a clean throughput number, then delete frees ~192 MiB
    await page.setInputFiles('#import', bigPath);
    const t1 = performance.now();
    const again = await page.evaluate(() => (window as unknown as W).storeTest.importPicked('#import'));
    const secs2 = (performance.now() - t1) / 1000;
    expect(again.error).toBeUndefined();
    console.log(`import: ${BIG_BYTES / 2 ** 20} MiB in ${secs2.toFixed(2)} s = ${(BIG_BYTES / 1e6 / secs2).toFixed(0)} MB/s (copy + SHA-256)`);
    const before = await usage();
    for (const m of await list()) await page.evaluate((id) => (window as unknown as W).storeTest.remove(id), m.id);
    expect(await list()).toEqual([]);
    expect(before - (await usage())).toBeGreaterThan(1.9 * BIG_BYTES);
  });

  it('re-importing a model whose import was abandoned replaces the partial entry and its files', async () => {
    await page.setInputFiles('#import', bigPath);
    const loaded = page.waitForEvent('load', { timeout: 120_000 });
    await page.evaluate((o) => (window as unknown as W).storeTest.startImport('#import', o), { reloadAtFraction: 0.3 } satisfies PageImportOptions);
    await loaded;
    await page.waitForSelector('body[data-ready="1"]');
    const [partial] = await list();
    expect(partial?.state).toBe('partial');
    await page.setInputFiles('#import', bigPath);
    const res = await page.evaluate(() => (window as unknown as W).storeTest.importPicked('#import'));
    const models = await list();
    expect(models.map((m) => [m.id, m.state])).toEqual([[res.id, 'complete']]);
    expect(res.id).not.toBe(partial!.id);
    expect(models[0]!.files[0]!.sha256).toBe(bigSha);
    await page.evaluate((id) => (window as unknown as W).storeTest.remove(id), res.id!);
  });

  it('deleting a model while it is being imported stops the copy and removes its files', async () => {
    await page.setInputFiles('#import', bigPath);
    await page.evaluate(() => (window as unknown as W).storeTest.startImport('#import'));
    await page.waitForFunction(() => {
      const p = (window as unknown as W).storeTest.progress.at(-1);
      return p !== undefined && p.bytesDone > 0.1 * p.bytesTotal;
    });
    const id = await page.evaluate(() => (window as unknown as W).storeTest.progress.at(-1)!.id);
    expect(await page.evaluate(() => (window as unknown as W).storeTest.opfsDirs())).toEqual([id]);
    await page.evaluate((i) => (window as unknown as W).storeTest.remove(i), id);
    const res = await page.evaluate(() => (window as unknown as W).storeTest.started!);
    expect(res.error?.message).toMatch(/import stopped/);
    expect(await list()).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as W).storeTest.opfsDirs())).toEqual([]);
  });

  it('opening the store removes OPFS folders the registry does not know', async () => {
    await page.evaluate(() => (window as unknown as W).storeTest.makeOrphan('left-by-a-crashed-delete'));
    expect(await page.evaluate(() => (window as unknown as W).storeTest.opfsDirs())).toEqual(['left-by-a-crashed-delete']);
    await openStorePage();
    expect(await page.evaluate(() => (window as unknown as W).storeTest.opfsDirs())).toEqual([]);
  });

  it('imports a folder of a split GGUF plus HF files through a directory handle; refuses a missing shard', async () => {
    const stories = await readFile(STORIES);
    const res = await page.evaluate(() =>
      (window as unknown as W).storeTest.importFolder([
        { name: 'tiny-00002-of-00002.gguf', text: 'GGUF second shard' },
        { name: 'tiny-00001-of-00002.gguf', copyOf: '/models/stories260K.gguf' },
        { name: 'config.json', text: '{"model_type":"llama"}' },
        { name: 'README.md', text: 'not part of the model' },
      ]),
    );
    expect(res.error).toBeUndefined();
    const [m] = await list();
    expect(m).toMatchObject({ name: 'tiny', state: 'complete', totalBytes: stories.length + 17 + 22 });
    expect(m!.files.map((f) => [f.name, f.size, f.sha256])).toEqual([
      ['tiny-00001-of-00002.gguf', stories.length, sha256Hex(stories)],
      ['tiny-00002-of-00002.gguf', 17, sha256Hex(Buffer.from('GGUF second shard'))],
      ['config.json', 22, sha256Hex(Buffer.from('{"model_type":"llama"}'))],
    ]);
    await page.evaluate((id) => (window as unknown as W).storeTest.remove(id), m!.id);

    const missing = await page.evaluate(() => (window as unknown as W).storeTest.importFolder([{ name: 'tiny-00001-of-00002.gguf', copyOf: '/models/stories260K.gguf' }], true));
    expect(missing.error?.code).toBe('bad_argument');
    expect(missing.error?.message).toMatch(/split into 2 GGUF files; pick all of them together \(missing: tiny-00002-of-00002\.gguf\)/);
    const notGguf = await page.evaluate(() => (window as unknown as W).storeTest.importFolder([{ name: 'notes.gguf', text: 'hello' }]));
    expect(notGguf.error?.code).toBe('gguf_invalid');
    expect(await list()).toEqual([]);
  });
});
