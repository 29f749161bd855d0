// Q4_K weights · Q8_K-rounded activations: a chunk is one 32-element sub-block j of a 144-byte block (qs bytes
// 32 (j / 2).. hold it in the low nibbles for even j, the high ones for odd j); Σ w x = d_x (d sc_j Σ q q_x -
// dmin m_j Σ q_x), as ggml's vec_dot_q4_K_q8_K. The 6-bit scales and mins of sub-blocks 0-3 or 4-7 are unpacked
// four at a time as bytes of one word (ggml's kmask trick), without branches.
const QCHUNK: u32 = 32u;
const XW: u32 = 8u;
const XB: u32 = 1u;

fn qdot(row: u32, c: u32, xq: ptr<function, array<u32, XW>>, xs: ptr<function, array<vec2<f32>, XB>>) -> f32 {
    let w = (row + (c >> 3u) * 144u) >> 2u;
    let j = c & 7u;
    let dm = unpack2x16float(W[w]);
    let s0 = W[w + 1u];
    let s1 = W[w + 2u];
    let s2 = W[w + 3u];
    let hi = j >= 4u;
    let scw = select(s0 & 0x3f3f3f3fu, (s2 & 0x0f0f0f0fu) | ((s0 >> 2u) & 0x30303030u), hi);
    let mw = select(s1 & 0x3f3f3f3fu, ((s2 >> 4u) & 0x0f0f0f0fu) | ((s1 >> 2u) & 0x30303030u), hi);
    let sh = (j & 3u) * 8u;
    let qw = w + 4u + 8u * (j >> 1u);
    let nib = (j & 1u) * 4u;
    var s = 0;
    for (var i = 0u; i < 8u; i++) {
        s += dot4I8Packed((W[qw + i] >> nib) & 0x0f0f0f0fu, (*xq)[i]);
    }
    let sc = f32((scw >> sh) & 0xffu);
    let mn = f32((mw >> sh) & 0xffu);
    return (*xs)[0].x * (dm.x * sc * f32(s) - dm.y * mn * (*xs)[0].y);
}
