// Byte-addressed reads of GGUF blocks from `W: array<u32>` (declared by the including kernel). Offsets are in
// bytes. Every field of every block layout lies at an even offset, but blocks of 18, 22, 34, 110 and 210 bytes
// leave half of them 2 mod 4, so 32-bit reads funnel two words together.

// 4 bytes at an even byte offset. Both words are read unconditionally: in unrolled loops over consecutive
// words the compiler shares them between iterations, and weight buffers carry 16 bytes of tail padding.
fn ld32(off: u32) -> u32 {
    let i = off >> 2u;
    return select(W[i], (W[i] >> 16u) | (W[i + 1u] << 16u), (off & 2u) != 0u);
}

// 2 bytes at an even byte offset.
fn ld16(off: u32) -> u32 {
    return (W[off >> 2u] >> ((off & 2u) << 3u)) & 0xffffu;
}

fn ld8(off: u32) -> u32 {
    return (W[off >> 2u] >> ((off & 3u) << 3u)) & 0xffu;
}

fn ldf16(off: u32) -> f32 {
    return unpack2x16float(ld16(off)).x;
}

// Small unsigned integers (< 2^23) to f32 exactly without an int-to-float conversion (a quarter of the FMA rate
// on NVIDIA): 2^23 + v is an f32 whose mantissa is v.
fn u2f(v: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(v | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0);
}

// Low / high nibbles of the 4 bytes of q, byte 0 first.
fn nib_lo(q: u32) -> vec4<f32> {
    return u2f(vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xfu));
}

fn nib_hi(q: u32) -> vec4<f32> {
    return u2f(vec4<u32>(q >> 4u, q >> 12u, q >> 20u, q >> 28u) & vec4<u32>(0xfu));
}

fn nib_lo_u(q: u32) -> vec4<u32> {
    return vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xfu);
}

fn nib_hi_u(q: u32) -> vec4<u32> {
    return vec4<u32>(q >> 4u, q >> 12u, q >> 20u, q >> 28u) & vec4<u32>(0xfu);
}

// The 4 bytes of q as unsigned values.
fn bytes_u(q: u32) -> vec4<u32> {
    return vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu);
}

// The 4 bytes of q as int8 values: flipping the sign bit maps -128..127 to 0..255.
fn bytes_i8(q: u32) -> vec4<f32> {
    return u2f((vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu)) ^ vec4<u32>(0x80u)) - vec4<f32>(128.0);
}

fn hsum4(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}
