// The end of a mul_mat_vec kernel, included into main(): each thread's NR row partial sums `acc` are reduced
// across the workgroup (subgroupAdd then shared memory with SG, a shared-memory tree without) and the NR outputs
// of rows r0.. of column `col` written. Shared by the f32 (mul_mat_vec.wgsl) and int8 (mul_mat_vec_q8.wgsl) paths.
    let oo = col * P.o_cstride + bx * P.o_bstride + P.row0 + r0;
#ifdef SG
    let nsg = RED / NR;
    for (var r = 0u; r < NR; r++) {
        let s = subgroupAdd(acc[r]);
        if (sgi == 0u) {
            red[r * nsg + lid / sgs] = s;
        }
    }
    workgroupBarrier();
    if (lid < nr) {
        var t = 0.0;
        for (var i = 0u; i < (WG + sgs - 1u) / sgs; i++) {
            t += red[lid * nsg + i];
        }
        O[oo + lid] = t;
    }
#else
    for (var r = 0u; r < NR; r++) {
        red[r * WG + lid] = acc[r];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            for (var r = 0u; r < NR; r++) {
                red[r * WG + lid] += red[r * WG + lid + s];
            }
        }
        workgroupBarrier();
    }
    if (lid < nr) {
        O[oo + lid] = red[lid * WG];
    }
#endif
