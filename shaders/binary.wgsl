// add / mul (OP_ADD or OP_MUL): O = A op B with B repeated over A (ggml_can_repeat): B's strides are 0 along
// its size-1 dims. Up to 4 dims.
struct Params {
    n: u32,
    a0: u32,
    a1: u32,
    a2: u32,
    bs0: u32,
    bs1: u32,
    bs2: u32,
    bs3: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.n) {
        return;
    }
    let i0 = i % P.a0;
    let r = i / P.a0;
    let i1 = r % P.a1;
    let r2 = r / P.a1;
    let bi = i0 * P.bs0 + i1 * P.bs1 + (r2 % P.a2) * P.bs2 + (r2 / P.a2) * P.bs3;
#ifdef OP_ADD
    O[i] = A[i] + B[bi];
#else
    O[i] = A[i] * B[bi];
#endif
}
