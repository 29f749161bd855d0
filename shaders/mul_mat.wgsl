// mul_mat (tiled, prefill): O = W X for many columns. A workgroup of 256 threads computes a 64-row x 32-column
// tile; per 32-element step of k it dequantizes the weight tile into shared memory through the QUANT helper's
// dq4() (4 elements at a time, GGUF blocks read as stored) and stages the x tile, then each thread accumulates
// 4 rows x 2 columns. Batches (heads of a 3D weight) run on z. Needs k % 32 == 0 except for float weights.
// ID (mul_mat_id, MoE prefill): z is an expert of the weight segment and the columns are the (token, slot) pairs
// routed to it (grouped by moe_rows.wgsl), so each expert is one GEMM over its tokens and tiles past its count
// exit at once.
#include "common/bytes.wgsl"
#include "common/quant/{{QUANT}}.wgsl"

struct Params {
    k: u32,
    m: u32,
    row_bytes: u32,
    row0: u32,
    w_bstride: u32,
    b0: u32,
    nb_seg: u32,
    x_cstride: u32,
    x_bstride: u32,
    o_cstride: u32,
    o_bstride: u32,
    route_stride: u32, // ID: n_used
    n: u32,            // columns (ID: tokens, the stride of the pair lists)
    n_expert: u32,     // ID: where the pair lists start in R
}

@group(0) @binding(0) var<storage, read> W: array<u32>;          // blocks [k, m, (batch)]
@group(0) @binding(1) var<storage, read> X: array<f32>;          // [k, n, (batch)]
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [m, n, (batch)]
@group(0) @binding(3) var<uniform> P: Params;
#ifdef ID
@group(0) @binding(4) var<storage, read> R: array<u32>;          // moe_rows: counts [n_expert], pairs [nt, n_expert]
var<workgroup> wg_count: u32;
#endif

const TM: u32 = 64u;
const TN: u32 = 32u;
const TK: u32 = 32u;

var<private> KDIM: u32;
var<workgroup> ws: array<f32, 2048>;   // [TK][TM]
var<workgroup> xs: array<f32, 1024>;   // [TK][TN]

// The helpers' x accessors are unused here (no dot_chunk call) but must exist.
fn x1(i: u32) -> f32 {
    return X[i];
}
fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]);
}

// Element offsets of column `col` of X and O in batch bx (ID: of the col-th pair routed to expert bx).
#ifdef ID
fn pair(col: u32, bx: u32) -> vec2<u32> {
    let i = R[P.n_expert + bx * P.n + col];
    return vec2<u32>(i / P.route_stride, i % P.route_stride);
}
fn x_col(col: u32, bx: u32, ncols: u32) -> u32 {
    let p = pair(min(col, ncols - 1u), bx);
    return p.x * P.x_cstride + p.y * P.x_bstride;
}
fn o_col(col: u32, bx: u32) -> u32 {
    let p = pair(col, bx);
    return p.x * P.o_cstride + p.y * P.o_bstride;
}
#else
fn x_col(col: u32, bx: u32, ncols: u32) -> u32 {
    return col * P.x_cstride + bx * P.x_bstride;
}
fn o_col(col: u32, bx: u32) -> u32 {
    return col * P.o_cstride + bx * P.o_bstride;
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    KDIM = P.k;
    let m0 = wid.x * TM;
    let n0 = wid.y * TN;
    let wbase = wid.z * P.w_bstride;
    let bx = P.b0 + wid.z;
    let tx = lid & 15u;
    let ty = lid >> 4u;
#ifdef ID
    if (lid == 0u) {
        wg_count = R[bx];
    }
    let ncols = workgroupUniformLoad(&wg_count);
    if (n0 >= ncols) {
        return;
    }
#else
    let ncols = P.n;
#endif
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < P.k; k0 += TK) {
        for (var i = 0u; i < 2u; i++) {
            let v = lid + 256u * i;
            let rl = v >> 3u;
            let e4 = (v & 7u) * 4u;
            var w = vec4<f32>(0.0);
            if (m0 + rl < P.m && k0 + e4 < P.k) {
                w = dq4(wbase + (m0 + rl) * P.row_bytes, k0 + e4);
            }
            ws[(e4 + 0u) * TM + rl] = w.x;
            ws[(e4 + 1u) * TM + rl] = w.y;
            ws[(e4 + 2u) * TM + rl] = w.z;
            ws[(e4 + 3u) * TM + rl] = w.w;
        }
        {
            let cl = lid >> 3u;
            let e4 = (lid & 7u) * 4u;
            let xo = x_col(n0 + cl, bx, ncols) + k0 + e4;
            for (var q = 0u; q < 4u; q++) {
                var v = 0.0;
                if (n0 + cl < ncols && k0 + e4 + q < P.k) {
                    v = X[xo + q];
                }
                xs[(e4 + q) * TN + cl] = v;
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let a = vec4<f32>(ws[kk * TM + 4u * tx], ws[kk * TM + 4u * tx + 1u], ws[kk * TM + 4u * tx + 2u], ws[kk * TM + 4u * tx + 3u]);
            acc0 += a * xs[kk * TN + 2u * ty];
            acc1 += a * xs[kk * TN + 2u * ty + 1u];
        }
        workgroupBarrier();
    }
    let accs = array<vec4<f32>, 2>(acc0, acc1);
    for (var j = 0u; j < 2u; j++) {
        let col = n0 + 2u * ty + j;
        if (col < ncols) {
            let oo = o_col(col, bx) + P.row0 + m0 + 4u * tx;
            for (var r = 0u; r < 4u; r++) {
                if (m0 + 4u * tx + r < P.m) {
                    O[oo + r] = accs[j][r];
                }
            }
        }
    }
}
