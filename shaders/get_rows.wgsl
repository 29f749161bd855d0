// get_rows: O[:, t] = row I[t] of W (embeddings), dequantized from GGUF blocks through the QUANT helper's dq4().
// One invocation per 4 elements of an output row. A split weight runs once per segment; each run writes the
// rows its segment holds.
#include "common/bytes.wgsl"
#include "common/quant/{{QUANT}}.wgsl"

struct Params {
    ne0: u32,        // row length
    nt: u32,         // ids
    row_bytes: u32,
    r0: u32,         // first row held by this segment
    nrows: u32,      // rows held by this segment
}

@group(0) @binding(0) var<storage, read> W: array<u32>;          // blocks [ne0, n_rows]
@group(0) @binding(1) var<storage, read> I: array<i32>;          // [nt]
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [ne0, nt]
@group(0) @binding(3) var<uniform> P: Params;

var<private> KDIM: u32;

fn x1(i: u32) -> f32 {
    return 0.0;
}
fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    KDIM = P.ne0;
    let idx = gid.x + gid.y * nwg.x * 64u;
    let n4 = (P.ne0 + 3u) / 4u;
    let t = idx / n4;
    if (t >= P.nt) {
        return;
    }
    let id = u32(I[t]);
    if (id < P.r0 || id >= P.r0 + P.nrows) {
        return;
    }
    let e = (idx % n4) * 4u;
    let v = dq4((id - P.r0) * P.row_bytes, e);
    let o = t * P.ne0 + e;
    for (var q = 0u; q < 4u; q++) {
        if (e + q < P.ne0) {
            O[o + q] = v[q];
        }
    }
}
