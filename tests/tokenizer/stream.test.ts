// Streaming detokenization: token by token, text comes out only as whole characters, and all of it together
// is what decode() gives for the whole sequence.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromGGUFMetadata, type Tokenizer } from '../../src/tokenizer/index.ts';
import { readMetadata, STORIES, VOCAB_DIR } from './oracle.ts';

const TEXTS = [
  '中文字符测试，你好世界！',
  '日本語のテキストとカタカナ',
  '한국어 문장입니다',
  'emoji 😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈 done',
  'mixed 中文 and English and 🚀 and Ελληνικά',
  '  leading spaces and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters 𠀀𠀁',
  'line\nbreaks\n\nand\ttabs 漢字',
];

function streamAll(tok: Tokenizer, ids: readonly number[], skipSpecial = false): string[] {
  const d = tok.createStreamDecoder({ skipSpecial });
  const chunks = ids.map((id) => d.push(id));
  chunks.push(d.flush());
  return chunks;
}

for (const [name, path] of [
  ['deepseek-llm (byte-level BPE)', join(VOCAB_DIR, 'ggml-vocab-deepseek-llm.gguf')],
  ['llama-spm (byte fallback)', join(VOCAB_DIR, 'ggml-vocab-llama-spm.gguf')],
  ['stories260K (byte fallback, tiny vocab)', STORIES],
] as const) {
  describe(`stream decoder, ${name}`, () => {
    let tok: Tokenizer;
    beforeAll(async () => {
      tok = fromGGUFMetadata(await readMetadata(path), path);
    });

    it('concatenates to decode(all) and never emits U+FFFD for valid text', () => {
      let held = 0;
      for (const text of TEXTS) {
        for (const addSpecial of [false, true]) {
          const ids = tok.encode(text, { addSpecial });
          const chunks = streamAll(tok, ids);
          expect(chunks.join('')).toBe(tok.decode(ids));
          expect(chunks.filter((c) => c.includes('\ufffd'))).toEqual([]);
          expect(streamAll(tok, ids, true).join('')).toBe(tok.decode(ids, { skipSpecial: true }));
          // a character split over several tokens shows as '' until its last byte arrives
          held += chunks.slice(0, -1).filter((c) => c === '').length;
        }
        expect(tok.decode(tok.encode(text, { addSpecial: false }))).toBe(text);
      }
      expect(held).toBeGreaterThan(0);
    });
  });
}

describe('stream decoder on byte tokens', () => {
  it('holds <0xE4><0xB8> back until <0xAD> completes 中', async () => {
    const tok = fromGGUFMetadata(await readMetadata(STORIES), STORIES);
    const e4 = tok.tokenId('<0xE4>')!;
    const b8 = tok.tokenId('<0xB8>')!;
    const ad = tok.tokenId('<0xAD>')!;
    expect(tok.encode('中', { addSpecial: false }).slice(-3)).toEqual([e4, b8, ad]);
    const d = tok.createStreamDecoder();
    expect([d.push(e4), d.push(b8), d.push(ad), d.flush()]).toEqual(['', '', '中', '']);
    // an unfinished character comes out on flush as decode() shows it
    const d2 = tok.createStreamDecoder();
    expect(d2.push(e4) + d2.push(b8) + d2.flush()).toBe(tok.decode([e4, b8]));
    expect(tok.decode([e4, b8])).toBe('\ufffd');
    expect(tok.tokenBytes(e4)).toEqual(Uint8Array.of(0xe4));
    expect(tok.tokenToPiece(e4)).toBe('\ufffd');
  });

  it('drops the dummy-prefix space of the first token only, like decode()', async () => {
    const tok = fromGGUFMetadata(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-llama-spm.gguf')), 'llama-spm');
    const ids = tok.encode('Hello world', { addSpecial: false });
    expect(tok.tokenToPiece(ids[0]!)).toBe(' Hello');
    expect(streamAll(tok, ids)).toEqual(['Hello', ' world', '']);
    // after BOS the space stays, as in llama.cpp's detokenize
    const withBos = tok.encode('Hello world');
    expect(streamAll(tok, withBos, true).join('')).toBe(' Hello world');
    expect(streamAll(tok, withBos).join('')).toBe('<s> Hello world');
  });
});
