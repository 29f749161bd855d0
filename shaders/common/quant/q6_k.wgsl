// Q6_K (210 bytes per 256: ql[128], qh[64], scales[16] int8, d f16): 16 groups of 16, x = d sc (q - 32) with 6-bit
// q. Group `is` = 8 h + 2 qd + lh covers elements 16 is + i: low 4 bits are nibble (qd >> 1) of
// ql[64 h + 32 (qd & 1) + 16 lh + i], high 2 bits are bits 2 qd of qh[32 h + 16 lh + i]. Blocks are 2-byte aligned.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 16u;
const CPB: u32 = 16u;
const BLOCK_BYTES: u32 = 210u;

fn q6_quants(b: u32, is: u32, i: u32) -> vec4<f32> {
    let h = is >> 3u;
    let qd = (is >> 1u) & 3u;
    let lh = is & 1u;
    let l = ld32(b + 64u * h + 32u * (qd & 1u) + 16u * lh + i);
    let m = ld32(b + 128u + 32u * h + 16u * lh + i);
    let lo = (vec4<u32>(l, l >> 8u, l >> 16u, l >> 24u) >> vec4<u32>(4u * (qd >> 1u))) & vec4<u32>(0xfu);
    let hi = (vec4<u32>(m, m >> 8u, m >> 16u, m >> 24u) >> vec4<u32>(2u * qd)) & vec4<u32>(3u);
    return u2f(lo | (hi << vec4<u32>(4u)));
}

fn q6_scale(b: u32, is: u32) -> f32 {
    let sc = bitcast<i32>(ld8(b + 192u + is) << 24u) >> 24u;
    return ldf16(b + 208u) * f32(sc);
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 8u) * 210u;
    let is = (e >> 4u) & 15u;
    return (q6_quants(b, is, e & 15u) - 32.0) * q6_scale(b, is);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 4> {
    return xs4(xo + c * 16u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let b = row + (c >> 4u) * 210u;
    let is = c & 15u;
    var s = vec4<f32>(0.0);
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let x = (*xv)[j];
        s += q6_quants(b, is, 4u * j) * x;
        sx += x;
    }
    return q6_scale(b, is) * (hsum4(s) - 32.0 * hsum4(sx));
}
