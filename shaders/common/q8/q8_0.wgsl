// Q8_0 weights · Q8_0-rounded activations: 34-byte blocks (d f16, 32 int8), one block per chunk. Blocks alternate
// between 4- and 2-byte alignment, so words are funnelled (ld32). (Chunks of two blocks, each half at a fixed
// alignment, measured slower on an H100: half the threads, each with twice the serial work.)
const QCHUNK: u32 = 32u;
const XW: u32 = 8u;
const XB: u32 = 1u;

fn qdot(row: u32, c: u32, xq: ptr<function, array<u32, XW>>, xs: ptr<function, array<vec2<f32>, XB>>) -> f32 {
    let b = row + c * 34u;
    var s = 0;
    for (var j = 0u; j < 8u; j++) {
        s += dot4I8Packed(ld32(b + 2u + 4u * j), (*xq)[j]);
    }
    return ldf16(b) * (*xs)[0].x * f32(s);
}
