/* Evaluation of tracks and action segments against ground truth (`ringvit eval`).
 *
 * Tracks: HOTA with DetA, AssA and LocA (Luiten et al. 2021), CLEAR MOTA and MOTP, and
 * IDF1, with the definitions of TrackEval (JonathonLuiten/TrackEval): box IoU similarity,
 * HOTA averaged over alpha = 0.05, 0.10, ..., 0.95, CLEAR matching at IoU 0.5 preferring
 * the previous frame's pairs, IDF1 by a global optimal matching of ids at IoU 0.5. The
 * evaluation is class-agnostic (every GT row counts whatever its class column says).
 * Beyond TrackEval: re-entries (ids that come back after an absence) and whether the
 * prediction gave them their old id back.
 *
 * Actions: temporal segment detection as in ActivityNet: per class, predictions sorted by
 * score are matched greedily to the unmatched GT segment of the highest tIoU at or above
 * the threshold; AP is the area under the interpolated precision-recall curve; mAP is the
 * mean over the classes present in the ground truth. A class is the label together with
 * its kind (scene-level, or per-track); track ids are not compared.
 *
 * Figures in rv_eval_mot and rv_eval_act are fractions (1 = perfect); the CLI prints them
 * in percent. */
#ifndef RINGVIT_EVAL_H
#define RINGVIT_EVAL_H

#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One box of a track: a MOTChallenge row. */
typedef struct rv_eval_box {
  int64_t frame;     /* 1-based frame number */
  int64_t id;        /* track id; < 0 = untracked: the box is an id of its own */
  double x, y, w, h; /* left, top (1-based pixels, as MOTChallenge), width, height */
  double vis;        /* GT visibility in [0, 1] (MOTChallenge's 9th column); 1 when not given */
  int32_t cls;       /* index into rv_eval_data.classes; -1: none (no class column or label) */
} rv_eval_box;

enum { RV_EVAL_LABEL_MAX = 64 };
enum { RV_EVAL_MAX_LABELS = 1024 }; /* distinct class names one file may hold */

typedef struct rv_eval_segment {
  char label[RV_EVAL_LABEL_MAX];
  int scene; /* 1: scene-level (no track_id), 0: per-track */
  int64_t start_ns, end_ns;
  double score;
  int64_t track_id; /* per-track segments whose file names the track; else 0 */
  int ignore;       /* GT only, set by rv_eval_dont_care: matching it is neither TP nor FP */
} rv_eval_segment;

/* What a ground-truth or prediction file holds. */
typedef struct rv_eval_data {
  rv_eval_box *boxes; /* in frame order */
  int64_t n_boxes;
  /* The GT frames a sampled prediction (JSON Lines) covers, increasing; n_frames = -1:
   * every frame counts (MOTChallenge txt, where a frame without rows is an empty frame). */
  int64_t *frames;
  int64_t n_frames;
  rv_eval_segment *segments;
  int64_t n_segments;
  int has_actions; /* the source can hold actions: GT actions.jsonl, prediction JSON Lines */
  double fps;      /* GT frame rate from meta.json or seqinfo.ini; 0 = unknown */
  /* Class names: the GT's from meta.json "classes" (a gt.txt row's 8th column, 1-based,
   * picks one); a JSON Lines prediction's objects' detection.label, in order of appearance. */
  char (*classes)[RV_EVAL_LABEL_MAX];
  int32_t n_classes;
} rv_eval_data;

/* GT: a MOTChallenge gt.txt (rows whose 7th column is 0 are ignored), or a folder holding
 * gt.txt and optionally actions.jsonl (`ringvit synth --gt DIR`). The frame rate comes from
 * meta.json or seqinfo.ini beside gt.txt (or one folder up, the MOTChallenge layout). */
rv_status rv_eval_load_gt(const char *path, rv_eval_data *out);

/* Prediction: MOTChallenge txt, or JSON Lines (`ringvit analyze -o`; recognised by a first
 * character '{'; an empty file counts as either: no boxes, no actions, every frame). A JSON frame
 * line goes to the GT frame nearest its timestamp, round(timestamp * gt_fps / 1e9) + 1, or to
 * frame_index + 1 when gt_fps is 0; two lines may not land on the same frame. Errors name the file
 * and line (RV_ERR_FORMAT). */
rv_status rv_eval_load_pred(const char *path, double gt_fps, rv_eval_data *out);

void rv_eval_data_free(rv_eval_data *d); /* NULL-safe; leaves *d zeroed */

enum { RV_EVAL_N_ALPHA = 19 }; /* alpha = 0.05 + 0.05 * a */

typedef struct rv_eval_mot {
  double hota, det_a, ass_a, loc_a; /* means over the alphas */
  double hota_at[RV_EVAL_N_ALPHA], det_a_at[RV_EVAL_N_ALPHA], ass_a_at[RV_EVAL_N_ALPHA],
      loc_a_at[RV_EVAL_N_ALPHA];
  double mota, motp, idf1;
  int64_t clr_tp, clr_fn, clr_fp, idsw;
  int64_t idtp, idfn, idfp;
  int64_t gt_dets, pred_dets, gt_ids, pred_ids, frames;
  /* Re-entries (with rv_eval_track_opts.reentry_gap): a GT id whose rows resume after an
   * absence of at least that many frames (counted on the evaluated frames' numbers). At its
   * first CLEAR match after the return, the predicted id is the one it was last matched to
   * before the absence (same) or another (switched: an ID switch, also counted in idsw);
   * the rest were not matched before the absence or not after the return. */
  int64_t reentries, reentry_same, reentry_switched;
} rv_eval_mot;

typedef struct rv_eval_track_opts {
  int64_t reentry_gap; /* frames of absence that make a return a re-entry; 0: not counted */
} rv_eval_track_opts;

