#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream-case.h"

const rv_stream_case rv_stream_cases[] = {
    /* name                       L  H  D   tpf cap frames win nq owner_only */
    {"2 layers, tpf 3, cap 5", 2, 2, 16, 3, 5, 12, 0, 3, 0},
    {"tpf 1, window 3", 1, 3, 13, 1, 7, 15, 3, 1, 1},
    {"D 64, 2 of 5 queries", 3, 1, 64, 5, 4, 9, 0, 2, 0},
    {"cap 11, window 6", 1, 2, 32, 4, 11, 25, 6, 4, 1},
    {"cap 1", 1, 1, 8, 2, 1, 4, 0, 2, 0},
    {"window beyond capacity", 1, 2, 8, 2, 6, 14, 9, 2, 0},
};
const size_t rv_stream_case_count = sizeof rv_stream_cases / sizeof rv_stream_cases[0];

typedef struct stream {
  const rv_stream_case *sc;
  size_t row;                /* floats per token: H * D */
  float **k, **v;            /* per layer, every frame's rows */
  float *q, *o, *want, *lse; /* one frame */
  rv_backend *ref;
} stream;

static void stream_free(stream *s) {
  for (int l = 0; s->k && l < s->sc->layers; l++) {
    free(s->k[l]);
    free(s->v[l]);
  }
  free(s->k);
  free(s->v);
  free(s->q);
  free(s->o);
  free(s->want);
  free(s->lse);
  rv_backend_free(s->ref);
}

static rv_status stream_alloc(stream *s, const rv_stream_case *sc) {
  memset(s, 0, sizeof *s);
  s->sc = sc;
  s->row = (size_t)sc->heads * (size_t)sc->head_dim;
  size_t frame = (size_t)sc->tpf * s->row, all = (size_t)sc->frames * frame;
  s->k = calloc((size_t)sc->layers, sizeof *s->k);
  s->v = calloc((size_t)sc->layers, sizeof *s->v);
  if (!s->k || !s->v) return RV_FAIL(RV_ERR_NOMEM, "stream tables");
  for (int l = 0; l < sc->layers; l++) {
    s->k[l] = malloc(all * sizeof(float));
    s->v[l] = malloc(all * sizeof(float));
    if (!s->k[l] || !s->v[l]) return RV_FAIL(RV_ERR_NOMEM, "stream history");
  }
  s->q = malloc(frame * sizeof(float));
  s->o = malloc(frame * sizeof(float));
  s->want = malloc(frame * sizeof(float));
  s->lse = malloc((size_t)sc->tpf * (size_t)sc->heads * sizeof(float));
  if (!s->q || !s->o || !s->want || !s->lse) return RV_FAIL(RV_ERR_NOMEM, "stream frame");
  rv_backend_cfg bc = {RV_BACKEND_CPU_REF, 1, 0};
  return rv_backend_init(&bc, &s->ref);
}

/* Frame f of layer l: the same numbers on every rank. */
static void frame_data(stream *s, int f, int l) {
  size_t frame = (size_t)s->sc->tpf * s->row, at = (size_t)f * frame;
  rv_rng rng;
  rv_rng_seed(&rng, 1000003u * (uint64_t)f + 7919u * (uint64_t)l + 17u);
  rv_fill_normal(&rng, s->k[l] + at, frame, 1.0f);
  rv_fill_normal(&rng, s->v[l] + at, frame, 1.0f);
  rv_fill_normal(&rng, s->q, frame, 1.0f);
}

/* Frame-causal attention of frame f's queries over every frame so far, limited to the
 * last min(capacity, window) frames: what the cache must reproduce. */
static rv_status reference(stream *s, int f, int l, float scale) {
  const rv_stream_case *sc = s->sc;
  int64_t reach = sc->window > 0 && sc->window < sc->capacity ? sc->window : sc->capacity;
  int64_t nk = (int64_t)(f + 1) * sc->tpf;
  rv_tensor q = rv_tensor_3d(s->q, RV_F32, sc->nq, sc->heads, sc->head_dim);
  rv_tensor k = rv_tensor_3d(s->k[l], RV_F32, nk, sc->heads, sc->head_dim);
  rv_tensor v = rv_tensor_3d(s->v[l], RV_F32, nk, sc->heads, sc->head_dim);
  rv_tensor o = rv_tensor_3d(s->want, RV_F32, sc->nq, sc->heads, sc->head_dim);
  rv_tensor lse = rv_tensor_2d(s->lse, RV_F32, sc->heads, sc->nq);
  rv_attn_params p = {scale, RV_MASK_WINDOW, (int32_t)reach, sc->tpf, (int64_t)f * sc->tpf, 0};
  return rv_attention(s->ref, &q, &k, &v, &p, &o, &lse);
}

