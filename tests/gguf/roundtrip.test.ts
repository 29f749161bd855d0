import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGGUF, readGGUF } from '../../src/gguf/index.ts';
import { encodeHeader, writeGGUF } from '../../src/gguf/writer.ts';
import { GGMLType } from '../../src/core/ggml-type.ts';
import { GGUFValueType } from '../../src/gguf/types.ts';
import { MemorySink, MemorySource } from '../../src/storage/memory-source.ts';
import { NodeFileSink, NodeFileSource, siblingOpener } from '../../src/storage/node-fs.ts';
import { allTypesMetadata, buildGGUF, fixtureTensors, SHARED } from '../helpers/gguf-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ktweb-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GGUF writer/reader round trip', () => {
  it('reads back every metadata value type and tensor exactly', async () => {
    const bytes = await buildGGUF();
    const f = await readGGUF(new MemorySource(bytes));
    expect(f.version).toBe(3);
    expect([...f.metadata.keys()]).toEqual(allTypesMetadata().map(([k]) => k));
    for (const [k, e] of allTypesMetadata()) expect(f.metadata.get(k), k).toEqual(e);
    const model = await openGGUF(new MemorySource(bytes));
    for (const t of fixtureTensors()) {
      const ref = model.tensor(t.name);
      expect(ref.info.dims).toEqual(t.dims);
      expect(ref.info.type).toBe(t.type);
      expect(ref.info.fileOffset % 32).toBe(0);
      expect(await model.readTensor(t.name)).toEqual(t.bytes);
      expect(await model.readTensor(t.name, 3, 5)).toEqual(t.bytes.subarray(3, 8));
    }
  });

  it('write(read(x)) reproduces a real GGUF byte for byte', async () => {
    for (const name of ['models/stories260K.gguf', 'vocab/ggml-vocab-llama-spm.gguf']) {
      const orig = new Uint8Array(readFileSync(join(SHARED, name)));
      const model = await openGGUF(new MemorySource(orig));
      const sink = new MemorySink();
      await writeGGUF(sink, {
        metadata: model.metadata,
        alignment: model.files[0]!.alignment,
        tensors: model.files[0]!.tensors.map((t) => ({ ...t, data: () => model.readTensor(t.name) })),
      });
      const again = sink.bytes();
      // A file without tensors may end unpadded; we always pad the header to the alignment.
      expect(again.length - orig.length).toBeGreaterThanOrEqual(0);
      expect(again.length - orig.length).toBeLessThan(32);
      expect(Buffer.compare(Buffer.from(again.subarray(0, orig.length)), Buffer.from(orig))).toBe(0);
    }
  });

  it('honours general.alignment', async () => {
    const bytes = await buildGGUF({ alignment: 64 });
    const f = await readGGUF(new MemorySource(bytes));
    expect(f.alignment).toBe(64);
    expect(f.metadata.get('general.alignment')).toEqual({ type: GGUFValueType.UINT32, value: 64 });
    for (const t of f.tensors) expect(t.fileOffset % 64).toBe(0);
  });

  it('streams to a file and reads by range through a Node file handle', async () => {
    const path = join(dir, 'rt.gguf');
    const tensors = fixtureTensors(9);
    await writeGGUF(await NodeFileSink.create(path), { metadata: allTypesMetadata(), tensors: tensors.map((t) => ({ ...t, data: () => [t.bytes.subarray(0, 5), t.bytes.subarray(5)] })) });
    const model = await openGGUF(await NodeFileSource.open(path));
    for (const t of tensors) expect(await model.readTensor(t.name)).toEqual(t.bytes);
    await model.close();
  });

  it('rejects a tensor producer that gives the wrong number of bytes', async () => {
    const t = fixtureTensors()[0]!;
    await expect(writeGGUF(new MemorySink(), { metadata: [], tensors: [{ ...t, data: () => t.bytes.subarray(1) }] })).rejects.toMatchObject({ code: 'bad_argument' });
  });

  it('opens a split model as one', async () => {
    const all = fixtureTensors(3);
    const parts = [all.slice(0, 2), all.slice(2)];
    for (let i = 0; i < 2; i++) {
      const md: [string, { type: GGUFValueType; value: number }][] = [
        ['split.no', { type: GGUFValueType.UINT16, value: i }],
        ['split.count', { type: GGUFValueType.UINT16, value: 2 }],
        ['split.tensors.count', { type: GGUFValueType.INT32, value: all.length }],
      ];
      const path = join(dir, `m-0000${i + 1}-of-00002.gguf`);
      await writeGGUF(await NodeFileSink.create(path), { metadata: i === 0 ? [...allTypesMetadata(), ...md] : md, tensors: parts[i]!.map((t) => ({ ...t, data: () => t.bytes })) });
    }
    const first = join(dir, 'm-00001-of-00002.gguf');
    const model = await openGGUF(await NodeFileSource.open(first), siblingOpener(first));
    expect(model.files).toHaveLength(2);
    expect(model.tensors.size).toBe(all.length);
    for (const t of all) expect(await model.readTensor(t.name)).toEqual(t.bytes);
    expect(model.metadata.get('t.str')?.value).toBe('héllo 世界 🚀');
    await model.close();
    // Opening the second part directly says to open the first.
    const second = join(dir, 'm-00002-of-00002.gguf');
    await expect(openGGUF(await NodeFileSource.open(second), siblingOpener(second))).rejects.toMatchObject({ code: 'bad_argument' });
  });

  it('reads tensor data beyond 4 GiB in a (sparse) file', async () => {
    const path = join(dir, 'big.gguf');
    const payload = new Uint8Array(64).map((_, i) => (i * 7 + 1) & 0xff);
    const FIVE_GIB = 5 * 2 ** 30;
    const { open } = await import('node:fs/promises');
    const { header } = encodeHeader({
      metadata: [],
      tensors: [
        { name: 'filler', dims: [FIVE_GIB], type: GGMLType.I8, data: () => new Uint8Array(0) },
        { name: 'far', dims: [64], type: GGMLType.I8, data: () => payload },
      ],
    });
    // The header alone, presented as a file of the full size: enough to compute the tensors' offsets.
    const f = await readGGUF({ name: 'h', size: FIVE_GIB + 4096, read: (o, n) => {
      const out = new Uint8Array(n);
      out.set(header.subarray(Math.min(o, header.length), Math.min(o + n, header.length)));
      return Promise.resolve(out);
    } });
    const far = f.tensors.find((t) => t.name === 'far')!;
    expect(far.fileOffset).toBeGreaterThan(2 ** 32);
    const fh = await open(path, 'w');
    await fh.write(header, 0, header.length, 0);
    await fh.write(payload, 0, payload.length, far.fileOffset);
    await fh.truncate(far.fileOffset + 64);
    await fh.close();
    const model = await openGGUF(await NodeFileSource.open(path));
    expect(await model.readTensor('far')).toEqual(payload);
    await model.close();
  });
});
