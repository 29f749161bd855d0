// Mutation fuzzing of real GGUF files: every parse ends in a model or an EngineError, never another exception
// or a hang, and a model that parses can read every tensor. Fresh seed each run (printed on failure).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/core/errors.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { readGGUF } from '../../src/gguf/reader.ts';
import { MemorySource } from '../../src/storage/memory-source.ts';
import { buildGGUF, SHARED } from '../helpers/gguf-fixtures.ts';

const INTERESTING = [0n, 1n, 7n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function mutate(src: Uint8Array, headerEnd: number, r: () => number): { bytes: Uint8Array; what: string } {
  const pos = (): number => Math.floor(r() < 0.85 ? r() * headerEnd : r() * src.length);
  const kind = Math.floor(r() * 6);
  const b = src.slice();
  const dv = new DataView(b.buffer);
  switch (kind) {
    case 0: {
      const n = 1 + Math.floor(r() * 4);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = pos();
        at.push(p);
        b[p] = Math.floor(r() * 256);
      }
      return { bytes: b, what: `bytes set at ${at.join(',')}` };
    }
    case 1: {
      const p = Math.min(pos(), b.length - 8);
      const v = INTERESTING[Math.floor(r() * INTERESTING.length)]!;
      dv.setBigUint64(p, v, true);
      return { bytes: b, what: `u64 ${v} at ${p}` };
    }
    case 2: {
      const p = Math.min(pos(), b.length - 4);
      const v = Number(INTERESTING[Math.floor(r() * 9)]!);
      dv.setUint32(p, v, true);
      return { bytes: b, what: `u32 ${v} at ${p}` };
    }
    case 3: {
      const p = pos();
      return { bytes: src.subarray(0, p), what: `truncated at ${p}` };
    }
    case 4: {
      const p = pos();
      const n = 1 + Math.floor(r() * 16);
      const out = new Uint8Array(src.length + n);
      out.set(src.subarray(0, p));
      out.set(src.subarray(p), p + n);
      return { bytes: out, what: `${n} bytes inserted at ${p}` };
    }
    default: {
      const p = pos();
      const n = 1 + Math.floor(r() * 16);
      const out = new Uint8Array(Math.max(0, src.length - n));
      out.set(src.subarray(0, p));
      out.set(src.subarray(Math.min(src.length, p + n)), p);
      return { bytes: out, what: `${n} bytes deleted at ${p}` };
    }
  }
}

async function fuzzOne(bytes: Uint8Array): Promise<'ok' | 'error'> {
  try {
    const model = await openGGUF(new MemorySource(bytes, 'fuzz.gguf'));
    for (const name of model.tensors.keys()) await model.readTensor(name);
    return 'ok';
  } catch (e) {
    if (isEngineError(e)) return 'error';
    throw e;
  }
}

describe('GGUF fuzzing', () => {
  it('2,500 mutations of real and synthetic GGUFs: typed errors only, bounded time', async () => {
    const seed = (Date.now() ^ (Math.random() * 2 ** 32)) >>> 0;
    const r = rng(seed);
    const corpus: { name: string; bytes: Uint8Array; runs: number }[] = [
      { name: 'stories260K', bytes: new Uint8Array(readFileSync(join(SHARED, 'models/stories260K.gguf'))), runs: 1600 },
      { name: 'all-types fixture', bytes: await buildGGUF(), runs: 800 },
      { name: 'llama-spm vocab', bytes: new Uint8Array(readFileSync(join(SHARED, 'vocab/ggml-vocab-llama-spm.gguf'))), runs: 100 },
    ];
    const counts = { ok: 0, error: 0 };
    let slowest = 0;
    for (const c of corpus) {
      const headerEnd = (await readGGUF(new MemorySource(c.bytes))).dataOffset;
      for (let i = 0; i < c.runs; i++) {
        const m = mutate(c.bytes, headerEnd, r);
        const t0 = performance.now();
        let outcome: 'ok' | 'error';
        try {
          outcome = await fuzzOne(m.bytes);
        } catch (e) {
          throw new Error(`seed ${seed}, ${c.name} run ${i}, ${m.what}: untyped ${String(e)}`);
        }
        const ms = performance.now() - t0;
        slowest = Math.max(slowest, ms);
        // A parse is bounded by the file's size; 2 s is far above the ~50 ms the largest input needs.
        expect(ms, `seed ${seed}, ${c.name} run ${i}, ${m.what}`).toBeLessThan(2000);
        counts[outcome]++;
      }
    }
    // Both outcomes must occur, or the mutator is not exercising the parser.
    expect(counts.ok).toBeGreaterThan(100);
    expect(counts.error).toBeGreaterThan(500);
    console.log(`fuzz seed ${seed}: ${JSON.stringify(counts)}, slowest parse ${slowest.toFixed(1)} ms`);
  }, 300_000);
});
