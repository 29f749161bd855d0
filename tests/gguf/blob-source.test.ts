import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGGUF } from '../../src/gguf/model.ts';
import { BlobSource } from '../../src/storage/blob-source.ts';
import { NodeFileSource } from '../../src/storage/node-fs.ts';
import { SHARED } from '../helpers/gguf-fixtures.ts';

describe('BlobSource', () => {
  it('reads a disk-backed Blob by range exactly as a file handle does', async () => {
    const path = join(SHARED, 'models/stories260K.gguf');
    const viaBlob = await openGGUF(new BlobSource(await openAsBlob(path), 'stories260K.gguf'));
    const viaFile = await openGGUF(await NodeFileSource.open(path));
    expect(viaBlob.tensors.size).toBe(48);
    for (const name of viaFile.tensors.keys()) expect(await viaBlob.readTensor(name)).toEqual(await viaFile.readTensor(name));
    await expect(new BlobSource(new Blob([new Uint8Array(10)])).read(8, 4)).rejects.toMatchObject({ code: 'gguf_truncated' });
    await viaFile.close();
  });
});
