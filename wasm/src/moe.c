/* MoE routing (moe_gate) and routed experts (moe_experts), the CPU experts of KTransformers (llamafile moe.cpp):
 * tokens are grouped by expert, every activation is quantized once, and a task computes a block of WE_MOE_ROWS
 * rows of one expert's weights against all tokens routed to it, so each expert's weights are read once per run
 * (decode: k experts x n_ff/WE_MOE_ROWS gate+up tasks, then n_embd/WE_MOE_ROWS down tasks per expert).
 * Phases: 0 group + quantize x, 1 gate/up + SiLU*up, 2 quantize h, 3 down, 4 weighted sum per token. */
#include "ops.h"

#define WE_MOE_ROWS 16
#define WE_MOE_MAX_EXPERTS 1024

/* ---- moe_gate: llama.cpp build_moe_ffn routing, in double like cpu-ref (top-k near-ties decide experts) ---- */
static int32_t gate_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return op->ne[0] > WE_MOE_MAX_EXPERTS ? -WE_ERR_SHAPE : op->ne[1];
}

/* index of the largest v[i] with taken[i] == 0; ties go to the lower index */
static int32_t argmax_free(const double *v, const uint8_t *taken, int32_t n) {
  int32_t best = -1;
  for (int32_t i = 0; i < n; i++)
    if (!taken[i] && (best < 0 || v[i] > v[best])) best = i;
  return best;
}

static int32_t gate_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t ne = op->ne[0], nu = op->ne[2];
  const int32_t sigmoid = op->i[0], norm = op->i[1], ngroup = op->i[2], topk_group = op->i[3], gmax = op->i[4];
  const float *l = (const float *)we_ptr(op->p[0]) + (size_t)t * ne;
  const float *bias = (const float *)we_ptr(op->p[1]);
  float *o = (float *)we_ptr(op->p[2]) + (size_t)t * 2 * nu;
  double probs[WE_MOE_MAX_EXPERTS], sel[WE_MOE_MAX_EXPERTS];
  uint8_t taken[WE_MOE_MAX_EXPERTS];
  if (!sigmoid) {
    double max = -__builtin_inf(), sum = 0.0;
    for (int32_t e = 0; e < ne; e++) max = l[e] > max ? l[e] : max;
    for (int32_t e = 0; e < ne; e++) sum += probs[e] = we_exp((double)l[e] - max);
    for (int32_t e = 0; e < ne; e++) probs[e] /= sum;
  } else {
    for (int32_t e = 0; e < ne; e++) probs[e] = 1.0 / (1.0 + we_exp(-(double)l[e]));
  }
  for (int32_t e = 0; e < ne; e++) {
    sel[e] = probs[e] + (op->p[1] ? (double)bias[e] : 0.0);
    taken[e] = 0;
  }
  if (ngroup > 1) {
    const int32_t per = ne / ngroup;
    double gscore[WE_MOE_MAX_EXPERTS];
    uint8_t gtaken[WE_MOE_MAX_EXPERTS];
    for (int32_t g = 0; g < ngroup; g++) {
      double a = -__builtin_inf(), b = -__builtin_inf(); /* top two of the group */
      for (int32_t i = g * per; i < (g + 1) * per; i++) {
        if (sel[i] > a) {
          b = a;
          a = sel[i];
        } else if (sel[i] > b) {
          b = sel[i];
        }
      }
      gscore[g] = gmax ? a : a + (per > 1 ? b : 0.0);
      gtaken[g] = 0;
    }
    for (int32_t k = 0; k < topk_group; k++) {
      const int32_t g = argmax_free(gscore, gtaken, ngroup);
      if (g >= 0) gtaken[g] = 1;
    }
    for (int32_t g = 0; g < ngroup; g++)
      if (!gtaken[g])
        for (int32_t i = g * per; i < (g + 1) * per; i++) sel[i] = -__builtin_inf();
  }
  int32_t ids[WE_MOE_MAX_EXPERTS];
  double sum = 0.0;
  for (int32_t k = 0; k < nu; k++) {
    const int32_t e = argmax_free(sel, taken, ne);
    taken[e] = 1;
    ids[k] = e;
    sum += probs[e];
  }
  for (int32_t k = 0; k < nu; k++) {
    double w = probs[ids[k]];
    if (norm) w /= sum;
    o[k] = (float)ids[k];
    o[nu + k] = (float)(w * (double)op->f[0]);
  }
  return WE_OK;
}

