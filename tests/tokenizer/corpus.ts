// Test strings for comparing tokenizers with llama.cpp: a fixed list of hard cases plus seeded random ones.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXED: readonly string[] = [
  '',
  ' ',
  '  ',
  '   ',
  '\t',
  '\n',
  '\n\n',
  '\n\n\n\n',
  '\r\n',
  ' \n \n',
  '\t\t\tindented',
  'Hello world',
  'Hello World!',
  ' Hello world',
  '  Hello  world  ',
  'Hello world   ',
  'hello\nworld',
  'hello\n\nworld\n',
  'The quick brown fox jumps over the lazy dog.',
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.',
  'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness...',
  "I'm sure she's right, we've seen it, they're here, you'll see, he'd know, it's John's.",
  "I'M SHE'S WE'VE THEY'RE YOU'LL HE'D",
  "don't won't can't shouldn't 'tis 'twas rock 'n' roll",
  " ' hello ' world '' ''' ",
  'a',
  'A',
  'ab',
  'abc',
  '1',
  '12',
  '123',
  '1234',
  '12345',
  '1234567890',
  '3.14159',
  '3.14159265358979323846264338327950288419716939937510',
  '1,000,000.00 and -42 and +7 and 1e-10 and 0x1F',
  '2024-01-15T12:34:56Z',
  '$100 €50 £30 ¥2000 ₹99',
  '!!!',
  '???!!!...',
  '.,;:!?',
  '---===+++***',
  '(){}[]<>',
  '<<>>&&||^^~~``',
  '@#$%^&*()_+-=[]{}|;\':",./<>?',
  '...',
  '…',
  '— – ‐',
  '« guillemets » “quotes” ‘single’',
  'café résumé naïve coöperate façade',
  'Ångström Øresund Æsir œuvre',
  'Köln München Zürich Straße',
  'ﬁ ﬂ ﬀ ligatures',
  'e\u0301 a\u0300 o\u0308 combining',
  'Ελληνικά γράμματα',
  'Русский текст, привет мир!',
  'עברית שלום',
  'العربية مرحبا بالعالم',
  'हिन्दी नमस्ते',
  'ภาษาไทย สวัสดี',
  '中文',
  '中文字符测试',
  '你好，世界！',
  '我爱北京天安门。',
  '日本語',
  '日本語の文章です。\u3000次の文。',
  '  \u3000\u3000',
  'a中、\u2003\u2003\u3000\u3000\uff21',
  '「引用」\u3000、\u3000終わり\u3000',
  '中\u2003文\u3000字 漢字\u2009漢字\u202f한국',
  'こんにちは世界',
  'カタカナとひらがな、漢字。',
  '한국어',
  '안녕하세요 세계',
  '中文 English 日本語 한국어 mixed',
  'Tiếng Việt có dấu',
  '😀',
  '😀😃😄',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🧑‍🤝‍🧑',
  '🏳️‍🌈',
  '❤️',
  '🇺🇸🇩🇪',
  'emoji 🎉 in 🚀 text 🌍!',
  '∑∫∂√∞≠≤≥',
  '→ ← ↑ ↓ ⇒',
  '©®™°±×÷',
  '\u00a0non-breaking\u00a0space',
  'ideographic\u3000space',
  'en\u2002em\u2003thin\u2009spaces',
  'zero\u200bwidth\u200cjoiner\u200d',
  '\ufeffBOM at start',
  'line\u2028separator\u2029paragraph',
  'next\u0085line',
  'vertical\u000btab\u000cform',
  'tab\there',
  'a\tb\tc',
  'trailing tab\t',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'function add(a, b) {\n  return a + b;\n}\n\nconsole.log(add(1, 2));',
  'const x = { "key": [1, 2, 3], nested: { a: null } };',
  'for (let i = 0; i < 10; i++) {\n\tconsole.log(`i = ${i}`);\n}',
  '#include <stdio.h>\nint main() { printf("hi\\n"); return 0; }',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%john%\';',
  '<div class="container"><p>Hello &amp; welcome</p></div>',
  '# Title\n\n- item 1\n- item 2\n\n```python\nprint("x")\n```',
  'https://example.com/path?query=1&other=two#frag',
  'user@example.com',
  '/usr/local/bin/node --version',
  'C:\\Windows\\System32',
  '    four spaces',
  '        eight spaces',
  'x    y',
  'word1 word2\tword3\nword4\r\nword5',
  'CamelCaseIdentifier snake_case_identifier SCREAMING_CASE',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '============================================================',
  '                                                            ',
  '▁▁already▁escaped',
  '<s>',
  '</s>',
  '<unk>',
  '<s>Hello</s>',
  ' <s> Hello </s> ',
  '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  '<|endoftext|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>Hello<｜end▁of▁sentence｜>',
  '<｜fim▁begin｜>def f():<｜fim▁hole｜>\n<｜fim▁end｜>',
  '<|User|>hi<|Assistant|>yo<|EOT|>',
  '[PAD100015] [PAD32022]',
  '<think>\nreasoning\n</think>\n\nanswer',
  '<0x0A> <0xE4>',
  'ø ö ú ÿ õ ÷ û ý À ù Á þ ü',
  "ö's Ö't",
];

