// get_scale_min_k4 of Q4_K/Q5_K: 6-bit scale and min j (0..7) from the 12 scale bytes as three words w0..w2.
// j < 4: scales[j] & 63, scales[j+4] & 63; else the low 4 bits come from scales[j+4] and the top 2 from bits 6-7
// of scales[j-4] (scale) and scales[j] (min).

fn scale_min_k4(j: u32, w0: u32, w1: u32, w2: u32) -> vec2<f32> {
    let sh = (j & 3u) * 8u;
    let a = (w0 >> sh) & 0xffu;
    let b = (w1 >> sh) & 0xffu;
    if (j < 4u) {
        return vec2<f32>(f32(a & 63u), f32(b & 63u));
    }
    let c = (w2 >> sh) & 0xffu;
    return vec2<f32>(f32((c & 0xfu) | ((a >> 6u) << 4u)), f32((c >> 4u) | ((b >> 6u) << 4u)));
}
