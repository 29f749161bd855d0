// moe_sum: O[:, t] = Σ_k route weight (t, k) · Y[:, k, t], the weighted sum of a token's expert outputs in slot
// order (as llama.cpp adds them).
struct Params {
    ne: u32,
    n_used: u32,
    nt: u32,
}

@group(0) @binding(0) var<storage, read> Y: array<f32>;          // [ne, n_used, nt]
@group(0) @binding(1) var<storage, read> RT: array<f32>;         // [2 n_used, nt]
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [ne, nt]
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.ne * P.nt) {
        return;
    }
    let t = i / P.ne;
    let d = i % P.ne;
    var s = 0.0;
    for (var k = 0u; k < P.n_used; k++) {
        s += RT[t * 2u * P.n_used + P.n_used + k] * Y[(t * P.n_used + k) * P.ne + d];
    }
    O[i] = s;
}
