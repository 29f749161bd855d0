// x chunks of contiguous elements for the dot helpers: 2, 4 or 8 vec4 starting at element b (b % 4 == 0).

fn xs2(b: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(x4(b), x4(b + 4u));
}

fn xs4(b: u32) -> array<vec4<f32>, 4> {
    return array<vec4<f32>, 4>(x4(b), x4(b + 4u), x4(b + 8u), x4(b + 12u));
}

fn xs8(b: u32) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(x4(b), x4(b + 4u), x4(b + 8u), x4(b + 12u), x4(b + 16u), x4(b + 20u), x4(b + 24u), x4(b + 28u));
}

fn xsum(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}
