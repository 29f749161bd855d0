// What a vocabulary needs besides the subword model: token texts and attributes, the special-token split of
// the input (llama.cpp's tokenizer_st_partition) and detokenization (token_to_piece + detokenize). Kept apart
// from the BPE model so that tokenizer.json and GGUF vocabularies share one behaviour.
import { EngineError } from '../core/errors.ts';
import { CHAR_TO_BYTE } from './byte-level.ts';
import { TokenAttr, type PieceStyle, type StreamDecoder } from './types.ts';

export interface VocabInit {
  /** Token text by id ('' for ids nothing is assigned to). */
  readonly texts: readonly string[];
  /** TokenAttr bits by id. */
  readonly attrs: Uint16Array;
  readonly style: PieceStyle;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly eot: number | null;
  readonly eog: readonly number[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SentencePiece's dummy prefix: a space goes before text after the start or a special token, and the first
   *  decoded token loses one leading space. */
  readonly addSpacePrefix: boolean;
  /** llama.cpp's clean_spaces (clean_up_tokenization_spaces) for decode(). */
  readonly cleanSpaces: boolean;
}

/** A stretch of input: text still to be tokenized, or a token id matched whole. */
export type Fragment = string | number;

interface TrieNode {
  next: Map<number, TrieNode>;
  ids: number[];
}

const SPECIAL_ATTRS = TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN;
const PARSE_ONLY_ATTRS = TokenAttr.CONTROL | TokenAttr.UNKNOWN;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** C isspace() of the "C" locale, which llama.cpp uses for lstrip/rstrip. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

export class Vocab {
  readonly texts: readonly string[];
  readonly attrs: Uint16Array;
  readonly style: PieceStyle;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly eot: number | null;
  readonly eog: ReadonlySet<number>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly cleanSpaces: boolean;
  readonly ids: ReadonlyMap<string, number>;
  private readonly trie: TrieNode = { next: new Map(), ids: [] };
  private readonly byteLen: Int32Array;
  private readonly pieces: (Uint8Array | undefined)[];

  constructor(init: VocabInit) {
    this.texts = init.texts;
    this.attrs = init.attrs;
    this.style = init.style;
    this.bos = init.bos;
    this.eos = init.eos;
    this.eot = init.eot;
    this.eog = new Set(init.eog);
    this.addBos = init.addBos;
    this.addEos = init.addEos;
    this.addSpacePrefix = init.addSpacePrefix;
    this.cleanSpaces = init.cleanSpaces;
    const ids = new Map<string, number>();
    init.texts.forEach((t, i) => {
      if (t !== '') ids.set(t, i);
    });
    this.ids = ids;
    this.pieces = new Array<Uint8Array | undefined>(init.texts.length);
    this.byteLen = new Int32Array(init.texts.length);
    for (let id = 0; id < init.texts.length; id++) {
      const text = init.texts[id]!;
      if ((init.attrs[id]! & SPECIAL_ATTRS) === 0 || text === '') continue;
      this.byteLen[id] = utf8.encode(text).length;
      let node = this.trie;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        let n = node.next.get(c);
        if (n === undefined) node.next.set(c, (n = { next: new Map(), ids: [] }));
        node = n;
      }
      node.ids.push(id);
    }
  }

