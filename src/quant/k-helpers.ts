// Helpers shared by the k-quant reference quantizers (ggml-quants.c "Helper functions"). Every float operation is
// rounded with Math.fround so results match C evaluating in float32 (no FMA contraction); a single rounding of the
// exact double result equals float32 arithmetic for + - * / and sqrt.
import { writeF16 } from './block-io.ts';

const fr = Math.fround;

/** GROUP_MAX_EPS (1e-15f): groups whose largest magnitude is below this are treated as all zero. */
export const GROUP_MAX_EPS = fr(1e-15);

const RDELTA_POINT_1 = fr(0.1);

const nearestScratchF32 = new Float32Array(1);
const nearestScratchI32 = new Int32Array(nearestScratchF32.buffer);

/**
 * ggml's nearest_int: adds 1.5 * 2^23 in float32 so the FPU rounds half to even, then reads the mantissa bits.
 * `fval` must already be a float32 value. Out-of-range inputs (ggml only asserts in debug builds) go through the
 * same bit manipulation so release-build results are reproduced too.
 */
export function nearestInt(fval: number): number {
  const val = fr(fval + 12582912);
  if (Math.abs(fval) <= 4194303) return val - 12582912;
  nearestScratchF32[0] = val;
  return ((nearestScratchI32[0] as number) & 0x007fffff) - 0x00400000;
}

function qxWeight(rmseType: number, xi: number): number {
  switch (rmseType) {
    case 1:
      return fr(xi * xi);
    case 2:
      return 1;
    case 3:
      return Math.abs(xi);
    default:
      return fr(Math.sqrt(Math.abs(xi)));
  }
}

