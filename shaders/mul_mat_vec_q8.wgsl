// mul_mat_vec_q8: O = W X for a few columns with X quantized to int8 once (quantize_q8.wgsl) and the weight blocks
// dotted 4 bytes at a time (dot4I8Packed: one DP4A-class instruction where the device has it), as llama.cpp's
// Vulkan/Metal MMVQ. The f32 kernel (mul_mat_vec.wgsl) spends ~3 instructions per weight element unpacking and
// converting; here a word of 4 or 8 weights costs ~2. Layout as mul_mat_vec: WG threads, NR rows per workgroup,
// each thread every WG-th chunk (QCHUNK elements) of the row, loading its x words once for all NR rows.
// Host defines: WG, NR, RED, SG, ID.
#include "common/bytes.wgsl"
#include "common/q8/{{QUANT}}.wgsl"

struct Params {
    k: u32,
    m: u32,
    row_bytes: u32,
    row0: u32,
    w_bstride: u32,
    b0: u32,
    nb_seg: u32,
    x_cstride: u32,    // quantized rows between columns of X
    x_bstride: u32,    // quantized rows between batches (0: every batch reads the same row)
    o_cstride: u32,
    o_bstride: u32,
    route_stride: u32,
    n: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;          // blocks [k, m, (batch)]
@group(0) @binding(1) var<storage, read> XQ: array<u32>;         // [k / 4, rows] packed int8
@group(0) @binding(2) var<storage, read> XS: array<vec2<f32>>;   // [k / 32, rows]: (d, Σq)
@group(0) @binding(3) var<storage, read_write> O: array<f32>;    // [m, n, (batch)]
@group(0) @binding(4) var<uniform> P: Params;
#ifdef ID
@group(0) @binding(5) var<storage, read> RT: array<f32>;         // route [2 n_used, n]
var<workgroup> wg_expert: u32;
#endif

var<workgroup> red: array<f32, RED>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
#ifdef SG
    @builtin(subgroup_invocation_id) sgi: u32,
    @builtin(subgroup_size) sgs: u32,
#endif
) {
    #include "common/mul_mat_vec_rows.wgsl"
    let xrow = col * P.x_cstride + bx * P.x_bstride;
    let xq0 = xrow * (P.k / 4u);
    let xs0 = xrow * (P.k / 32u);
    let nch = P.k / QCHUNK;
    let nr = min(NR, P.m - r0);
    var acc: array<f32, NR>;
    for (var c = lid; c < nch; c += WG) {
        var xq: array<u32, XW>;
        var xs: array<vec2<f32>, XB>;
        for (var j = 0u; j < XW; j++) {
            xq[j] = XQ[xq0 + c * XW + j];
        }
        for (var j = 0u; j < XB; j++) {
            xs[j] = XS[xs0 + c * XB + j];
        }
        for (var r = 0u; r < NR; r++) {
            if (r < nr) {
                acc[r] += qdot(wbase + (r0 + r) * P.row_bytes, c, &xq, &xs);
            }
        }
    }
    #include "common/mul_mat_vec_reduce.wgsl"
}
