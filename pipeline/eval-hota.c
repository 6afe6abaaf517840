/* HOTA (Luiten et al., IJCV 2021) with TrackEval's definitions, for alpha = 0.05 .. 0.95:
 *  1. global alignment: for every (GT id, predicted id) pair, the sum over frames of
 *     IoU / (row sum + column sum - IoU) of the frame's similarity matrix, divided by
 *     (frames of the GT id + frames of the predicted id - that sum);
 *  2. per frame, the assignment maximising alignment x IoU; for each alpha, the assigned
 *     pairs with IoU >= alpha are true positives, the rest of both sides FN and FP;
 *  3. AssA(alpha) = sum over TP of the pair's association IoU, A = TPA / (TPA + FNA + FPA),
 *     divided by TP; DetA = TP / (TP + FN + FP); HOTA = sqrt(DetA x AssA); LocA = mean IoU
 *     of the TPs. The reported figures are means over the 19 alphas. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval-impl.h"

enum { NA = RV_EVAL_N_ALPHA };

/* as numpy's arange(0.05, 0.99, 0.05) computes them: start + a * step */
static double alpha_at(int a) { return 0.05 + a * 0.05; }

typedef struct hota_acc {
  double tp[NA], fn[NA], fp[NA], loc[NA];
  double *gt_count, *pr_count; /* frames each id is present in */
  rv_eval_pairs pairs;         /* per pair: [0] alignment sum, [1 + a] TPs at alpha a */
} hota_acc;

/* Step 1 for frame t: accumulates IoU / (row sum + column sum - IoU) per id pair. */
static rv_status hota_align_frame(rv_eval_seq *s, hota_acc *h, int64_t t, double *rows,
                                  double *cols) {
  rv_status st = RV_OK;
  int64_t g0 = s->gt_off[t], ng = s->gt_off[t + 1] - g0;
  int64_t p0 = s->pr_off[t], np = s->pr_off[t + 1] - p0;
  for (int64_t i = 0; i < ng; i++)
    h->gt_count[s->gt_id[g0 + i]] += 1;
  for (int64_t j = 0; j < np; j++)
    h->pr_count[s->pr_id[p0 + j]] += 1;
  if (!ng || !np) return RV_OK;
  rv_eval_seq_similarity(s, t);
  memset(rows, 0, (size_t)ng * sizeof *rows);
  memset(cols, 0, (size_t)np * sizeof *cols);
  for (int64_t i = 0; i < ng; i++)
    for (int64_t j = 0; j < np; j++) {
      rows[i] += s->sim[i * np + j];
      cols[j] += s->sim[i * np + j];
    }
  for (int64_t i = 0; i < ng; i++)
    for (int64_t j = 0; j < np; j++) {
      double sim = s->sim[i * np + j], denom = rows[i] + cols[j] - sim, *v;
      if (!(denom > RV_EVAL_EPS) || sim <= 0) continue;
      RV_TRY(rv_eval_pairs_add(&h->pairs, s->gt_id[g0 + i], s->pr_id[p0 + j], &v));
      v[0] += sim / denom;
    }
fail:
  return st;
}

static double alignment(const hota_acc *h, int32_t g, int32_t p) {
  const double *v = rv_eval_pairs_get(&h->pairs, g, p);
  return v ? v[0] / (h->gt_count[g] + h->pr_count[p] - v[0]) : 0.0;
}

