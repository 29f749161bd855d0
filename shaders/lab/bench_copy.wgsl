// Copy-bandwidth probe for scripts/bench-kernels.ts (lab: never used by src/): a grid-stride vec4 copy.
struct Params {
    n4: u32,       // vec4s to copy
    threads: u32,  // invocations in the dispatch
}

@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> O: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    for (var i = t; i < P.n4; i += P.threads) {
        O[i] = X[i];
    }
}
