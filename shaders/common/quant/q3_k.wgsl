// Q3_K (110 bytes per 256: hmask[32], qs[64], scales[12], d f16): 16 groups of 16, x = d (sc - 32) (q - 4 + 4 hbit)
// with 6-bit sc (low 4 bits: nibbles of scales[0..7], high 2: scales[8..11]) and 2 low quant bits as Q2_K; the
// high bit of element 16 is + i is bit 4 h + s of hmask[16 k + i]. Blocks are only 2-byte aligned.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 16u;
const CPB: u32 = 16u;
const BLOCK_BYTES: u32 = 110u;

fn q3_scale(b: u32, is: u32) -> f32 {
    let lo = (ld8(b + 96u + (is & 7u)) >> (4u * (is >> 3u))) & 0xfu;
    let hi = (ld8(b + 104u + (is & 3u)) >> (2u * (is >> 2u))) & 3u;
    return ldf16(b + 108u) * (f32(lo | (hi << 4u)) - 32.0);
}

// Quants of 4 consecutive elements of group `is` at in-group offset i: (q & 3) + 4 hbit, still offset by 4.
fn q3_quants(b: u32, is: u32, i: u32) -> vec4<f32> {
    let h = is >> 3u;
    let s = (is >> 1u) & 3u;
    let k = is & 1u;
    let q = ld32(b + 32u + 32u * h + 16u * k + i);
    let m = ld32(b + 16u * k + i);
    let lo = (vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) >> vec4<u32>(2u * s)) & vec4<u32>(3u);
    let hb = (vec4<u32>(m, m >> 8u, m >> 16u, m >> 24u) >> vec4<u32>(4u * h + s)) & vec4<u32>(1u);
    return u2f(lo + 4u * hb);
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 8u) * 110u;
    let is = (e >> 4u) & 15u;
    return (q3_quants(b, is, e & 15u) - 4.0) * q3_scale(b, is);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 4> {
    return xs4(xo + c * 16u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let b = row + (c >> 4u) * 110u;
    let is = c & 15u;
    var s = vec4<f32>(0.0);
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let x = (*xv)[j];
        s += q3_quants(b, is, 4u * j) * x;
        sx += x;
    }
    return q3_scale(b, is) * (hsum4(s) - 4.0 * hsum4(sx));
}
