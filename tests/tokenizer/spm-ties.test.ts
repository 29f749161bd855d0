// SentencePiece merge order with equal scores: llama.cpp joins the leftmost of equally scored pairs, also when
// two different pairs make the same token ("ab"+"a" and "a"+"ba" both make "aba"). A tiny vocabulary full of
// ties, written as a GGUF, checks ktweb's shared merge ranks against llama.cpp on every a/b string up to 9.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { fromGGUFMetadata } from '../../src/tokenizer/index.ts';
import { i32, llamaArchKeys, loadVocab, readMetadata, s, str, VOCAB_DIR, writeVocabGGUF } from './oracle.ts';

const written: string[] = [];
afterAll(() => {
  for (const p of written) rmSync(p, { force: true });
});

describe('SentencePiece ties', () => {
  it('joins equally scored pairs leftmost first, as llama.cpp', async () => {
    const pieces: [string, number][] = [
      ['\u2581', -1],
      ['a', -1],
      ['b', -1],
      ['ab', -2],
      ['ba', -2],
      ['aa', -2],
      ['bb', -3],
      ['aba', -4],
      ['bab', -4],
      ['aab', -4],
      ['abb', -4],
      ['\u2581a', -4],
      ['\u2581ab', -5],
      ['abab', -5],
      ['baba', -5],
      ['aaaa', -5],
    ];
    const texts = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`), ...pieces.map((p) => p[0])];
    const scores = new Float32Array(texts.length);
    pieces.forEach(([, sc], i) => {
      scores[259 + i] = sc;
    });
    const types = new Int32Array(texts.length).fill(1);
    types[0] = 2;
    types[1] = 3;
    types[2] = 3;
    for (let i = 3; i < 259; i++) types[i] = 6;
    const md = new Map<string, GGUFEntry>([
      ...llamaArchKeys(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-llama-spm.gguf')), texts.length),
      ['tokenizer.ggml.model', s('llama')],
      ['tokenizer.ggml.tokens', str(texts)],
      ['tokenizer.ggml.scores', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.FLOAT32, values: scores } }],
      ['tokenizer.ggml.token_type', i32(types)],
    ]);
    const path = await writeVocabGGUF(md, 'spm-ties');
    written.push(path);
    const tok = fromGGUFMetadata(md, path);
    const model = await loadVocab(path);

    const strings: string[] = [];
    for (let len = 1; len <= 9; len++) {
      for (let m = 0; m < 1 << len; m++) {
        let t = '';
        for (let k = 0; k < len; k++) t += m & (1 << k) ? 'b' : 'a';
        strings.push(t);
        if (len <= 6) strings.push(`${t} ${t}`);
      }
    }
    let same = 0;
    for (const t of strings) {
      const llama = Array.from(model.tokenize(t, false));
      expect(tok.encode(t, { addSpecial: false }), t).toEqual(llama);
      same++;
    }
    console.log(`spm ties: ${same}/${strings.length} strings give llama.cpp's ids`);
  });
});
