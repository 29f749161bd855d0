// GPT-2 byte-level alphabet: every byte maps to one printable code point so that BPE merges can work on
// strings. Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100.. in byte order
// (this is bytes_to_unicode() of GPT-2, unicode_byte_to_utf8_map() of llama.cpp).

function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out = new Array<string>(256);
  for (const b of keep) out[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (out[b] === undefined) out[b] = String.fromCharCode(256 + n++);
  }
  return out;
}

/** byte → its byte-level character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** UTF-16 code unit of a byte-level character → byte, or -1. All 256 characters lie below U+0144. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    t[c.charCodeAt(0)] = b;
  });
  return t;
})();

const utf8 = new TextEncoder();

/** The byte-level spelling of a text (what a byte-level BPE vocabulary stores), e.g. " é" → "ĠÃ©". */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8.encode(text)) s += BYTE_TO_CHAR[b]!;
  return s;
}
