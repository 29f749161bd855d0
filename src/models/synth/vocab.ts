// The tokenizer embedded in every synthetic model, from real vocabularies only (models/vocab/README.md):
// SentencePiece of stories260K for llama/mixtral; byte-level BPE prefixes of DeepSeek-LLM and Qwen2 for the rest.
// A BPE prefix is the 256 byte tokens plus the tokens made by the first M merges, in merge order: a merge only
// joins bytes or earlier merge results, so a prefix of the merge list is a complete tokenizer of its own.
import type { ByteSource } from '../../core/byte-source.ts';
import { EngineError } from '../../core/errors.ts';
import { mdArray, mdBool, mdNumber, openGGUF } from '../../gguf/index.ts';
import { GGUFValueType } from '../../gguf/types.ts';
import type { VocabKind } from './presets.ts';
import { meta, type MetaEntry } from './spec.ts';

/** Where vocab assets come from: the CLI opens files under models/vocab/, a page could fetch them. */
export interface SynthAssets {
  open(name: string): Promise<ByteSource>;
}

export const FULL_DEEPSEEK_VOCAB = 'ggml-vocab-deepseek-llm.gguf';

// llama.cpp llama_token_type
const NORMAL = 1;
const CONTROL = 3;

export interface SynthVocab {
  readonly model: 'llama' | 'gpt2';
  readonly pre?: string;
  readonly tokens: readonly string[];
  readonly scores?: Float32Array;
  readonly types: Int32Array;
  readonly merges?: readonly string[];
  readonly bos: number;
  readonly eos: number;
  readonly unk?: number;
  readonly pad?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string;
}

/** Layout of models/vocab/stories260K-spm.json. */
export interface SpmAsset {
  readonly tokens: string[];
  readonly scores: number[];
  readonly types: number[];
  readonly bos: number;
  readonly eos: number;
  readonly unk: number;
}

/** Layout of models/vocab/{deepseek-llm,qwen2}-bpe.json. */
export interface BpeAsset {
  readonly pre: string;
  /** The 256 byte tokens in GPT-2 bytes_to_unicode order. */
  readonly bytes: string[];
  /** A prefix of the source's merge list. */
  readonly merges: string[];
}

// Short templates in each family's real style; llama.cpp detects them by their markers ([INST], "Assistant:",
// <|im_start|>).
const CHAT_LLAMA2 =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
const CHAT_DEEPSEEK =
  "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}" +
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n\\n' }}" +
  "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}" +
  "{% elif message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
const CHAT_CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const DEEPSEEK_SPECIALS = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>'];
const QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

export const VOCAB_ASSET: Record<VocabKind, string> = {
  'stories-spm': 'stories260K-spm.json',
  'deepseek-llm': 'deepseek-llm-bpe.json',
  qwen2: 'qwen2-bpe.json',
};

async function readAll(assets: SynthAssets, name: string): Promise<Uint8Array> {
  const src = await assets.open(name);
  try {
    return await src.read(0, src.size);
  } finally {
    await src.close?.();
  }
}