/** xorshift32: the same strings on every run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

let llamaUnicodeMismatch: Set<number> | undefined;

/**
 * Code points whose Unicode category differs between llama.cpp's table (unicode-data.cpp, Unicode 15) and
 * this JavaScript engine (Node 20 here reports Unicode 17): characters assigned since. The pre-tokenizer
 * regexes classify them by the engine's Unicode, llama.cpp by its own, so random strings avoid them.
 */
export function unicodeMismatches(): Set<number> {
  if (llamaUnicodeMismatch !== undefined) return llamaUnicodeMismatch;
  // Derived once from node-llama-cpp's bundled llama.cpp/src/unicode-data.cpp (that source tree exists only
  // after a local build, not on a clean `npm ci`): inclusive code point ranges.
  const path = fileURLToPath(new URL('../data/llama-cpp-unicode15-mismatch.json', import.meta.url));
  const { ranges } = JSON.parse(readFileSync(path, 'utf8')) as { ranges: [number, number][] };
  const out = new Set<number>();
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) out.add(c);
  llamaUnicodeMismatch = out;
  return out;
}

const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'was', 'tokenizer', 'model', 'expert', 'mixture', 'GPU', 'WebGPU',
  'inference', 'Hello', 'world', 'über', 'naïve', '東京', '数据', '모델', 'данные', 'λόγος', '🙂', 'x', 'I',
];
const SEPS = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ', ', '. ', '! ', '? ', ' - ', '"', "'", '(', ')', ':', ';', '...'];
// Blocks random code points come from: Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, Hangul Jamo,
// general punctuation, symbols, CJK, Hiragana/Katakana, Hangul, private use, emoji, supplementary CJK, and
// the whole plane range occasionally.
const BLOCKS: readonly [number, number][] = [
  [0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff],
  [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x1e00, 0x1fff], [0x2000, 0x206f], [0x2070, 0x2bff],
  [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xe000, 0xe0ff], [0xf900, 0xfaff], [0xfe00, 0xfe0f],
  [0xff00, 0xffef], [0x1f300, 0x1faff], [0x20000, 0x2a6df], [0x10000, 0x10ffff],
];

function randomCodePoint(rng: Rng, skip: Set<number>): number {
  for (;;) {
    const [lo, hi] = rng.pick(BLOCKS);
    const c = lo + rng.int(hi - lo + 1);
    if ((c >= 0xd800 && c <= 0xdfff) || skip.has(c)) continue;
    return c;
  }
}

/** `n` seeded random strings of several kinds. */
export function generated(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const skip = unicodeMismatches();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    let s = '';
    if (kind === 0) {
      // printable ASCII soup
      const len = 1 + rng.int(40);
      for (let k = 0; k < len; k++) s += String.fromCharCode(0x20 + rng.int(95));
    } else if (kind === 1) {
      // random code points
      const len = 1 + rng.int(16);
      for (let k = 0; k < len; k++) s += String.fromCodePoint(randomCodePoint(rng, skip));
    } else if (kind === 2) {
      // words and separators
      const len = 1 + rng.int(12);
      for (let k = 0; k < len; k++) s += rng.pick(WORDS) + rng.pick(SEPS);
    } else if (kind === 3) {
      // numbers, whitespace runs and punctuation
      const len = 1 + rng.int(10);
      for (let k = 0; k < len; k++) {
        const r = rng.int(4);
        if (r === 0) s += String(rng.int(10 ** (1 + rng.int(9))));
        else if (r === 1) s += ' '.repeat(1 + rng.int(6));
        else if (r === 2) s += rng.pick(['\n', '\t', '\r\n', ' \n', '\n ']);
        else s += rng.pick(['.', ',', '!!', '?', '"', "'s", "'ll", '->', '==', '/*', '*/', '#']);
      }
    } else {
      // mixed: ASCII words, a random code point, emoji, whitespace
      const len = 1 + rng.int(8);
      for (let k = 0; k < len; k++) {
        s += rng.pick(WORDS);
        if (rng.int(2) === 0) s += String.fromCodePoint(randomCodePoint(rng, skip));
        s += rng.pick(SEPS);
      }
    }
    out.push(s);
  }
  return out;
}

/** The fixed list followed by `n` generated strings. */
export function corpus(n = 220, seed = 20240611): string[] {
  return [...FIXED, ...generated(n, seed)];
}
