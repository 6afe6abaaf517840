/* `ringvit eval`: scores tracks (HOTA, MOTA, IDF1) and action segments (mAP) against
 * ground truth; a table, or one JSON object with the figures in percent. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <ringvit/eval.h>

#include "cli.h"

static const char *const USAGE =
    "usage: ringvit eval --gt GT --pred PRED [--json] [--fps F] [--reentry-gap S] [--min-vis V]\n"
    "                    [--action-match track|time] [--per-class]\n"
    "\n"
    "Scores predicted tracks and action segments against ground truth with TrackEval's\n"
    "definitions: HOTA (DetA, AssA, LocA; mean over alpha 0.05..0.95), CLEAR MOTA and MOTP\n"
    "(IoU 0.5), IDF1 and ID switches; actions: segment mAP at tIoU 0.3, 0.5, 0.7 and F1 at\n"
    "0.5, ActivityNet-style, and each class's AP. Figures are in percent.\n"
    "\n"
    "  --gt GT       a MOTChallenge gt.txt (rows whose 7th column is 0 are ignored), or a\n"
    "                folder with gt.txt and actions.jsonl (ringvit synth --gt DIR)\n"
    "  --pred PRED   MOTChallenge txt (frame,id,x,y,w,h,...) or JSON Lines (ringvit analyze -o)\n"
    "  --fps F       the GT frame rate (default: meta.json or seqinfo.ini beside gt.txt)\n"
    "  --reentry-gap S  an id whose GT rows resume after S seconds or more without any is a\n"
    "                re-entry (default 10; 0: none counted; needs the GT frame rate)\n"
    "  --min-vis V   don't care about what the camera cannot see: GT rows less visible than\n"
    "                V (9th column) leave the evaluation with the predicted boxes matched to\n"
    "                them, and GT action segments whose track is nowhere that visible within\n"
    "                the segment neither count as missed nor make false positives (default 0:\n"
    "                every GT row counts, as TrackEval does)\n"
    "  --action-match M  track (default): a per-track predicted segment matches a GT segment\n"
    "                only when its track follows the GT segment's object (box IoU >= 0.5 in\n"
    "                at least half of the evaluated frames of their common time in which\n"
    "                the object has a box), as spatio-temporal action detection asks; time:\n"
    "                by label and time only, ActivityNet's matching, in which one track's\n"
    "                segment can stand for another object's\n"
    "  --per-class   also score each class's tracks on their own: the GT rows of a class\n"
    "                (8th column, named by meta.json \"classes\" beside gt.txt) against the\n"
    "                predicted objects with that detection.label (JSON Lines), as TrackEval\n"
    "                does for KITTI's classes; predicted labels the GT does not name get\n"
    "                rows of their own (every box a false positive)\n"
    "  --json        print one JSON object instead of the table\n"
    "  -h, --help    this text\n"
    "\n"
    "Frames. MOT txt rows are matched to GT rows by frame number; a frame without rows is an\n"
    "empty frame. A JSON frame line goes to the GT frame nearest its timestamp, frame =\n"
    "round(timestamp_ns x fps / 1e9) + 1 (the GT's first frame is at time 0), or to\n"
    "frame_index + 1 when the GT frame rate is unknown. When the prediction is sampled at\n"
    "a lower rate than the GT, only the GT frames that have a frame line are evaluated (a\n"
    "frame line with no objects still counts its GT objects as missed); GT rows of other\n"
    "frames are ignored.\n"
    "\n"
    "Tracks are compared class-agnostic, and without MOT17's distractor handling: a\n"
    "prediction on an ignored GT row (7th column 0) counts as a false positive. With\n"
    "--min-vis, a frame's predicted boxes are matched one-to-one to all its GT rows (IoU\n"
    "0.5, optimal), and those matched to a row below V are left out. An object\n"
    "without an id (-1 in MOT txt) is an id of its own. Actions: a class is a label with\n"
    "its kind (scene-level when the event has no track_id, else per-track); segments are\n"
    "matched by label and time, per-track ones also by object (--action-match); scene-level\n"
    "ones by label and time only. mAP averages the classes\n"
    "present in the GT; F1@0.5 pools all segments (predictions of classes the GT lacks are\n"
    "false positives there). Action figures are printed when the GT has actions.jsonl and\n"
    "the prediction is JSON Lines.\n"
    "\n"
    "Re-entries: at a re-entering GT id's first CLEAR match after its return, the predicted\n"
    "id is the one it last had before leaving (same id) or another (an ID switch, also in\n"
    "IDSW); returns never matched, or not matched before leaving, are in neither count.\n"
    "\n"
    "exit codes: 0 ok, 1 bad usage, 2 input error (the message names file and line),\n"
    "3 runtime failure\n";

typedef struct opts {
  const char *gt, *pred;
  double fps, reentry_gap_s, min_vis;
  int json;
  int match_time; /* --action-match time */
  int per_class;
} opts;

