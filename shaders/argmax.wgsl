// argmax: index of the largest value of each column (greedy sampling; ties to the lower index). Only these ids
// are read back.
struct Params {
    n: u32,
    ncols: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;          // [n, ncols]
@group(0) @binding(1) var<storage, read_write> O: array<i32>;    // [ncols]
@group(0) @binding(2) var<uniform> P: Params;

var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let col = wid.x;
    var v = -3.4e38;
    var idx = 0xffffffffu;
    for (var i = lid; i < P.n; i += 256u) {
        let x = X[col * P.n + i];
        if (idx == 0xffffffffu || x > v) {
            v = x;
            idx = i;
        }
    }
    bv[lid] = v;
    bi[lid] = idx;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (lid < h) {
            let ov = bv[lid + h];
            let oi = bi[lid + h];
            if (oi != 0xffffffffu && (bi[lid] == 0xffffffffu || ov > bv[lid] || (ov == bv[lid] && oi < bi[lid]))) {
                bv[lid] = ov;
                bi[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        O[col] = i32(bi[0]);
    }
}
