// Vocabularies ktweb cannot build give model_invalid errors that name the key and the value; bad ids give
// bad_argument.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/core/errors.ts';
import type { Metadata } from '../../src/gguf/metadata.ts';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { fromGGUFMetadata, fromTokenizerJson } from '../../src/tokenizer/index.ts';
import { i32, readMetadata, s, str, VOCAB_DIR } from './oracle.ts';

function engineError(f: () => unknown): EngineError {
  try {
    f();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError');
}

const tiny = (entries: [string, GGUFEntry][]): Metadata => new Map(entries);

describe('tokenizer errors', () => {
  it('rejects metadata without a vocabulary', () => {
    const e = engineError(() => fromGGUFMetadata(tiny([['tokenizer.ggml.model', s('llama')]]), 'x.gguf'));
    expect(e.code).toBe('model_invalid');
    expect(e.message).toMatch(/tokenizer\.ggml\.tokens/);
    expect(e.details.file).toBe('x.gguf');
    const wrongType = engineError(() =>
      fromGGUFMetadata(tiny([['tokenizer.ggml.model', s('llama')], ['tokenizer.ggml.tokens', i32(new Int32Array([1, 2]))]])),
    );
    expect(wrongType.code).toBe('model_invalid');
    expect(engineError(() => fromGGUFMetadata(tiny([['tokenizer.ggml.model', s('llama')], ['tokenizer.ggml.tokens', str([])]]))).message).toMatch(/empty/);
  });

  it('rejects a missing or unknown tokenizer model, naming it and the supported ones', () => {
    expect(engineError(() => fromGGUFMetadata(tiny([['tokenizer.ggml.tokens', str(['a'])]]))).message).toMatch(/tokenizer\.ggml\.model/);
    for (const model of ['bert', 't5', 'rwkv', 'gemma4']) {
      const e = engineError(() => fromGGUFMetadata(tiny([['tokenizer.ggml.model', s(model)], ['tokenizer.ggml.tokens', str(['a'])]])));
      expect(e.code).toBe('model_invalid');
      expect(e.message).toContain(`"${model}"`);
      expect(e.message).toContain('llama');
      expect(e.message).toContain('gpt2');
      expect(e.details.key).toBe('tokenizer.ggml.model');
    }
  });

  it('rejects an unknown pre-tokenizer, naming it and the supported ones', async () => {
    const md = new Map(await readMetadata(join(VOCAB_DIR, 'ggml-vocab-deepseek-coder.gguf')));
    md.set('tokenizer.ggml.pre', s('tekken'));
    const e = engineError(() => fromGGUFMetadata(md));
    expect(e.code).toBe('model_invalid');
    expect(e.message).toContain('"tekken"');
    for (const pre of ['deepseek-llm', 'deepseek-coder', 'deepseek-v3', 'qwen2', 'llama-bpe', 'default']) expect(e.message).toContain(pre);
    // gpt2 vocabularies need merges; types and scores must cover every token
    md.set('tokenizer.ggml.pre', s('deepseek-coder'));
    md.delete('tokenizer.ggml.merges');
    expect(engineError(() => fromGGUFMetadata(md)).message).toMatch(/tokenizer\.ggml\.merges/);
  });

  it('rejects short type arrays and duplicate tokens', () => {
    const base: [string, GGUFEntry][] = [['tokenizer.ggml.model', s('llama')], ['tokenizer.ggml.tokens', str(['<unk>', '<s>', '</s>', 'a'])]];
    expect(engineError(() => fromGGUFMetadata(tiny([...base, ['tokenizer.ggml.token_type', i32(new Int32Array([2, 3]))]]))).message).toMatch(/token_type/);
    const scores: GGUFEntry = { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.STRING, values: ['x'] } };
    expect(engineError(() => fromGGUFMetadata(tiny([...base, ['tokenizer.ggml.scores', scores]]))).message).toMatch(/scores/);
    expect(engineError(() => fromGGUFMetadata(tiny([['tokenizer.ggml.model', s('llama')], ['tokenizer.ggml.tokens', str(['a', 'b', 'a'])]]))).message).toMatch(
      /twice/,
    );
  });

  it('builds a minimal SentencePiece vocabulary with llama.cpp defaults', () => {
    const tok = fromGGUFMetadata(tiny([['tokenizer.ggml.model', s('llama')], ['tokenizer.ggml.tokens', str(['<unk>', '<s>', '</s>', '\u2581a', 'a'])]]));
    expect(tok.bos).toBe(1);
    expect(tok.eos).toBe(2);
    expect(tok.addBos).toBe(true);
    expect(tok.encode('a')).toEqual([1, 3]);
    // with no byte tokens a character outside the vocabulary becomes <unk> (llama.cpp's byte_to_token
    // throws there instead)
    expect(tok.encode('b', { addSpecial: false })).toEqual([0, 0]);
  });

  it('rejects bad tokenizer.json input and out-of-range ids', () => {
    expect(engineError(() => fromTokenizerJson('{not json')).code).toBe('model_invalid');
    expect(engineError(() => fromTokenizerJson({ model: {} })).message).toMatch(/vocab/);
    expect(engineError(() => fromTokenizerJson({ model: { type: 'Nope', vocab: { a: 0 } }, added_tokens: [] })).message).toMatch(/"Nope"/);
    const tok = fromTokenizerJson({
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] },
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
    });
    expect(tok.encode('abab')).toEqual([2, 2]);
    const e = engineError(() => tok.decode([0, 7]));
    expect(e.code).toBe('bad_argument');
    expect(e.message).toMatch(/7/);
    expect(engineError(() => tok.tokenToPiece(-1)).code).toBe('bad_argument');
  });
});
