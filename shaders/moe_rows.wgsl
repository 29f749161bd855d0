// moe_rows: groups a batch's routed (token, slot) pairs by expert for the tiled mul_mat_id. Workgroup e scans
// the route in token order and compacts the pairs that picked expert e (a workgroup prefix sum per 256 pairs):
// R[e] = how many, R[n_expert + e * nt + j] = t * n_used + slot of the j-th. Token order keeps the result
// deterministic; a token picks an expert at most once, so nt entries per expert suffice.
struct Params {
    n_expert: u32,
    n_used: u32,
    nt: u32,
    route_stride: u32,  // floats per column of the route (2 n_used: ids, then weights)
}

@group(0) @binding(0) var<storage, read> RT: array<f32>;         // route [2 n_used, nt]
@group(0) @binding(1) var<storage, read_write> R: array<u32>;    // [n_expert] counts, then [nt, n_expert] pairs
@group(0) @binding(2) var<uniform> P: Params;

const WG: u32 = 256u;
var<workgroup> scan: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = wid.x;
    let total = P.nt * P.n_used;
    var base = 0u;
    for (var i0 = 0u; i0 < total; i0 += WG) {
        let i = i0 + lid;
        var hit = 0u;
        if (i < total) {
            let t = i / P.n_used;
            hit = select(0u, 1u, u32(RT[t * P.route_stride + i % P.n_used]) == e);
        }
        scan[lid] = hit;
        workgroupBarrier();
        // Inclusive Hillis-Steele scan.
        for (var s = 1u; s < WG; s <<= 1u) {
            var v = scan[lid];
            if (lid >= s) {
                v += scan[lid - s];
            }
            workgroupBarrier();
            scan[lid] = v;
            workgroupBarrier();
        }
        if (hit == 1u) {
            R[P.n_expert + e * P.nt + base + scan[lid] - 1u] = i;
        }
        base += scan[WG - 1u];
        workgroupBarrier();
    }
    if (lid == 0u) {
        R[e] = base;
    }
}
