/* Temporal action segment detection, ActivityNet-style (Caba Heilbron et al. 2015):
 * per class, predictions by decreasing score; each is a true positive when an unmatched
 * GT segment of its class has tIoU >= the threshold with it (the one of highest tIoU is
 * taken), else a false positive. AP is the area under the precision-recall curve with
 * precision made monotone (VOC 2011 interpolation); mAP is the mean over the GT classes.
 * F1@0.5 pools the counts of all classes; predictions of classes the GT lacks are false
 * positives there (mAP ignores them, as ActivityNet does). GT segments marked ignore
 * (rv_eval_dont_care) are VOC's "difficult" ones: a prediction whose best match at the
 * threshold is one of them is left out of the ranking, and they are never missed. With an
 * rv_eval_follow, a per-track prediction also has to be about the GT segment's object
 * (rv_eval_follows over their common time): the spatio-temporal matching of video-mAP. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/eval.h>

const double rv_eval_tious[RV_EVAL_N_TIOU] = {0.3, 0.5, 0.7};

double rv_eval_tiou(int64_t s1, int64_t e1, int64_t s2, int64_t e2) {
  double inter = (double)((e1 < e2 ? e1 : e2) - (s1 > s2 ? s1 : s2));
  if (inter < 0) inter = 0;
  double uni = (double)(e1 - s1) + (double)(e2 - s2) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

static int same_class(const rv_eval_segment *a, const rv_eval_segment *b) {
  return a->scene == b->scene && !strcmp(a->label, b->label);
}

typedef struct by_score {
  double score;
  int64_t index;
} by_score;

static int cmp_score(const void *pa, const void *pb) {
  const by_score *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index); /* ties: file order */
}

/* Area under the interpolated precision-recall curve of tp[0..n) (1 = TP, 0 = FP). */
static double interpolated_ap(const unsigned char *tp, int64_t n, int64_t n_gt) {
  double ap = 0, best = 0;
  int64_t tps = 0;
  for (int64_t k = 0; k < n; k++)
    tps += tp[k];
  /* walking from the lowest-score end, the interpolated precision at each recall step is
   * the best precision at any later rank; recall rises exactly at the TPs */
  for (int64_t k = n - 1; k >= 0; k--) {
    double prec = (double)tps / (double)(k + 1);
    if (prec > best) best = prec;
    if (tp[k]) {
      ap += best / (double)n_gt;
      tps--;
    }
  }
  return ap;
}

/* Greedy matching of one class's predictions (in score order, ord[0..np)) at `thr`;
 * tp[k] receives 1 for a true positive, 0 for a false positive, DONT_CARE where the best
 * match is an ignored GT segment (those may take any number of predictions). */
enum { DONT_CARE = 2 };

/* Whether p may match g beyond their time: the same object when both are per-track. */
static int same_object(const rv_eval_follow *follow, const rv_eval_segment *g,
                       const rv_eval_segment *p) {
  if (!follow || g->scene || p->scene) return 1;
  int64_t s = g->start_ns > p->start_ns ? g->start_ns : p->start_ns;
  int64_t e = g->end_ns < p->end_ns ? g->end_ns : p->end_ns;
  return rv_eval_follows(follow, g->track_id, p->track_id, s, e);
}

static void match_class(const rv_eval_segment *gt, const int64_t *gi, int64_t ng,
                        const rv_eval_segment *pred, const by_score *ord, int64_t np, double thr,
                        const rv_eval_follow *follow, unsigned char *used, unsigned char *tp) {
  memset(used, 0, (size_t)ng);
  for (int64_t k = 0; k < np; k++) {
    const rv_eval_segment *p = &pred[ord[k].index];
    int64_t best = -1;
    double best_iou = -1, hidden_iou = -1;
    for (int64_t i = 0; i < ng; i++) {
      double iou = rv_eval_tiou(p->start_ns, p->end_ns, gt[gi[i]].start_ns, gt[gi[i]].end_ns);
      if (iou < thr || !same_object(follow, &gt[gi[i]], p)) continue;
      if (gt[gi[i]].ignore) {
        if (iou > hidden_iou) hidden_iou = iou;
      } else if (!used[i] && iou > best_iou) {
        best = i, best_iou = iou;
      }
    }
    tp[k] = hidden_iou > best_iou ? DONT_CARE : best >= 0;
    if (tp[k] == 1) used[best] = 1;
  }
}

/* Removes the DONT_CARE marks from tp[0..n); returns how many remain. */
static int64_t drop_dont_care(unsigned char *tp, int64_t n) {
  int64_t w = 0;
  for (int64_t k = 0; k < n; k++)
    if (tp[k] != DONT_CARE) tp[w++] = tp[k];
  return w;
}

typedef struct class_work {
  const rv_eval_follow *follow;
  int64_t *gi;
  by_score *ord;
  unsigned char *used, *tp;
} class_work;

/* AP at every threshold for the class of gt[first] into *c (with its segment counts);
 * counts at 0.5 into out. Returns 0 when every GT segment of the class is ignored: the
 * class has no AP then. */
