// F32 rows: element e at byte row + 4e. Helper contract (every file in quant/): a row is a sequence of dot
// chunks of DOT_CHUNK elements, CPB chunks per block of BLOCK_BYTES (float types: one chunk per virtual block);
// load_x(c, xo) = the x values chunk c multiplies (x read via x4/x1 from element xo); dot_chunk(row, c, xv) = Σ w·x
// over chunk c of the row whose block 0 starts at byte `row` of W (u32 arithmetic may wrap: only row + offset is
// used); dq4(row, e) = elements e..e+3. Float rows may be any length: elements at or past KDIM count as 0.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 8u;
const CPB: u32 = 1u;
const BPE: u32 = 4u; // bytes per element
const BLOCK_BYTES: u32 = 32u;

fn wf(row: u32, e: u32) -> f32 {
    return select(0.0, bitcast<f32>(W[(row + 4u * e) >> 2u]), e < KDIM);
}

fn w8(o: u32) -> array<vec4<f32>, 2> {
    let i = o >> 2u;
    return array<vec4<f32>, 2>(bitcast<vec4<f32>>(vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u])), bitcast<vec4<f32>>(vec4<u32>(W[i + 4u], W[i + 5u], W[i + 6u], W[i + 7u])));
}

#include "common/quant/float_rows.wgsl"
