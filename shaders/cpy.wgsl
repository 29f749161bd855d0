// cpy: strided 3D copy O[d_off + i0 + i1 d1 + i2 d2] = X[s_off + i0 + i1 s1 + i2 s2] (elements). Covers
// slice0, repeat1 (s1 = 0) and get_last.
struct Params {
    n0: u32,
    n1: u32,
    n2: u32,
    s_off: u32,
    s1: u32,
    s2: u32,
    d_off: u32,
    d1: u32,
    d2: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.n0 * P.n1 * P.n2) {
        return;
    }
    let i0 = i % P.n0;
    let r = i / P.n0;
    let i1 = r % P.n1;
    let i2 = r / P.n1;
    O[P.d_off + i0 + i1 * P.d1 + i2 * P.d2] = X[P.s_off + i0 + i1 * P.s1 + i2 * P.s2];
}