/* What was measured, for the printers. */
typedef struct result {
  rv_eval_mot m;
  rv_eval_act a;
  rv_eval_dont_care_counts dc;
  rv_eval_class_mot *classes; /* --per-class */
  int32_t n_classes;
  int actions;    /* the action figures are defined */
  int match_time; /* the segments were matched by time alone */
  double gap_s;   /* > 0: the re-entry figures were counted with that gap */
  double min_vis; /* > 0: don't care below that visibility */
} result;

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "ringvit eval: %s%s%s\n(ringvit eval --help for the options)\n", what,
          arg ? " " : "", arg ? arg : "");
  return RV_EXIT_USAGE;
}

/* A whole string as a finite number. */
static int number(const char *v, double *out) {
  char *end;
  errno = 0;
  *out = strtod(v, &end);
  return !errno && end != v && !*end && isfinite(*out);
}

/* RV_EXIT_OK when parsed; -1 after --help; else the exit code. */
static int parse(int argc, char **argv, opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(USAGE, stdout);
      return -1;
    }
    if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    if (!strcmp(a, "--per-class")) {
      o->per_class = 1;
      continue;
    }
    if (strcmp(a, "--gt") && strcmp(a, "--pred") && strcmp(a, "--fps") &&
        strcmp(a, "--reentry-gap") && strcmp(a, "--min-vis") && strcmp(a, "--action-match"))
      return usage_error("unknown option", a);
    if (i + 1 >= argc) return usage_error("missing value after", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--gt")) o->gt = v;
    if (!strcmp(a, "--pred")) o->pred = v;
    if (!strcmp(a, "--fps") && !(number(v, &o->fps) && o->fps > 0 && o->fps <= 1000))
      return usage_error("--fps needs a rate in (0, 1000], got", v);
    if (!strcmp(a, "--reentry-gap") &&
        !(number(v, &o->reentry_gap_s) && o->reentry_gap_s >= 0 && o->reentry_gap_s <= 86400))
      return usage_error("--reentry-gap needs seconds in [0, 86400], got", v);
    if (!strcmp(a, "--min-vis") && !(number(v, &o->min_vis) && o->min_vis >= 0 && o->min_vis <= 1))
      return usage_error("--min-vis needs a visibility in [0, 1], got", v);
    if (!strcmp(a, "--action-match")) {
      if (strcmp(v, "track") && strcmp(v, "time"))
        return usage_error("--action-match is track or time, got", v);
      o->match_time = !strcmp(v, "time");
    }
  }
  if (!o->gt || !o->pred) return usage_error("--gt and --pred are required", NULL);
  return RV_EXIT_OK;
}

/* Percent rounded to 3 decimals, as TrackEval's tables show them. */
static double pct(double x) { return round(x * 100000.0) / 1000.0; }

static void set_int(json_t *j, const char *key, int64_t v) {
  json_object_set_new(j, key, json_integer((json_int_t)v));
}

/* [{label, scene, GT_segments, segments, AP_30, AP_50, AP_70}] of the listed classes. */
static json_t *json_classes(const rv_eval_act *a) {
  json_t *arr = json_array();
  for (int i = 0; arr && i < a->n_listed; i++) {
    const rv_eval_class_ap *c = &a->classes[i];
    json_array_append_new(arr,
                          json_pack("{s:s,s:b,s:I,s:I,s:f,s:f,s:f}", "label", c->label, "scene",
                                    c->scene, "GT_segments", (json_int_t)c->gt_segments, "segments",
                                    (json_int_t)c->pred_segments, "AP_30", pct(c->ap[0]), "AP_50",
                                    pct(c->ap[1]), "AP_70", pct(c->ap[2])));
  }
  return arr;
}

