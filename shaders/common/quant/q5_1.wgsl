// Q5_1 (24 bytes per 32: d, m f16, qh u32, qs[16]); bits as Q5_0; x = q d + m.
#include "common/quant/q5_bits.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 24u;

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 5u) * 24u;
    let j = e & 31u;
    let dm = unpack2x16float(W[b >> 2u]);
    let q = W[(b + 8u + (j & 15u)) >> 2u];
    let n = select(nib_lo(q), nib_hi(q), j >= 16u) + q5_hi(W[(b >> 2u) + 1u], j);
    return n * dm.x + dm.y;
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    return xs8(xo + c * 32u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let b = row + c * 24u;
    let w = b >> 2u;
    let dm = unpack2x16float(W[w]);
    let qh = W[w + 1u];
    var s = 0.0;
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let q = W[w + 2u + j];
        s += dot(nib_lo(q) + q5_hi(qh, 4u * j), (*xv)[j]) + dot(nib_hi(q) + q5_hi(qh, 16u + 4u * j), (*xv)[4u + j]);
        sx += (*xv)[j] + (*xv)[4u + j];
    }
    return dm.x * s + dm.y * xsum(sx);
}
