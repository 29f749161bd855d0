// Shared plumbing for the row codecs: argument checks (typed arrays silently drop out-of-range writes, so a short
// buffer must fail loudly here) and little-endian field access that works on any byte offset.
import { EngineError } from '../core/errors.ts';
import { fp16LookupTable, fp32ToFp16 } from './f16.ts';

/** Number of blocks in a row of `n` elements; throws bad_argument when the buffers cannot hold that row. */
export function checkRow(
  name: string,
  blockSize: number,
  typeSize: number,
  n: number,
  bytesLength: number,
  floatsLength: number,
): number {
  if (!Number.isSafeInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new EngineError('bad_argument', `${name}: element count ${n} is not a multiple of the block size ${blockSize}`);
  }
  const nb = n / blockSize;
  if (bytesLength < nb * typeSize) {
    throw new EngineError('bad_argument', `${name}: ${n} elements need ${nb * typeSize} bytes, the buffer has ${bytesLength}`);
  }
  if (floatsLength < n) {
    throw new EngineError('bad_argument', `${name}: ${n} elements do not fit a float buffer of ${floatsLength}`);
  }
  return nb;
}

const FP16 = fp16LookupTable();

/** Reads the ggml_half at `o` as fp32. */
export function readF16(b: Uint8Array, o: number): number {
  return FP16[(b[o] as number) | ((b[o + 1] as number) << 8)] as number;
}

/** Writes GGML_FP32_TO_FP16(x) at `o` and returns the value the stored half decodes to (ggml re-reads it). */
export function writeF16(b: Uint8Array, o: number, x: number): number {
  const h = fp32ToFp16(x);
  b[o] = h & 0xff;
  b[o + 1] = h >>> 8;
  return FP16[h] as number;
}

export function readU16(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** C's `roundf`: halves go away from zero (Math.round sends -2.5 to -2). */
export function roundf(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** C's conversion of an int to int8_t (two's complement wrap, as every ggml target does). */
export function toInt8(v: number): number {
  return (v << 24) >> 24;
}
