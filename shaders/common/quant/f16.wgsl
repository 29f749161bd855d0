// F16 rows: element e at byte row + 2e (rows start at even offsets). See f32.wgsl for the helper contract.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 8u;
const CPB: u32 = 1u;
const BPE: u32 = 2u; // bytes per element
const BLOCK_BYTES: u32 = 16u;

fn wf(row: u32, e: u32) -> f32 {
    return select(0.0, ldf16(row + 2u * e), e < KDIM);
}

fn w8(o: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(vec4<f32>(unpack2x16float(ld32(o)), unpack2x16float(ld32(o + 4u))), vec4<f32>(unpack2x16float(ld32(o + 8u)), unpack2x16float(ld32(o + 12u))));
}

#include "common/quant/float_rows.wgsl"
