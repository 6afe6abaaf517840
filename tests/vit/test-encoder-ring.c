/* The whole encoder spread over R ranks (rv_vit_cfg.comm): R ranks pushing the same
 * frames each keep about 1/R of the tokens (rv_vit_token_bytes) and give, for the frames
 * they kept (rv_vit_outputs spans), the head outputs and features of one rank
 * (fp32 relative error <= 1e-5 on the reference backend), for a window model with pooled
 * temporal tokens and timestamps (contiguous shares), a global clip model (contiguous) and
 * a frame-causal detector (zigzag shares); R in {2, 3, 4} on local threads, including
 * fewer frames than ranks (ranks without rows); stream mode over a sharded KV cache
 * equals one rank's stream; with --mpi, the same on this process's rank of mpirun. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/comm.h>
#include <ringvit/vit.h>

#include "ring-test.h"

enum { MAX_RANKS = 8, MAX_FRAMES = 9 };

typedef struct enc_case {
  const char *model;
  int frames; /* encoder frames pushed (in two pushes) */
  int stream; /* 1: step frame by frame through the KV cache instead */
} enc_case;

/* One rank's copy of the outputs worth comparing: the first head present and the
 * features. */
typedef struct enc_out {
  float *head, *feat;
  size_t n_head, n_feat;
  int clip;            /* the head is one row for the whole clip */
  int nspan;           /* frames kept (offline): span[0]'s rows, then span[1]'s */
  rv_vit_span span[2];
  size_t token_bytes;
} enc_out;

typedef struct enc_job {
  const enc_case *ec;
  rv_model *m;
  const float *tokens; /* [frames * tokens_per_frame, token_dim] */
  enc_out out[MAX_RANKS];
} enc_job;

static const rv_tensor *first_head(const rv_vit_outputs *o) {
  return o->dense.ndim ? &o->dense : o->set_logits.ndim ? &o->set_logits : &o->scene;
}

static rv_status append(float **dst, size_t *n, const rv_tensor *t) {
  size_t add = (size_t)rv_tensor_nelem(t);
  float *p = realloc(*dst, (*n + add) * sizeof(float));
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "outputs");
  memcpy(p + *n, t->data, add * sizeof(float));
  *dst = p;
  *n += add;
  return RV_OK;
}

static rv_status keep(enc_out *e, const rv_vit_outputs *o) {
  e->clip = first_head(o) == &o->scene && o->scene.shape[0] == 1 && o->total_frames > 1;
  e->nspan = o->nspan;
  memcpy(e->span, o->span, sizeof e->span);
  rv_status st = append(&e->head, &e->n_head, first_head(o));
  return st < 0 ? st : append(&e->feat, &e->n_feat, &o->features);
}

static rv_status run_offline(rv_vit *v, const rv_tensor *tok, int frames, enc_out *e) {
  rv_status st = RV_OK;
  int np = rv_vit_tokens_per_frame(v), first = frames / 2 > 0 ? frames / 2 : frames;
  double times[MAX_FRAMES];
  for (int i = 0; i < frames; i++)
    times[i] = 0.5 * i + 0.1 * (i % 3); /* uneven spacing: the time embedding matters */
  rv_tensor a = rv_tensor_2d(tok->data, RV_F32, (int64_t)first * np, tok->shape[1]);
  RV_TRY(rv_vit_push(v, &a, first, times));
  if (frames > first) {
    rv_tensor b = rv_tensor_2d(rv_tensor_row(tok, (int64_t)first * np), RV_F32,
                               (int64_t)(frames - first) * np, tok->shape[1]);
    RV_TRY(rv_vit_push(v, &b, frames - first, times + first));
  }
  rv_vit_outputs o;
  RV_TRY(rv_vit_finish(v, &o));
  RV_TRY(keep(e, &o));
fail:
  return st;
}

static rv_status run_stream(rv_vit *v, const rv_tensor *tok, int frames, enc_out *e) {
  rv_status st = RV_OK;
  int np = rv_vit_tokens_per_frame(v);
  RV_TRY(rv_vit_stream_init(v, 3)); /* fewer frames than stepped: eviction too */
  for (int i = 0; i < frames; i++) {
    rv_tensor one = rv_tensor_2d(rv_tensor_row(tok, (int64_t)i * np), RV_F32, np, tok->shape[1]);
    rv_vit_outputs o;
    RV_TRY(rv_vit_step(v, &one, 0.5 * i, &o));
    RV_TRY(keep(e, &o));
  }
fail:
  return st;
}

