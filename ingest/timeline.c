#include <math.h>
#include <string.h>

#include "timeline-impl.h"

void rv_timeline_init(rv_timeline *t, int64_t frame_ns, int64_t discont_ns) {
  memset(t, 0, sizeof *t);
  t->frame_ns = frame_ns > 0 ? frame_ns : 40000000;
  t->discont_ns = discont_ns;
  t->last_ns = RV_TS_NONE;
  t->last_index = -1;
}

void rv_timeline_restart(rv_timeline *t, int64_t base) {
  t->npending = t->nsent = 0;
  t->next_index = base;
  t->last_index = base - 1;
}

/* The earliest waiting packet gets the next number. */
static void number_one(rv_timeline *t) {
  if (t->pending_sent[0]) {
    if (t->nsent == RV_TL_SENT) { /* frames that never came out (discarded): forget the oldest */
      memmove(t->sent, t->sent + 1, (RV_TL_SENT - 1) * sizeof t->sent[0]);
      t->nsent--;
    }
    t->sent[t->nsent].pts = t->pending[0];
    t->sent[t->nsent++].index = t->next_index;
  }
  t->next_index++;
  t->npending--;
  memmove(t->pending, t->pending + 1, (size_t)t->npending * sizeof t->pending[0]);
  memmove(t->pending_sent, t->pending_sent + 1, (size_t)t->npending);
}

void rv_timeline_packet(rv_timeline *t, int64_t pts_ns, int decoded) {
  if (pts_ns == RV_TS_NONE) return;
  if (t->npending == RV_TL_WINDOW) number_one(t);
  int i = t->npending++;
  while (i > 0 && t->pending[i - 1] > pts_ns) {
    t->pending[i] = t->pending[i - 1];
    t->pending_sent[i] = t->pending_sent[i - 1];
    i--;
  }
  t->pending[i] = pts_ns;
  t->pending_sent[i] = (uint8_t)(decoded != 0);
}

/* Number of the frame with raw timestamp pts: every packet before it has been read by now
 * (decoders output in presentation order), so the window up to it can be numbered. */
static int64_t take_index(rv_timeline *t, int64_t pts_ns) {
  int64_t idx = t->last_index + 1;
  if (pts_ns != RV_TS_NONE) {
    while (t->npending > 0 && t->pending[0] <= pts_ns)
      number_one(t);
    int k = 0;
    int64_t match = -1, below = -1;
    for (; k < t->nsent && t->sent[k].pts <= pts_ns; k++) {
      if (t->sent[k].pts == pts_ns)
        match = t->sent[k].index;
      else
        below = t->sent[k].index;
    }
    t->nsent -= k;
    memmove(t->sent, t->sent + k, (size_t)t->nsent * sizeof t->sent[0]);
    if (match >= 0)
      idx = match;
    else if (below >= 0)
      idx = below + 1;
  }
  if (idx <= t->last_index) idx = t->last_index + 1;
  return idx;
}

void rv_timeline_frame(rv_timeline *t, int64_t pts_ns, int64_t *out_ns, int64_t *out_index) {
  int64_t now;
  if (pts_ns == RV_TS_NONE) {
    now = t->last_ns == RV_TS_NONE ? 0 : t->last_ns + t->frame_ns;
  } else {
    now = pts_ns + t->offset_ns;
    if (t->last_ns != RV_TS_NONE) {
      int jump_back = now < t->last_ns - RV_TL_BACK_NS;
      int jump_fwd = t->discont_ns > 0 && now > t->last_ns + t->discont_ns;
      if (jump_back || jump_fwd) {
        int64_t cont = t->last_ns + t->frame_ns;
        t->offset_ns += cont - now;
        now = cont;
        t->discontinuities++;
      } else if (now <= t->last_ns) {
        now = t->last_ns + 1; /* out of order or repeated: keep the timeline monotonic */
      }
    }
  }
  *out_index = take_index(t, pts_ns);
  t->last_index = *out_index;
  t->last_ns = now;
  *out_ns = now;
}

static int64_t grid_at(const rv_sampler *s, int64_t k) {
  return s->origin + llround((double)k * 1e9 / s->fps);
}

void rv_sampler_init(rv_sampler *s, double fps, int64_t origin_ns) {
  s->fps = fps;
  s->origin = origin_ns;
  s->k = 0;
  s->next_ns = origin_ns;
}

int rv_sampler_take(rv_sampler *s, int64_t t_ns) {
  if (s->fps <= 0) return 1;
  if (s->origin == RV_TS_NONE) {
    s->origin = s->next_ns = t_ns;
    s->k = 0;
  }
  if (t_ns < s->next_ns - RV_SAMPLE_TOL_NS) return 0;
  /* first grid point after t (+ tolerance): a frame covers every grid time up to it */
  int64_t k = (int64_t)floor((double)(t_ns + RV_SAMPLE_TOL_NS - s->origin) * s->fps / 1e9) + 1;
  if (k <= s->k) k = s->k + 1;
  while (grid_at(s, k) - RV_SAMPLE_TOL_NS <= t_ns)
    k++; /* floating rounding at the edge */
  s->k = k;
  s->next_ns = grid_at(s, k);
  return 1;
}

int rv_sampler_skippable(const rv_sampler *s, int64_t t_ns) {
  if (s->fps <= 0 || s->next_ns == RV_TS_NONE || t_ns == RV_TS_NONE) return 0;
  return t_ns < s->next_ns - RV_SAMPLE_TOL_NS;
}

int64_t rv_sampler_cell(const rv_sampler *s, int64_t t_ns) {
  if (s->fps <= 0 || s->origin == RV_TS_NONE || t_ns == RV_TS_NONE) return RV_TS_NONE;
  return (int64_t)floor((double)(t_ns + RV_SAMPLE_TOL_NS - s->origin) * s->fps / 1e9);
}