  get size(): number {
    return this.texts.length;
  }

  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.texts.length) {
      throw new EngineError('bad_argument', `token id ${id} is outside the vocabulary (0..${this.texts.length - 1})`);
    }
  }

  /**
   * Splits `text` at special tokens as llama.cpp does: longest tokens (in UTF-8 bytes) first, each token
   * splitting every text fragment left by the previous ones, with lstrip/rstrip eating C whitespace next to
   * it. User-defined tokens are always matched; control and unknown tokens only with `parseSpecial`.
   */
  partition(text: string, parseSpecial: boolean): Fragment[] {
    if (text === '') return [];
    const present = this.specialsIn(text, parseSpecial);
    if (present.length === 0) return [text];
    present.sort((a, b) => this.byteLen[b]! - this.byteLen[a]! || a - b);
    // Raw fragments are [start, end) ranges of `text` so that nothing is copied until the end.
    let frags: (number | [number, number])[] = [[0, text.length]];
    for (const id of present) {
      const tok = this.texts[id]!;
      const attr = this.attrs[id]!;
      const out: (number | [number, number])[] = [];
      for (const f of frags) {
        if (typeof f === 'number') {
          out.push(f);
          continue;
        }
        let [start, end] = f;
        for (;;) {
          const at = text.indexOf(tok, start);
          if (at < 0 || at + tok.length > end) {
            if (end > start) out.push([start, end]);
            break;
          }
          let leftEnd = at;
          if (attr & TokenAttr.LSTRIP) while (leftEnd > start && isCSpace(text.charCodeAt(leftEnd - 1))) leftEnd--;
          if (leftEnd > start) out.push([start, leftEnd]);
          out.push(id);
          start = at + tok.length;
          if (attr & TokenAttr.RSTRIP) while (start < end && isCSpace(text.charCodeAt(start))) start++;
          if (start >= end) break;
        }
      }
      frags = out;
    }
    return frags.map((f) => (typeof f === 'number' ? f : text.slice(f[0], f[1])));
  }

  /** Special tokens that occur anywhere in `text`: only those can split it, and there are few. */
  private specialsIn(text: string, parseSpecial: boolean): number[] {
    const found = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      let node = this.trie.next.get(text.charCodeAt(i));
      for (let j = i + 1; node !== undefined; j++) {
        for (const id of node.ids) {
          if (parseSpecial || (this.attrs[id]! & PARSE_ONLY_ATTRS) === 0) found.add(id);
        }
        if (j >= text.length) break;
        node = node.next.get(text.charCodeAt(j));
      }
    }
    return [...found];
  }

  /** The bytes of one token (llama.cpp token_to_piece, lstrip 0). */
  pieceBytes(id: number, unparseSpecial: boolean): Uint8Array {
    this.check(id);
    const attr = this.attrs[id]!;
    if (!unparseSpecial && attr & PARSE_ONLY_ATTRS) return EMPTY;
    let p = this.pieces[id];
    if (p === undefined) {
      p = this.computePiece(id, attr);
      this.pieces[id] = p;
    }
    return p;
  }

  private computePiece(id: number, attr: number): Uint8Array {
    const text = this.texts[id]!;
    if (attr & SPECIAL_ATTRS) return utf8.encode(text);
    if (attr & TokenAttr.NORMAL) {
      if (this.style === 'byte-level') return fromByteLevel(text);
      if (this.style === 'spm') return utf8.encode(text.replaceAll('\u2581', ' '));
      return utf8.encode(text);
    }
    if (attr & TokenAttr.BYTE) {
      // strtol(text.substr(3, 2), 16): `<0x0A>` → 10; a malformed byte token reads as 0 like strtol's failure.
      const v = parseInt(text.substring(3, 5), 16);
      return Uint8Array.of(Number.isNaN(v) ? 0 : v);
    }
    return EMPTY;
  }

  /** llama.cpp's detokenize(remove_special = false) as bytes. */
  decodeBytes(ids: readonly number[], unparseSpecial: boolean): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    ids.forEach((id, i) => {
      let p = this.pieceBytes(id, unparseSpecial);
      if (i === 0 && this.addSpacePrefix && p.length > 0 && p[0] === 0x20) p = p.subarray(1);
      parts.push(p);
      total += p.length;
    });
    let out: Uint8Array = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    if (this.cleanSpaces) out = cleanSpaces(out);
    return out;
  }

  decode(ids: readonly number[], unparseSpecial: boolean): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.decodeBytes(ids, unparseSpecial));
  }

  createStreamDecoder(unparseSpecial: boolean): StreamDecoder {
    return new Utf8StreamDecoder(this, unparseSpecial);
  }
}

class Utf8StreamDecoder implements StreamDecoder {
  // stream mode holds back an incomplete trailing sequence and emits exactly what a one-shot decode of all
  // bytes would; ignoreBOM keeps a leading U+FEFF that the text really contains.
  private readonly td = new TextDecoder('utf-8', { ignoreBOM: true });
  private first = true;
  constructor(
    private readonly vocab: Vocab,
    private readonly unparseSpecial: boolean,
  ) {}

  push(id: number): string {
    let p = this.vocab.pieceBytes(id, this.unparseSpecial);
    if (this.first && this.vocab.addSpacePrefix && p.length > 0 && p[0] === 0x20) p = p.subarray(1);
    this.first = false;
    return this.td.decode(p, { stream: true });
  }

  flush(): string {
    return this.td.decode();
  }
}

/** Bytes of a byte-level token; characters outside the alphabet come out as llama_decode_text writes them. */
function fromByteLevel(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
    if (b >= 0) {
      out.push(b);
      continue;
    }
    const hex = Array.from(utf8.encode(ch), (x) => x.toString(16).padStart(2, '0')).join('');
    out.push(...utf8.encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(out);
}

/** The three passes of llama.cpp's clean_spaces, byte for byte. */
function cleanSpaces(text: Uint8Array): Uint8Array {
  const t = Uint8Array.from(text);
  const SP = 0x20;
  const Q = 0x27; // '
  // first pass: " ?", " !", " .", " ," lose the space
  let total = t.length > 0 ? 1 : 0;
  for (let i = 1; i < t.length; i++) {
    const x = t[i]!;
    if (t[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
    t[total++] = x;
  }
  // second pass: " ' " becomes "'"
  const total2 = total;
  total = total2 > 0 ? 1 : 0;
  for (let i = 1; i < total2; i++) {
    const x = t[i]!;
    if (x === Q && i + 1 < total2 && t[i - 1] === SP && t[i + 1] === SP) {
      total--;
      t[++i] = 0;
    }
    t[total++] = x;
  }
  // third pass: " 's", " 'm", " 're", " 've" lose the space
  const total3 = total;
  total = total3 > 0 ? 1 : 0;
  for (let i = 1; i < total3; i++) {
    const x = t[i]!;
    if (t[i - 1] === SP && x === Q && i + 1 < total3) {
      const x1 = t[i + 1]!;
      if (x1 === 0x73 || x1 === 0x6d) total--;
      else if (i + 2 < total3) {
        const x2 = t[i + 2]!;
        if ((x1 === 0x72 && x2 === 0x65) || (x1 === 0x76 && x2 === 0x65)) total--;
      }
    }
    t[total++] = x;
  }
  return t.subarray(0, total);
}
