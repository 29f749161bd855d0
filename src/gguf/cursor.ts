// Buffered little-endian cursor over a ByteSource. Reads the header region in chunks, so parsing a GGUF with
// 100k vocab strings costs a few ranged reads, and every length read from the file is checked against the bytes
// that remain before anything is allocated: a corrupt count fails with an offset instead of exhausting memory.
import type { ByteSource } from '../core/byte-source.ts';
import { EngineError, type ErrorCode } from '../core/errors.ts';

const CHUNK = 1 << 20;
// ignoreBOM: a token may be exactly U+FEFF, which a default decoder would silently drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos: number;

  constructor(
    readonly source: ByteSource,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  fail(code: ErrorCode, message: string, reading: string, offset = this.pos): EngineError {
    return new EngineError(code, message, { file: this.source.name, offset, reading });
  }

  /** Makes [pos, pos+n) readable from the buffer; throws gguf_truncated if the file is shorter. */
  async need(n: number, reading: string): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    if (this.pos + n > this.source.size) {
      throw this.fail(
        'gguf_truncated',
        `file ends after ${this.source.size} bytes but ${n} more bytes are needed; the file is incomplete — download or copy it again`,
        reading,
      );
    }
    const len = Math.min(Math.max(n, CHUNK), this.source.size - this.pos);
    this.buf = await this.source.read(this.pos, len);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  async u8(reading: string): Promise<number> {
    await this.need(1, reading);
    return this.view.getUint8(this.at(1));
  }
  async i8(reading: string): Promise<number> {
    await this.need(1, reading);
    return this.view.getInt8(this.at(1));
  }
  async u16(reading: string): Promise<number> {
    await this.need(2, reading);
    return this.view.getUint16(this.at(2), true);
  }
  async i16(reading: string): Promise<number> {
    await this.need(2, reading);
    return this.view.getInt16(this.at(2), true);
  }
  async u32(reading: string): Promise<number> {
    await this.need(4, reading);
    return this.view.getUint32(this.at(4), true);
  }
  async i32(reading: string): Promise<number> {
    await this.need(4, reading);
    return this.view.getInt32(this.at(4), true);
  }
  async f32(reading: string): Promise<number> {
    await this.need(4, reading);
    return this.view.getFloat32(this.at(4), true);
  }
  async f64(reading: string): Promise<number> {
    await this.need(8, reading);
    return this.view.getFloat64(this.at(8), true);
  }
  async u64(reading: string): Promise<bigint> {
    await this.need(8, reading);
    return this.view.getBigUint64(this.at(8), true);
  }
  async i64(reading: string): Promise<bigint> {
    await this.need(8, reading);
    return this.view.getBigInt64(this.at(8), true);
  }

  /** A u64 count that must fit in `max` (already bounded by the bytes left in the file by the caller). */
  async count(reading: string, max: number, unitBytes: number): Promise<number> {
    const start = this.pos;
    const v = await this.u64(reading);
    if (v > BigInt(max)) {
      throw this.fail(
        'gguf_invalid',
        `${reading} is ${v.toString()}, more than the ${max} that ${this.source.size - start - 8} remaining bytes can hold (at least ${unitBytes} bytes each); the file is corrupt`,
        reading,
        start,
      );
    }
    return Number(v);
  }

  async bytes(n: number, reading: string): Promise<Uint8Array> {
    await this.need(n, reading);
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }

  async string(reading: string, maxLen = 1 << 26): Promise<string> {
    const start = this.pos;
    const n = await this.count(`length of ${reading}`, Math.min(maxLen, Math.max(0, this.remaining - 8)), 1);
    const b = await this.bytes(n, reading);
    try {
      return utf8.decode(b);
    } catch {
      throw this.fail('gguf_invalid', `${reading} is not valid UTF-8`, reading, start);
    }
  }
}