/* Step 2 for frame t. */
static rv_status hota_match_frame(rv_eval_seq *s, hota_acc *h, int64_t t) {
  rv_status st = RV_OK;
  int64_t g0 = s->gt_off[t], ng = s->gt_off[t + 1] - g0;
  int64_t p0 = s->pr_off[t], np = s->pr_off[t + 1] - p0;
  if (!ng || !np) {
    for (int a = 0; a < NA; a++) {
      h->fn[a] += (double)ng;
      h->fp[a] += (double)np;
    }
    return RV_OK;
  }
  rv_eval_seq_similarity(s, t);
  for (int64_t i = 0; i < ng; i++)
    for (int64_t j = 0; j < np; j++)
      s->cost[i * np + j] = -alignment(h, s->gt_id[g0 + i], s->pr_id[p0 + j]) * s->sim[i * np + j];
  RV_TRY(rv_eval_seq_assign(s, (int)ng, (int)np));
  for (int a = 0; a < NA; a++) {
    int matched = 0;
    for (int64_t i = 0; i < ng; i++) {
      int j = s->row_to_col[i];
      double *v;
      if (j < 0 || !(s->sim[i * np + j] >= alpha_at(a) - RV_EVAL_EPS)) continue;
      matched++;
      h->loc[a] += s->sim[i * np + j];
      RV_TRY(rv_eval_pairs_add(&h->pairs, s->gt_id[g0 + i], s->pr_id[p0 + j], &v));
      v[1 + a] += 1;
    }
    h->tp[a] += matched;
    h->fn[a] += (double)(ng - matched);
    h->fp[a] += (double)(np - matched);
  }
fail:
  return st;
}

/* Step 3. */
static void hota_finish(const hota_acc *h, rv_eval_mot *out) {
  memset(out->hota_at, 0, sizeof out->hota_at);
  out->hota = out->det_a = out->ass_a = out->loc_a = 0;
  for (int a = 0; a < NA; a++) {
    double ass = 0;
    for (int32_t k = 0; k < h->pairs.n; k++) {
      double m = h->pairs.val[(size_t)k * h->pairs.width + 1 + a];
      double u = h->gt_count[h->pairs.g[k]] + h->pr_count[h->pairs.p[k]] - m;
      ass += m * m / fmax(1.0, u);
    }
    out->ass_a_at[a] = ass / fmax(1.0, h->tp[a]);
    out->det_a_at[a] = h->tp[a] / fmax(1.0, h->tp[a] + h->fn[a] + h->fp[a]);
    out->loc_a_at[a] = fmax(1e-10, h->loc[a]) / fmax(1e-10, h->tp[a]);
    out->hota_at[a] = sqrt(out->det_a_at[a] * out->ass_a_at[a]);
  }
  for (int a = 0; a < NA; a++) {
    out->hota += out->hota_at[a] / NA;
    out->det_a += out->det_a_at[a] / NA;
    out->ass_a += out->ass_a_at[a] / NA;
    out->loc_a += out->loc_a_at[a] / NA;
  }
}

rv_status rv_eval_hota(rv_eval_seq *s, rv_eval_mot *out) {
  rv_status st = RV_OK;
  hota_acc h;
  memset(&h, 0, sizeof h);
  rv_eval_pairs_init(&h.pairs, 1 + NA, s->n_pr_ids);
  double *rows = malloc((size_t)(s->max_gt + 1) * sizeof *rows);
  double *cols = malloc((size_t)(s->max_pr + 1) * sizeof *cols);
  h.gt_count = calloc((size_t)s->n_gt_ids + 1, sizeof *h.gt_count);
  h.pr_count = calloc((size_t)s->n_pr_ids + 1, sizeof *h.pr_count);
  if (!rows || !cols || !h.gt_count || !h.pr_count) RV_TRY_FAIL(RV_ERR_NOMEM, "HOTA tables");
  /* an empty side: TrackEval returns early with LocA = 1 and every count on the other side */
  if (s->gt_off[s->n_frames] && s->pr_off[s->n_frames]) {
    for (int64_t t = 0; t < s->n_frames; t++)
      RV_TRY(hota_align_frame(s, &h, t, rows, cols));
    for (int64_t t = 0; t < s->n_frames; t++)
      RV_TRY(hota_match_frame(s, &h, t));
  } else {
    for (int a = 0; a < NA; a++) {
      h.fn[a] = (double)s->gt_off[s->n_frames];
      h.fp[a] = (double)s->pr_off[s->n_frames];
      h.loc[a] = 1e-10;
    }
  }
  hota_finish(&h, out);
fail:
  free(rows);
  free(cols);
  free(h.gt_count);
  free(h.pr_count);
  rv_eval_pairs_free(&h.pairs);
  return st;
}
