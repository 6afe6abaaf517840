/* Internals of the analysis pipeline shared by pipeline.c (setup) and results.c (the
 * per-frame loop). */
#ifndef RINGVIT_PIPELINE_IMPL_H
#define RINGVIT_PIPELINE_IMPL_H

#include <ringvit/actions.h>
#include <ringvit/detect.h>
#include <ringvit/ingest.h>
#include <ringvit/pipeline.h>
#include <ringvit/track.h>
#include <ringvit/tracking.h>
#include <ringvit/vit.h>

#include "stage-decode-impl.h"

#ifndef RV_INSTALLED_MODEL
#define RV_INSTALLED_MODEL "/usr/local/share/ringvit/models/rv-demo.safetensors"
#endif
#ifndef RV_SOURCE_MODEL
#define RV_SOURCE_MODEL "samples/models/rv-demo.safetensors"
#endif

/* What the results need of an encoder frame once its batch is gone. */
typedef struct rv_frame_meta {
  int64_t pts_ns, frame_index;
  rv_frame_geom geom;
  int width, height;
  int64_t thumb; /* offset of its kept thumbnail in the thumbnail store, -1 = none */
  int64_t mask;  /* offset of its foreground mask in the mask store, -1 = none */
} rv_frame_meta;

struct rv_pipeline {
  rv_pipeline_cfg cfg;
  char *input, *model_path;
  rv_model *model;
  const rv_vit_config *mc;
  rv_backend *be;
  rv_ingest *ing;
  rv_decode_stage *dec;
  rv_vit *vit;
  rv_det_decoder *det;
  rv_tracking *trk; /* NULL with cfg.detect_only */
  int rank;         /* of cfg.comm; 0 without one */
  double fps;       /* sampling rate, video frames per second */
  int batch_frames; /* video frames per ingest batch */

  /* encoder frames waiting for their results (offline: the whole context) */
  rv_frame_meta *meta;
  int64_t n_meta, cap_meta, next_out;
  rv_vit_outputs outs;
  int64_t token_bytes; /* the most any rank keeps (rv_pipeline_progress.token_bytes) */
  float *gathered; /* rank 0 of a comm, offline: every frame's head rows (outs points here) */
  int have_outs; /* outs holds the results of meta[0 .. n_meta) */
  int input_done, finished;
  rv_batch *cur; /* stream: the batch whose frames are being stepped */

  /* kept thumbnails: every thumb_every-th frame (offline), packed RGB24 */
  uint8_t *thumbs;
  int64_t n_thumbs, cap_thumbs, thumb_every;
  int thumb_w, thumb_h;

  /* foreground masks of the frames waiting for results (tuning.foreground_diff > 0) and
   * the person detections snapped to them */
  uint8_t *masks;
  size_t cap_masks;
  int mask_w, mask_h;
  int snap_label; /* the class whose boxes are snapped ("person"); -1: none */
  rv_detection *snapped;
  size_t cap_snapped; /* bytes */

  /* the current result */
  rv_frame_result res;
  rv_object *objs;
  size_t cap_objs; /* bytes */
  float *scene;

  int64_t frames_encoded;
  double encode_s, track_s;
};

double rv_pipeline_now(void);
/* Memory one encoder frame of offline context takes, about (for the up-front check). */
double rv_pipeline_bytes_per_frame(const rv_pipeline *p);
rv_status rv_pipeline_open_tracking(rv_pipeline *p);
rv_status rv_pipeline_results_init(rv_pipeline *p, int max_frames);
void rv_pipeline_results_free(rv_pipeline *p);

#endif
