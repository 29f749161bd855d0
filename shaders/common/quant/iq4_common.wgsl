// kvalues_iq4nl (ggml-common.h): the 16 non-linear levels of IQ4_NL and IQ4_XS.

const KVALUES_IQ4NL = array<f32, 16>(-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

fn kv4(n: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(KVALUES_IQ4NL[n.x], KVALUES_IQ4NL[n.y], KVALUES_IQ4NL[n.z], KVALUES_IQ4NL[n.w]);
}