const we_op_impl we_impl_moe_gate = {1, gate_prepare, gate_task};

/* ---- moe_experts ---- */
typedef struct {
  int32_t act_g, act_u, act_d, arb_g, arb_u, arb_d, rb_g, rb_u, rb_d;
  uint32_t count, start, cursor, active, prefix, n_active, slot_tok, slot_of, xg, xu, h, hq, y, total;
} moe_layout;

WE_INLINE uint32_t align16(uint32_t v) { return (v + 15u) & ~15u; }

static int32_t moe_layout_of(const we_op *op, moe_layout *L) {
  const int32_t n_embd = op->ne[0], n_ff = op->ne[1], ne = op->ne[2], nt = op->ne[3], nu = op->i[0];
  L->act_g = we_act_type(op->i[1]);
  L->act_u = we_act_type(op->i[2]);
  L->act_d = we_act_type(op->i[3]);
  if (L->act_g < 0 || L->act_u < 0 || L->act_d < 0) return WE_ERR_TYPE;
  L->arb_g = we_act_row_bytes(L->act_g, n_embd);
  L->arb_u = we_act_row_bytes(L->act_u, n_embd);
  L->arb_d = we_act_row_bytes(L->act_d, n_ff);
  L->rb_g = we_row_bytes(op->i[1], n_embd);
  L->rb_u = we_row_bytes(op->i[2], n_embd);
  L->rb_d = we_row_bytes(op->i[3], n_ff);
  if (L->rb_g < 0 || L->rb_u < 0 || L->rb_d < 0 || ne > WE_MOE_MAX_EXPERTS) return WE_ERR_SHAPE;
  const uint32_t slots = (uint32_t)nt * nu;
  uint32_t o = 0;
  L->count = o; o += 4 * ne;
  L->start = o; o += 4 * ne;
  L->cursor = o; o += 4 * ne;
  L->active = o; o += 4 * ne;
  L->prefix = o; o += 4 * (ne + 1);
  L->n_active = o; o += 4;
  L->slot_tok = o; o += 4 * slots;
  L->slot_of = o; o += 4 * slots;
  L->xg = o = align16(o); o += (uint32_t)nt * L->arb_g;
  L->xu = L->act_u == L->act_g ? L->xg : o;
  if (L->act_u != L->act_g) o += (uint32_t)nt * L->arb_u;
  L->h = o = align16(o); o += 4 * slots * n_ff;
  L->hq = o = align16(o); o += slots * L->arb_d;
  L->y = o = align16(o); o += 4 * slots * n_embd;
  L->total = align16(o);
  return WE_OK;
}

WE_API int32_t we_moe_scratch_bytes(const we_op *op) {
  moe_layout L;
  const int32_t st = moe_layout_of(op, &L);
  return st != WE_OK ? -st : (int32_t)L.total;
}

#define AT(T, off) ((T *)((uint8_t *)we_ptr(op->p[6]) + (off)))