/* One rank: its own encoder context over the shared model, the same frames as every rank. */
static rv_status enc_rank(rv_comm *comm, rv_backend *be, void *user) {
  rv_status st = RV_OK;
  enc_job *j = user;
  int rank = comm ? rv_comm_rank(comm) : 0, frames = j->ec->frames;
  enc_out *e = &j->out[rank % MAX_RANKS];
  rv_vit *v = NULL;
  int batch = j->ec->stream ? 1 : (frames + 1) / 2;
  rv_vit_cfg vc = {j->m, be, 0, 0, batch, frames, NULL, NULL, comm, 0};
  RV_TRY(rv_vit_init(&vc, &v));
  int64_t rows = (int64_t)frames * rv_vit_tokens_per_frame(v);
  rv_tensor tok = rv_tensor_2d((float *)j->tokens, RV_F32, rows, rv_vit_token_dim(v));
  RV_TRY(j->ec->stream ? run_stream(v, &tok, frames, e) : run_offline(v, &tok, frames, e));
  e->token_bytes = rv_vit_token_bytes(v);
fail:
  rv_vit_free(v);
  return st;
}

static void free_outs(enc_job *j) {
  for (int r = 0; r < MAX_RANKS; r++) {
    free(j->out[r].head);
    free(j->out[r].feat);
  }
  memset(j->out, 0, sizeof j->out);
}

static float *make_tokens(const rv_model *m, int frames) {
  const rv_vit_config *c = rv_model_config(m);
  size_t rows = (size_t)frames * rv_vit_grid_h(c, 0) * rv_vit_grid_w(c, 0);
  size_t n = rows * 3 * c->tubelet * c->patch * c->patch;
  float *t = malloc(n * sizeof(float));
  rv_rng rng;
  rv_rng_seed(&rng, 77);
  rv_fill_normal(&rng, t, n, 1.0f);
  return t;
}

static void load(enc_job *j, const enc_case *ec) {
  char rel[128], path[512];
  memset(j, 0, sizeof *j);
  j->ec = ec;
  snprintf(rel, sizeof rel, "tests/data/vit/%s.model.safetensors", ec->model);
  if (rv_model_load(rv_test_source_path(rel, path, sizeof path), &j->m) != RV_OK)
    fail_msg("%s", rv_last_error());
  j->tokens = make_tokens(j->m, ec->frames);
}

static void unload(enc_job *j) {
  free_outs(j);
  free((void *)j->tokens);
  rv_model_free(j->m);
}

static void expect_close(const char *what, const enc_case *ec, int R, int rank, const float *got,
                         size_t n_got, const float *want, size_t n) {
  char name[200];
  snprintf(name, sizeof name, "%s, %s, %d frames%s, R=%d, rank %d", what, ec->model, ec->frames,
           ec->stream ? " streamed" : "", R, rank);
  assert_int_equal(n_got, n);
  rv_cmp c = rv_compare(got, want, n, 0.1 * rv_rms(want, n));
  rv_assert_close(name, &c, 1e-11, 1e-5);
}

/* The rows of one rank's run (all frames) at the frames another rank kept. */
static float *rows_at(const float *all, size_t n_all, int frames, const enc_out *e, size_t *n) {
  size_t per = n_all / (size_t)frames;
  float *r = malloc(n_all * sizeof(float) + 1);
  *n = 0;
  for (int i = 0; i < e->nspan; i++) {
    memcpy(r + *n, all + (size_t)e->span[i].first * per, (size_t)e->span[i].count * per * 4);
    *n += (size_t)e->span[i].count * per;
  }
  return r;
}

static void compare_rank(const enc_job *j, const enc_out *one, int R, int rank) {
  const enc_out *e = &j->out[rank % MAX_RANKS];
  int frames = j->ec->frames;
  if (j->ec->stream) { /* every rank steps every frame */
    expect_close("head", j->ec, R, rank, e->head, e->n_head, one->head, one->n_head);
    expect_close("features", j->ec, R, rank, e->feat, e->n_feat, one->feat, one->n_feat);
    return;
  }
  size_t nh = one->n_head, nf;
  float *h = e->clip ? NULL : rows_at(one->head, one->n_head, frames, e, &nh),
        *f = rows_at(one->feat, one->n_feat, frames, e, &nf);
  expect_close("head", j->ec, R, rank, e->head, e->n_head, h ? h : one->head, nh);
  expect_close("features", j->ec, R, rank, e->feat, e->n_feat, f, nf);
  free(h);
  free(f);
  /* no rank keeps more than the largest share of the tokens */
  int most = (frames + R - 1) / R;
  assert_true(e->token_bytes * (size_t)frames <= one->token_bytes * (size_t)most);
  assert_true(e->token_bytes < one->token_bytes);
}

