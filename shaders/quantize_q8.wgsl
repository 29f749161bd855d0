// quantize_q8: activations → int8 once per matvec input, for the dot4I8Packed kernels (mul_mat_vec_q8.wgsl),
// rounded as llama.cpp's CPU rounds the vec_dot input: MODE_K as Q8_K (one scale per 256: iscale = -127 / the
// value of largest magnitude, round half to even, clamp at 127), else as Q8_0 (per 32: d = amax / 127 stored as
// f16, q = roundf(x / d)). Output per 32-element block: 8 words of packed int8 and (d, Σq). A workgroup of 64
// threads does 256 elements (one word each) of one row; row r = (column, batch) reads X from col * xc + b * xb.
struct Params {
    k: u32,
    nb: u32,     // batches per column that differ (1 when xb == 0)
    xc: u32,
    xb: u32,
    rows: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> XQ: array<u32>;         // [k / 4, rows]
@group(0) @binding(2) var<storage, read_write> XS: array<vec2<f32>>;   // [k / 32, rows]: (d, Σq)
@group(0) @binding(3) var<uniform> P: Params;

var<workgroup> amax: array<f32, 64>;
var<workgroup> vmax: array<f32, 64>;
var<workgroup> isum: array<i32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.y;
    let e0 = wid.x * 256u + lid * 4u;
    let col = row / P.nb;
    let b = row % P.nb;
    let xo = col * P.xc + b * P.xb;
    var x = vec4<f32>(0.0);
    let live = e0 < P.k;
    if (live) {
        x = vec4<f32>(X[xo + e0], X[xo + e0 + 1u], X[xo + e0 + 2u], X[xo + e0 + 3u]);
    }
    // Largest magnitude of the word, keeping its signed value (Q8_K scales by it; the first one wins ties).
    var a = abs(x.x);
    var v = x.x;
    for (var i = 1u; i < 4u; i++) {
        if (abs(x[i]) > a) {
            a = abs(x[i]);
            v = x[i];
        }
    }
    amax[lid] = a;
    vmax[lid] = v;
    workgroupBarrier();
#ifdef MODE_K
    let g0 = 0u;
    let gn = 64u;
#else
    let g0 = lid & ~7u;
    let gn = 8u;
#endif
    var ga = amax[g0];
    var gv = vmax[g0];
    for (var i = 1u; i < gn; i++) {
        if (amax[g0 + i] > ga) {
            ga = amax[g0 + i];
            gv = vmax[g0 + i];
        }
    }
    var q: vec4<i32>;
    var d: f32;
#ifdef MODE_K
    if (ga == 0.0) {
        q = vec4<i32>(0);
        d = 0.0;
    } else {
        let iscale = -127.0 / gv;
        q = min(vec4<i32>(round(iscale * x)), vec4<i32>(127));
        d = 1.0 / iscale;
    }
#else
    let dd = ga / 127.0;
    let id = select(0.0, 1.0 / dd, dd != 0.0);
    let s = x * id;
    q = vec4<i32>(sign(s) * floor(abs(s) + 0.5));
    d = unpack2x16float(pack2x16float(vec2<f32>(dd, 0.0))).x;
#endif
    isum[lid] = q.x + q.y + q.z + q.w;
    workgroupBarrier();
    if (!live) {
        return;
    }
    let words = P.k / 4u;
    XQ[row * words + e0 / 4u] = pack4xI8(q);
    if ((lid & 7u) == 0u) {
        var s32 = 0;
        for (var i = 0u; i < 8u; i++) {
            s32 += isum[lid + i];
        }
        XS[row * (P.k / 32u) + e0 / 32u] = vec2<f32>(d, f32(s32));
    }
}
