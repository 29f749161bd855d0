// rope: rotates pairs of the first n_dims elements of each head by the per-position angles in T (cos, sin with
// YaRN's magnitude scale folded in; computed on the host in f64 exactly as ggml_rope_yarn). NORMAL mode rotates
// adjacent pairs (2i, 2i+1), NEOX rotates (i, i + n_dims/2); elements past n_dims pass through.
struct Params {
    hd: u32,
    nh: u32,
    nt: u32,
    n_dims: u32,
    neox: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;          // [hd, nh, nt]
@group(0) @binding(1) var<storage, read> T: array<f32>;          // [n_dims, nt]: cos_i, sin_i pairs
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [hd, nh, nt]
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= P.hd * P.nh * P.nt) {
        return;
    }
    let d = i % P.hd;
    let base = i - d;
    let t = i / (P.hd * P.nh);
    if (d >= P.n_dims) {
        O[i] = X[i];
        return;
    }
    let half = P.n_dims / 2u;
    var pair: u32;
    var first: bool;
    var a: u32;
    var b: u32;
    if (P.neox != 0u) {
        pair = d % half;
        first = d < half;
        a = base + pair;
        b = a + half;
    } else {
        pair = d / 2u;
        first = (d & 1u) == 0u;
        a = base + 2u * pair;
        b = a + 1u;
    }
    let c = T[t * P.n_dims + 2u * pair];
    let s = T[t * P.n_dims + 2u * pair + 1u];
    let x0 = X[a];
    let x1 = X[b];
    O[i] = select(x0 * s + x1 * c, x0 * c - x1 * s, first);
}