/* The ranks' kept frames cover the sequence once. */
static void expect_cover(const enc_job *j, int R) {
  int seen[MAX_FRAMES] = {0};
  for (int r = 0; r < R && !j->ec->stream; r++)
    for (int i = 0; i < j->out[r].nspan; i++)
      for (int64_t f = 0; f < j->out[r].span[i].count; f++)
        seen[j->out[r].span[i].first + f]++;
  for (int f = 0; f < j->ec->frames && !j->ec->stream; f++)
    assert_int_equal(seen[f], 1);
}

static const enc_case cases[] = {
    {"mirror-st", 7, 0},       /* window 2, pooled 2x2, timestamps: contiguous shares */
    {"mirror-yolos", 7, 0},    /* frame-causal, set head, det tokens: zigzag shares */
    {"mirror-videomae", 4, 0}, /* global, sinusoidal, one clip of 8 video frames */
    {"mirror-yolos", 2, 0},    /* fewer frames than ranks */
    {"mirror-st", 6, 1},       /* stream: KV cache sharded across ranks */
    {"mirror-own", 7, 0},      /* own-region keys: a frame is one key position of 6 x heads */
    {"mirror-own", 6, 1},      /* the same, stream */
};

/* The one-rank run of a case on this thread, into *one. */
static void run_one(enc_job *j, enc_out *one) {
  rv_backend *be = NULL;
  rv_backend_cfg bc = {rv_test_backend, 1, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  if (enc_rank(NULL, be, j) != RV_OK) fail_msg("%s, R=1: %s", j->ec->model, rv_last_error());
  rv_backend_free(be);
  *one = j->out[0];
  memset(&j->out[0], 0, sizeof j->out[0]);
}

/* R local ranks (each in {2, 3, 4}), or this process's rank of mpirun. */
static void run_ranks(enc_job *j, const enc_out *one, int mpi) {
  static const int ranks[] = {2, 3, 4};
  if (mpi) {
    int R = rv_comm_size(rv_test_world), rank = rv_comm_rank(rv_test_world);
    if (rv_test_world_rank(enc_rank, j) != RV_OK)
      fail_msg("%s, R=%d, rank %d: %s", j->ec->model, R, rank, rv_last_error());
    compare_rank(j, one, R, rank);
    return;
  }
  for (size_t k = 0; k < sizeof ranks / sizeof *ranks; k++) {
    int R = ranks[k];
    if (rv_test_local_ranks(R, 30.0, enc_rank, j, NULL) != RV_OK)
      fail_msg("%s, R=%d: %s", j->ec->model, R, rv_last_error());
    for (int r = 0; r < R; r++)
      compare_rank(j, one, R, r);
    expect_cover(j, R);
    free_outs(j);
  }
}

static void ranks_equal_one(int mpi) {
  rv_test_backend = RV_BACKEND_CPU_REF;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    enc_job j;
    enc_out one;
    load(&j, &cases[i]);
    run_one(&j, &one);
    run_ranks(&j, &one, mpi);
    free(one.head);
    free(one.feat);
    unload(&j);
  }
  rv_test_backend = RV_BACKEND_CPU;
}

static void test_ranks_equal_one_local(void **state) {
  (void)state;
  ranks_equal_one(0);
}

/* Ranks that disagree on the context size fail together with a clear error. */
static rv_status mismatch_rank(rv_comm *comm, rv_backend *be, void *user) {
  rv_model *m = user;
  rv_vit *v = NULL;
  rv_vit_cfg vc = {m, be, 0, 0, 1, rv_comm_rank(comm) == 1 ? 12 : 6, NULL, NULL, comm, 0};
  rv_status st = rv_vit_init(&vc, &v);
  rv_vit_free(v);
  return st;
}

static void test_mismatched_contexts(void **state) {
  (void)state;
  char path[512];
  rv_model *m = NULL;
  rv_test_source_path("tests/data/vit/mirror-st.model.safetensors", path, sizeof path);
  assert_int_equal(rv_model_load(path, &m), RV_OK);
  rv_status st[2];
  assert_int_equal(rv_test_local_ranks(2, 30.0, mismatch_rank, m, st), RV_ERR_INVALID);
  assert_int_equal(st[0], RV_ERR_INVALID);
  assert_int_equal(st[1], RV_ERR_INVALID);
  assert_non_null(strstr(rv_last_error(), "max_local_tokens"));
  rv_model_free(m);
}

static void test_ranks_equal_one_mpi(void **state) {
  (void)state;
  ranks_equal_one(1);
}

int main(int argc, char **argv) {
  if (rv_test_mpi_setup(argc, argv)) {
    const struct CMUnitTest mpi[] = {cmocka_unit_test(test_ranks_equal_one_mpi)};
    return rv_test_mpi_teardown(cmocka_run_group_tests(mpi, NULL, NULL));
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranks_equal_one_local),
      cmocka_unit_test(test_mismatched_contexts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