static int32_t moe_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)nth;
  moe_layout L;
  const int32_t st = moe_layout_of(op, &L);
  if (st != WE_OK) return -st;
  const int32_t n_embd = op->ne[0], n_ff = op->ne[1], ne = op->ne[2], nt = op->ne[3], nu = op->i[0];
  int32_t *count = AT(int32_t, L.count), *start = AT(int32_t, L.start), *cursor = AT(int32_t, L.cursor);
  int32_t *active = AT(int32_t, L.active), *prefix = AT(int32_t, L.prefix), *n_active = AT(int32_t, L.n_active);
  switch (phase) {
    case 0: {
      /* counting sort of the (token, k) slots by expert */
      const float *route = (const float *)we_ptr(op->p[1]);
      int32_t *slot_tok = AT(int32_t, L.slot_tok), *slot_of = AT(int32_t, L.slot_of);
      for (int32_t e = 0; e < ne; e++) count[e] = 0;
      for (int32_t t = 0; t < nt; t++)
        for (int32_t k = 0; k < nu; k++) {
          const float fe = route[(size_t)t * 2 * nu + k];
          const int32_t e = (int32_t)fe;
          if (!(fe >= 0.0f) || e >= ne) return -WE_ERR_EXPERT;
          count[e]++;
        }
      int32_t s = 0, na = 0;
      for (int32_t e = 0; e < ne; e++) {
        start[e] = cursor[e] = s;
        s += count[e];
        if (count[e] > 0) active[na++] = e;
      }
      *n_active = na;
      for (int32_t t = 0; t < nt; t++)
        for (int32_t k = 0; k < nu; k++) {
          const int32_t e = (int32_t)route[(size_t)t * 2 * nu + k];
          const int32_t slot = cursor[e]++;
          slot_tok[slot] = t;
          slot_of[t * nu + k] = slot;
        }
      return L.act_u == L.act_g ? nt : 2 * nt;
    }
    case 1:
    case 3: {
      const int32_t per = we_div_up(phase == 1 ? n_ff : n_embd, WE_MOE_ROWS);
      prefix[0] = 0;
      for (int32_t a = 0; a < *n_active; a++) prefix[a + 1] = prefix[a] + per;
      return prefix[*n_active];
    }
    case 2: return nt * nu;
    case 4: return nt;
    default: return -WE_ERR_OP;
  }
}

