// Q5_0 (22 bytes per 32: d f16, qh u32, qs[16]); element j's 5th bit is qh bit j; x = (q - 16) d.
#include "common/quant/q5_bits.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 22u;

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 5u) * 22u;
    let j = e & 31u;
    let q = ld32(b + 6u + (j & 15u));
    let n = select(nib_lo(q), nib_hi(q), j >= 16u) + q5_hi(ld32(b + 2u), j);
    return (n - 16.0) * ldf16(b);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    return xs8(xo + c * 32u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let b = row + c * 22u;
    let qh = ld32(b + 2u);
    var s = 0.0;
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let q = ld32(b + 6u + 4u * j);
        s += dot(nib_lo(q) + q5_hi(qh, 4u * j), (*xv)[j]) + dot(nib_hi(q) + q5_hi(qh, 16u + 4u * j), (*xv)[4u + j]);
        sx += (*xv)[j] + (*xv)[4u + j];
    }
    return ldf16(b) * (s - 16.0 * xsum(sx));
}
