// mul_mat_vec: O = W X for a few columns (decode), bandwidth-bound. A workgroup of WG threads computes NR rows of
// one column: each thread takes every WG-th dot chunk of the row, loads its x values once and dots them with all
// NR rows through the QUANT helper's dot_chunk(), which reads the GGUF blocks as stored. With STAGE, rows are
// walked in tiles of WG * CPT chunks whose bytes are first staged in workgroup memory with coalesced 16-byte
// loads (whatever the block alignment), and the helpers read the staged copy. The NR sums are reduced with subgroupAdd
// (SG) or a shared-memory tree. 3D weights (heads, experts) are batches of matrices; with ID the matrix of batch
// slot z is the expert the route picked for this column (mul_mat_id).
// Host defines: WG, NR (1..8; 1..4 with STAGE), RED; with STAGE also CPT, TILE_BYTES (whole blocks), TILE_WORDS (stride per row).
#include "common/bytes.wgsl"
#include "common/quant/{{QUANT}}.wgsl"

struct Params {
    k: u32,            // row length in elements
    m: u32,            // rows in this dispatch (rows held by the weight segment for 2D weights)
    row_bytes: u32,
    row0: u32,         // output row of the segment's first row
    w_bstride: u32,    // bytes between matrices of a 3D weight
    b0: u32,           // first matrix held by the segment
    nb_seg: u32,       // matrices held by the segment
    x_cstride: u32,    // elements between columns of X
    x_bstride: u32,    // elements between batches of X
    o_cstride: u32,
    o_bstride: u32,
    route_stride: u32, // ID: floats per column of the route (2 n_used: ids, then weights)
    n: u32,
}

#ifdef STAGE
@group(0) @binding(0) var<storage, read> G: array<vec4<u32>>;    // blocks [k, m, (batch)], 16 bytes a load
#else
@group(0) @binding(0) var<storage, read> W: array<u32>;          // blocks [k, m, (batch)]
#endif
#ifdef X_VEC4
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;    // [k, n, (batch)]
#else
@group(0) @binding(1) var<storage, read> X: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [m, n, (batch)]
@group(0) @binding(3) var<uniform> P: Params;
#ifdef ID
@group(0) @binding(4) var<storage, read> RT: array<f32>;         // route [2 n_used, n]
var<workgroup> wg_expert: u32;
#endif

var<private> KDIM: u32;
#ifdef STAGE
// The staged tile: row r's bytes start at word r * TILE_WORDS (plus the tile's misalignment within 16 bytes).
var<workgroup> W: array<u32, NR * TILE_WORDS>;
#endif
var<workgroup> red: array<f32, RED>;

#ifdef X_VEC4
fn x4(i: u32) -> vec4<f32> {
    return X[i >> 2u];
}
fn x1(i: u32) -> f32 {
    return X[i >> 2u][i & 3u];
}
#else
fn x1(i: u32) -> f32 {
    return X[i];
}
fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]);
}
#endif

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
#ifdef SG
    @builtin(subgroup_invocation_id) sgi: u32,
    @builtin(subgroup_size) sgs: u32,
#endif
) {
    KDIM = P.k;
    #include "common/mul_mat_vec_rows.wgsl"
    let xo = col * P.x_cstride + bx * P.x_bstride;
    let nch = (P.k + DOT_CHUNK - 1u) / DOT_CHUNK;
    let nr = min(NR, P.m - r0);
    var acc: array<f32, NR>;
#ifndef STAGE
    for (var c = lid; c < nch; c += WG) {
        var xv = load_x(c, xo);
        for (var r = 0u; r < NR; r++) {
            if (r < nr) {
                acc[r] += dot_chunk(wbase + (r0 + r) * P.row_bytes, c, &xv);
            }
        }
    }
#else
    for (var t0 = 0u; t0 < nch; t0 += WG * CPT) {
        // Byte offset of the tile in each row, and its misalignment inside the first staged 16 bytes.
        let tb = (t0 / CPB) * BLOCK_BYTES;
        var shift = vec4<u32>(0u);
        for (var r = 0u; r < nr; r++) {
            let start = wbase + (r0 + r) * P.row_bytes + tb;
            shift[r] = start & 15u;
            let u0 = start >> 4u;
            let nu = (shift[r] + TILE_BYTES + 15u) >> 4u;
            for (var u = lid; u < nu; u += WG) {
                let v = G[u0 + u];
                let o = r * TILE_WORDS + 4u * u;
                W[o] = v.x;
                W[o + 1u] = v.y;
                W[o + 2u] = v.z;
                W[o + 3u] = v.w;
            }
        }
        workgroupBarrier();
        for (var j = 0u; j < CPT; j++) {
            let c = t0 + j * WG + lid;
            if (c < nch) {
                var xv = load_x(c, xo);
                for (var r = 0u; r < NR; r++) {
                    if (r < nr) {
                        // Virtual row base: block c / CPB of the row lands at its staged position.
                        acc[r] += dot_chunk(r * TILE_WORDS * 4u + shift[r] - tb, c, &xv);
                    }
                }
            }
        }
        workgroupBarrier();
    }
#endif
    #include "common/mul_mat_vec_reduce.wgsl"
}
