/* libFuzzer target: the readers of `ringvit eval` (MOTChallenge txt, JSON Lines with frames
 * and actions, actions.jsonl) and the metrics on whatever they accept, also after leaving
 * out what is less visible than 0.3 (rv_eval_dont_care), action segments matched on time and on
 * tracks, track figures per class. Any input must be
 * accepted or refused with an error, never crash, hang or leak. The readers take paths, so
 * each input goes through one temporary file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <ringvit/eval.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void evaluate(const rv_eval_data *gt, const rv_eval_data *pred) {
  rv_eval_mot m;
  rv_eval_act a;
  (void)rv_eval_tracks(gt->boxes, gt->n_boxes, pred->boxes, pred->n_boxes, pred->frames,
                       pred->n_frames, &m);
  (void)rv_eval_actions(gt->segments, gt->n_segments, pred->segments, pred->n_segments, &a);
  rv_eval_follow *f = NULL; /* segments matched on tracks too, where the GT has a rate */
  if (rv_eval_follow_init(gt, pred, &f) == RV_OK)
    (void)rv_eval_actions_ex(gt->segments, gt->n_segments, pred->segments, pred->n_segments, f, &a);
  rv_eval_follow_free(f);
  rv_eval_class_mot *classes = NULL; /* per class, where the GT names its classes */
  int32_t n_classes = 0;
  if (rv_eval_tracks_per_class(gt, pred, NULL, &classes, &n_classes) == RV_OK) free(classes);
}

/* The file as GT and as prediction, --min-vis 0.3 between them, the metrics after. */
static void dont_care(const char *path) {
  rv_eval_data gt = {0}, pred = {0};
  rv_eval_dont_care_counts c;
  if (rv_eval_load_gt(path, &gt) == RV_OK && rv_eval_load_pred(path, 10, &pred) == RV_OK) {
    gt.fps = 10;
    if (rv_eval_dont_care(&gt, &pred, 0.3, &c) == RV_OK) evaluate(&gt, &pred);
  }
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pred);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[] = "/tmp/rv-fuzz-eval-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 0;
  FILE *f = fdopen(fd, "wb");
  if (!f || fwrite(data, 1, size, f) != size) {
    if (f) fclose(f);
    unlink(path);
    return 0;
  }
  fclose(f);
  rv_eval_data gt = {0}, pred = {0};
  if (rv_eval_load_pred(path, 10, &pred) == RV_OK) {
    rv_eval_data g = pred;
    g.fps = 10; /* a JSON Lines file as GT too: its frames and actions, at a known rate */
    evaluate(&g, &pred);
    rv_eval_data_free(&pred);
  }
  if (rv_eval_load_pred(path, 0, &pred) == RV_OK) rv_eval_data_free(&pred);
  if (rv_eval_load_gt(path, &gt) == RV_OK) {
    rv_eval_data p = gt;
    p.n_frames = -1;
    evaluate(&gt, &p);
    rv_eval_data_free(&gt);
  }
  dont_care(path);
  unlink(path);
  return 0;
}