static int eval_class(const rv_eval_segment *gt, int64_t n_gt, const rv_eval_segment *pred,
                      int64_t n_pred, int64_t first, class_work *w, rv_eval_class_ap *c,
                      rv_eval_act *out) {
  double *ap = c->ap;
  int64_t ng = 0, np = 0, counted = 0;
  for (int64_t i = 0; i < n_gt; i++)
    if (same_class(&gt[i], &gt[first])) {
      w->gi[ng++] = i;
      counted += !gt[i].ignore;
    }
  for (int64_t k = 0; k < n_pred; k++)
    if (same_class(&pred[k], &gt[first])) w->ord[np++] = (by_score){pred[k].score, k};
  qsort(w->ord, (size_t)np, sizeof *w->ord, cmp_score);
  for (int t = 0; t < RV_EVAL_N_TIOU; t++) {
    match_class(gt, w->gi, ng, pred, w->ord, np, rv_eval_tious[t], w->follow, w->used, w->tp);
    int64_t ranked = drop_dont_care(w->tp, np);
    ap[t] = counted ? interpolated_ap(w->tp, ranked, counted) : 0.0;
    if (rv_eval_tious[t] != 0.5) continue;
    out->pred_ignored_50 += np - ranked;
    for (int64_t k = 0; k < ranked; k++)
      out->tp_50 += w->tp[k];
  }
  memcpy(c->label, gt[first].label, sizeof c->label);
  c->scene = gt[first].scene;
  c->gt_segments = counted;
  c->pred_segments = np;
  return counted > 0;
}

static rv_status check_segments(const rv_eval_segment *s, int64_t n, const char *what) {
  if (n < 0 || (n && !s)) return RV_FAIL(RV_ERR_INVALID, "bad %s segment array", what);
  for (int64_t i = 0; i < n; i++)
    if (s[i].end_ns < s[i].start_ns || !isfinite(s[i].score) ||
        !memchr(s[i].label, 0, sizeof s[i].label))
      return RV_FAIL(RV_ERR_INVALID, "%s segment %lld: end before start, bad score or label", what,
                     (long long)i);
  return RV_OK;
}

rv_status rv_eval_actions(const rv_eval_segment *gt, int64_t n_gt, const rv_eval_segment *pred,
                          int64_t n_pred, rv_eval_act *out) {
  return rv_eval_actions_ex(gt, n_gt, pred, n_pred, NULL, out);
}

rv_status rv_eval_actions_ex(const rv_eval_segment *gt, int64_t n_gt, const rv_eval_segment *pred,
                             int64_t n_pred, const rv_eval_follow *follow, rv_eval_act *out) {
  rv_status st = RV_OK;
  class_work w = {.follow = follow};
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  memset(out, 0, sizeof *out);
  RV_TRY(check_segments(gt, n_gt, "GT"));
  RV_TRY(check_segments(pred, n_pred, "predicted"));
  w.gi = malloc((size_t)(n_gt + 1) * sizeof *w.gi);
  w.ord = malloc((size_t)(n_pred + 1) * sizeof *w.ord);
  w.used = malloc((size_t)n_gt + 1);
  w.tp = malloc((size_t)n_pred + 1);
  if (!w.gi || !w.ord || !w.used || !w.tp) RV_TRY_FAIL(RV_ERR_NOMEM, "action evaluation");
  for (int64_t i = 0; i < n_gt; i++) {
    int64_t seen = 0;
    for (int64_t j = 0; j < i && !seen; j++)
      seen = same_class(&gt[j], &gt[i]);
    if (seen) continue; /* the class was evaluated at its first segment */
    rv_eval_class_ap c;
    memset(&c, 0, sizeof c);
    if (!eval_class(gt, n_gt, pred, n_pred, i, &w, &c, out)) continue;
    for (int t = 0; t < RV_EVAL_N_TIOU; t++)
      out->map[t] += c.ap[t];
    out->n_classes++;
    if (out->n_listed < RV_EVAL_MAX_CLASSES) out->classes[out->n_listed++] = c;
  }
  for (int t = 0; t < RV_EVAL_N_TIOU && out->n_classes; t++)
    out->map[t] /= out->n_classes;
  for (int64_t i = 0; i < n_gt; i++)
    out->gt_ignored += gt[i].ignore != 0;
  out->gt_segments = n_gt;
  out->pred_segments = n_pred;
  out->fn_50 = n_gt - out->gt_ignored - out->tp_50;
  /* includes the classes the GT lacks */
  out->fp_50 = n_pred - out->pred_ignored_50 - out->tp_50;
  int64_t denom = 2 * out->tp_50 + out->fp_50 + out->fn_50;
  out->f1_50 = denom ? 2.0 * (double)out->tp_50 / (double)denom : 0.0;
fail:
  free(w.gi);
  free(w.ord);
  free(w.used);
  free(w.tp);
  return st;
}
