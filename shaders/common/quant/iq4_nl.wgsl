// IQ4_NL (18 bytes per 32: d f16, qs[16]); nibble layout as Q4_0; x = d kvalues[q].
#include "common/quant/iq4_common.wgsl"
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 18u;

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 5u) * 18u;
    let j = e & 31u;
    let q = ld32(b + 2u + (j & 15u));
    return kv4(select(nib_lo_u(q), nib_hi_u(q), j >= 16u)) * ldf16(b);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    return xs8(xo + c * 32u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let b = row + c * 18u;
    var s = 0.0;
    for (var j = 0u; j < 4u; j++) {
        let q = ld32(b + 2u + 4u * j);
        s += dot(kv4(nib_lo_u(q)), (*xv)[j]) + dot(kv4(nib_hi_u(q)), (*xv)[4u + j]);
    }
    return ldf16(b) * s;
}
