// Scalar fp16/bf16 <-> fp32 conversions with ggml's exact bit semantics (ggml-impl.h): fp32 -> fp16 rounds to
// nearest even, keeps subnormals, overflows to inf and turns every NaN into sign|0x7E00; fp32 -> bf16 rounds to
// nearest even and sets the quiet bit of NaNs. Inputs that are JS doubles are first rounded to float32, as a C
// caller passing a float would have done.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0] as number;
}

function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0] as number;
}

// 0x1.0p+112f and 0x1.0p-110f from ggml_compute_fp32_to_fp16: the first pushes values that overflow fp16 to inf,
// the second brings the rest back so the addition below rounds at fp16 precision.
const SCALE_TO_INF = 2 ** 112;
const SCALE_TO_ZERO = 2 ** -110;

/** ggml_compute_fp32_to_fp16: returns the fp16 bit pattern (0..0xFFFF). */
export function fp32ToFp16(x: number): number {
  const w = f32Bits(x);
  const fr = Math.fround;
  let base = fr(fr(f32FromBits(w & 0x7fffffff) * SCALE_TO_INF) * SCALE_TO_ZERO);
  const shl1w = (w << 1) >>> 0;
  const sign = (w & 0x80000000) >>> 0;
  let bias = (shl1w & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = fr(f32FromBits((bias >>> 1) + 0x07800000) + base);
  const bits = f32Bits(base);
  const expBits = (bits >>> 13) & 0x00007c00;
  const mantissaBits = bits & 0x00000fff;
  const nonsign = expBits + mantissaBits;
  return ((sign >>> 16) | (shl1w > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

// All 65536 fp16 values decoded once (256 KiB): dequantization reads one or two fp16 per block and F16 rows read
// one per element, so a table lookup beats bit fiddling on every call.
let fp16Table: Float32Array | undefined;

function buildFp16Table(): Float32Array {
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let w: number;
    if (exp === 0x1f) {
      w = sign | 0x7f800000 | (mant << 13); // inf, or NaN with the payload moved up like ggml does
    } else if (exp !== 0) {
      w = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant === 0) {
      w = sign;
    } else {
      // Subnormal fp16 is normal in fp32: shift the leading 1 into the implicit bit.
      let e = 113;
      let m = mant;
      while ((m & 0x400) === 0) {
        m <<= 1;
        e--;
      }
      w = sign | (e << 23) | ((m & 0x3ff) << 13);
    }
    bits[h] = w >>> 0;
  }
  return new Float32Array(bits.buffer);
}

/** The fp16 decode table, indexed by the 16-bit pattern. */
export function fp16LookupTable(): Float32Array {
  fp16Table ??= buildFp16Table();
  return fp16Table;
}

/** ggml_compute_fp16_to_fp32 for a 16-bit pattern. */
export function fp16ToFp32(h: number): number {
  return fp16LookupTable()[h & 0xffff] as number;
}

/** ggml_compute_fp32_to_bf16: returns the bf16 bit pattern. */
export function fp32ToBf16(x: number): number {
  const w = f32Bits(x);
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) | 64) & 0xffff;
  return ((w + (0x7fff + ((w >>> 16) & 1))) >>> 16) & 0xffff;
}

/** ggml_compute_bf16_to_fp32: bf16 is the top half of an fp32. */
export function bf16ToFp32(h: number): number {
  return f32FromBits(((h & 0xffff) << 16) >>> 0);
}
