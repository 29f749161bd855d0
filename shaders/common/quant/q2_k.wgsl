// Q2_K (84 bytes per 256: scales[16], qs[64], d, dmin f16): 16 groups of 16, x = d (sc & 15) q - dmin (sc >> 4)
// with 2-bit q. Group `is` = 8 h + 2 s + k takes bits 2s..2s+1 of qs[32 h + 16 k + i]. Blocks are 4-byte aligned.
// A dot chunk is one group.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 16u;
const CPB: u32 = 16u;
const BLOCK_BYTES: u32 = 84u;

fn q2_bits(q: u32, sh: u32) -> vec4<f32> {
    return u2f((vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) >> vec4<u32>(sh)) & vec4<u32>(3u));
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let w = (row + (e >> 8u) * 84u) >> 2u;
    let is = (e >> 4u) & 15u;
    let sc = (W[w + (is >> 2u)] >> (8u * (is & 3u))) & 0xffu;
    let dm = unpack2x16float(W[w + 20u]);
    let q = W[w + 4u + 8u * (is >> 3u) + 4u * (is & 1u) + ((e & 15u) >> 2u)];
    return q2_bits(q, 2u * ((is >> 1u) & 3u)) * (dm.x * f32(sc & 0xfu)) - dm.y * f32(sc >> 4u);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 4> {
    return xs4(xo + c * 16u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let w = (row + (c >> 4u) * 84u) >> 2u;
    let is = c & 15u;
    let sc = (W[w + (is >> 2u)] >> (8u * (is & 3u))) & 0xffu;
    let dm = unpack2x16float(W[w + 20u]);
    let qw = w + 4u + 8u * (is >> 3u) + 4u * (is & 1u);
    let sh = 2u * ((is >> 1u) & 3u);
    var s = vec4<f32>(0.0);
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let x = (*xv)[j];
        s += q2_bits(W[qw + j], sh) * x;
        sx += x;
    }
    return dm.x * f32(sc & 0xfu) * hsum4(s) - dm.y * f32(sc >> 4u) * hsum4(sx);
}
