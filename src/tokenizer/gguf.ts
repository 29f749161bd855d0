// llama.cpp's GGUF vocabulary (tokenizer.ggml.*) → an equivalent Hugging Face tokenizer.json, and the engine
// tokenizer built from it with llama.cpp's rules (llama_vocab::impl::load) for defaults and special tokens.
import { EngineError } from '../core/errors.ts';
import { mdString, type Metadata } from '../gguf/metadata.ts';
import { GGUFValueType, type GGUFArray } from '../gguf/types.ts';
import { chatTemplateFromGGUF } from './chat-template.ts';
import { byteLevelPreTokenizerJson, preTokenizerSpec, SUPPORTED_PRE_TOKENIZERS, type PreTokenizerSpec } from './pre-tokenizers.ts';
import { detectSpecials } from './special-tokens.ts';
import { spmMerges } from './spm.ts';
import type { AddedTokenJson, TokenizerJson } from './tokenizer-json.ts';
import { createTextTokenizer, EngineTokenizer, setMergeRanks } from './tokenizer.ts';
import { TokenAttr, type Tokenizer } from './types.ts';
import { Vocab } from './vocab.ts';

export const SUPPORTED_TOKENIZER_MODELS: readonly string[] = ['llama', 'gpt2'];

/** tokenizer.ggml.token_type values (llama_token_type) → attributes. */
const TYPE_ATTR: Readonly<Record<number, number>> = {
  0: TokenAttr.UNDEFINED,
  1: TokenAttr.NORMAL,
  2: TokenAttr.UNKNOWN,
  3: TokenAttr.CONTROL,
  4: TokenAttr.USER_DEFINED,
  5: TokenAttr.UNUSED,
  6: TokenAttr.BYTE,
};

