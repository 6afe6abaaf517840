/* Track figures per class: each class's GT rows against the predicted boxes with its label,
 * as TrackEval evaluates the classes of KITTI or BDD100K one by one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/eval.h>

/* The reason per-class figures are undefined for these inputs, or NULL. */
static const char *unclassed(const rv_eval_data *gt, const rv_eval_data *pred) {
  if (gt->n_boxes && !gt->n_classes)
    return "the ground truth has no class names (meta.json \"classes\" beside gt.txt)";
  for (int64_t i = 0; i < gt->n_boxes; i++)
    if (gt->boxes[i].cls < 0 || gt->boxes[i].cls >= gt->n_classes)
      return "a GT row's class (8th column) is not one of meta.json's \"classes\"";
  if (pred->n_frames < 0 && pred->n_boxes)
    return "the prediction has no labels (MOTChallenge txt): give ringvit's JSON Lines";
  for (int64_t i = 0; i < pred->n_boxes; i++)
    if (pred->boxes[i].cls < 0) return "a predicted object has no detection.label";
  return NULL;
}

/* The GT's class of each predicted label (-1: a label the GT does not name). */
static int32_t *gt_class_of_labels(const rv_eval_data *gt, const rv_eval_data *pred) {
  int32_t *map = malloc(sizeof *map * (size_t)(pred->n_classes + 1));
  for (int32_t j = 0; map && j < pred->n_classes; j++) {
    map[j] = -1;
    for (int32_t c = 0; c < gt->n_classes; c++)
      if (!strcmp(gt->classes[c], pred->classes[j])) map[j] = c;
  }
  return map;
}

static int64_t select_boxes(const rv_eval_box *in, int64_t n, int32_t cls, rv_eval_box *out) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (in[i].cls == cls) out[k++] = in[i];
  return k;
}

/* Scores GT class gt_cls (-1: one the GT does not name) against the predicted boxes of
 * label (-1: none of them), in the buffers' room. */
static rv_status score_class(const rv_eval_data *gt, const rv_eval_data *pred, int32_t gt_cls,
                             int32_t label, const rv_eval_track_opts *opts, rv_eval_box *gbuf,
                             rv_eval_box *pbuf, rv_eval_class_mot *out) {
  int64_t ng = gt_cls < 0 ? 0 : select_boxes(gt->boxes, gt->n_boxes, gt_cls, gbuf);
  int64_t np = label < 0 ? 0 : select_boxes(pred->boxes, pred->n_boxes, label, pbuf);
  snprintf(out->label, sizeof out->label, "%s",
           gt_cls >= 0 ? gt->classes[gt_cls] : pred->classes[label]);
  return rv_eval_tracks_ex(gbuf, ng, pbuf, np, pred->frames, pred->n_frames, opts, &out->m);
}

static int class_used(const rv_eval_box *b, int64_t n, int32_t cls) {
  for (int64_t i = 0; i < n; i++)
    if (b[i].cls == cls) return 1;
  return 0;
}

rv_status rv_eval_tracks_per_class(const rv_eval_data *gt, const rv_eval_data *pred,
                                   const rv_eval_track_opts *opts, rv_eval_class_mot **out,
                                   int32_t *n_out) {
  rv_status st = RV_OK;
  if (!gt || !pred || !out || !n_out) return RV_FAIL(RV_ERR_INVALID, "arguments must be given");
  *out = NULL;
  *n_out = 0;
  const char *why = unclassed(gt, pred);
  if (why) return RV_FAIL(RV_ERR_FORMAT, "per-class figures: %s", why);
  int32_t *map = gt_class_of_labels(gt, pred);
  rv_eval_box *gbuf = malloc(sizeof *gbuf * (size_t)(gt->n_boxes + 1));
  rv_eval_box *pbuf = malloc(sizeof *pbuf * (size_t)(pred->n_boxes + 1));
  rv_eval_class_mot *res = calloc((size_t)(gt->n_classes + pred->n_classes + 1), sizeof *res);
  if (!map || !gbuf || !pbuf || !res) RV_TRY_FAIL(RV_ERR_NOMEM, "per-class figures");
  int32_t n = 0;
  for (int32_t c = 0; c < gt->n_classes; c++) {
    int32_t label = -1;
    for (int32_t j = 0; j < pred->n_classes; j++)
      if (map[j] == c) label = j;
    if (!class_used(gt->boxes, gt->n_boxes, c) &&
        !(label >= 0 && class_used(pred->boxes, pred->n_boxes, label)))
      continue;
    RV_TRY(score_class(gt, pred, c, label, opts, gbuf, pbuf, &res[n++]));
  }
  for (int32_t j = 0; j < pred->n_classes; j++)
    if (map[j] < 0 && class_used(pred->boxes, pred->n_boxes, j))
      RV_TRY(score_class(gt, pred, -1, j, opts, gbuf, pbuf, &res[n++]));
  *out = res;
  *n_out = n;
  res = NULL;
fail:
  free(res);
  free(pbuf);
  free(gbuf);
  free(map);
  return st;
}
