// The start of a mul_mat_vec kernel, included into main(): which column and rows this workgroup computes, and
// where its weight matrix starts — for mul_mat_id (ID), the expert the route names for this slot, the workgroup
// leaving when that expert's weights are in another binding segment. Shared by the f32 and int8 kernels.
    let col = wid.y;
    let r0 = wid.x * NR;
#ifdef ID
    if (lid == 0u) {
        wg_expert = u32(RT[col * P.route_stride + wid.z]);
    }
    let e = workgroupUniformLoad(&wg_expert);
    if (e < P.b0 || e >= P.b0 + P.nb_seg) {
        return;
    }
    let wbase = (e - P.b0) * P.w_bstride;
    let bx = wid.z;
#else
    let wbase = wid.z * P.w_bstride;
    let bx = P.b0 + wid.z;
#endif