/* (expert, row block) of task t in phases 1 and 3 */
static void expert_of_task(const int32_t *prefix, const int32_t *active, int32_t n_active, int32_t t, int32_t *e, int32_t *rb) {
  int32_t lo = 0, hi = n_active - 1;
  while (lo < hi) {
    const int32_t mid = (lo + hi + 1) / 2;
    if (prefix[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  *e = active[lo];
  *rb = t - prefix[lo];
}

static int32_t moe_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)ith;
  (void)nth;
  moe_layout L;
  const int32_t st = moe_layout_of(op, &L);
  if (st != WE_OK) return st;
  const int32_t n_embd = op->ne[0], n_ff = op->ne[1], nt = op->ne[3], nu = op->i[0];
  const float *x = (const float *)we_ptr(op->p[0]);
  const int32_t *count = AT(int32_t, L.count), *start = AT(int32_t, L.start), *slot_tok = AT(int32_t, L.slot_tok);
  uint8_t *xg = AT(uint8_t, L.xg), *xu = AT(uint8_t, L.xu), *hq = AT(uint8_t, L.hq);
  float *h = AT(float, L.h), *y = AT(float, L.y);
  switch (phase) {
    case 0:
      if (t < nt) return we_quantize_act(L.act_g, x + (size_t)t * n_embd, xg + (size_t)t * L.arb_g, n_embd);
      return we_quantize_act(L.act_u, x + (size_t)(t - nt) * n_embd, xu + (size_t)(t - nt) * L.arb_u, n_embd);
    case 1: {
      int32_t e, rb;
      expert_of_task(AT(int32_t, L.prefix), AT(int32_t, L.active), *AT(int32_t, L.n_active), t, &e, &rb);
      const we_type_traits *tg = we_traits(op->i[1]), *tu = we_traits(op->i[2]);
      const uint8_t *gw = (const uint8_t *)we_ptr(op->p[2]) + (size_t)e * n_ff * L.rb_g;
      const uint8_t *uw = (const uint8_t *)we_ptr(op->p[3]) + (size_t)e * n_ff * L.rb_u;
      const int32_t r0 = rb * WE_MOE_ROWS, r1 = r0 + WE_MOE_ROWS < n_ff ? r0 + WE_MOE_ROWS : n_ff;
      const int32_t s1 = start[e] + count[e];
      /* prefill: 4 tokens per weight decode; SiLU of the 4 at once */
      const int32_t s4 = tg->dot4 && tu->dot4 ? start[e] + (count[e] & ~3) : start[e];
      /* tokens outer, rows inner: the 4 activation rows and the task's weight rows both stay in L1 */
      for (int32_t s = start[e]; s < s4; s += 4) {
        const void *ag[4], *au[4];
        for (int32_t j = 0; j < 4; j++) {
          ag[j] = xg + (size_t)slot_tok[s + j] * L.arb_g;
          au[j] = xu + (size_t)slot_tok[s + j] * L.arb_u;
        }
        for (int32_t r = r0; r < r1; r++) {
          float g[4], u[4], o[4];
          tg->dot4(n_embd, gw + (size_t)r * L.rb_g, ag, g);
          tu->dot4(n_embd, uw + (size_t)r * L.rb_u, au, u);
          we_silu_mul_4(g, u, o);
          for (int32_t j = 0; j < 4; j++) h[(size_t)(s + j) * n_ff + r] = o[j];
        }
      }
      /* the other slots (all of them in decode): 4 rows at a time, SiLU of the 4 at once */
      for (int32_t s = s4; s < s1; s++) {
        const uint8_t *xgs = xg + (size_t)slot_tok[s] * L.arb_g, *xus = xu + (size_t)slot_tok[s] * L.arb_u;
        float *hs = h + (size_t)s * n_ff;
        int32_t r = r0;
        for (; r + 4 <= r1; r += 4) {
          float g[4], u[4];
          for (int32_t j = 0; j < 4; j++) {
            g[j] = tg->dot(n_embd, gw + (size_t)(r + j) * L.rb_g, xgs);
            u[j] = tu->dot(n_embd, uw + (size_t)(r + j) * L.rb_u, xus);
          }
          we_silu_mul_4(g, u, hs + r);
        }
        for (; r < r1; r++) hs[r] = we_silu(tg->dot(n_embd, gw + (size_t)r * L.rb_g, xgs)) * tu->dot(n_embd, uw + (size_t)r * L.rb_u, xus);
      }
      return WE_OK;
    }
    case 2: return we_quantize_act(L.act_d, h + (size_t)t * n_ff, hq + (size_t)t * L.arb_d, n_ff);
    case 3: {
      int32_t e, rb;
      expert_of_task(AT(int32_t, L.prefix), AT(int32_t, L.active), *AT(int32_t, L.n_active), t, &e, &rb);
      const we_type_traits *td = we_traits(op->i[3]);
      const uint8_t *dw = (const uint8_t *)we_ptr(op->p[4]) + (size_t)e * n_embd * L.rb_d;
      const int32_t r0 = rb * WE_MOE_ROWS, r1 = r0 + WE_MOE_ROWS < n_embd ? r0 + WE_MOE_ROWS : n_embd;
      const int32_t s1 = start[e] + count[e];
      const int32_t s4 = td->dot4 ? start[e] + (count[e] & ~3) : start[e];
      for (int32_t s = start[e]; s < s4; s += 4) {
        const void *as[4];
        for (int32_t j = 0; j < 4; j++) as[j] = hq + (size_t)(s + j) * L.arb_d;
        for (int32_t r = r0; r < r1; r++) {
          float o[4];
          td->dot4(n_ff, dw + (size_t)r * L.rb_d, as, o);
          for (int32_t j = 0; j < 4; j++) y[(size_t)(s + j) * n_embd + r] = o[j];
        }
      }
      for (int32_t s = s4; s < s1; s++)
        for (int32_t r = r0; r < r1; r++) y[(size_t)s * n_embd + r] = td->dot(n_ff, dw + (size_t)r * L.rb_d, hq + (size_t)s * L.arb_d);
      return WE_OK;
    }
    case 4: {
      const float *route = (const float *)we_ptr(op->p[1]) + (size_t)t * 2 * nu;
      const int32_t *slot_of = AT(int32_t, L.slot_of) + (size_t)t * nu;
      float *out = (float *)we_ptr(op->p[5]) + (size_t)t * n_embd;
      for (int32_t i = 0; i < n_embd; i++) out[i] = 0.0f;
      for (int32_t k = 0; k < nu; k++) {
        const float wt = route[nu + k];
        const float *ys = y + (size_t)slot_of[k] * n_embd;
        for (int32_t i = 0; i < n_embd; i++) out[i] += wt * ys[i];
      }
      return WE_OK;
    }
    default: return WE_ERR_OP;
  }
}

const we_op_impl we_impl_moe_experts = {5, moe_prepare, moe_task};
