// topk: one pass of the sampler's candidate cut. Each workgroup bitonic-sorts a chunk of CH (value, id) pairs in
// workgroup memory, best first (higher value, ties to the lower id: the order src/runtime/sampler.ts sorts in),
// and writes its first KP. Passes repeat over the survivors until one chunk is left, whose first k are read back.
// FIRST: the input is the logits column itself (id = index); otherwise the previous pass's (value, id) pairs.
struct Params {
    n: u32,       // input pairs (or logits)
    offset: u32,  // FIRST: element offset of the logits column
    kp: u32,      // pairs kept per chunk (power of two <= CH)
}

@group(0) @binding(0) var<storage, read> SV: array<f32>;
@group(0) @binding(1) var<storage, read> SI: array<u32>;
@group(0) @binding(2) var<storage, read_write> DV: array<f32>;   // [kp, chunks]
@group(0) @binding(3) var<storage, read_write> DI: array<u32>;
@group(0) @binding(4) var<uniform> P: Params;

const WG: u32 = 256u;
const CH: u32 = 1024u;
const NONE: u32 = 0xffffffffu;

var<workgroup> kv: array<f32, CH>;
var<workgroup> ki: array<u32, CH>;

// Padding (id NONE) sorts after every real entry, -inf logits included.
fn before(av: f32, ai: u32, bv: f32, bi: u32) -> bool {
    if (ai == NONE || bi == NONE) {
        return bi == NONE && ai != NONE;
    }
    return av > bv || (av == bv && ai < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let base = wid.x * CH;
    for (var q = 0u; q < CH / WG; q++) {
        let j = lid + q * WG;
        let i = base + j;
        var v = 0.0;
        var id = NONE;
        if (i < P.n) {
#ifdef FIRST
            v = SV[P.offset + i];
            id = i;
#else
            v = SV[i];
            id = SI[i];
#endif
        }
        kv[j] = v;
        ki[j] = id;
    }
    workgroupBarrier();
    for (var size = 2u; size <= CH; size <<= 1u) {
        for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
            for (var q = 0u; q < CH / (2u * WG); q++) {
                let p = lid + q * WG;
                let a = 2u * stride * (p / stride) + (p % stride);
                let b = a + stride;
                // Blocks with the size bit clear end best-first, the others worst-first: together a bitonic run.
                let best_first = (a & size) == 0u;
                let b_wins = before(kv[b], ki[b], kv[a], ki[a]);
                let a_wins = before(kv[a], ki[a], kv[b], ki[b]);
                if (select(a_wins, b_wins, best_first)) {
                    let tv = kv[a];
                    let ti = ki[a];
                    kv[a] = kv[b];
                    ki[a] = ki[b];
                    kv[b] = tv;
                    ki[b] = ti;
                }
            }
            workgroupBarrier();
        }
    }
    for (var j = lid; j < P.kp; j += WG) {
        DV[wid.x * P.kp + j] = kv[j];
        DI[wid.x * P.kp + j] = ki[j];
    }
}
