// The engine's Tokenizer: @huggingface/tokenizers runs normalizer, pre-tokenizer and subword model on plain
// text; ktweb splits the input at special tokens itself and decodes itself, with llama.cpp's semantics, because
// the HF library always splits at every added token (no "parse special = false") and its decoders differ from
// llama.cpp's token_to_piece around spaces and special tokens.
import { BPE, Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { EngineError } from '../core/errors.ts';
import { detectSpecials } from './special-tokens.ts';
import { configTokenContent, type AddedTokenJson, type ComponentJson, type TokenizerConfigJson, type TokenizerJson } from './tokenizer-json.ts';
import { TokenAttr, type DecodeOptions, type EncodeOptions, type PieceStyle, type StreamDecoder, type Tokenizer } from './types.ts';
import { Vocab } from './vocab.ts';
import { selectChatTemplate } from './chat-template.ts';

export class EngineTokenizer implements Tokenizer {
  constructor(
    private readonly hf: HFTokenizer,
    private readonly vocab: Vocab,
    readonly chatTemplate: string | null,
  ) {}

  get vocabSize(): number {
    return this.vocab.size;
  }
  get style(): PieceStyle {
    return this.vocab.style;
  }
  get bos(): number | null {
    return this.vocab.bos;
  }
  get eos(): number | null {
    return this.vocab.eos;
  }
  get eot(): number | null {
    return this.vocab.eot;
  }
  get eog(): ReadonlySet<number> {
    return this.vocab.eog;
  }
  get addBos(): boolean {
    return this.vocab.addBos;
  }
  get addEos(): boolean {
    return this.vocab.addEos;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecial ?? true;
    const out: number[] = [];
    if (addSpecial && this.vocab.addBos) out.push(this.required(this.vocab.bos, 'BOS'));
    for (const f of this.vocab.partition(text, options.parseSpecial ?? false)) {
      if (typeof f === 'number') {
        out.push(f);
        continue;
      }
      // A piece missing from the vocabulary has no id here (the HF library yields undefined); llama.cpp drops
      // such pieces too.
      for (const id of this.hf.encode(f, { add_special_tokens: false }).ids as (number | undefined)[]) {
        if (id !== undefined) out.push(id);
      }
    }
    if (addSpecial && this.vocab.addEos) out.push(this.required(this.vocab.eos, 'EOS'));
    return out;
  }

  private required(id: number | null, what: string): number {
    if (id === null) throw new EngineError('model_invalid', `the tokenizer asks for ${what} to be added but defines no ${what} token`);
    return id;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.vocab.decode(ids, !(options.skipSpecial ?? false));
  }

  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return this.vocab.createStreamDecoder(!(options.skipSpecial ?? false));
  }

  tokenToPiece(id: number): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.vocab.pieceBytes(id, true));
  }

  tokenBytes(id: number): Uint8Array {
    return this.vocab.pieceBytes(id, true).slice();
  }

  tokenText(id: number): string {
    this.vocab.check(id);
    return this.vocab.texts[id]!;
  }

  tokenId(text: string): number | null {
    return this.vocab.ids.get(text) ?? null;
  }

  tokenAttr(id: number): number {
    this.vocab.check(id);
    return this.vocab.attrs[id]!;
  }

  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }
}

/**
 * The HF tokenizer for plain text: added tokens and the post-processor are left out because ktweb matches
 * special tokens and adds BOS/EOS itself.
 */
