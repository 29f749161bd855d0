// fill: every word of O set to a bit pattern (tests poison activations with NaN before a run).
struct Params {
    n: u32,
    bits: u32,
}

@group(0) @binding(0) var<storage, read_write> O: array<u32>;
@group(0) @binding(1) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < P.n) {
        O[i] = P.bits;
    }
}