static void keep_worst(rv_stream_result *res, const rv_cmp *c, int f, int l) {
  int worse = c->nan_mismatch > res->worst.nan_mismatch || c->max_rel > res->worst.max_rel ||
              c->nmse > res->worst.nmse;
  if (f == 0 && l == 0) worse = 1;
  if (!worse) return;
  res->worst = *c;
  res->worst_frame = f;
  res->worst_layer = l;
}

/* One frame of one layer: append, attend, compare with the recomputed reference. Ranks
 * other than the frame's owner pass NULL data when the case says so. */
static rv_status step(stream *s, rv_kvcache *c, int rank, int size, int f, int l,
                      rv_stream_result *res) {
  rv_status st = RV_OK;
  const rv_stream_case *sc = s->sc;
  float scale = 1.0f / sqrtf((float)sc->head_dim);
  size_t frame = (size_t)sc->tpf * s->row, n = (size_t)sc->nq * s->row;
  frame_data(s, f, l);
  int feed = !sc->owner_only || f % size == rank;
  float *kd = s->k[l] + (size_t)f * frame, *vd = s->v[l] + (size_t)f * frame;
  rv_tensor k = rv_tensor_3d(feed ? kd : NULL, RV_F32, sc->tpf, sc->heads, sc->head_dim);
  rv_tensor v = rv_tensor_3d(feed ? vd : NULL, RV_F32, sc->tpf, sc->heads, sc->head_dim);
  rv_tensor q = rv_tensor_3d(feed ? s->q : NULL, RV_F32, sc->nq, sc->heads, sc->head_dim);
  rv_tensor o = rv_tensor_3d(s->o, RV_F32, sc->nq, sc->heads, sc->head_dim);
  RV_TRY(rv_kvcache_append(c, l, &k, &v));
  if (rv_kvcache_owner(c, l) != f % size)
    RV_TRY_FAIL(RV_ERR_INTERNAL, "frame %d is owned by rank %d, expected %d", f,
                rv_kvcache_owner(c, l), f % size);
  RV_TRY(rv_kvcache_attend(c, l, &q, scale, sc->window, &o));
  RV_TRY(reference(s, f, l, scale));
  rv_cmp cmp = rv_compare(s->o, s->want, n, 0.1 * rv_rms(s->want, n));
  keep_worst(res, &cmp, f, l);
fail:
  return st;
}

rv_status rv_stream_case_run(const rv_stream_case *sc, rv_backend *be, rv_comm *comm, int rank,
                             int size, rv_stream_result *res) {
  rv_status st = RV_OK;
  stream s;
  rv_kvcache *c = NULL;
  memset(res, 0, sizeof *res);
  RV_TRY(stream_alloc(&s, sc));
  rv_kvcache_cfg cfg = {be, comm, sc->layers, sc->heads, sc->head_dim, sc->tpf, sc->capacity};
  RV_TRY(rv_kvcache_init(&cfg, &c));
  for (int f = 0; f < sc->frames; f++)
    for (int l = 0; l < sc->layers; l++)
      RV_TRY(step(&s, c, rank, size, f, l, res));
  res->frames_held = rv_kvcache_frames(c);
  res->bytes = rv_kvcache_bytes(c);
fail:
  rv_kvcache_free(c);
  stream_free(&s);
  return st;
}

void rv_stream_result_assert(const rv_stream_case *sc, const rv_stream_result *res, int size) {
  char what[160];
  snprintf(what, sizeof what, "%s, R=%d, frame %d layer %d", sc->name, size, res->worst_frame,
           res->worst_layer);
  rv_assert_close(what, &res->worst, 1e-11, 1e-5);
  int64_t held = sc->frames < sc->capacity ? sc->frames : sc->capacity;
  assert_int_equal(res->frames_held, held);
  /* this rank's share: ceil(capacity / R) frames of K and V per layer, nothing more */
  size_t slots = (size_t)((sc->capacity + size - 1) / size);
  size_t kv = rv_arena_round(slots * (size_t)sc->tpf * (size_t)(sc->heads * sc->head_dim) * 4);
  assert_int_equal(res->bytes, 2 * (size_t)sc->layers * kv);
}
