// The rest of a float row type's helpers (f32.wgsl, f16.wgsl, bf16.wgsl include it): chunks of 8 elements, any row
// length (elements at or past KDIM count as 0). The type file gives wf(row, e) = element e, and w8(o) = the 8
// elements starting at byte o of W, for whole chunks.

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
        let w = w8(row + BPE * e);
        return dot(w[0], (*xv)[0]) + dot(w[1], (*xv)[1]);
    }
    return dot(dq4(row, e), (*xv)[0]) + dot(dq4(row, e + 4u), (*xv)[1]);
}