/** A GGUF vocabulary read with llama.cpp's defaults. */
export interface GGUFVocab {
  readonly model: 'llama' | 'gpt2';
  /** tokenizer.ggml.pre as found ('default' when absent); gpt2 only. */
  readonly pre: string | null;
  readonly preSpec: PreTokenizerSpec | null;
  readonly texts: readonly string[];
  readonly attrs: Uint16Array;
  readonly scores: ArrayLike<number> | null;
  readonly merges: readonly [string, string][];
  readonly bos: number | null;
  readonly eos: number | null;
  readonly unk: number | null;
  readonly eot: number | null;
  readonly eog: readonly number[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly cleanSpaces: boolean;
  readonly chatTemplate: string | null;
}

function invalid(msg: string, file: string, key?: string): EngineError {
  return new EngineError('model_invalid', msg, key === undefined ? { file } : { file, key });
}

function optArray(md: Metadata, key: string, file: string, itemTypes: readonly GGUFValueType[], n: number): GGUFArray | null {
  const e = md.get(key);
  if (e === undefined) return null;
  const a = e.value as GGUFArray;
  if (e.type !== GGUFValueType.ARRAY || !itemTypes.includes(a.itemType)) {
    throw invalid(`metadata key ${key} is not an array of ${itemTypes.map((t) => GGUFValueType[t]).join(' or ')}`, file, key);
  }
  if (a.values.length < n) throw invalid(`metadata key ${key} has ${a.values.length} entries for ${n} tokens`, file, key);
  return a;
}

function optBool(md: Metadata, key: string): boolean | undefined {
  const v = md.get(key)?.value;
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * A special-token id key the way llama.cpp reads it: the default stands unless the key holds an id inside
 * the vocabulary (files often store 0xFFFFFFFF for "none"), and a default outside the vocabulary is dropped.
 */
function specialId(md: Metadata, key: string, n: number, fallback: number | null): number | null {
  let id = fallback !== null && fallback >= n ? null : fallback;
  const v = md.get(key)?.value;
  const x = typeof v === 'bigint' ? Number(v) : v;
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < n) id = x;
  return id;
}

/** Reads and checks the tokenizer.ggml.* keys. `file` names the source in errors. */
export function readGGUFVocab(md: Metadata, file = 'GGUF'): GGUFVocab {
  const modelName = mdString(md, 'tokenizer.ggml.model', file);
  if (modelName !== 'llama' && modelName !== 'gpt2') {
    throw invalid(
      `tokenizer.ggml.model "${modelName}" is not supported; supported: ${SUPPORTED_TOKENIZER_MODELS.join(', ')} (llama = SentencePiece, gpt2 = byte-level BPE)`,
      file,
      'tokenizer.ggml.model',
    );
  }
  const model: 'llama' | 'gpt2' = modelName;
  let pre: string | null = null;
  let preSpec: PreTokenizerSpec | null = null;
  if (model === 'gpt2') {
    pre = mdString(md, 'tokenizer.ggml.pre', file, 'default');
    preSpec = preTokenizerSpec(pre) ?? null;
    if (preSpec === null) {
      throw invalid(`tokenizer.ggml.pre "${pre}" is not supported; supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`, file, 'tokenizer.ggml.pre');
    }
  }

  const tokEntry = md.get('tokenizer.ggml.tokens');
  const tokArr = tokEntry?.value as GGUFArray | undefined;
  if (tokEntry?.type !== GGUFValueType.ARRAY || tokArr?.itemType !== GGUFValueType.STRING) {
    throw invalid('metadata key tokenizer.ggml.tokens (the vocabulary) is missing or is not an array of strings', file, 'tokenizer.ggml.tokens');
  }
  const raw = tokArr.values as readonly string[];
  const n = raw.length;
  if (n === 0) throw invalid('the vocabulary (tokenizer.ggml.tokens) is empty', file, 'tokenizer.ggml.tokens');
  // llama.cpp renames empty entries so that every token has a distinct text
  const texts = raw.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const seen = new Map<string, number>();
  texts.forEach((t, i) => {
    const j = seen.get(t);
    if (j !== undefined) throw invalid(`token ${JSON.stringify(t)} appears twice in tokenizer.ggml.tokens (ids ${j} and ${i})`, file, 'tokenizer.ggml.tokens');
    seen.set(t, i);
  });

  const types = optArray(md, 'tokenizer.ggml.token_type', file, [GGUFValueType.INT32], n);
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++) attrs[i] = types === null ? TokenAttr.NORMAL : (TYPE_ATTR[(types.values as Int32Array)[i]!] ?? TokenAttr.UNDEFINED);
  const scoresArr = optArray(md, 'tokenizer.ggml.scores', file, [GGUFValueType.FLOAT32, GGUFValueType.INT32], n);
  const scores = scoresArr === null ? null : (scoresArr.values as Float32Array | Int32Array);

  let merges: [string, string][] = [];
  if (model === 'gpt2') {
    const m = optArray(md, 'tokenizer.ggml.merges', file, [GGUFValueType.STRING], 0);
    if (m === null) throw invalid('a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges, which is missing', file, 'tokenizer.ggml.merges');
    // split at the first space after the first character, as llama.cpp does (word.find(' ', 1))
    merges = (m.values as readonly string[]).map((w) => {
      const at = w.indexOf(' ', 1);
      return at < 0 ? ['', ''] : [w.slice(0, at), w.slice(at + 1)];
    });
  }

  // llama.cpp defaults by model type, then the keys
  const spm = model === 'llama';
  const bos = specialId(md, 'tokenizer.ggml.bos_token_id', n, spm ? 1 : 11);
  const eos = specialId(md, 'tokenizer.ggml.eos_token_id', n, spm ? 2 : 11);
  const unk = specialId(md, 'tokenizer.ggml.unknown_token_id', n, spm ? 0 : null);
  const key = (k: string): number | null => specialId(md, `tokenizer.ggml.${k}_token_id`, n, null);
  const sp = detectSpecials(seen, attrs, {
    eos,
    eot: key('eot'),
    eom: key('eom'),
    fimPre: key('fim_pre') ?? key('prefix'),
    fimSuf: key('fim_suf') ?? key('suffix'),
    fimMid: key('fim_mid') ?? key('middle'),
    fimPad: key('fim_pad'),
    fimRep: key('fim_rep'),
    fimSep: key('fim_sep'),
  });