static void json_extras(json_t *j, const result *r) {
  const rv_eval_mot *m = &r->m;
  const rv_eval_act *a = &r->a;
  set_int(j, "Frames", m->frames);
  if (r->gap_s > 0) {
    json_object_set_new(j, "reentry_gap_s", json_real(r->gap_s));
    set_int(j, "reentries", m->reentries);
    set_int(j, "reentry_same_id", m->reentry_same);
    set_int(j, "reentry_IDSW", m->reentry_switched);
  }
  if (r->min_vis > 0) {
    json_object_set_new(j, "min_vis", json_real(r->min_vis));
    set_int(j, "dont_care_GT_boxes", r->dc.gt_boxes);
    set_int(j, "dont_care_boxes", r->dc.pred_boxes);
    set_int(j, "dont_care_GT_segments", r->dc.gt_segments);
  }
  if (r->actions) {
    json_object_set_new(j, "action_mAP_30", json_real(pct(a->map[0])));
    json_object_set_new(j, "action_mAP_50", json_real(pct(a->map[1])));
    json_object_set_new(j, "action_mAP_70", json_real(pct(a->map[2])));
    json_object_set_new(j, "action_F1_50", json_real(pct(a->f1_50)));
    json_object_set_new(j, "action_classes", json_integer(a->n_classes));
    json_object_set_new(j, "action_match", json_string(r->match_time ? "time" : "track"));
    set_int(j, "action_GT_segments", a->gt_segments);
    set_int(j, "action_segments", a->pred_segments);
    json_object_set_new(j, "action_per_class", json_classes(a));
    if (r->min_vis > 0) set_int(j, "action_dont_care_segments_50", a->pred_ignored_50);
  }
}

/* The track figures as TrackEval names them; NULL when out of memory. */
static json_t *json_tracks(const rv_eval_mot *m) {
  json_t *j =
      json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I}", "HOTA", pct(m->hota), "DetA", pct(m->det_a),
                "AssA", pct(m->ass_a), "LocA", pct(m->loc_a), "MOTA", pct(m->mota), "MOTP",
                pct(m->motp), "IDF1", pct(m->idf1), "IDSW", (json_int_t)m->idsw);
  json_t *c = json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "CLR_TP", (json_int_t)m->clr_tp, "CLR_FN",
      (json_int_t)m->clr_fn, "CLR_FP", (json_int_t)m->clr_fp, "IDTP", (json_int_t)m->idtp, "IDFN",
      (json_int_t)m->idfn, "IDFP", (json_int_t)m->idfp, "GT_Dets", (json_int_t)m->gt_dets, "Dets",
      (json_int_t)m->pred_dets, "GT_IDs", (json_int_t)m->gt_ids, "IDs", (json_int_t)m->pred_ids);
  int ok = j && c && !json_object_update(j, c);
  json_decref(c);
  if (!ok) json_decref(j);
  return ok ? j : NULL;
}

