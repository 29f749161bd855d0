// flash_attn: causal attention of one query head and token over the KV cache (soft_max inside, online): token t
// sees cache positions 0..POS[t]. GQA/MQA: query head h reads KV head h / (nh / nkv). A workgroup walks the
// positions in tiles of WG: each thread scores one position, the tile max rescales the running sums, and each
// thread accumulates DV_PER output dims over the tile's probabilities. q is pre-scaled in shared memory.
struct Params {
    dk: u32,
    dv: u32,
    nh: u32,
    nkv: u32,
    nt: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> Q: array<f32>;          // [dk, nh, nt]
@group(0) @binding(1) var<storage, read> KC: array<f32>;         // [dk, nkv, n_ctx]
@group(0) @binding(2) var<storage, read> VC: array<f32>;         // [dv, nkv, n_ctx]
@group(0) @binding(3) var<storage, read> POS: array<i32>;        // [nt]
@group(0) @binding(4) var<storage, read_write> O: array<f32>;    // [dv, nh, nt]
@group(0) @binding(5) var<uniform> P: Params;

const WG: u32 = 128u;
const DV_PER: u32 = 8u;      // dv <= WG * DV_PER
const MAX_DK: u32 = 1024u;
const NEG: f32 = -3.0e38;

var<workgroup> qs: array<f32, MAX_DK>;
var<workgroup> pr: array<f32, WG>;
var<workgroup> red: array<f32, WG>;
var<workgroup> wg_len: u32;

fn tree(lid: u32, is_max: bool) -> f32 {
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
        if (lid < h) {
            red[lid] = select(red[lid] + red[lid + h], max(red[lid], red[lid + h]), is_max);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let kh = h / (P.nh / P.nkv);
    let qo = (t * P.nh + h) * P.dk;
    for (var i = lid; i < P.dk; i += WG) {
        qs[i] = Q[qo + i] * P.scale;
    }
    if (lid == 0u) {
        wg_len = u32(POS[t]) + 1u;
    }
    let len = workgroupUniformLoad(&wg_len);
    let ks = P.nkv * P.dk;
    let vs = P.nkv * P.dv;
    var m = NEG;
    var l = 0.0;
    var acc: array<f32, DV_PER>;
    for (var j0 = 0u; j0 < len; j0 += WG) {
        let j = j0 + lid;
        var s = NEG;
        if (j < len) {
            let ko = j * ks + kh * P.dk;
            s = 0.0;
            for (var i = 0u; i < P.dk; i++) {
                s += qs[i] * KC[ko + i];
            }
        }
        red[lid] = s;
        workgroupBarrier();
        let mn = max(m, tree(lid, true));
        let corr = exp(m - mn);
        let p = select(0.0, exp(s - mn), j < len);
        pr[lid] = p;
        red[lid] = p;
        workgroupBarrier();
        l = l * corr + tree(lid, false);
        let cnt = min(WG, len - j0);
        for (var q = 0u; q < DV_PER; q++) {
            let i = lid + q * WG;
            if (i < P.dv) {
                var a = acc[q] * corr;
                let vo = j0 * vs + kh * P.dv + i;
                for (var jj = 0u; jj < cnt; jj++) {
                    a += pr[jj] * VC[vo + jj * vs];
                }
                acc[q] = a;
            }
        }
        m = mn;
        workgroupBarrier();
    }
    let oo = (t * P.nh + h) * P.dv;
    for (var q = 0u; q < DV_PER; q++) {
        let i = lid + q * WG;
        if (i < P.dv) {
            O[oo + i] = acc[q] / l;
        }
    }
}
