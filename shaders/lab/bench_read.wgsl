// Read-bandwidth probe for scripts/bench-kernels.ts (lab: never used by src/): every invocation sums a strided
// run of vec4s and writes one float, so the whole buffer is read once and nothing can be optimised away.
struct Params {
    n4: u32,       // vec4s in X
    threads: u32,  // invocations in the dispatch
}

@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if (t >= P.threads) {
        return;
    }
    var s = vec4<f32>(0.0);
    for (var i = t; i < P.n4; i += P.threads) {
        s += X[i];
    }
    O[t] = s.x + s.y + s.z + s.w;
}
