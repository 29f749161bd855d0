// Strided gather (ggml cpy into a contiguous output): O [na + nb, n1, n2] = A ‖ B along dim 0, each part read
// through a strided view (element offset and strides of dims 1 and 2). concat0 in one dispatch (a slice0 or
// repeat1 feeding it needs no copy of its own); with nb = 0, A alone: slice0, repeat1 (stride 0), get_last.
struct Params {
    na: u32,
    nb: u32,
    n1: u32,
    n2: u32,
    a_off: u32,
    a1: u32,
    a2: u32,
    b_off: u32,
    b1: u32,
    b2: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n0 = P.na + P.nb;
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= n0 * P.n1 * P.n2) {
        return;
    }
    let i0 = i % n0;
    let r = i / n0;
    let i1 = r % P.n1;
    let i2 = r / P.n1;
    if (i0 < P.na) {
        O[i] = A[P.a_off + i0 + i1 * P.a1 + i2 * P.a2];
    } else {
        O[i] = B[P.b_off + (i0 - P.na) + i1 * P.b1 + i2 * P.b2];
    }
}
