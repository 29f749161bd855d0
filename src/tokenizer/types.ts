// The tokenizer as the engine sees it: ids in, text out, with llama.cpp's semantics for special tokens so that
// a GGUF tokenizes here exactly as it does in llama.cpp.

export interface EncodeOptions {
  /** Add BOS (and EOS) when the model asks for them (add_bos_token / add_eos_token). Default true, as in
   *  llama_tokenize(add_special) and HF's add_special_tokens. */
  readonly addSpecial?: boolean;
  /** Match control tokens (`<s>`, `<|im_end|>`) written in the text. Default false, so user text cannot
   *  smuggle in control tokens; rendered chat templates are encoded with `parseSpecial: true`.
   *  User-defined tokens are matched either way (llama.cpp and HF both do that). */
  readonly parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control and unknown tokens as nothing instead of their text. Default false. */
  readonly skipSpecial?: boolean;
}

/**
 * Turns generated ids into text as they arrive. One token may end in the middle of a UTF-8 character
 * (byte-fallback `<0xE4>`, byte-level pieces), so bytes are held back until the character is complete.
 */
export interface StreamDecoder {
  /** Text completed by this token; '' while a character is still incomplete. */
  push(id: number): string;
  /** Whatever is still held back (an incomplete character comes out as U+FFFD). */
  flush(): string;
}

/** Token attributes, bit for bit llama.cpp's llama_token_attr. */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

/** How a token's text becomes bytes when decoding. */
export type PieceStyle =
  | 'byte-level' // GPT-2 byte alphabet (Ġ = space)
  | 'spm' // SentencePiece: ▁ = space, <0xNN> = one raw byte
  | 'plain'; // the text itself

export interface Tokenizer {
  /** Number of token ids (the embedding rows a model needs at least). */
  readonly vocabSize: number;
  readonly style: PieceStyle;
  readonly bos: number | null;
  readonly eos: number | null;
  /** End of turn (`<|im_end|>`, `<|eot_id|>`, `<｜end▁of▁sentence｜>`), when the vocabulary has one. */
  readonly eot: number | null;
  /** Every id that ends generation: eos, eot, eom and the end-like tokens llama.cpp recognises by text. */
  readonly eog: ReadonlySet<number>;
  /** Whether encode() with addSpecial prepends BOS. */
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** The default chat template (Jinja source) shipped with the tokenizer, if any. */
  readonly chatTemplate: string | null;

  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
  /** The text one token stands for (llama.cpp token_to_piece with special=true); a token that holds part of
   *  a UTF-8 character shows U+FFFD. */
  tokenToPiece(id: number): string;
  /** The bytes one token stands for. */
  tokenBytes(id: number): Uint8Array;
  /** The token as spelled in the vocabulary (`Ġthe`, `▁the`, `<0x0A>`, `<|im_end|>`). */
  tokenText(id: number): string;
  /** Id of a vocabulary entry spelled exactly `text`, or null. */
  tokenId(text: string): number | null;
  /** TokenAttr bits of a token. */
  tokenAttr(id: number): number;
  isEog(id: number): boolean;
}
