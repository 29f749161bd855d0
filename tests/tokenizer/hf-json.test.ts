// Hugging Face tokenizer.json input: Mixtral's SentencePiece-derived file loads, round-trips, and tokenizes as
// llama.cpp does with a GGUF made from the same model's tokenizer.model.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { fromGGUFMetadata, fromTokenizerJson, TokenAttr, type Tokenizer } from '../../src/tokenizer/index.ts';
import { corpus } from './corpus.ts';
import { b, i32, llamaArchKeys, loadVocab, readMetadata, s, str, TOKENIZERS_DIR, u32, VOCAB_DIR, writeVocabGGUF } from './oracle.ts';

const MIXTRAL = join(TOKENIZERS_DIR, 'mixtral-v0.1');
const TEXTS = corpus(150, 4242);
const written: string[] = [];
afterAll(() => {
  for (const p of written) rmSync(p, { force: true });
});

/** Pieces of a SentencePiece ModelProto (field 1: {1: piece, 2: score, 3: type}); the rest is skipped. */
function readSentencePieceModel(buf: Uint8Array): { piece: string; score: number; type: number }[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dec = new TextDecoder('utf-8', { ignoreBOM: true }); // a piece may be U+FEFF itself
  const varint = (p: { o: number }): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = buf[p.o++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  const skip = (p: { o: number }, wt: number): void => {
    if (wt === 0) varint(p);
    else if (wt === 1) p.o += 8;
    else if (wt === 2) {
      const n = varint(p); // before reading p.o, which varint advances
      p.o += n;
    }
    else if (wt === 5) p.o += 4;
    else throw new Error(`wire type ${wt}`);
  };
  const out: { piece: string; score: number; type: number }[] = [];
  const p = { o: 0 };
  while (p.o < buf.length) {
    const key = varint(p);
    if (key >>> 3 !== 1 || (key & 7) !== 2) {
      skip(p, key & 7);
      continue;
    }
    const end = varint(p) + p.o;
    const sp = { piece: '', score: 0, type: 1 };
    while (p.o < end) {
      const k = varint(p);
      if (k === (1 << 3) + 2) {
        const n = varint(p);
        sp.piece = dec.decode(buf.subarray(p.o, p.o + n));
        p.o += n;
      } else if (k === (2 << 3) + 5) {
        sp.score = dv.getFloat32(p.o, true);
        p.o += 4;
      } else if (k === (3 << 3) + 0) sp.type = varint(p);
      else skip(p, k & 7);
    }
    out.push(sp);
  }
  return out;
}

describe('Mixtral tokenizer.json', () => {
  let tok: Tokenizer;
  let ggufTok: Tokenizer;
  let model: LlamaModel;
  beforeAll(async () => {
    const json = JSON.parse(readFileSync(join(MIXTRAL, 'tokenizer.json'), 'utf8')) as unknown;
    const config = JSON.parse(readFileSync(join(MIXTRAL, 'tokenizer_config.json'), 'utf8')) as unknown;
    tok = fromTokenizerJson(json, config);
    const pieces = readSentencePieceModel(readFileSync(join(MIXTRAL, 'tokenizer.model')));
    const md = new Map<string, GGUFEntry>([
      ...llamaArchKeys(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-llama-spm.gguf')), pieces.length),
      ['tokenizer.ggml.model', s('llama')],
      ['tokenizer.ggml.tokens', str(pieces.map((p) => p.piece))],
      ['tokenizer.ggml.scores', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.FLOAT32, values: Float32Array.from(pieces, (p) => p.score) } }],
      ['tokenizer.ggml.token_type', i32(Int32Array.from(pieces, (p) => p.type))],
      ['tokenizer.ggml.bos_token_id', u32(1)],
      ['tokenizer.ggml.eos_token_id', u32(2)],
      ['tokenizer.ggml.unknown_token_id', u32(0)],
      ['tokenizer.ggml.add_bos_token', b(true)],
      ['tokenizer.ggml.add_eos_token', b(false)],
    ]);
    const path = await writeVocabGGUF(md, 'mixtral');
    written.push(path);
    ggufTok = fromGGUFMetadata(md, path);
    model = await loadVocab(path);
  });

  it('loads with the right specials', () => {
    expect(tok.vocabSize).toBe(32000);
    expect(tok.style).toBe('spm');
    expect(tok.bos).toBe(1);
    expect(tok.eos).toBe(2);
    expect(tok.addBos).toBe(true);
    expect(tok.addEos).toBe(false);
    expect(tok.tokenAttr(0)).toBe(TokenAttr.UNKNOWN);
    expect(tok.tokenAttr(1)).toBe(TokenAttr.CONTROL);
    expect(tok.tokenAttr(3)).toBe(TokenAttr.BYTE);
    expect(tok.encode('Hello world')).toEqual([1, ...tok.encode('Hello world', { addSpecial: false })]);
    expect(tok.encode('<s>x</s>', { addSpecial: false, parseSpecial: true })[0]).toBe(1);
    expect(tok.encode('<s>x</s>', { addSpecial: false })[0]).not.toBe(1);
    expect(tok.chatTemplate).toBe(null);
  });

  it('round-trips the corpus', () => {
    let n = 0;
    for (const text of TEXTS) {
      const ids = tok.encode(text, { addSpecial: false });
      // the tokenizer writes spaces as ▁, so text that already holds ▁ comes back with spaces
      expect(tok.decode(ids), JSON.stringify(text)).toBe(text.replaceAll('\u2581', ' '));
      n++;
    }
    console.log(`mixtral tokenizer.json: ${n}/${TEXTS.length} strings round-trip`);
  });

  it('tokenizes as llama.cpp does with the GGUF of the same tokenizer.model', () => {
    const diffs: string[] = [];
    for (const text of TEXTS) {
      for (const parseSpecial of [false, true]) {
        const llama = Array.from(model.tokenize(text, parseSpecial));
        expect(ggufTok.encode(text, { addSpecial: false, parseSpecial }), JSON.stringify(text)).toEqual(llama);
        if (tok.encode(text, { addSpecial: false, parseSpecial }).join() !== llama.join()) diffs.push(text);
        expect(tok.decode(llama), JSON.stringify(text)).toBe(model.detokenize(llama, true));
      }
    }
    console.log(`mixtral tokenizer.json vs llama.cpp: ${TEXTS.length * 2 - diffs.length}/${TEXTS.length * 2} encodings equal`);
    expect(diffs.slice(0, 5)).toEqual([]);
  });
});
