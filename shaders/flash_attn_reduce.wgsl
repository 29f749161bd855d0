// flash_attn_reduce: merges flash_attn_split's partials of one (head, token): with M the largest split max,
// O = Σ_s e^(m_s - M) acc_s / Σ_s e^(m_s - M) l_s over the splits the token's length reaches.
struct Params {
    dv: u32,
    nh: u32,
    nt: u32,
    chunk: u32,
}

@group(0) @binding(0) var<storage, read> PART: array<f32>;       // [dv + 2, nh, nt, n_split]
@group(0) @binding(1) var<storage, read> POS: array<i32>;        // [nt]
@group(0) @binding(2) var<storage, read_write> O: array<f32>;    // [dv, nh, nt]
@group(0) @binding(3) var<uniform> P: Params;

const WG: u32 = 128u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let ns = (u32(POS[t]) + P.chunk) / P.chunk;
    let stride = P.nt * P.nh * (P.dv + 2u);
    let base = (t * P.nh + h) * (P.dv + 2u);
    var mx = -3.0e38;
    for (var s = 0u; s < ns; s++) {
        mx = max(mx, PART[base + s * stride + P.dv]);
    }
    var l = 0.0;
    for (var s = 0u; s < ns; s++) {
        l += exp(PART[base + s * stride + P.dv] - mx) * PART[base + s * stride + P.dv + 1u];
    }
    for (var i = lid; i < P.dv; i += WG) {
        var o = 0.0;
        for (var s = 0u; s < ns; s++) {
            o += exp(PART[base + s * stride + P.dv] - mx) * PART[base + s * stride + i];
        }
        O[(t * P.nh + h) * P.dv + i] = o / l;
    }
}