/**
 * make_qx_quants: symmetric quants L in [0, 2*nmax) (stored with +nmax) and the scale, searching 18 scales around
 * the one that maps the largest magnitude to -nmax. `qw` (importance weights) is optional as in ggml.
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Uint8Array,
  lo: number,
  rmseTypeIn: number,
  qw?: Float32Array,
  qwo = 0,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i] as number);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i] as number;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = fr(-nmax / max);
  if (rmseTypeIn === 0) {
    for (let i = 0; i < n; i++) {
      const l = nearestInt(fr(iscale * (x[xo + i] as number)));
      L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
    }
    return fr(1 / iscale);
  }
  let rmseType = rmseTypeIn;
  let returnEarly = false;
  if (rmseType < 0) {
    rmseType = -rmseType;
    returnEarly = true;
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i] as number;
    let l = nearestInt(fr(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
    const w = qw ? (qw[qwo + i] as number) : qxWeight(rmseType, xi);
    sumlx = fr(sumlx + fr(fr(w * xi) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  if (returnEarly) return suml2 > 0 ? fr(0.5 * fr(scale + fr(1 / iscale))) : fr(1 / iscale);
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(RDELTA_POINT_1 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      let l = nearestInt(fr(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = qw ? (qw[qwo + i] as number) : qxWeight(rmseType, xi);
      sumlx = fr(sumlx + fr(fr(w * xi) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fr(iscale * (x[xo + i] as number)));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_q3_quants: symmetric quants (returned in L with +nmax) refined coordinate-wise for up to 5 passes with
 * weights x^2 when `doRmse`; returns the scale.
 */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number, doRmse: boolean): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i] as number);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i] as number;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = fr(-nmax / max);
  if (doRmse) {
    let sumlx = 0;
    let suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      let l = nearestInt(fr(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      L[lo + i] = l;
      const w = fr(xi * xi);
      sumlx = fr(sumlx + fr(fr(w * xi) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    for (let itry = 0; itry < 5; itry++) {
      let nChanged = 0;
      for (let i = 0; i < n; i++) {
        const xi = x[xo + i] as number;
        const w = fr(xi * xi);
        const li = L[lo + i] as number;
        let slx = fr(sumlx - fr(fr(w * xi) * li));
        if (slx > 0) {
          let sl2 = fr(suml2 - fr(fr(w * li) * li));
          let newL = nearestInt(fr(fr(xi * sl2) / slx));
          newL = Math.max(-nmax, Math.min(nmax - 1, newL));
          if (newL !== li) {
            slx = fr(slx + fr(fr(w * xi) * newL));
            sl2 = fr(sl2 + fr(fr(w * newL) * newL));
            if (sl2 > 0 && fr(fr(slx * slx) * suml2) > fr(fr(sumlx * sumlx) * sl2)) {
              L[lo + i] = newL;
              sumlx = slx;
              suml2 = sl2;
              nChanged++;
            }
          }
        }
      }
      if (nChanged === 0) break;
    }
    for (let i = 0; i < n; i++) L[lo + i] = (L[lo + i] as number) + nmax;
    return suml2 > 0 ? fr(sumlx / suml2) : 0;
  }
  for (let i = 0; i < n; i++) {
    let l = nearestInt(fr(iscale * (x[xo + i] as number)));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
  }
  return fr(1 / iscale);
}

/**
 * make_qkx2_quants: asymmetric quants L in [0, nmax] with x ~ scale*L - min, trying nstep+1 scales from
 * (rmin + nmax)/(max-min) in steps of rdelta and a weighted least-squares fit for each. Stores the (positive)
 * min in mins[mi] and returns the scale. `Laux` is scratch of at least n entries.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  mins: Float32Array,
  mi: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xo] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = fr(sumW * min);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i] as number;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i] as number;
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    mins[mi] = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i] as number;
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
    L[lo + i] = l;
    let diff = fr(fr(fr(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : fr(diff * diff);
    bestError = fr(bestError + fr((weights[i] as number) * diff));
  }
  if (nstep < 1) {
    mins[mi] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` may have moved to a better fit in an earlier step; ggml keeps searching from there.
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      // nearestInt inlined for the in-range case: this loop runs (nstep+1)*n times per group.
      const v = fr(iscale * fr(xi - min));
      let l = Math.abs(v) <= 4194303 ? fr(v + 12582912) - 12582912 : nearestInt(v);
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      Laux[i] = l;
      const wl = fr((weights[i] as number) * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * xi));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * (Laux[i] as number)) + thisMin) - (x[xo + i] as number));
        diff = useMad ? Math.abs(diff) : fr(diff * diff);
        curError = fr(curError + fr((weights[i] as number) * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i] as number;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[mi] = -min;
  return scale;
}

/** get_scale_min_k4, scale half: 6-bit scale j of the 12-byte Q4_K/Q5_K scales array at q[o]. */
export function scaleK4(j: number, q: Uint8Array, o: number): number {
  if (j < 4) return (q[o + j] as number) & 63;
  return ((q[o + j + 4] as number) & 0xf) | (((q[o + j - 4] as number) >> 6) << 4);
}

/** get_scale_min_k4, min half. */
export function minK4(j: number, q: Uint8Array, o: number): number {
  if (j < 4) return (q[o + j + 4] as number) & 63;
  return ((q[o + j + 4] as number) >> 4) | (((q[o + j] as number) >> 6) << 4);
}

/**
 * Packs 8 six-bit scales and mins into the 12-byte K_SCALE_SIZE layout read by get_scale_min_k4.
 * `ls`/`lm` are already clamped to 0..63.
 */
export function packScaleMinK4(q: Uint8Array, o: number, ls: Uint8Array, lm: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    const s = ls[j] as number;
    const m = lm[j] as number;
    if (j < 4) {
      q[o + j] = s;
      q[o + j + 4] = m;
    } else {
      q[o + j + 4] = (s & 0xf) | ((m & 0xf) << 4);
      q[o + j - 4] = (q[o + j - 4] as number) | ((s >> 4) << 6);
      q[o + j] = (q[o + j] as number) | ((m >> 4) << 6);
    }
  }
}

const lsScratch = new Uint8Array(8);
const lmScratch = new Uint8Array(8);

/**
 * Q4_K/Q5_K (reference quantizers): quantizes the 8 sub-block scales and mins to 6 bits against the largest of
 * each, packs them at dst[o+4..o+16) and writes d, dmin (fp16) at dst[o], dst[o+2].
 */
export function storeScalesMinsK4(dst: Uint8Array, o: number, scales: Float32Array, mins: Float32Array): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const s = scales[j] as number;
    if (s > maxScale) maxScale = s;
    const m = mins[j] as number;
    if (m > maxMin) maxMin = m;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    // ggml assigns nearest_int to a uint8_t, then clamps.
    lsScratch[j] = Math.min(63, nearestInt(fr(invScale * (scales[j] as number))) & 0xff);
    lmScratch[j] = Math.min(63, nearestInt(fr(invMin * (mins[j] as number))) & 0xff);
  }
  packScaleMinK4(dst, o + 4, lsScratch, lmScratch);
  writeF16(dst, o, fr(maxScale / 63));
  writeF16(dst, o + 2, fr(maxMin / 63));
}

/**
 * Final Q4_K/Q5_K quants against the stored (fp16 d/dmin, 6-bit) scales: L = clamp(round((x + dmin*m)/(d*sc))).
 * Sub-blocks whose effective scale is zero keep the L from the search.
 */
export function requantizeK4(x: Float32Array, xo: number, blk: Uint8Array, o: number, dAll: number, dminAll: number, L: Uint8Array, nmax: number): void {
  for (let j = 0; j < 8; j++) {
    const d = fr(dAll * scaleK4(j, blk, o + 4));
    if (d === 0) continue;
    const dm = fr(dminAll * minK4(j, blk, o + 4));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fr(fr((x[xo + 32 * j + ii] as number) + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

/** Weights used by the Q4_K/Q5_K reference search: sqrt(mean(x^2)) + |x| over a 32-element sub-block. */
export function weightsAvX32(x: Float32Array, xo: number, weights: Float32Array): void {
  let sumX2 = 0;
  for (let l = 0; l < 32; l++) {
    const v = x[xo + l] as number;
    sumX2 = fr(sumX2 + fr(v * v));
  }
  const avX = fr(Math.sqrt(fr(sumX2 / 32)));
  for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(x[xo + l] as number));
}
