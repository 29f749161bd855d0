// The 5th quant bits of Q5_0/Q5_1: element j of a block has its high bit in qh bit j.

// qh bits j..j+3 of qh as 0 or 16.
fn q5_hi(qh: u32, j: u32) -> vec4<f32> {
    return u2f(((vec4<u32>(qh) >> vec4<u32>(j, j + 1u, j + 2u, j + 3u)) & vec4<u32>(1u)) << vec4<u32>(4u));
}
