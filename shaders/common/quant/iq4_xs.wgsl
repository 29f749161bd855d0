// IQ4_XS (136 bytes per 256: d f16, scales_h u16, scales_l[4], qs[128]): 8 sub-blocks of 32 with 6-bit scales
// ls (low 4 bits in scales_l nibbles, high 2 in scales_h); qs[16 ib + j] holds elements 32 ib + j and + j + 16;
// x = d (ls - 32) kvalues[q]. Blocks are 4-byte aligned.
#include "common/quant/iq4_common.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 8u;
const BLOCK_BYTES: u32 = 136u;

fn iq4xs_scale(b: u32, ib: u32) -> f32 {
    let w0 = W[b >> 2u];
    let lo = (ld8(b + 4u + (ib >> 1u)) >> (4u * (ib & 1u))) & 0xfu;
    let hi = ((w0 >> 16u) >> (2u * ib)) & 3u;
    return unpack2x16float(w0).x * (f32(lo | (hi << 4u)) - 32.0);
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 8u) * 136u;
    let ib = (e >> 5u) & 7u;
    let j = e & 31u;
    let q = W[(b + 8u + 16u * ib + (j & 15u)) >> 2u];
    return kv4(select(nib_lo_u(q), nib_hi_u(q), j >= 16u)) * iq4xs_scale(b, ib);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    return xs8(xo + c * 32u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let b = row + (c >> 3u) * 136u;
    let ib = c & 7u;
    let qw = (b + 8u + 16u * ib) >> 2u;
    var s = 0.0;
    for (var j = 0u; j < 4u; j++) {
        let q = W[qw + j];
        s += dot(kv4(nib_lo_u(q)), (*xv)[j]) + dot(kv4(nib_hi_u(q)), (*xv)[4u + j]);
    }
    return iq4xs_scale(b, ib) * s;
}
