// Q4_K (144 bytes per 256: d, dmin f16, scales[12], qs[128]): 8 sub-blocks of 32, x = d sc q - dmin m. qs[32 g + l]
// holds element 64 g + l (low nibble, sub-block 2g) and 64 g + 32 + l (high, 2g + 1). Blocks are 16-byte aligned.
// A dot chunk is 16 qs bytes: 16 elements of sub-block 2g and the 16 matching ones of 2g + 1.
#include "common/quant/k_scales.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 8u;
const BLOCK_BYTES: u32 = 144u;

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let w = (row + (e >> 8u) * 144u) >> 2u;
    let g = (e >> 6u) & 3u;
    let hi = (e >> 5u) & 1u;
    let l = e & 31u;
    let dm = unpack2x16float(W[w]);
    let sm = scale_min_k4(2u * g + hi, W[w + 1u], W[w + 2u], W[w + 3u]);
    let q = W[w + 4u + 8u * g + (l >> 2u)];
    return select(nib_lo(q), nib_hi(q), hi == 1u) * (dm.x * sm.x) - dm.y * sm.y;
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    let xl = xo + (c >> 3u) * 256u + 64u * ((c >> 1u) & 3u) + 16u * (c & 1u);
    return array<vec4<f32>, 8>(x4(xl), x4(xl + 4u), x4(xl + 8u), x4(xl + 12u), x4(xl + 32u), x4(xl + 36u), x4(xl + 40u), x4(xl + 44u));
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let w = (row + (c >> 3u) * 144u) >> 2u;
    let g = (c >> 1u) & 3u;
    let h = c & 1u;
    let dm = unpack2x16float(W[w]);
    let s0 = W[w + 1u];
    let s1 = W[w + 2u];
    let s2 = W[w + 3u];
    let a = scale_min_k4(2u * g, s0, s1, s2);
    let b = scale_min_k4(2u * g + 1u, s0, s1, s2);
    let qw = w + 4u + 8u * g + 4u * h;
    var sl = vec4<f32>(0.0);
    var sh = vec4<f32>(0.0);
    var xsl = vec4<f32>(0.0);
    var xsh = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let q = W[qw + j];
        let xa = (*xv)[j];
        let xb = (*xv)[4u + j];
        sl += nib_lo(q) * xa;
        sh += nib_hi(q) * xb;
        xsl += xa;
        xsh += xb;
    }
    return dm.x * (a.x * hsum4(sl) + b.x * hsum4(sh)) - dm.y * (a.y * hsum4(xsl) + b.y * hsum4(xsh));
}
