// repeat_penalty: llama.cpp's repetition penalty on the logits column, in place: a positive logit of a listed token
// is divided by the penalty, a negative one multiplied. The list (distinct ids, written before each run) starts
// with its length and the penalty's f32 bits, so one plan serves every step.
struct Params {
    n_vocab: u32,
    offset: u32,  // element offset of the logits column
}

@group(0) @binding(0) var<storage, read> PEN: array<u32>;        // [count, bits(penalty), id...]
@group(0) @binding(1) var<storage, read_write> L: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let count = PEN[0];
    let p = bitcast<f32>(PEN[1]);
    for (var i = gid.x; i < count; i += 64u * 64u) {
        let id = PEN[2u + i];
        if (id < P.n_vocab) {
            let v = L[P.offset + id];
            L[P.offset + id] = select(v * p, v / p, v > 0.0);
        }
    }
}
