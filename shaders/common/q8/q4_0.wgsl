// Q4_0 weights · Q8_0-rounded activations: 18-byte blocks (d f16, 16 bytes of nibbles: byte j holds element j low
// and j + 16 high), one block per chunk; x = (q - 8) d, so Σ w x = d_w d_x (Σ q q_x - 8 Σ q_x).
const QCHUNK: u32 = 32u;
const XW: u32 = 8u;
const XB: u32 = 1u;

fn qdot(row: u32, c: u32, xq: ptr<function, array<u32, XW>>, xs: ptr<function, array<vec2<f32>, XB>>) -> f32 {
    let b = row + c * 18u;
    var s = 0;
    for (var j = 0u; j < 4u; j++) {
        let q = ld32(b + 2u + 4u * j);
        s += dot4I8Packed(q & 0x0f0f0f0fu, (*xq)[j]) + dot4I8Packed((q >> 4u) & 0x0f0f0f0fu, (*xq)[4u + j]);
    }
    return ldf16(b) * (*xs)[0].x * (f32(s) - 8.0 * (*xs)[0].y);
}
