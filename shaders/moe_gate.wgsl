// moe_gate: the router of one token per invocation, as llama.cpp's build_moe_ffn: probabilities (softmax or
// sigmoid), selection scores = probabilities + bias, grouped top-k (groups ranked by their max or top-2 sum, the
// rest masked), top n_used (ties to the lower index), weights from the unbiased probabilities, optional
// normalisation, then the routed scale. O holds expert ids (as floats) then weights.
struct Params {
    ne: u32,
    nt: u32,
    n_used: u32,
    sigmoid: u32,
    norm: u32,
    scale: f32,
    n_group: u32,
    topk_group: u32,
    group_max: u32,
    has_bias: u32,
}

@group(0) @binding(0) var<storage, read> L: array<f32>;          // [ne, nt]
@group(0) @binding(1) var<storage, read> BIAS: array<f32>;       // [ne] (any buffer when has_bias = 0)
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [2 n_used, nt]
@group(0) @binding(3) var<uniform> P: Params;

const MAX_E: u32 = 256u;
const NEG: f32 = -3.0e38;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    if (t >= P.nt) {
        return;
    }
    var prob: array<f32, MAX_E>;
    var sel: array<f32, MAX_E>;
    let lo = t * P.ne;
    if (P.sigmoid != 0u) {
        for (var e = 0u; e < P.ne; e++) {
            prob[e] = 1.0 / (1.0 + exp(-L[lo + e]));
        }
    } else {
        var mx = NEG;
        for (var e = 0u; e < P.ne; e++) {
            mx = max(mx, L[lo + e]);
        }
        var sum = 0.0;
        for (var e = 0u; e < P.ne; e++) {
            prob[e] = exp(L[lo + e] - mx);
            sum += prob[e];
        }
        for (var e = 0u; e < P.ne; e++) {
            prob[e] /= sum;
        }
    }
    for (var e = 0u; e < P.ne; e++) {
        sel[e] = prob[e] + select(0.0, BIAS[e], P.has_bias != 0u);
    }
    if (P.n_group > 1u) {
        let per = P.ne / P.n_group;
        var gscore: array<f32, 64>;
        for (var g = 0u; g < P.n_group; g++) {
            var a = NEG;
            var b = NEG;
            for (var e = g * per; e < (g + 1u) * per; e++) {
                let v = sel[e];
                if (v > a) {
                    b = a;
                    a = v;
                } else if (v > b) {
                    b = v;
                }
            }
            gscore[g] = select(a + select(0.0, b, per > 1u), a, P.group_max != 0u);
        }
        var keep: array<bool, 64>;
        for (var k = 0u; k < P.topk_group; k++) {
            var best = 0u;
            var bv = NEG;
            var found = false;
            for (var g = 0u; g < P.n_group; g++) {
                if (!keep[g] && (!found || gscore[g] > bv)) {
                    best = g;
                    bv = gscore[g];
                    found = true;
                }
            }
            keep[best] = true;
        }
        for (var e = 0u; e < P.ne; e++) {
            if (!keep[e / per]) {
                sel[e] = NEG;
            }
        }
    }
    var taken: array<bool, MAX_E>;
    var ids: array<u32, 64>;
    var sum = 0.0;
    for (var k = 0u; k < P.n_used; k++) {
        var best = 0u;
        var found = false;
        for (var e = 0u; e < P.ne; e++) {
            if (!taken[e] && (!found || sel[e] > sel[best])) {
                best = e;
                found = true;
            }
        }
        taken[best] = true;
        ids[k] = best;
        sum += prob[best];
    }
    let oo = t * 2u * P.n_used;
    for (var k = 0u; k < P.n_used; k++) {
        var w = prob[ids[k]];
        if (P.norm != 0u) {
            w /= sum;
        }
        O[oo + k] = f32(ids[k]);
        O[oo + P.n_used + k] = w * P.scale;
    }
}
