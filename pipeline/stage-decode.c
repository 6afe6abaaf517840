#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "foreground-impl.h"
#include "queue-impl.h"
#include "reserve-impl.h"
#include "stage-decode-impl.h"

enum { MAX_SLOTS = 8 };

struct rv_decode_stage {
  rv_ingest *ing;
  rv_queue *free_q, *full_q;
  rv_batch slots[MAX_SLOTS];
  int n_slots;
  pthread_t thread;
  int started;
  int sync; /* no thread: next reads the ingest itself, into slots[0] */
  atomic_int stop;
  rv_status error;     /* the thread's failure, 0 while none */
  char error_msg[768]; /* its rv_last_error(), to re-raise on the consumer's thread */
  pthread_mutex_t mu;  /* guards busy_s and progress */
  double busy_s;
  rv_ingest_progress progress;
  float fg_diff;     /* > 0: foreground masks with each batch */
  rv_foreground *fg; /* made at the first batch, remade when the input size changes */
  int fg_w, fg_h;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each frame of the batch (tubelet padding included: a copy of the last frame) through the
 * background, its mask into b->masks. */
static rv_status learn_foreground(rv_decode_stage *s, const rv_ingest_batch *in, rv_batch *b) {
  rv_status st = RV_OK;
  b->mask_bytes = 0;
  if (!(s->fg_diff > 0) || !in->frames.data || in->frames.dtype != RV_U8) return RV_OK;
  int h = (int)in->frames.shape[1], w = (int)in->frames.shape[2];
  if (!s->fg || w != s->fg_w || h != s->fg_h) {
    rv_foreground_free(s->fg);
    s->fg = NULL;
    RV_TRY(rv_foreground_init(w, h, s->fg_diff, &s->fg));
    s->fg_w = w, s->fg_h = h;
  }
  size_t one = rv_foreground_mask_bytes(w, h);
  RV_TRY(rv_reserve((void **)&b->masks, &b->cap_masks, (size_t)in->n * one, "foreground masks"));
  for (int i = 0; i < in->n; i++)
    rv_foreground_push(s->fg, (const uint8_t *)in->frames.data + (size_t)i * w * h * 3,
                       b->masks + (size_t)i * one);
  b->mask_bytes = one;
  b->mask_w = w, b->mask_h = h;
fail:
  return st;
}

static rv_status copy_batch(rv_decode_stage *s, const rv_ingest_batch *in, rv_batch *b) {
  rv_status st = RV_OK;
  size_t nf = (size_t)in->n;
  size_t tok = in->tokens.data ? (size_t)rv_tensor_nelem(&in->tokens) * sizeof(float) : 0;
  size_t th = in->thumbs.data ? (size_t)rv_tensor_nelem(&in->thumbs) : 0;
  if (in->tokens.data && in->tokens.dtype != RV_F32)
    return RV_FAIL(RV_ERR_DTYPE, "the pipeline takes f32 tokens");
  RV_TRY(rv_reserve((void **)&b->pts_ns, &b->cap_pts, nf * sizeof(int64_t), "batch timestamps"));
  RV_TRY(rv_reserve((void **)&b->frame_index, &b->cap_index, nf * sizeof(int64_t), "batch index"));
  RV_TRY(rv_reserve((void **)&b->tokens, &b->cap_tokens, tok, "batch tokens"));
  RV_TRY(rv_reserve((void **)&b->thumbs, &b->cap_thumbs, th, "batch thumbnails"));
  b->n = in->n;
  b->n_pad = in->n_pad;
  memcpy(b->pts_ns, in->pts_ns, nf * sizeof(int64_t));
  memcpy(b->frame_index, in->frame_index, nf * sizeof(int64_t));
  if (tok) memcpy(b->tokens, in->tokens.data, tok);
  b->token_rows = in->tokens.data ? in->tokens.shape[0] : 0;
  b->token_dim = in->tokens.data ? in->tokens.shape[1] : 0;
  b->tokens_per_frame = in->tokens_per_frame;
  b->geom = in->geom;
  b->src_width = in->src_width;
  b->src_height = in->src_height;
  if (th) memcpy(b->thumbs, in->thumbs.data, th);
  b->thumb_h = th ? (int)in->thumbs.shape[1] : 0;
  b->thumb_w = th ? (int)in->thumbs.shape[2] : 0;
  RV_TRY(learn_foreground(s, in, b));
fail:
  return st;
}

static void fail_stage(rv_decode_stage *s, rv_status st) {
  s->error = st;
  snprintf(s->error_msg, sizeof s->error_msg, "%s", rv_last_error());
  rv_queue_abort(s->full_q, st);
}

static void *decode_main(void *arg) {
  rv_decode_stage *s = arg;
  for (;;) {
    void *slot = NULL;
    if (rv_queue_pop(s->free_q, &slot) != RV_OK || atomic_load(&s->stop)) break;
    const rv_ingest_batch *in = NULL;
    double t0 = now_s();
    rv_status st = rv_ingest_next(s->ing, &in);
    pthread_mutex_lock(&s->mu);
    s->busy_s += now_s() - t0;
    s->progress = rv_ingest_get_progress(s->ing);
    pthread_mutex_unlock(&s->mu);
    if (st == RV_EOF) {
      rv_queue_close(s->full_q);
      break;
    }
    if (st >= 0) st = copy_batch(s, in, slot);
    if (st < 0) {
      fail_stage(s, st);
      break;
    }
    if (rv_queue_push(s->full_q, slot) != RV_OK) break; /* the consumer stopped */
  }
  return NULL;
}

rv_status rv_decode_stage_start(rv_ingest *ing, int slots, float fg_diff, rv_decode_stage **out) {
  rv_status st = RV_OK;
  if (!ing || !out || slots < 0 || slots > MAX_SLOTS)
    return RV_FAIL(RV_ERR_INVALID, "decode stage needs an ingest and 0..%d slots", MAX_SLOTS);
  rv_decode_stage *s = calloc(1, sizeof *s);
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "decode stage");
  s->ing = ing;
  s->n_slots = slots > 0 ? slots : 1;
  s->sync = slots == 0;
  s->fg_diff = fg_diff;
  pthread_mutex_init(&s->mu, NULL);
  s->progress = rv_ingest_get_progress(ing);
  if (s->sync) {
    *out = s;
    return RV_OK;
  }
  RV_TRY(rv_queue_init(slots, &s->free_q));
  RV_TRY(rv_queue_init(slots, &s->full_q));
  for (int i = 0; i < slots; i++)
    RV_TRY(rv_queue_push(s->free_q, &s->slots[i]));
  if (pthread_create(&s->thread, NULL, decode_main, s) != 0)
    RV_TRY_FAIL(RV_ERR_INTERNAL, "cannot start the decode thread");
  s->started = 1;
  *out = s;
  return RV_OK;
fail:
  rv_decode_stage_stop(s);
  return st;
}

