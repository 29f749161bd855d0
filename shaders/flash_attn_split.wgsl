// flash_attn_split (decode, flash-decoding): the KV positions a token sees are cut into splits of CHUNK; workgroup
// (g, s, t) runs online softmax over split s for the HG query heads g*HG.. that share one KV head (GQA groups;
// MLA's absorbed heads all share the compressed cache), so each K and V row is read once for all of them.
// It writes an unnormalised partial (acc[dv], running max, running sum) per head; flash_attn_reduce.wgsl merges
// the splits. Grid: [nh / HG, n_split, nt]; splits past a token's length exit at once.
// Host defines: HG (heads per workgroup), DV_PER (output dims per thread, dv <= WG * DV_PER), QS_LEN (HG * dk).
struct Params {
    dk: u32,
    dv: u32,
    nh: u32,
    nkv: u32,
    nt: u32,
    scale: f32,
    chunk: u32,    // positions per split (a multiple of WG)
    n_split: u32,
}

@group(0) @binding(0) var<storage, read> Q: array<f32>;          // [dk, nh, nt]
@group(0) @binding(1) var<storage, read> KC: array<f32>;         // [dk, nkv, n_ctx]
@group(0) @binding(2) var<storage, read> VC: array<f32>;         // [dv, nkv, n_ctx]
@group(0) @binding(3) var<storage, read> POS: array<i32>;        // [nt]
@group(0) @binding(4) var<storage, read_write> PART: array<f32>; // [dv + 2, nh, nt, n_split]
@group(0) @binding(5) var<uniform> P: Params;

const WG: u32 = 128u;
const NEG: f32 = -3.0e38;

var<workgroup> qs: array<f32, QS_LEN>;   // [dk, HG], pre-scaled
var<workgroup> pr: array<f32, HG * WG>;  // [WG, HG] probabilities of the tile
var<workgroup> red: array<f32, HG * WG>;
var<workgroup> wg_len: u32;

// Max or sum over the workgroup of red[h * WG + lid], for every head h at once.
fn tree(lid: u32, is_max: bool) -> array<f32, HG> {
    for (var half = WG / 2u; half > 0u; half >>= 1u) {
        if (lid < half) {
            for (var h = 0u; h < HG; h++) {
                let a = red[h * WG + lid];
                let b = red[h * WG + lid + half];
                red[h * WG + lid] = select(a + b, max(a, b), is_max);
            }
        }
        workgroupBarrier();
    }
    var r: array<f32, HG>;
    for (var h = 0u; h < HG; h++) {
        r[h] = red[h * WG];
    }
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h0 = wid.x * HG;
    let sp = wid.y;
    let t = wid.z;
    if (lid == 0u) {
        wg_len = u32(POS[t]) + 1u;
    }
    let len = workgroupUniformLoad(&wg_len);
    let p0 = sp * P.chunk;
    if (p0 >= len) {
        return;
    }
    let p1 = min(p0 + P.chunk, len);
    let kh = h0 / (P.nh / P.nkv);
    for (var i = lid; i < HG * P.dk; i += WG) {
        qs[i] = Q[(t * P.nh + h0) * P.dk + i] * P.scale;
    }
    workgroupBarrier();
    let ks = P.nkv * P.dk;
    let vs = P.nkv * P.dv;
    var m: array<f32, HG>;
    var l: array<f32, HG>;
    var acc: array<array<f32, DV_PER>, HG>;
    for (var h = 0u; h < HG; h++) {
        m[h] = NEG;
    }
    for (var j0 = p0; j0 < p1; j0 += WG) {
        let j = j0 + lid;
        var s: array<f32, HG>;
        for (var h = 0u; h < HG; h++) {
            s[h] = NEG;
        }
        if (j < p1) {
            let ko = j * ks + kh * P.dk;
            for (var h = 0u; h < HG; h++) {
                s[h] = 0.0;
            }
            for (var i = 0u; i < P.dk; i++) {
                let k = KC[ko + i];
                for (var h = 0u; h < HG; h++) {
                    s[h] += qs[h * P.dk + i] * k;
                }
            }
        }
        for (var h = 0u; h < HG; h++) {
            red[h * WG + lid] = s[h];
        }
        workgroupBarrier();
        let tmax = tree(lid, true);
        var corr: array<f32, HG>;
        for (var h = 0u; h < HG; h++) {
            let mn = max(m[h], tmax[h]);
            corr[h] = exp(m[h] - mn);
            m[h] = mn;
            let p = select(0.0, exp(s[h] - mn), j < p1);
            pr[h * WG + lid] = p;
            red[h * WG + lid] = p;
        }
        workgroupBarrier();
        let tsum = tree(lid, false);
        for (var h = 0u; h < HG; h++) {
            l[h] = l[h] * corr[h] + tsum[h];
        }
        let cnt = min(WG, p1 - j0);
        for (var q = 0u; q < DV_PER; q++) {
            let i = lid + q * WG;
            if (i < P.dv) {
                var a: array<f32, HG>;
                for (var h = 0u; h < HG; h++) {
                    a[h] = acc[h][q] * corr[h];
                }
                let vo = j0 * vs + kh * P.dv + i;
                for (var jj = 0u; jj < cnt; jj++) {
                    let v = VC[vo + jj * vs];
                    for (var h = 0u; h < HG; h++) {
                        a[h] += pr[h * WG + jj] * v;
                    }
                }
                for (var h = 0u; h < HG; h++) {
                    acc[h][q] = a[h];
                }
            }
        }
        workgroupBarrier();
    }
    for (var h = 0u; h < HG; h++) {
        let base = ((sp * P.nt + t) * P.nh + h0 + h) * (P.dv + 2u);
        for (var q = 0u; q < DV_PER; q++) {
            let i = lid + q * WG;
            if (i < P.dv) {
                PART[base + i] = acc[h][q];
            }
        }
        if (lid == 0u) {
            PART[base + P.dv] = m[h];
            PART[base + P.dv + 1u] = l[h];
        }
    }
}
