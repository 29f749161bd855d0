// llama.cpp's BPE pre-tokenizers (llm_tokenizer_bpe in llama-vocab.cpp), written as the Hugging Face
// pre_tokenizer that the models' own tokenizer.json files use: a Sequence of regex Splits (each regex splits
// every piece the previous one left, keeping matches and gaps alike, like unicode_regex_split) followed by
// ByteLevel without its own regex.
//
// Regexes are in Oniguruma syntax (what tokenizer.json holds; @huggingface/tokenizers translates them), and
// are adjusted where llama.cpp's matcher differs from the regex as written:
//  - llama.cpp maps non-ASCII whitespace to \v before running std::regex, so a whitespace character never
//    matches a literal range that contains it (U+3000 in `　-。`, U+2000.. in `ࠀ-一`); those ranges have the
//    White_Space characters taken out. `\s` is translated to \p{White_Space}, llama.cpp's whitespace set.
//  - the gpt2 regex is run by a hand-written matcher that also has the trailing `|\s+` alternative.
//  - llama3/qwen2 use the `'[sS]` form llama.cpp uses instead of `(?i:'s)`.
// Non-ASCII characters are written as \x{..} escapes: several in llama.cpp's classes (U+1FD3, U+212A, ...)
// have canonical decompositions, and an editor or tool that normalizes to NFC would silently change them.
import type { ComponentJson } from './tokenizer-json.ts';

export interface PreTokenizerSpec {
  /** llama.cpp's name of the pre-tokenizer type (LLAMA_VOCAB_PRE_TYPE_*). */
  readonly type: string;
  readonly regexes: readonly string[];
  /** Look a whole pre-token up in the vocabulary before merging (llama3). */
  readonly ignoreMerges: boolean;
  /** Default of add_bos when the GGUF has no tokenizer.ggml.add_bos_token. */
  readonly addBos: boolean;
  /** llama.cpp's clean_spaces: detokenize drops the space before `?!.,` and some apostrophes. */
  readonly cleanSpaces: boolean;
}

const WHITE_SPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

const hex = (c: number): string => `\\x{${c.toString(16).toUpperCase()}}`;

/** A character class of inclusive code point ranges minus the White_Space characters. */
function classWithoutWhiteSpace(ranges: readonly (readonly [number, number])[]): string {
  let body = '';
  for (const [lo, hi] of ranges) {
    let start = lo;
    for (const w of WHITE_SPACE) {
      if (w < start || w > hi) continue;
      if (w > start) body += start === w - 1 ? hex(start) : `${hex(start)}-${hex(w - 1)}`;
      start = w + 1;
    }
    if (start <= hi) body += start === hi ? hex(start) : `${hex(start)}-${hex(hi)}`;
  }
  return `[${body}]`;
}

// `[一-龥ࠀ-一가-퟿]` of deepseek-llm/coder.
const DEEPSEEK_CJK = classWithoutWhiteSpace([
  [0x4e00, 0x9fa5],
  [0x0800, 0x4e00],
  [0xac00, 0xd7ff],
]);

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const SPECS: readonly PreTokenizerSpec[] = [
  {
    type: 'default',
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
    ignoreMerges: false,
    addBos: false,
    cleanSpaces: true,
  },
  { type: 'gpt2', regexes: [GPT2], ignoreMerges: false, addBos: false, cleanSpaces: true },
  { type: 'llama3', regexes: [LLAMA3], ignoreMerges: true, addBos: true, cleanSpaces: true },
  { type: 'qwen2', regexes: [QWEN2], ignoreMerges: false, addBos: false, cleanSpaces: false },
  {
    type: 'deepseek-llm',
    regexes: [
      '[\\r\\n]',
      '\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+',
      // `　-。` of llama.cpp less U+3000 (whitespace)
      '\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3001}-\\x{3002}]+',
      '\\s+$',
      `${DEEPSEEK_CJK}+`,
      '\\p{N}+',
    ],
    ignoreMerges: false,
    addBos: false,
    cleanSpaces: false,
  },
  {
    type: 'deepseek-coder',
    regexes: ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', `${DEEPSEEK_CJK}+`, '\\p{N}'],
    ignoreMerges: false,
    addBos: false,
    cleanSpaces: false,
  },
  {
    type: 'deepseek-v3',
    regexes: [
      '\\p{N}{1,3}',
      '[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+',
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    ignoreMerges: false,
    addBos: false,
    cleanSpaces: false,
  },
];

/** tokenizer.ggml.pre values → spec type, as llama_vocab::impl::load maps them. */
const ALIASES: Readonly<Record<string, string>> = {
  default: 'default',
  'gpt-2': 'gpt2',
  gpt2: 'gpt2',
  llama3: 'llama3',
  'llama-v3': 'llama3',
  'llama-bpe': 'llama3',
  qwen2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  'deepseek-llm': 'deepseek-llm',
  'deepseek-coder': 'deepseek-coder',
  'deepseek-v3': 'deepseek-v3',
};

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(ALIASES);

/** The spec for a tokenizer.ggml.pre value, or undefined when ktweb does not know it. */
export function preTokenizerSpec(pre: string): PreTokenizerSpec | undefined {
  const type = ALIASES[pre];
  return type === undefined ? undefined : SPECS.find((s) => s.type === type);
}

/** The tokenizer.json pre_tokenizer for a byte-level BPE with these regexes. */
export function byteLevelPreTokenizerJson(regexes: readonly string[]): ComponentJson {
  return {
    type: 'Sequence',
    pretokenizers: [
      ...regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}