export function createTextTokenizer(json: TokenizerJson, config: object): HFTokenizer {
  try {
    return new HFTokenizer({ ...json, added_tokens: [], post_processor: null }, config);
  } catch (e) {
    throw new EngineError('model_invalid', `tokenizer.json cannot be built: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Gives BPE merges explicit ranks (pairs may share one). Relies on the HF BPE looking ranks up in `bpe_ranks`
 * by JSON.stringify([left, right]); tests against llama.cpp catch a change of that.
 */
export function setMergeRanks(hf: HFTokenizer, merges: readonly (readonly [string, string])[], ranks: readonly number[]): void {
  const model = hf.model;
  if (!(model instanceof BPE)) throw new EngineError('model_invalid', 'merge ranks apply to a BPE model only');
  model.bpe_ranks = new Map(merges.map((m, i) => [JSON.stringify(m), ranks[i]!]));
  model.clear_cache();
}

function hasComponent(c: unknown, type: string, where: (c: ComponentJson) => boolean = () => true): boolean {
  if (c === null || typeof c !== 'object') return false;
  const comp = c as ComponentJson;
  if (comp.type === type && where(comp)) return true;
  for (const key of ['decoders', 'pretokenizers', 'normalizers', 'processors']) {
    const list = comp[key];
    if (Array.isArray(list) && list.some((x) => hasComponent(x, type, where))) return true;
  }
  return false;
}

function bad(msg: string): EngineError {
  return new EngineError('model_invalid', `tokenizer.json: ${msg}`);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}

/**
 * A tokenizer from Hugging Face files: `tokenizerJson` is the parsed tokenizer.json (or its text),
 * `tokenizerConfig` the parsed tokenizer_config.json (special tokens, add_bos_token, chat_template).
 */
export function fromTokenizerJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}): Tokenizer {
  let raw = tokenizerJson;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw) as unknown;
    } catch (e) {
      throw bad(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const obj = asObject(raw, 'the file');
  const model = asObject(obj.model, 'model');
  if (model.type !== undefined && !['BPE', 'Unigram', 'WordPiece'].includes(model.type as string)) {
    throw bad(`model type ${JSON.stringify(model.type)} is not supported; supported: BPE, Unigram, WordPiece`);
  }
  const config = (tokenizerConfig === null || tokenizerConfig === undefined ? {} : asObject(tokenizerConfig, 'tokenizer_config')) as TokenizerConfigJson;
  const added = (Array.isArray(obj.added_tokens) ? obj.added_tokens : []) as AddedTokenJson[];
  const json: TokenizerJson = {
    ...(obj as Partial<TokenizerJson>),
    added_tokens: added,
    normalizer: (obj.normalizer ?? null) as ComponentJson | null,
    pre_tokenizer: (obj.pre_tokenizer ?? null) as ComponentJson | null,
    post_processor: (obj.post_processor ?? null) as ComponentJson | null,
    decoder: (obj.decoder ?? null) as ComponentJson | null,
    model,
  };

  // Token texts by id: the model's vocabulary, then added tokens (which may repeat vocabulary entries).
  const entries: [string, number][] = [];
  if (Array.isArray(model.vocab)) {
    (model.vocab as unknown[]).forEach((e, i) => {
      if (Array.isArray(e) && typeof e[0] === 'string') entries.push([e[0], i]);
    });
  } else if (model.vocab !== null && typeof model.vocab === 'object') {
    for (const [t, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw bad(`vocabulary entry ${JSON.stringify(t)} has id ${String(id)}`);
      entries.push([t, id]);
    }
  } else {
    throw bad('model.vocab is missing');
  }
  let size = 0;
  for (const [, id] of entries) size = Math.max(size, id + 1);
  for (const a of added) {
    if (typeof a?.content !== 'string' || !Number.isInteger(a.id) || a.id < 0) throw bad(`added token ${JSON.stringify(a)} is malformed`);
    size = Math.max(size, a.id + 1);
  }
  if (size === 0) throw bad('the vocabulary is empty');

  const style: PieceStyle =
    hasComponent(json.decoder, 'ByteLevel') || hasComponent(json.pre_tokenizer, 'ByteLevel')
      ? 'byte-level'
      : model.byte_fallback === true || hasComponent(json.decoder, 'ByteFallback') || hasComponent(json.decoder, 'Metaspace') ||
          hasComponent(json.decoder, 'Replace', (c) => (c.pattern as { String?: string } | undefined)?.String === '\u2581')
        ? 'spm'
        : 'plain';
  const addSpacePrefix =
    hasComponent(json.decoder, 'Strip', (c) => c.content === ' ' && typeof c.start === 'number' && c.start > 0) ||
    hasComponent(json.decoder, 'Metaspace', (c) => (c.prepend_scheme ?? (c.add_prefix_space === false ? 'never' : 'always')) !== 'never');

  const texts = new Array<string>(size).fill('');
  const attrs = new Uint16Array(size);
  const unk = typeof model.unk_token === 'string' ? model.unk_token : configTokenContent(config.unk_token);
  for (const [t, id] of entries) {
    texts[id] = t;
    attrs[id] = t === unk ? TokenAttr.UNKNOWN : style === 'spm' && /^<0x[0-9A-Fa-f]{2}>$/.test(t) ? TokenAttr.BYTE : TokenAttr.NORMAL;
  }
  for (const a of added) {
    texts[a.id] = a.content;
    attrs[a.id] =
      (a.content === unk ? TokenAttr.UNKNOWN : a.special === true ? TokenAttr.CONTROL : TokenAttr.USER_DEFINED) |
      (a.lstrip === true ? TokenAttr.LSTRIP : 0) |
      (a.rstrip === true ? TokenAttr.RSTRIP : 0);
  }
  const ids = new Map<string, number>();
  texts.forEach((t, i) => {
    if (t !== '') ids.set(t, i);
  });

  // BOS/EOS: tokenizer_config names them; without it the post-processor template shows what is added.
  const template = postProcessorTemplate(json.post_processor, ids);
  const idOf = (t: string | null): number | null => (t === null ? null : (ids.get(t) ?? null));
  const bos = idOf(configTokenContent(config.bos_token)) ?? template.first;
  const eos = idOf(configTokenContent(config.eos_token)) ?? template.last;
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : template.first !== null && template.first === bos;
  const addEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : template.last !== null && template.last === eos;
  const sp = detectSpecials(ids, attrs, { eos, eot: null, eom: null, fimPre: null, fimSuf: null, fimMid: null, fimPad: null, fimRep: null, fimSep: null });

  const vocab = new Vocab({
    texts,
    attrs,
    style,
    bos,
    eos,
    eot: sp.eot,
    eog: sp.eog,
    addBos: addBos && bos !== null,
    addEos: addEos && eos !== null,
    addSpacePrefix,
    cleanSpaces: config.clean_up_tokenization_spaces === true,
  });
  return new EngineTokenizer(createTextTokenizer(json, config), vocab, selectChatTemplate(config.chat_template));
}

/** The special tokens a TemplateProcessing post-processor puts before and after a single sequence. */
function postProcessorTemplate(pp: ComponentJson | null, ids: ReadonlyMap<string, number>): { first: number | null; last: number | null } {
  let tp: ComponentJson | undefined;
  if (pp?.type === 'TemplateProcessing') tp = pp;
  else if (pp?.type === 'Sequence' && Array.isArray(pp.processors)) {
    tp = (pp.processors as ComponentJson[]).find((p) => p?.type === 'TemplateProcessing');
  }
  const single = tp?.single;
  if (!Array.isArray(single) || single.length === 0) return { first: null, last: null };
  const special = (item: unknown): number | null => {
    const st = (item as { SpecialToken?: { id?: string } } | null)?.SpecialToken;
    if (st?.id === undefined) return null;
    const table = (tp?.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
    return table[st.id]?.ids?.[0] ?? ids.get(st.id) ?? null;
  };
  const first = special(single[0]);
  const last = single.length > 1 ? special(single[single.length - 1]) : null;
  return { first, last };
}