/* Boxes in frame order. frames (increasing, n_frames of them) restricts the evaluation to
 * those frames; n_frames = -1 evaluates every frame that has a box. */
rv_status rv_eval_tracks(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                         int64_t n_pred, const int64_t *frames, int64_t n_frames, rv_eval_mot *out);
/* The same with options (NULL: as rv_eval_tracks). */
rv_status rv_eval_tracks_ex(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                            int64_t n_pred, const int64_t *frames, int64_t n_frames,
                            const rv_eval_track_opts *opts, rv_eval_mot *out);

/* One class's track figures (rv_eval_tracks_per_class). */
typedef struct rv_eval_class_mot {
  char label[RV_EVAL_LABEL_MAX];
  rv_eval_mot m;
} rv_eval_class_mot;

/* Track figures per class, as TrackEval scores KITTI's or BDD100K's classes: the GT rows of
 * a class and the predicted boxes labelled with its name, each scored as rv_eval_tracks_ex
 * (over pred->frames). The classes are the GT's names that the GT rows or the predicted
 * labels use, in the GT's order, then the predicted labels the GT does not name (all false
 * positives). Needs GT class names (meta.json) for every row's class and a labelled
 * prediction (JSON Lines); else RV_ERR_FORMAT with the reason. *out (free()) gets *n_out
 * entries. */
rv_status rv_eval_tracks_per_class(const rv_eval_data *gt, const rv_eval_data *pred,
                                   const rv_eval_track_opts *opts, rv_eval_class_mot **out,
                                   int32_t *n_out);

enum { RV_EVAL_N_TIOU = 3 };
extern const double rv_eval_tious[RV_EVAL_N_TIOU]; /* 0.3, 0.5, 0.7 */

/* One class's figures (rv_eval_act.classes). */
typedef struct rv_eval_class_ap {
  char label[RV_EVAL_LABEL_MAX];
  int scene;                 /* 1: scene-level, 0: per-track */
  double ap[RV_EVAL_N_TIOU]; /* at rv_eval_tious */
  int64_t gt_segments;       /* of the class in the GT, less the ignored ones */
  int64_t pred_segments;     /* predicted */
} rv_eval_class_ap;

enum { RV_EVAL_MAX_CLASSES = 32 };

typedef struct rv_eval_act {
  double map[RV_EVAL_N_TIOU]; /* mean AP over the GT classes, at rv_eval_tious */
  double f1_50;               /* F1 at tIoU 0.5 over all segments (pooled counts) */
  int64_t tp_50, fp_50, fn_50;
  int n_classes; /* classes in the GT (with a segment not ignored); 0: no figure is defined */
  int64_t gt_segments, pred_segments;
  /* don't care (rv_eval_dont_care): GT segments ignored, predictions at tIoU 0.5 that
   * matched one of them and counted neither as TP nor FP */
  int64_t gt_ignored, pred_ignored_50;
  /* the first RV_EVAL_MAX_CLASSES of the n_classes, in the GT's order (all count in map) */
  rv_eval_class_ap classes[RV_EVAL_MAX_CLASSES];
  int n_listed;
} rv_eval_act;

rv_status rv_eval_actions(const rv_eval_segment *gt, int64_t n_gt, const rv_eval_segment *pred,
                          int64_t n_pred, rv_eval_act *out);

/* Which GT object each predicted track follows: an index of both sides' boxes by track and
 * frame (it points into gt and pred, which must outlive it). Needs gt->fps. */
typedef struct rv_eval_follow rv_eval_follow;
rv_status rv_eval_follow_init(const rv_eval_data *gt, const rv_eval_data *pred,
                              rv_eval_follow **out);
void rv_eval_follow_free(rv_eval_follow *f);
/* 1 when the predicted track's box overlaps the GT track's (IoU >= 0.5) in at least half of
 * the evaluated frames of [start_ns, end_ns] in which the GT track has a box (and there is
 * one such frame at least). */
int rv_eval_follows(const rv_eval_follow *f, int64_t gt_track, int64_t pred_track, int64_t start_ns,
                    int64_t end_ns);
/* rv_eval_actions with follow (NULL: time alone): a per-track prediction matches a per-track
 * GT segment only when its track follows that segment's object over their common time, as
 * spatio-temporal action detection (video-mAP) asks; scene segments match on time. */
rv_status rv_eval_actions_ex(const rv_eval_segment *gt, int64_t n_gt, const rv_eval_segment *pred,
                             int64_t n_pred, const rv_eval_follow *follow, rv_eval_act *out);

/* Don't care, for a camera that cannot see everything the ground truth knows (KITTI's
 * DontCare, TrackEval's distractor preprocessing): GT boxes less visible than min_vis leave
 * the evaluation, and with them the predicted boxes an optimal one-to-one matching of their
 * frame (IoU >= 0.5, over every GT box of the frame) pairs with one of them; a per-track GT
 * action segment whose track is less visible than min_vis in every GT row within the
 * segment is marked ignore (rv_eval_actions: a prediction whose best match it is counts
 * neither as TP nor as FP, and the GT segment is not a miss). Needs gt->fps when the GT has
 * segments. min_vis = 0 changes nothing. Counts of what was left out go to *out. */
typedef struct rv_eval_dont_care_counts {
  int64_t gt_boxes, pred_boxes, gt_segments;
} rv_eval_dont_care_counts;

rv_status rv_eval_dont_care(rv_eval_data *gt, rv_eval_data *pred, double min_vis,
                            rv_eval_dont_care_counts *out);

/* tIoU of two segments (0 when either is empty). */
double rv_eval_tiou(int64_t s1, int64_t e1, int64_t s2, int64_t e2);

#ifdef __cplusplus
}
#endif
#endif
