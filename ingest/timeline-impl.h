/* Presentation timeline and sampling, without FFmpeg (tested on their own).
 *
 * rv_timeline turns the decoder's timestamps into a monotonic nanosecond timeline and gives
 * each frame its source frame number in presentation order. Numbers come from the packets:
 * a frame's number is how many packets with an earlier timestamp there are, so it stays
 * right when frames are dropped or discarded instead of decoded. Packets wait in a small
 * window (decode order differs from presentation order by a few frames) and then get their
 * number; those that went to the decoder are remembered until their frame comes out.
 * rv_sampler picks frames on a grid of 1/fps. */
#ifndef RINGVIT_INGEST_TIMELINE_IMPL_H
#define RINGVIT_INGEST_TIMELINE_IMPL_H

#include <stdint.h>

#define RV_TS_NONE       INT64_MIN     /* unknown timestamp */
#define RV_TL_WINDOW     32            /* reorder window: more than any decoder's delay */
#define RV_TL_SENT       256           /* numbered packets awaiting their frame */
#define RV_TL_BACK_NS    1000000000LL  /* a backward jump beyond 1 s is a discontinuity */
#define RV_TL_DISCONT_NS 10000000000LL /* forward, in formats that declare discontinuities */
#define RV_SAMPLE_TOL_NS 500000LL      /* container rounding (ms time bases) */

typedef struct rv_timeline {
  int64_t frame_ns;   /* nominal frame duration */
  int64_t discont_ns; /* forward jump taken as a discontinuity; 0 = never */
  int64_t offset_ns;  /* added to raw timestamps since the last discontinuity */
  int64_t last_ns;    /* timeline time of the last frame, RV_TS_NONE before the first */
  int64_t last_index;
  int64_t pending[RV_TL_WINDOW]; /* raw ns of packets not numbered yet, ascending */
  uint8_t pending_sent[RV_TL_WINDOW];
  int npending;
  int64_t next_index; /* number the next packet out of the window gets */
  struct rv_tl_sent {
    int64_t pts, index;
  } sent[RV_TL_SENT]; /* numbered packets that went to the decoder, ascending */
  int nsent;
  int64_t discontinuities;
} rv_timeline;

void rv_timeline_init(rv_timeline *t, int64_t frame_ns, int64_t discont_ns);
/* Restarts numbering at `base` (after a seek: the number of the next packet's frame). */
void rv_timeline_restart(rv_timeline *t, int64_t base);
/* A packet was read with raw timestamp pts_ns (RV_TS_NONE: unknown); `decoded`: it goes to
 * the decoder (else it was dropped and only counts). */
void rv_timeline_packet(rv_timeline *t, int64_t pts_ns, int decoded);
/* A frame came out with raw timestamp pts_ns: its timeline time and frame number. */
void rv_timeline_frame(rv_timeline *t, int64_t pts_ns, int64_t *out_ns, int64_t *out_index);
/* Timeline time of a raw timestamp under the current offset (for packets ahead of frames). */
static inline int64_t rv_timeline_map(const rv_timeline *t, int64_t pts_ns) {
  return pts_ns == RV_TS_NONE ? RV_TS_NONE : pts_ns + t->offset_ns;
}

typedef struct rv_sampler {
  double fps;      /* 0 = every frame */
  int64_t origin;  /* grid origin, RV_TS_NONE = the first frame offered */
  int64_t k;       /* index of the next grid point */
  int64_t next_ns; /* the next grid time, RV_TS_NONE before the origin is known */
} rv_sampler;

void rv_sampler_init(rv_sampler *s, double fps, int64_t origin_ns);
/* 1 when the frame at timeline time t is taken (and the grid moves past it). */
int rv_sampler_take(rv_sampler *s, int64_t t_ns);
/* 1 when a frame at t would not be taken now (so need not be decoded): t is before the next
 * grid time. Always 0 when every frame is taken or the grid is not known yet. */
int rv_sampler_skippable(const rv_sampler *s, int64_t t_ns);
/* The grid cell [grid k - tolerance, grid k+1 - tolerance) holding t: the sampler takes at
 * most one frame of each cell, the first one it sees. RV_TS_NONE while the grid is unknown. */
int64_t rv_sampler_cell(const rv_sampler *s, int64_t t_ns);

#endif
