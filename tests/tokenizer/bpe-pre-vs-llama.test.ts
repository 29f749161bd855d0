// Every supported byte-level pre-tokenizer against llama.cpp, on GGUFs written here: the deepseek-coder vocab
// with its tokenizer.ggml.pre swapped, and the Qwen2 and Llama 3 vocabularies built from their HF files.
// The same Qwen2 / Llama 3 files as tokenizer.json objects (with the models' original regexes) must agree.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/gguf/metadata.ts';
import type { GGUFEntry } from '../../src/gguf/types.ts';
import { fromGGUFMetadata, fromTokenizerJson, toByteLevel, TokenAttr, type Tokenizer } from '../../src/tokenizer/index.ts';
import { corpus } from './corpus.ts';
import { b, i32, llamaArchKeys, loadVocab, readMetadata, s, str, TOKENIZERS_DIR, u32, VOCAB_DIR, writeVocabGGUF } from './oracle.ts';

const TEXTS = corpus(200, 777);
const written: string[] = [];
afterAll(() => {
  for (const p of written) rmSync(p, { force: true });
});

async function compare(tok: Tokenizer, model: LlamaModel, name: string): Promise<void> {
  const diffs: { text: string; ours: number[]; llama: number[] }[] = [];
  for (const text of TEXTS) {
    for (const parseSpecial of [false, true]) {
      const ours = tok.encode(text, { addSpecial: false, parseSpecial });
      const llama = Array.from(model.tokenize(text, parseSpecial));
      if (ours.join() !== llama.join()) diffs.push({ text, ours, llama });
      expect(tok.decode(llama), JSON.stringify(text)).toBe(model.detokenize(llama, true));
    }
  }
  console.log(`${name}: ${TEXTS.length * 2 - diffs.length}/${TEXTS.length * 2} encodings give llama.cpp's ids`);
  expect(diffs.slice(0, 5)).toEqual([]);
  expect(tok.bos).toBe(model.tokens.bos);
  expect(tok.eos).toBe(model.tokens.eos);
  expect(tok.eot).toBe(model.tokens.eot);
  expect(tok.addBos).toBe(model.tokens.shouldPrependBosToken);
  for (let id = Math.max(0, tok.vocabSize - 400); id < tok.vocabSize; id++) {
    expect(tok.isEog(id), `token ${id}`).toBe(model.isEogToken(id as Token));
    expect((tok.tokenAttr(id) & TokenAttr.CONTROL) !== 0, `token ${id}`).toBe(model.getTokenAttributes(id as Token).control);
  }
}

describe('pre-tokenizer types on the deepseek-coder vocabulary', () => {
  let base: Metadata;
  beforeAll(async () => {
    base = await readMetadata(join(VOCAB_DIR, 'ggml-vocab-deepseek-coder.gguf'));
  });
  for (const pre of ['default', 'gpt-2', 'qwen2', 'llama-bpe', 'deepseek-v3', 'deepseek-llm']) {
    it(`pre "${pre}" tokenizes as llama.cpp`, async () => {
      const md = new Map<string, GGUFEntry>(base);
      md.set('tokenizer.ggml.pre', s(pre));
      md.delete('tokenizer.ggml.add_bos_token');
      const path = await writeVocabGGUF(md, pre);
      written.push(path);
      await compare(fromGGUFMetadata(md, path), await loadVocab(path), `deepseek-coder vocab, pre ${pre}`);
    });
  }
});

/** HF added tokens of Qwen3 (tokenizer_config added_tokens_decoder): ids 151643.. */
function qwenAdded(): { id: number; content: string; special: boolean }[] {
  const cfg = JSON.parse(readFileSync(join(TOKENIZERS_DIR, 'qwen3-30b-a3b/tokenizer_config.json'), 'utf8')) as {
    added_tokens_decoder: Record<string, { content: string; special: boolean }>;
  };
  return Object.entries(cfg.added_tokens_decoder).map(([id, t]) => ({ id: Number(id), content: t.content, special: t.special }));
}

function byIdArray(vocab: Record<string, number>, extra: { id: number; content: string }[]): string[] {
  const texts: string[] = [];
  for (const [t, id] of Object.entries(vocab)) texts[id] = t;
  for (const a of extra) texts[a.id] = a.content;
  return texts;
}

