// Q8_0 (34 bytes per 32: d f16, qs[32] int8); x = q d. Blocks alternate between 4- and 2-byte alignment.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 32u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 34u;

fn dq4(row: u32, e: u32) -> vec4<f32> {
    let b = row + (e >> 5u) * 34u;
    return bytes_i8(ld32(b + 2u + (e & 31u))) * ldf16(b);
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 8> {
    return xs8(xo + c * 32u);
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let b = row + c * 34u;
    var s = 0.0;
    for (var j = 0u; j < 8u; j++) {
        s += dot(bytes_i8(ld32(b + 2u + 4u * j)), (*xv)[j]);
    }
    return ldf16(b) * s;
}
