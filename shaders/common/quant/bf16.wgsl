// BF16 rows: element e at byte row + 2e; a bf16 is the top half of an f32. See f32.wgsl for the helper contract.
#include "common/quant/x_contig.wgsl"
const DOT_CHUNK: u32 = 8u;
const CPB: u32 = 1u;
const BPE: u32 = 2u; // bytes per element
const BLOCK_BYTES: u32 = 16u;

fn bf2(q: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(q << 16u), bitcast<f32>(q & 0xffff0000u));
}

fn wf(row: u32, e: u32) -> f32 {
    return select(0.0, bitcast<f32>(ld16(row + 2u * e) << 16u), e < KDIM);
}

fn w8(o: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(vec4<f32>(bf2(ld32(o)), bf2(ld32(o + 4u))), vec4<f32>(bf2(ld32(o + 8u)), bf2(ld32(o + 12u))));
}

#include "common/quant/float_rows.wgsl"
