// GGUF vocabularies tokenized by ktweb and by llama.cpp must give the same ids, and decode alike.
import { join } from 'node:path';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromGGUFMetadata, TokenAttr, type Tokenizer } from '../../src/tokenizer/index.ts';
import { corpus } from './corpus.ts';
import { loadVocab, readMetadata, STORIES, VOCAB_DIR } from './oracle.ts';

const CASES = [
  { name: 'deepseek-llm', path: join(VOCAB_DIR, 'ggml-vocab-deepseek-llm.gguf') },
  { name: 'deepseek-coder', path: join(VOCAB_DIR, 'ggml-vocab-deepseek-coder.gguf') },
  { name: 'llama-spm', path: join(VOCAB_DIR, 'ggml-vocab-llama-spm.gguf') },
  { name: 'stories260K', path: STORIES },
];

const TEXTS = corpus();

for (const c of CASES) {
  describe(`${c.name} vocab vs llama.cpp`, () => {
    let tok: Tokenizer;
    let model: LlamaModel;
    beforeAll(async () => {
      tok = fromGGUFMetadata(await readMetadata(c.path), c.path);
      model = await loadVocab(c.path);
    });

    for (const parseSpecial of [false, true]) {
      it(`encodes ${TEXTS.length} strings to llama.cpp's ids (parseSpecial ${parseSpecial})`, () => {
        const diffs: { text: string; ours: number[]; llama: number[] }[] = [];
        for (const text of TEXTS) {
          const ours = tok.encode(text, { addSpecial: false, parseSpecial });
          const llama = Array.from(model.tokenize(text, parseSpecial));
          if (ours.join() !== llama.join()) diffs.push({ text, ours, llama });
        }
        console.log(`${c.name} parseSpecial=${parseSpecial}: ${TEXTS.length - diffs.length}/${TEXTS.length} strings give llama.cpp's ids`);
        expect(diffs.slice(0, 5)).toEqual([]);
      });
    }

    it('decodes as llama.cpp detokenizes, and round-trips where llama.cpp does', () => {
      let roundTrips = 0;
      let llamaRoundTrips = 0;
      for (const text of TEXTS) {
        for (const parseSpecial of [false, true]) {
          const ids = Array.from(model.tokenize(text, parseSpecial));
          expect(tok.decode(ids, { skipSpecial: true }), JSON.stringify(text)).toBe(model.detokenize(ids, false));
          expect(tok.decode(ids), JSON.stringify(text)).toBe(model.detokenize(ids, true));
          if (!parseSpecial && model.detokenize(ids, true) === text) {
            llamaRoundTrips++;
            const back = tok.decode(tok.encode(text, { addSpecial: false }));
            expect(back, JSON.stringify(text)).toBe(text);
            roundTrips++;
          }
        }
      }
      console.log(`${c.name}: ${roundTrips}/${TEXTS.length} strings round-trip (llama.cpp: ${llamaRoundTrips})`);
    });

    it('gives every token the piece llama.cpp gives it', () => {
      const step = Math.max(1, Math.floor(tok.vocabSize / 3000));
      const ids = new Set<number>();
      for (let id = 0; id < tok.vocabSize; id += step) ids.add(id);
      for (let id = 0; id < Math.min(tok.vocabSize, 300); id++) ids.add(id);
      for (let id = Math.max(0, tok.vocabSize - 300); id < tok.vocabSize; id++) ids.add(id);
      for (const id of ids) {
        // a piece alone may be part of a character: compare bytes through the same lossy decoding
        expect(tok.decode([id]), `token ${id} ${JSON.stringify(tok.tokenText(id))}`).toBe(model.detokenize([id as Token], true));
        expect(tok.decode([id], { skipSpecial: true }), `token ${id}`).toBe(model.detokenize([id as Token], false));
      }
    });

    it("gives every token llama.cpp's attributes and end-of-generation flag", () => {
      const bits = [
        ['unknown', TokenAttr.UNKNOWN], ['unused', TokenAttr.UNUSED], ['normal', TokenAttr.NORMAL], ['control', TokenAttr.CONTROL],
        ['userDefined', TokenAttr.USER_DEFINED], ['byte', TokenAttr.BYTE], ['lstrip', TokenAttr.LSTRIP], ['rstrip', TokenAttr.RSTRIP],
      ] as const;
      const wrong: string[] = [];
      let eog = 0;
      for (let id = 0; id < tok.vocabSize; id++) {
        const a = model.getTokenAttributes(id as Token);
        const ours = tok.tokenAttr(id);
        for (const [name, bit] of bits) if (((ours & bit) !== 0) !== a[name]) wrong.push(`${id} ${name}`);
        if (tok.isEog(id) !== model.isEogToken(id as Token)) wrong.push(`${id} eog`);
        if (tok.isEog(id)) eog++;
      }
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(eog).toBeGreaterThan(0);
    });

    it("has llama.cpp's BOS, EOS, EOT and add_bos", () => {
      expect(tok.bos).toBe(model.tokens.bos);
      expect(tok.eos).toBe(model.tokens.eos);
      expect(tok.eot).toBe(model.tokens.eot);
      expect(tok.addBos).toBe(model.tokens.shouldPrependBosToken);
      expect(tok.addEos).toBe(model.tokens.shouldAppendEosToken);
      expect(tok.isEog(tok.eos!)).toBe(true);
      const text = 'Hello world';
      const plain = tok.encode(text, { addSpecial: false });
      expect(tok.encode(text)).toEqual(tok.addBos ? [tok.bos!, ...plain] : plain);
      expect(tok.encode('', { addSpecial: false })).toEqual([]);
      expect(tok.encode('')).toEqual(tok.addBos ? [tok.bos!] : []);
    });
  });
}
