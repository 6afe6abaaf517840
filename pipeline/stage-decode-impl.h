/* The decode stage: a thread that pulls batches from the ingest and hands copies to the
 * pipeline through a bounded queue of reusable slots (back-pressure: at most `slots`
 * batches exist, whatever the length of the input). */
#ifndef RINGVIT_STAGE_DECODE_IMPL_H
#define RINGVIT_STAGE_DECODE_IMPL_H

#include <stdint.h>

#include <ringvit/geometry.h>
#include <ringvit/ingest.h>

/* A copy of one rv_ingest_batch that outlives the next rv_ingest_next. */
typedef struct rv_batch {
  int n;     /* frames, tubelet padding included */
  int n_pad; /* trailing padding frames */
  int64_t *pts_ns, *frame_index;
  float *tokens; /* [(n / T) * tokens_per_frame, token_dim] f32, host */
  int64_t token_rows, token_dim;
  int tokens_per_frame;
  rv_frame_geom geom;
  int src_width, src_height;
  uint8_t *thumbs; /* [n, thumb_h, thumb_w, 3] or NULL */
  int thumb_w, thumb_h;
  uint8_t *masks; /* [n, mask_bytes]: each frame's foreground (foreground-impl.h) at the
                     model input's size, mask_w x mask_h; NULL without a foreground */
  size_t mask_bytes;
  int mask_w, mask_h;
  size_t cap_pts, cap_index, cap_tokens, cap_thumbs, cap_masks; /* allocated bytes */
} rv_batch;

typedef struct rv_decode_stage rv_decode_stage;

/* Starts the thread over an opened ingest (borrowed; the stage must be stopped before the
 * ingest is closed). slots 0: no thread; rv_decode_stage_next reads the ingest on the
 * caller's thread (push mode ingest, whose RV_AGAIN it passes on). fg_diff > 0: the stage
 * keeps a background of the frames in their order and each batch carries its frames'
 * foreground masks (rv_foreground_init's diff); 0: none. */
rv_status rv_decode_stage_start(rv_ingest *ing, int slots, float fg_diff, rv_decode_stage **out);
/* The next batch, RV_EOF at the end, or the decoder's error (its message re-raised on the
 * calling thread). The batch stays valid until rv_decode_stage_release. */
rv_status rv_decode_stage_next(rv_decode_stage *s, rv_batch **out);
void rv_decode_stage_release(rv_decode_stage *s, rv_batch *b);
/* Stops the thread (if still running) and frees everything. NULL-safe. */
void rv_decode_stage_stop(rv_decode_stage *s);
/* Wall seconds the thread has spent inside rv_ingest_next, and the ingest's progress after
 * its last batch (read safely while the thread runs). */
double rv_decode_stage_busy_s(rv_decode_stage *s);
rv_ingest_progress rv_decode_stage_progress(rv_decode_stage *s);

#endif