static rv_status next_sync(rv_decode_stage *s, rv_batch **out) {
  const rv_ingest_batch *in = NULL;
  double t0 = now_s();
  rv_status st = rv_ingest_next(s->ing, &in);
  if (st == RV_OK) st = copy_batch(s, in, &s->slots[0]);
  s->busy_s += now_s() - t0;
  if (st == RV_OK) *out = &s->slots[0];
  return st;
}

rv_status rv_decode_stage_next(rv_decode_stage *s, rv_batch **out) {
  if (s->sync) return next_sync(s, out);
  void *item = NULL;
  rv_status st = rv_queue_pop(s->full_q, &item);
  if (st == RV_OK) {
    *out = item;
    return RV_OK;
  }
  if (st == RV_EOF) return RV_EOF;
  /* the thread failed: its message was recorded on its own thread */
  return RV_FAIL(s->error ? s->error : st, "decoding: %s", s->error_msg);
}

void rv_decode_stage_release(rv_decode_stage *s, rv_batch *b) {
  if (b && !s->sync) (void)rv_queue_push(s->free_q, b); /* fails only once stopped: then nothing to do */
}

void rv_decode_stage_stop(rv_decode_stage *s) {
  if (!s) return;
  atomic_store(&s->stop, 1);
  if (s->free_q) rv_queue_abort(s->free_q, RV_ERR_INTERNAL);
  if (s->full_q) rv_queue_abort(s->full_q, RV_ERR_INTERNAL);
  if (s->started) pthread_join(s->thread, NULL);
  for (int i = 0; i < s->n_slots; i++) {
    free(s->slots[i].pts_ns);
    free(s->slots[i].frame_index);
    free(s->slots[i].tokens);
    free(s->slots[i].thumbs);
    free(s->slots[i].masks);
  }
  rv_foreground_free(s->fg);
  rv_queue_free(s->free_q);
  rv_queue_free(s->full_q);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

double rv_decode_stage_busy_s(rv_decode_stage *s) {
  if (!s) return 0.0;
  pthread_mutex_lock(&s->mu);
  double b = s->busy_s;
  pthread_mutex_unlock(&s->mu);
  return b;
}

rv_ingest_progress rv_decode_stage_progress(rv_decode_stage *s) {
  rv_ingest_progress pr = {0};
  if (!s) return pr;
  pthread_mutex_lock(&s->mu);
  pr = s->progress;
  pthread_mutex_unlock(&s->mu);
  return pr;
}
