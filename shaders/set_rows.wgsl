// set_rows: writes row t of X into row I[t] of the KV cache C (rows of d elements).
struct Params {
    d: u32,
    nt: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;          // [d, nt]
@group(0) @binding(1) var<storage, read> I: array<i32>;          // [nt] positions
@group(0) @binding(2) var<storage, read_write> C: array<f32>;    // [d, n_ctx]
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.d * P.nt) {
        return;
    }
    let t = i / P.d;
    C[u32(I[t]) * P.d + (i % P.d)] = X[i];
}
