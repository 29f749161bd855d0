import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/core/errors.ts';
import { readGGUF } from '../../src/gguf/reader.ts';
import { MemorySource } from '../../src/storage/memory-source.ts';
import { buildGGUF, SHARED, tensorInfoFieldOffset } from '../helpers/gguf-fixtures.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ktweb-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function parseError(bytes: Uint8Array): Promise<EngineError> {
  try {
    await readGGUF(new MemorySource(bytes, 'bad.gguf'));
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return e as EngineError;
  }
  throw new Error('expected the parse to fail');
}

function patch(bytes: Uint8Array, at: number, write: (dv: DataView) => void): Uint8Array {
  const b = bytes.slice();
  write(new DataView(b.buffer, at));
  return b;
}

describe('malformed GGUF files give typed errors with offset and context', () => {
  it('bad magic', async () => {
    const good = await buildGGUF();
    const e = await parseError(patch(good, 0, (d) => d.setUint32(0, 0x46554746, true)));
    expect(e.code).toBe('gguf_invalid');
    expect(e.details.offset).toBe(0);
    expect(e.details.reading).toBe('magic');
  });

  it('unknown, obsolete and big-endian versions', async () => {
    const good = await buildGGUF();
    for (const [v, hint] of [[4, 'supported versions'], [1, 'obsolete'], [0x03000000, 'big-endian']] as const) {
      const e = await parseError(patch(good, 4, (d) => d.setUint32(0, v, true)));
      expect(e.code).toBe('gguf_unsupported_version');
      expect(e.message).toContain(hint);
    }
  });

  it('absurd counts: n_tensors = 2^40, n_kv = 2^62', async () => {
    const good = await buildGGUF();
    let e = await parseError(patch(good, 8, (d) => d.setBigUint64(0, 2n ** 40n, true)));
    expect(e.code).toBe('gguf_invalid');
    expect(e.details.offset).toBe(8);
    expect(e.message).toContain('1099511627776');
    e = await parseError(patch(good, 16, (d) => d.setBigUint64(0, 2n ** 62n, true)));
    expect(e.details.reading).toBe('metadata key/value count');
  });

  it('a string length past the end of the file', async () => {
    const good = await buildGGUF();
    const e = await parseError(patch(good, 24, (d) => d.setBigUint64(0, BigInt(good.length), true)));
    expect(e.code).toBe('gguf_invalid');
    expect(e.details.offset).toBe(24);
    expect(e.details.reading).toContain('key of metadata entry #0');
  });

  it('truncation anywhere in the header', async () => {
    const good = await buildGGUF();
    const f = await readGGUF(new MemorySource(good));
    for (let cut = 0; cut < f.dataOffset; cut += 7) {
      const e = await parseError(good.subarray(0, cut));
      expect(['gguf_truncated', 'gguf_invalid']).toContain(e.code);
      expect(e.details.file).toBe('bad.gguf');
    }
  });

  it('tensor data outside the file', async () => {
    const good = await buildGGUF();
    const e = await parseError(good.subarray(0, good.length - 40));
    expect(e.code).toBe('gguf_truncated');
    expect(e.details.tensor).toBe('output_norm.weight');
  });

  it('overlapping tensors', async () => {
    const good = await buildGGUF();
    const at = tensorInfoFieldOffset(good, 'blk.0.attn_q.weight', 'offset');
    const e = await parseError(patch(good, at, (d) => d.setBigUint64(0, 32n, true)));
    expect(e.code).toBe('gguf_invalid');
    expect(e.message).toMatch(/overlap/);
  });

  it('misaligned tensor offset', async () => {
    const good = await buildGGUF();
    const at = tensorInfoFieldOffset(good, 'output_norm.weight', 'offset');
    const off = new DataView(good.buffer).getBigUint64(at, true);
    const e = await parseError(patch(good, at, (d) => d.setBigUint64(0, off + 4n, true)));
    expect(e.message).toMatch(/not a multiple of the alignment 32/);
    expect(e.details.offset).toBe(at);
  });

  it('unknown ggml type id names the type and the tensor', async () => {
    const good = await buildGGUF();
    const at = tensorInfoFieldOffset(good, 'blk.0.attn_q.weight', 'type');
    const e = await parseError(patch(good, at, (d) => d.setUint32(0, 99, true)));
    expect(e.code).toBe('unsupported_quant');
    expect(e.message).toContain('id 99');
    expect(e.details.tensor).toBe('blk.0.attn_q.weight');
    expect(e.details.offset).toBe(at);
  });

  it('too many dimensions, and rows not a multiple of the block size', async () => {
    const good = await buildGGUF();
    let e = await parseError(patch(good, tensorInfoFieldOffset(good, 'token_embd.weight', 'n_dims'), (d) => d.setUint32(0, 5, true)));
    expect(e.message).toMatch(/5 dimensions/);
    const q8 = tensorInfoFieldOffset(good, 'blk.0.attn_q.weight', 'n_dims');
    e = await parseError(patch(good, q8 + 4, (d) => d.setBigUint64(0, 48n, true)));
    expect(e.message).toMatch(/not a multiple of its block size 32/);
  });

  it('bad metadata value type, bad bool and bad alignment', async () => {
    const good = await buildGGUF();
    // Entry 0 is general.architecture: key length (8) + 20 bytes of key, then the value type.
    const typeAt = 24 + 8 + 'general.architecture'.length;
    let e = await parseError(patch(good, typeAt, (d) => d.setUint32(0, 13, true)));
    expect(e.message).toMatch(/value type 13/);
    const ga = await buildGGUF({ alignment: 64 });
    const idx = Buffer.from(ga).indexOf('general.alignment');
    e = await parseError(patch(ga, idx + 'general.alignment'.length + 4, (d) => d.setUint32(0, 48, true)));
    expect(e.message).toMatch(/power-of-two/);
  });

  it('ktweb inspect prints one line and exits 2 on truncated and corrupted files', async () => {
    const real = new Uint8Array(readFileSync(join(SHARED, 'models/stories260K.gguf')));
    const truncated = join(dir, 'trunc.gguf');
    writeFileSync(truncated, real.subarray(0, 5000));
    const corrupt = join(dir, 'corrupt.gguf');
    writeFileSync(corrupt, patch(real, 8, (d) => d.setBigUint64(0, 2n ** 40n, true)));
    for (const f of [truncated, corrupt]) {
      const r = await run('node', ['bin/ktweb.mjs', 'inspect', f]).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error \[gguf_(truncated|invalid)\] .* at byte \d+/);
    }
  });
});