  return {
    model,
    pre,
    preSpec,
    texts,
    attrs,
    scores,
    merges,
    bos,
    eos,
    unk,
    eot: sp.eot,
    eog: sp.eog,
    addBos: optBool(md, 'tokenizer.ggml.add_bos_token') ?? (spm || (preSpec?.addBos ?? false)),
    addEos: optBool(md, 'tokenizer.ggml.add_eos_token') ?? false,
    addSpacePrefix: optBool(md, 'tokenizer.ggml.add_space_prefix') ?? spm,
    cleanSpaces: spm ? false : (preSpec?.cleanSpaces ?? true),
    chatTemplate: chatTemplateFromGGUF(md),
  };
}

function vocabRecord(texts: readonly string[]): Record<string, number> {
  // no prototype, so that a token spelled "__proto__" is an ordinary key
  const v = Object.create(null) as Record<string, number>;
  texts.forEach((t, i) => {
    v[t] = i;
  });
  return v;
}

function addedTokens(v: GGUFVocab): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  v.attrs.forEach((a, id) => {
    if ((a & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) === 0) return;
    out.push({
      id,
      content: v.texts[id]!,
      single_word: false,
      lstrip: (a & TokenAttr.LSTRIP) !== 0,
      rstrip: (a & TokenAttr.RSTRIP) !== 0,
      normalized: false,
      special: (a & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) !== 0,
    });
  });
  return out;
}

function postProcessor(v: GGUFVocab): TokenizerJson['post_processor'] {
  if (!v.addBos && !v.addEos) return null;
  const specials: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  const single: unknown[] = [];
  const add = (id: number | null): void => {
    if (id === null) return;
    const t = v.texts[id]!;
    specials[t] = { id: t, ids: [id], tokens: [t] };
    single.push({ SpecialToken: { id: t, type_id: 0 } });
  };
  if (v.addBos) add(v.bos);
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (v.addEos) add(v.eos);
  return { type: 'TemplateProcessing', single, pair: [...single, ...single], special_tokens: specials };
}

/** The tokenizer.json equivalent of a GGUF vocabulary, plus the merge ranks SentencePiece needs. */
export function ggufTokenizerJson(v: GGUFVocab): { json: TokenizerJson; mergeRanks: readonly number[] | null } {
  const unkText = v.unk === null ? null : v.texts[v.unk]!;
  if (v.model === 'llama') {
    const { merges, ranks } = spmMerges(v.texts, v.scores ?? new Float32Array(v.texts.length));
    const replace = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
    const json: TokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens(v),
      normalizer: v.addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, replace] } : replace,
      pre_tokenizer: null,
      post_processor: postProcessor(v),
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          ...(v.addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: unkText,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        // llama.cpp never fuses unknown pieces
        fuse_unk: false,
        byte_fallback: true,
        ignore_merges: false,
        vocab: vocabRecord(v.texts),
        merges,
      },
    };
    return { json, mergeRanks: ranks };
  }
  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v),
    normalizer: null,
    pre_tokenizer: byteLevelPreTokenizerJson(v.preSpec!.regexes),
    post_processor: postProcessor(v),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkText,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: v.preSpec!.ignoreMerges,
      vocab: vocabRecord(v.texts),
      merges: [...v.merges],
    },
  };
  return { json, mergeRanks: null };
}

/** The tokenizer of a GGUF model, from its metadata (`openGGUF(...).metadata`). */
export function fromGGUFMetadata(md: Metadata, file = 'GGUF'): Tokenizer {
  const v = readGGUFVocab(md, file);
  const { json, mergeRanks } = ggufTokenizerJson(v);
  const hf = createTextTokenizer(json, {});
  if (mergeRanks !== null) setMergeRanks(hf, json.model.merges as [string, string][], mergeRanks);
  const vocab = new Vocab({
    texts: v.texts,
    attrs: v.attrs,
    style: v.model === 'llama' ? 'spm' : 'byte-level',
    bos: v.bos,
    eos: v.eos,
    eot: v.eot,
    eog: v.eog,
    addBos: v.addBos,
    addEos: v.addEos,
    addSpacePrefix: v.addSpacePrefix,
    cleanSpaces: v.cleanSpaces,
  });
  return new EngineTokenizer(hf, vocab, v.chatTemplate);
}
