// Unary ops: OP_SCALE (x * s) or OP_SIGMOID (1 / (1 + e^-x)).
struct Params {
    n: u32,
    s: f32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.n) {
        return;
    }
#ifdef OP_SCALE
    O[i] = X[i] * P.s;
#else
    O[i] = 1.0 / (1.0 + exp(-X[i]));
#endif
}