/* [{label, HOTA, ...}] of --per-class; NULL when out of memory. */
static json_t *json_per_class(const result *r) {
  json_t *arr = json_array();
  for (int32_t i = 0; arr && i < r->n_classes; i++) {
    json_t *c = json_pack("{s:s}", "label", r->classes[i].label);
    json_t *t = json_tracks(&r->classes[i].m);
    int ok = c && t && !json_object_update(c, t);
    json_decref(t);
    if (!ok) json_decref(c);
    if (!ok || json_array_append_new(arr, c)) { /* the array owns c from here, even on failure */
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static int print_json(const result *r) {
  json_t *j = json_tracks(&r->m);
  if (!j) return RV_EXIT_RUNTIME;
  json_extras(j, r);
  if (r->classes && json_object_set_new(j, "per_class", json_per_class(r))) {
    json_decref(j);
    return RV_EXIT_RUNTIME;
  }
  char *s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(j);
  if (!s) return RV_EXIT_RUNTIME;
  printf("%s\n", s);
  free(s);
  return RV_EXIT_OK;
}

static void print_per_class(const result *r) {
  if (!r->classes) return;
  printf("\n%-16s %7s %8s %7s %8s %8s %8s %8s %8s %8s %6s\n", "class", "GT ids", "GT boxes", "ids",
         "boxes", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW");
  for (int32_t i = 0; i < r->n_classes; i++) {
    const rv_eval_mot *m = &r->classes[i].m;
    printf("%-16s %7lld %8lld %7lld %8lld %8.3f %8.3f %8.3f %8.3f %8.3f %6lld\n",
           r->classes[i].label, (long long)m->gt_ids, (long long)m->gt_dets, (long long)m->pred_ids,
           (long long)m->pred_dets, pct(m->hota), pct(m->det_a), pct(m->ass_a), pct(m->mota),
           pct(m->idf1), (long long)m->idsw);
  }
}

static void print_table(const result *r) {
  const rv_eval_mot *m = &r->m;
  const rv_eval_act *a = &r->a;
  printf("frames %lld   GT: %lld ids, %lld boxes   prediction: %lld ids, %lld boxes\n",
         (long long)m->frames, (long long)m->gt_ids, (long long)m->gt_dets, (long long)m->pred_ids,
         (long long)m->pred_dets);
  if (r->min_vis > 0)
    printf("don't care (GT visibility < %g): %lld GT boxes, %lld predicted boxes on them, "
           "%lld GT action segments\n",
           r->min_vis, (long long)r->dc.gt_boxes, (long long)r->dc.pred_boxes,
           (long long)r->dc.gt_segments);
  printf("\n%8s %8s %8s %8s %8s %8s %8s %6s\n", "HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP",
         "IDF1", "IDSW");
  printf("%8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %6lld\n", pct(m->hota), pct(m->det_a),
         pct(m->ass_a), pct(m->loc_a), pct(m->mota), pct(m->motp), pct(m->idf1),
         (long long)m->idsw);
  print_per_class(r);
  if (r->gap_s > 0)
    printf("\nre-entries (back after >= %g s without a GT row): %lld; at the first match after: "
           "same id %lld, another id %lld\n",
           r->gap_s, (long long)m->reentries, (long long)m->reentry_same,
           (long long)m->reentry_switched);
  if (!r->actions) return;
  printf("\nactions: %d classes, %lld GT segments, %lld predicted; matched on %s\n", a->n_classes,
         (long long)a->gt_segments, (long long)a->pred_segments,
         r->match_time ? "time alone" : "tracks and time");
  printf("%8s %8s %8s %8s\n", "mAP@0.3", "mAP@0.5", "mAP@0.7", "F1@0.5");
  printf("%8.3f %8.3f %8.3f %8.3f\n", pct(a->map[0]), pct(a->map[1]), pct(a->map[2]),
         pct(a->f1_50));
  printf("\n%-24s %6s %6s %8s %8s %8s\n", "class", "GT", "pred", "AP@0.3", "AP@0.5", "AP@0.7");
  for (int i = 0; i < a->n_listed; i++) {
    const rv_eval_class_ap *c = &a->classes[i];
    char name[RV_EVAL_LABEL_MAX + 8];
    snprintf(name, sizeof name, "%s%s", c->label, c->scene ? " (scene)" : "");
    printf("%-24s %6lld %6lld %8.3f %8.3f %8.3f\n", name, (long long)c->gt_segments,
           (long long)c->pred_segments, pct(c->ap[0]), pct(c->ap[1]), pct(c->ap[2]));
  }
  if (a->n_listed < a->n_classes) printf("(%d more classes)\n", a->n_classes - a->n_listed);
}

/* Tracks and actions of the loaded data into *r; the step that failed into *what. */
static rv_status evaluate(const opts *o, rv_eval_data *gt, rv_eval_data *pred, result *r,
                          const char **what) {
  rv_status st = RV_OK;
  rv_eval_follow *follow = NULL;
  if (o->fps > 0) gt->fps = o->fps;
  *what = "leaving out what the camera cannot see";
  RV_TRY(rv_eval_dont_care(gt, pred, o->min_vis, &r->dc));
  r->min_vis = o->min_vis;
  *what = "evaluating tracks";
  rv_eval_track_opts to = {gt->fps > 0 ? (int64_t)ceil(o->reentry_gap_s * gt->fps) : 0};
  r->gap_s = to.reentry_gap > 0 ? o->reentry_gap_s : 0.0;
  RV_TRY(rv_eval_tracks_ex(gt->boxes, gt->n_boxes, pred->boxes, pred->n_boxes, pred->frames,
                           pred->n_frames, &to, &r->m));
  *what = "evaluating each class";
  if (o->per_class) RV_TRY(rv_eval_tracks_per_class(gt, pred, &to, &r->classes, &r->n_classes));
  if (gt->has_actions && pred->has_actions) {
    *what = "evaluating actions";
    r->match_time = o->match_time;
    if (!o->match_time) RV_TRY(rv_eval_follow_init(gt, pred, &follow));
    RV_TRY(rv_eval_actions_ex(gt->segments, gt->n_segments, pred->segments, pred->n_segments,
                              follow, &r->a));
    r->actions = r->a.n_classes > 0;
  }
fail:
  rv_eval_follow_free(follow);
  return st;
}

static int eval_main(int argc, char **argv) {
  opts o = {.reentry_gap_s = 10.0};
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? RV_EXIT_OK : rc;
  rv_eval_data gt = {0}, pred = {0};
  result r = {0};
  const char *what = "reading the ground truth";
  rv_status st = rv_eval_load_gt(o.gt, &gt);
  if (st >= 0) {
    what = "reading the prediction";
    st = rv_eval_load_pred(o.pred, o.fps > 0 ? o.fps : gt.fps, &pred);
  }
  if (st >= 0) st = evaluate(&o, &gt, &pred, &r, &what);
  if (st < 0) {
    rv_cli_error("eval", st, what);
    rc = rv_cli_exit_code(st);
  } else if (o.json) {
    rc = print_json(&r);
  } else {
    print_table(&r);
  }
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pred);
  free(r.classes);
  return rc;
}

const rv_cli_command rv_cli_eval = {"eval", "score tracks and actions against ground truth",
                                    eval_main};
