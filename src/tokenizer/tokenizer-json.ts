// The parts of Hugging Face tokenizer.json and tokenizer_config.json that ktweb reads or writes. Fields not
// listed here pass through untouched to @huggingface/tokenizers.

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

export interface PatternJson {
  String?: string;
  Regex?: string;
}

/** A component (normalizer, pre_tokenizer, decoder, post_processor): a `type` plus its own fields. */
export interface ComponentJson {
  type: string;
  [key: string]: unknown;
}

export interface BPEModelJson {
  type: 'BPE';
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: [string, string][] | string[];
}

export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: ComponentJson | null;
  pre_tokenizer: ComponentJson | null;
  post_processor: ComponentJson | null;
  decoder: ComponentJson | null;
  model: { type?: string; vocab?: unknown; unk_token?: string | null; byte_fallback?: boolean; [key: string]: unknown };
}

/** A special token in tokenizer_config.json: a string, or `{"__type": "AddedToken", "content": ...}`. */
export type ConfigToken = string | { content: string; [key: string]: unknown } | null;

export interface TokenizerConfigJson {
  bos_token?: ConfigToken;
  eos_token?: ConfigToken;
  unk_token?: ConfigToken;
  pad_token?: ConfigToken;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  clean_up_tokenization_spaces?: boolean;
  /** A template, or named templates (`[{name, template}]` as saved by transformers, or a name → template map). */
  chat_template?: string | { name: string; template: string }[] | Record<string, string> | null;
  [key: string]: unknown;
}

export function configTokenContent(t: ConfigToken | undefined): string | null {
  if (typeof t === 'string') return t;
  if (t !== null && typeof t === 'object' && typeof t.content === 'string') return t.content;
  return null;
}
