// rms_norm: each row of ne0 elements scaled by 1/sqrt(mean(x^2) + eps); one workgroup per row. With MUL_W, also
// multiplied by a weight vector W [ne0] (the norm's weight: llama.cpp's rms_norm + mul pair in one dispatch).
struct Params {
    ne0: u32,
    nrows: u32,
    eps: f32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;          // [ne0, nrows]
#ifdef MUL_W
@group(0) @binding(1) var<storage, read> W: array<f32>;          // [ne0]
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [ne0, nrows]
@group(0) @binding(3) var<uniform> P: Params;
#else
@group(0) @binding(1) var<storage, read_write> O: array<f32>;    // [ne0, nrows]
@group(0) @binding(2) var<uniform> P: Params;
#endif

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.nrows) {
        return;
    }
    let o = row * P.ne0;
    var s = 0.0;
    for (var i = lid; i < P.ne0; i += 256u) {
        s += X[o + i] * X[o + i];
    }
    red[lid] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (lid < h) {
            red[lid] += red[lid + h];
        }
        workgroupBarrier();
    }
    let k = 1.0 / sqrt(red[0] / f32(P.ne0) + P.eps);
    for (var i = lid; i < P.ne0; i += 256u) {
#ifdef MUL_W
        O[o + i] = (X[o + i] * k) * W[i];
#else
        O[o + i] = X[o + i] * k;
#endif
    }
}
