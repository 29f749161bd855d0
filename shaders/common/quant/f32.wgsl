// F32 rows: element e at byte row + 4e. Helper contract (every file in quant/): a row is a sequence of dot
// chunks of DOT_CHUNK elements, CPB chunks per block of BLOCK_BYTES (float types: one chunk per virtual block);
// load_x(c, xo) = the x values chunk c multiplies (x read via x4/x1 from element xo); dot_chunk(row, c, xv) = Σ w·x
// over chunk c of the row whose block 0 starts at byte `row` of W (u32 arithmetic may wrap: only row + offset is
// used); dq4(row, e) = elements e..e+3. Float rows may be any length: elements at or past KDIM count as 0.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 8u;
const CPB: u32 = 1u;
const BLOCK_BYTES: u32 = 32u;

fn wf(row: u32, e: u32) -> f32 {
    return select(0.0, bitcast<f32>(W[(row + 4u * e) >> 2u]), e < KDIM);
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
        let i = (row + 4u * e) >> 2u;
        let a = bitcast<vec4<f32>>(vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u]));
        let b = bitcast<vec4<f32>>(vec4<u32>(W[i + 4u], W[i + 5u], W[i + 6u], W[i + 7u]));
        return dot(a, (*xv)[0]) + dot(b, (*xv)[1]);
    }
    return dot(dq4(row, e), (*xv)[0]) + dot(dq4(row, e + 4u), (*xv)[1]);
}