describe('Qwen2 vocab.json + merges.txt', () => {
  let fromJson: Tokenizer;
  let fromGguf: Tokenizer;
  let model: LlamaModel;
  beforeAll(async () => {
    const vocab = JSON.parse(readFileSync(join(TOKENIZERS_DIR, 'qwen2/vocab.json'), 'utf8')) as Record<string, number>;
    const merges = readFileSync(join(TOKENIZERS_DIR, 'qwen2/merges.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
    const added = qwenAdded();
    const config = JSON.parse(readFileSync(join(TOKENIZERS_DIR, 'qwen3-30b-a3b/tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    // the shape of Qwen2's tokenizer.json, with its original (case-insensitive) regex and NFC normalizer
    fromJson = fromTokenizerJson(
      {
        version: '1.0',
        added_tokens: added.map((a) => ({ ...a, single_word: false, lstrip: false, rstrip: false, normalized: false })),
        normalizer: { type: 'NFC' },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            {
              type: 'Split',
              pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
              behavior: 'Isolated',
              invert: false,
            },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
          ],
        },
        post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
      },
      config,
    );
    const texts = byIdArray(vocab, added);
    const types = new Int32Array(texts.length).fill(1);
    for (const a of added) types[a.id] = a.special ? 3 : 4;
    const md = new Map<string, GGUFEntry>([
      ...llamaArchKeys(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-deepseek-coder.gguf')), texts.length),
      ['tokenizer.ggml.model', s('gpt2')],
      ['tokenizer.ggml.pre', s('qwen2')],
      ['tokenizer.ggml.tokens', str(texts)],
      ['tokenizer.ggml.token_type', i32(types)],
      ['tokenizer.ggml.merges', str(merges)],
      ['tokenizer.ggml.eos_token_id', u32(151645)],
      ['tokenizer.ggml.padding_token_id', u32(151643)],
      ['tokenizer.ggml.bos_token_id', u32(151643)],
      ['tokenizer.ggml.add_bos_token', b(false)],
    ]);
    const path = await writeVocabGGUF(md, 'qwen2');
    written.push(path);
    fromGguf = fromGGUFMetadata(md, path);
    model = await loadVocab(path);
  });

  it('gives the ids vocab.json has for "Hello world"', () => {
    expect(toByteLevel(' world')).toBe('Ġworld');
    expect(fromJson.encode('Hello world')).toEqual([9707, 1879]);
    expect(fromJson.tokenText(9707)).toBe('Hello');
    expect(fromJson.tokenText(1879)).toBe('Ġworld');
    expect(fromJson.encode('<|im_start|>user\nHi<|im_end|>', { parseSpecial: true })).toEqual([151644, 872, 198, 13048, 151645]);
    expect(fromJson.eos).toBe(151645);
    expect(fromJson.bos).toBe(null);
    expect(fromJson.addBos).toBe(false);
    expect(fromJson.eot).toBe(151645);
    expect([...fromJson.eog]).toEqual(expect.arrayContaining([151643, 151645]));
  });

  it('the GGUF form tokenizes as llama.cpp', async () => {
    await compare(fromGguf, model, 'qwen2 vocab, pre qwen2');
  });

  it('the tokenizer.json form agrees with the GGUF form (NFC-stable text) and round-trips', () => {
    let same = 0;
    let stable = 0;
    for (const text of TEXTS) {
      for (const parseSpecial of [false, true]) {
        const a = fromJson.encode(text, { parseSpecial });
        if (text === text.normalize('NFC')) {
          stable++;
          expect(a, JSON.stringify(text)).toEqual(fromGguf.encode(text, { parseSpecial }));
          same++;
          expect(fromJson.decode(a)).toBe(text);
        } else {
          // Qwen2's tokenizer.json normalizes to NFC; llama.cpp does not
          expect(fromJson.decode(a)).toBe(text.normalize('NFC'));
        }
      }
    }
    console.log(`qwen2 tokenizer.json vs GGUF: ${same}/${stable} NFC-stable encodings equal`);
  });
});

describe('Llama 3 encoder.json + vocab.bpe (ignore_merges)', () => {
  let fromGguf: Tokenizer;
  let fromJson: Tokenizer;
  let model: LlamaModel;
  beforeAll(async () => {
    const vocab = JSON.parse(readFileSync(join(TOKENIZERS_DIR, 'llama3/encoder.json'), 'utf8')) as Record<string, number>;
    const merges = readFileSync(join(TOKENIZERS_DIR, 'llama3/vocab.bpe'), 'utf8').split('\n').filter((l) => l !== '');
    const names: Record<number, string> = {
      0: '<|begin_of_text|>', 1: '<|end_of_text|>', 6: '<|start_header_id|>', 7: '<|end_header_id|>', 8: '<|eom_id|>', 9: '<|eot_id|>',
    };
    const added = Array.from({ length: 256 }, (_, i) => ({ id: 128000 + i, content: names[i] ?? `<|reserved_special_token_${i}|>`, special: true }));
    const texts = byIdArray(vocab, added);
    const types = new Int32Array(texts.length).fill(1);
    for (const a of added) types[a.id] = 3;
    const md = new Map<string, GGUFEntry>([
      ...llamaArchKeys(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-deepseek-coder.gguf')), texts.length),
      ['tokenizer.ggml.model', s('gpt2')],
      ['tokenizer.ggml.pre', s('llama-bpe')],
      ['tokenizer.ggml.tokens', str(texts)],
      ['tokenizer.ggml.token_type', i32(types)],
      ['tokenizer.ggml.merges', str(merges)],
      ['tokenizer.ggml.bos_token_id', u32(128000)],
      ['tokenizer.ggml.eos_token_id', u32(128009)],
    ]);
    const path = await writeVocabGGUF(md, 'llama3');
    written.push(path);
    fromGguf = fromGGUFMetadata(md, path);
    model = await loadVocab(path);
    fromJson = fromTokenizerJson(
      {
        added_tokens: added.map((a) => ({ ...a, normalized: false })),
        normalizer: null,
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            {
              type: 'Split',
              pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
              behavior: 'Isolated',
              invert: false,
            },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [],
          special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
        },
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges },
      },
      { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' },
    );
  });

  it('the GGUF form tokenizes as llama.cpp', async () => {
    await compare(fromGguf, model, 'llama3 vocab, pre llama-bpe');
  });

  it('the tokenizer.json form agrees with the GGUF form', () => {
    expect(fromJson.addBos).toBe(true);
    expect(fromJson.bos).toBe(128000);
    for (const text of TEXTS) {
      for (const parseSpecial of [false, true]) {
        expect(fromJson.encode(text, { parseSpecial }), JSON.stringify(text)).toEqual(fromGguf.encode(text, { parseSpecial }));
      }
    }
  });
});