async function readJson<T>(assets: SynthAssets, name: string): Promise<T> {
  const text = new TextDecoder().decode(await readAll(assets, name));
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new EngineError('model_invalid', `vocab asset ${name} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { file: name });
  }
}

/**
 * Tokens of the first merges until `nBase` tokens exist. Throws if a merge uses a token that neither the bytes
 * nor an earlier merge made, i.e. if the prefix would not be self-consistent.
 */
export function bpePrefix(asset: BpeAsset, nBase: number): { tokens: string[]; merges: string[] } {
  const tokens = [...asset.bytes];
  const seen = new Set(tokens);
  const merges: string[] = [];
  for (let i = 0; i < asset.merges.length && tokens.length < nBase; i++) {
    const m = asset.merges[i]!;
    const sp = m.indexOf(' ', 1);
    const a = m.slice(0, sp);
    const b = m.slice(sp + 1);
    if (sp < 0 || !seen.has(a) || !seen.has(b)) {
      throw new EngineError('model_invalid', `BPE merge ${i} "${m}" joins a token that no earlier merge made; the merge prefix is not self-consistent`);
    }
    merges.push(m);
    if (!seen.has(a + b)) {
      seen.add(a + b);
      tokens.push(a + b);
    }
  }
  if (tokens.length < nBase) throw new EngineError('bad_argument', `the vocab asset has merges for ${tokens.length} tokens, ${nBase} requested`);
  return { tokens, merges };
}

function bpeVocab(asset: BpeAsset, nVocab: number, specials: readonly string[], chatTemplate: string, roles: { bos: number; eos: number; pad: number; addBos: boolean }): SynthVocab {
  const { tokens, merges } = bpePrefix(asset, nVocab - specials.length);
  const base = tokens.length;
  const types = new Int32Array(nVocab).fill(NORMAL);
  types.fill(CONTROL, base);
  return {
    model: 'gpt2',
    pre: asset.pre,
    tokens: [...tokens, ...specials],
    types,
    merges,
    bos: base + roles.bos,
    eos: base + roles.eos,
    pad: base + roles.pad,
    addBos: roles.addBos,
    addEos: false,
    chatTemplate,
  };
}

async function fullDeepseekVocab(assets: SynthAssets, nVocab: number): Promise<SynthVocab> {
  const model = await openGGUF(await assets.open(FULL_DEEPSEEK_VOCAB));
  try {
    const md = model.metadata;
    const f = FULL_DEEPSEEK_VOCAB;
    const tokens = mdArray(md, 'tokenizer.ggml.tokens', f).values as readonly string[];
    if (tokens.length !== nVocab) throw new EngineError('model_invalid', `${f} has ${tokens.length} tokens, the preset needs ${nVocab}`, { file: f });
    return {
      model: 'gpt2',
      pre: 'deepseek-llm',
      tokens,
      types: Int32Array.from(mdArray(md, 'tokenizer.ggml.token_type', f).values as Int32Array),
      merges: mdArray(md, 'tokenizer.ggml.merges', f).values as readonly string[],
      bos: mdNumber(md, 'tokenizer.ggml.bos_token_id', f),
      eos: mdNumber(md, 'tokenizer.ggml.eos_token_id', f),
      pad: mdNumber(md, 'tokenizer.ggml.padding_token_id', f),
      addBos: mdBool(md, 'tokenizer.ggml.add_bos_token', f, true),
      addEos: mdBool(md, 'tokenizer.ggml.add_eos_token', f, false),
      chatTemplate: CHAT_DEEPSEEK,
    };
  } finally {
    await model.close();
  }
}

export async function loadVocab(kind: VocabKind, nVocab: number, assets: SynthAssets): Promise<SynthVocab> {
  if (kind === 'stories-spm') {
    const a = await readJson<SpmAsset>(assets, VOCAB_ASSET[kind]);
    if (a.tokens.length !== nVocab) throw new EngineError('bad_argument', `the SentencePiece vocab has ${a.tokens.length} tokens, ${nVocab} requested`);
    return {
      model: 'llama',
      tokens: a.tokens,
      scores: Float32Array.from(a.scores),
      types: Int32Array.from(a.types),
      bos: a.bos,
      eos: a.eos,
      unk: a.unk,
      addBos: true,
      addEos: false,
      chatTemplate: CHAT_LLAMA2,
    };
  }
  if (kind === 'deepseek-llm') {
    // The derived asset holds 8192 tokens; the real vocab is bigger than any derived one.
    const a = await readJson<BpeAsset>(assets, VOCAB_ASSET[kind]);
    if (nVocab > a.bytes.length + a.merges.length + DEEPSEEK_SPECIALS.length) return fullDeepseekVocab(assets, nVocab);
    return bpeVocab(a, nVocab, DEEPSEEK_SPECIALS, CHAT_DEEPSEEK, { bos: 0, eos: 1, pad: 1, addBos: true });
  }
  const a = await readJson<BpeAsset>(assets, VOCAB_ASSET[kind]);
  // Qwen2: no BOS is added; <|endoftext|> doubles as bos/pad, <|im_end|> ends a chat turn.
  return bpeVocab(a, nVocab, QWEN_SPECIALS, CHAT_CHATML, { bos: 0, eos: 2, pad: 0, addBos: false });
}

export function vocabMetadata(v: SynthVocab): MetaEntry[] {
  const m: MetaEntry[] = [meta.str('tokenizer.ggml.model', v.model)];
  if (v.pre !== undefined) m.push(meta.str('tokenizer.ggml.pre', v.pre));
  m.push(['tokenizer.ggml.tokens', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.STRING, values: v.tokens } }]);
  if (v.scores !== undefined) m.push(['tokenizer.ggml.scores', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.FLOAT32, values: v.scores } }]);
  m.push(['tokenizer.ggml.token_type', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.INT32, values: v.types } }]);
  if (v.merges !== undefined) m.push(['tokenizer.ggml.merges', { type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.STRING, values: v.merges } }]);
  m.push(meta.u32('tokenizer.ggml.bos_token_id', v.bos), meta.u32('tokenizer.ggml.eos_token_id', v.eos));
  if (v.unk !== undefined) m.push(meta.u32('tokenizer.ggml.unknown_token_id', v.unk));
  if (v.pad !== undefined) m.push(meta.u32('tokenizer.ggml.padding_token_id', v.pad));
  m.push(
    meta.bool('tokenizer.ggml.add_bos_token', v.addBos),
    meta.bool('tokenizer.ggml.add_eos_token', v.addEos),
    meta.str('tokenizer.chat_template', v.chatTemplate),
  );
  return m;
}
