// F16 rows: element e at byte row + 2e (rows start at even offsets). See f32.wgsl for the helper contract.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 8u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 16u;

fn wf(row: u32, e: u32) -> f32 {
    return select(0.0, ldf16(row + 2u * e), e < KDIM);
}

fn dq4(row: u32, e: u32) -> vec4<f32> {
    return vec4<f32>(wf(row, e), wf(row, e + 1u), wf(row, e + 2u), wf(row, e + 3u));
}

fn load_x(c: u32, xo: u32) -> array<vec4<f32>, 2> {
    let e = c * DOT_CHUNK;
    if (e + DOT_CHUNK <= KDIM) {
        return xs2(xo + e);
    }
    var v: array<vec4<f32>, 2>;
    for (var j = 0u; j < DOT_CHUNK; j++) {
        if (e + j < KDIM) {
            v[j >> 2u][j & 3u] = x1(xo + e + j);
        }
    }
    return v;
}

fn dot_chunk(row: u32, c: u32, xv: ptr<function, array<vec4<f32>, 2>>) -> f32 {
    let e = c * DOT_CHUNK;
    if (e + DOT_CHUNK <= KDIM) {
        let o = row + 2u * e;
        let a = vec4<f32>(unpack2x16float(ld32(o)), unpack2x16float(ld32(o + 4u)));
        let b = vec4<f32>(unpack2x16float(ld32(o + 8u)), unpack2x16float(ld32(o + 12u)));
        return dot(a, (*xv)[0]) + dot(b, (*xv)[1]);
    }
    return dot(dq4(row, e), (*xv)[0]) + dot(dq4(row, e + 4u), (*xv)[1]);
}
