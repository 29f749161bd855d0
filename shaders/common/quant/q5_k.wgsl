// Q5_K (176 bytes per 256: d, dmin f16, scales[12], qh[32], qs[128]): Q4_K plus a 5th bit; qh[l] bit 2g holds
// element 64 g + l's and bit 2g + 1 element 64 g + 32 + l's. Blocks are 16-byte aligned. Chunks as in Q4_K.
#include "common/quant/k_scales.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 8u;
const BLOCK_BYTES: u32 = 176u;

fn q5k_hi(qh: u32, bit: u32) -> vec4<f32> {
    return u2f(((vec4<u32>(qh, qh >> 8u, qh >> 16u, qh >> 24u) >> vec4<u32>(bit)) & vec4<u32>(1u)) << vec4<u32>(4u));
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let w = (row + (e >> 8u) * 176u) >> 2u;
    let g = (e >> 6u) & 3u;
    let hi = (e >> 5u) & 1u;
    let l = e & 31u;
    let dm = unpack2x16float(W[w]);
    let sm = scale_min_k4(2u * g + hi, W[w + 1u], W[w + 2u], W[w + 3u]);
    let q = W[w + 12u + 8u * g + (l >> 2u)];
    let n = select(nib_lo(q), nib_hi(q), hi == 1u) + q5k_hi(W[w + 4u + (l >> 2u)], 2u * g + hi);
    return n * (dm.x * sm.x) - dm.y * sm.y;
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    let xl = xo + (c >> 3u) * 256u + 64u * ((c >> 1u) & 3u) + 16u * (c & 1u);
    return array<vec4<f32>, 8>(x4(xl), x4(xl + 4u), x4(xl + 8u), x4(xl + 12u), x4(xl + 32u), x4(xl + 36u), x4(xl + 40u), x4(xl + 44u));
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let w = (row + (c >> 3u) * 176u) >> 2u;
    let g = (c >> 1u) & 3u;
    let h = c & 1u;
    let dm = unpack2x16float(W[w]);
    let s0 = W[w + 1u];
    let s1 = W[w + 2u];
    let s2 = W[w + 3u];
    let a = scale_min_k4(2u * g, s0, s1, s2);
    let b = scale_min_k4(2u * g + 1u, s0, s1, s2);
    let qw = w + 12u + 8u * g + 4u * h;
    let hw = w + 4u + 4u * h;
    var sl = vec4<f32>(0.0);
    var sh = vec4<f32>(0.0);
    var xsl = vec4<f32>(0.0);
    var xsh = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let q = W[qw + j];
        let qh = W[hw + j];
        let xa = (*xv)[j];
        let xb = (*xv)[4u + j];
        sl += (nib_lo(q) + q5k_hi(qh, 2u * g)) * xa;
        sh += (nib_hi(q) + q5k_hi(qh, 2u * g + 1u)) * xb;
        xsl += xa;
        xsh += xb;
    }
    return dm.x * (a.x * hsum4(sl) + b.x * hsum4(sh)) - dm.y * (a.y * hsum4(xsl) + b.y * hsum4(xsh));
}
