/* Detection decoding: the raw outputs of the detection heads (COORD layouts) into boxes in
 * source-frame pixels.
 *
 * Dense head (our models): per patch cell (grid_h x grid_w, row-major) sub x sub output cells
 * (row-major, one after another), each with channels
 *   obj (1 logit) | cls (C logits) | box (tx, ty, tw, th) | act (A logits) | emb (E floats)
 * decoded on the (grid_h sub) x (grid_w sub) grid of output cells of Q = P / sub pixels as
 * cx = (col + sigmoid(tx)) * Q, cy = (row + sigmoid(ty)) * Q, w = exp(tw) * Q,
 * h = exp(th) * Q in model-input pixels, scored sigmoid(obj) * p(class), thresholded,
 * suppressed per class (NMS) and mapped back through the letterbox (rv_frame_geom).
 * Set head (YOLOS): per detection token C+1 class logits (last = no object) and a box
 * (cx, cy, w, h) normalized to the model input, softmax over the classes, top-k.
 *
 * A decoder owns its output: the detections, their L2-normalized embeddings and their
 * action probabilities stay valid until the next decode call or rv_det_decoder_free.
 * Buffers are sized at init; decoding allocates nothing. */
#ifndef RINGVIT_DETECT_H
#define RINGVIT_DETECT_H

#include <ringvit/geometry.h>
#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_detection {
  float x1, y1, x2, y2; /* source pixels, x2 >= x1, y2 >= y1 */
  float score;          /* [0, 1] */
  int label;            /* class index */
  const float *emb;     /* emb_dim floats, unit length; NULL when the model has none */
  int emb_dim;
  const float *act; /* n_act per-track action probabilities; NULL when none */
  int n_act;
} rv_detection;

typedef enum rv_cls_activation {
  RV_CLS_SIGMOID = 0, /* independent per-class logits (YOLOX-style); the default */
  RV_CLS_SOFTMAX = 1, /* one softmax over the classes */
} rv_cls_activation;

typedef struct rv_det_decoder_cfg {
  int n_classes; /* C >= 1 */
  int n_act;     /* A_track >= 0 (dense head only) */
  int emb_dim;   /* E >= 0 (dense head only) */
  /* dense head */
  int grid_h, grid_w; /* patch cells; 0 when only the set head is decoded */
  int patch;          /* P, model-input pixels per patch cell */
  rv_cls_activation cls_activation;
  /* set head */
  int max_tokens; /* detection tokens; 0 when only the dense head is decoded */
  /* both */
  float score_thresh; /* keep score >= this; 0 = 0.05 */
  float nms_iou;      /* dense head: suppress same-class overlaps above this; 0 = 0.5 */
  int max_dets;       /* top-k kept per frame; 0 = 300 */
  int no_clip;        /* 1: keep boxes that extend past the source frame as they are */
  /* dense head: k (odd) = only cells whose objectness is the largest of their k x k
   * neighbours (CenterNet's peaks; ties go to the first in row order); 0 or 1 = every cell */
  int peak;
  /* dense head: [n_classes] logits added to a cell's objectness by its best class before
   * scoring (per-class calibration; copied at init); NULL = none */
  const float *class_offset;
  /* dense head: how many cells beyond its own a cell's box centre may lie, 0..3: centre =
   * (col + 1/2 + (reach + 1/2)(2 sigmoid(t) - 1)) P, so 0 is (col + sigmoid(t)) P. A reach
   * lets every cell near an object carry its box, not only the cell holding its centre. */
  int reach;
  /* dense head: [n_act] logits added to the track actions before their sigmoid (per-action
   * calibration; copied at init); NULL = none */
  const float *action_offset;
  /* dense head: output cells per patch side (1, 2 or 4; 0 = 1): two objects a few pixels
   * apart each get a cell of their own */
  int sub;
} rv_det_decoder_cfg;

/* The tracker's score thresholds, association limits and memory, and the action
 * segmenter's settings, as a model was calibrated for (its config's "tracking" keys, read
 * by the pipeline); 0 = the defaults (ByteTrack's high 0.5, low 0.1, new track 0.6, a lost
 * track kept 1 s, cost limits 0.8 / 0.5 / 0.7; rv_actions_cfg's). The cost limits (1 - IoU,
 * fused with the score where ByteTrack fuses it) matter at low sampling rates: at 2 fps one
 * walking person's boxes half a second apart often overlap by less than ByteTrack's 30 fps
 * limits allow. */
typedef struct rv_track_tuning {
  float high_thresh, low_thresh, new_track_thresh;
  double lost_s;
  float action_on, action_off;
  double action_smooth_s, action_min_s, action_gap_s;
  float match_thresh, second_match_thresh, unconfirmed_match_thresh; /* cost limits */
  /* re-identification by appearance alone (rv_tracker_cfg.reid_thresh; 0 = 0.15): a weak
   * embedding gives every person nearly the same vector, and a loose limit then hands one
   * id to many people over a long video */
  float reid_thresh;
  /* person boxes snapped to a fixed camera's foreground before tracking (the pipeline's
   * background model): a pixel is foreground where it differs from the background by more
   * than this share of full scale; 0 = no snapping */
  float foreground_diff;
  /* 1: a track reports the box of the detection it matched in the frame (snapped or not);
   * 0: its Kalman filter's box, as ByteTrack does, which lags a box that is already right */
  int detection_boxes;
} rv_track_tuning;

typedef struct rv_det_decoder rv_det_decoder;

rv_status rv_det_decoder_init(const rv_det_decoder_cfg *cfg, rv_det_decoder **out);
void rv_det_decoder_free(rv_det_decoder *d); /* NULL-safe */

/* Channels per dense cell: 1 + C + 4 + A + E. */
int rv_det_dense_channels(const rv_det_decoder_cfg *cfg);

/* raw: [grid_h * grid_w * sub * sub, channels] f32 (see the layout above). Detections come sorted
 * by score (highest first). */
rv_status rv_det_decode_dense(rv_det_decoder *d, const float *raw, const rv_frame_geom *geom,
                              const rv_detection **dets, int *n_dets);

/* logits: [n_tokens, C + 1]; boxes: [n_tokens, 4] (cx, cy, w, h in [0, 1] of the model
 * input). Detections come sorted by score. */
rv_status rv_det_decode_set(rv_det_decoder *d, const float *logits, const float *boxes,
                            int n_tokens, const rv_frame_geom *geom, const rv_detection **dets,
                            int *n_dets);

/* Intersection over union of two boxes (x1, y1, x2, y2); 0 when either is empty. */
float rv_box_iou(const float a[4], const float b[4]);

#ifdef __cplusplus
}
#endif
#endif
