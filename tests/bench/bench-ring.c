/* bench-ring: ring attention on this machine (DESIGN.md section 4), one table per part.
 *
 *   memory   per-rank bytes of keys/values vs sequence length N and ranks R: the rank's
 *            own K, V share plus the ring's two transfer buffers (pass-KV), and the ring KV
 *            cache's share (pass-Q) for the same history; measured from the objects made
 *   overlap  pass-KV, no mask, R = 2, growing block size c (tokens per rank): compute per
 *            step, the same transfer timed alone, the wait left after the compute, so the
 *            fraction of communication hidden; next to the Ring Attention paper's
 *            condition c >= F / B with F (attention FLOP/s) and B (link bytes/s) measured
 *   balance  frame-causal mask, R in {2, 4}: per-rank busy time, contiguous vs zigzag
 *   window   causal window of W frames, R = 2: time vs N (linear), and no mask (quadratic)
 *
 * usage: bench-ring [--quick] [memory|overlap|balance|window ...]   (local threads)
 *        mpirun -np 2 bench-ring --mpi [--quick]                     (overlap over MPI)
 * Each rank runs a one-thread cpu backend; timings are the best of a few repetitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ringvit/comm.h>
#include <ringvit/kvcache.h>
#include <ringvit/ring.h>

#include "bench-common.h"

enum { MAX_R = 8 };

typedef struct rank_res {
  rv_ring_stats st;   /* of the best repetition */
  double cpu_s;       /* this rank's thread CPU time in that repetition */
  double comm_s;      /* the step's transfer alone (best of reps), 0 when not probed */
  double kv_bytes;    /* own K, V share + ring transfer buffers */
  double cache_bytes; /* ring KV cache share for the same history */
  int64_t rows;
} rank_res;

typedef struct job {
  int64_t n;
  int heads, head_dim, tpf;
  rv_mask_kind mask;
  int32_t window;
  rv_ring_layout layout;
  int reps;
  int memory_only; /* build the ring and the cache, measure bytes, run nothing */
  int probe_comm;  /* time the step's transfer alone */
  rank_res res[MAX_R];
} job;

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t row_floats(const job *j) { return (size_t)j->heads * (size_t)j->head_dim; }

/* The transfer of one ring step (this rank's K and V block to the next rank) on its own. */
static rv_status probe_comm(rv_comm *c, const job *j, int64_t rows, double *best) {
  rv_status st = RV_OK;
  size_t bytes = 2 * (size_t)rows * row_floats(j) * sizeof(float);
  char *out = malloc(bytes ? bytes : 1), *in = malloc(bytes ? bytes : 1);
  if (!out || !in) RV_TRY_FAIL(RV_ERR_NOMEM, "probe buffers");
  memset(out, 1, bytes);
  *best = 1e300;
  for (int i = 0; i < j->reps + 1; i++) {
    RV_TRY(rv_comm_barrier(c));
    double t0 = bench_now();
    rv_comm_xfer x = {out, bytes, rv_comm_next(c), in, bytes, rv_comm_prev(c)};
    RV_TRY(rv_comm_sendrecv(c, &x));
    double t = bench_now() - t0;
    if (i > 0 && t < *best) *best = t; /* the first one warms up */
  }
fail:
  free(out);
  free(in);
  return st;
}

/* Bytes of the ring KV cache's share on this rank for a history of n tokens. */
static rv_status cache_share(rv_comm *c, rv_backend *be, const job *j, double *bytes) {
  rv_kvcache *kc = NULL;
  rv_kvcache_cfg cc = {be, c, 1, j->heads, j->head_dim, j->tpf, j->n / j->tpf};
  rv_status st = rv_kvcache_init(&cc, &kc);
  *bytes = (double)rv_kvcache_bytes(kc);
  rv_kvcache_free(kc);
  return st;
}

static rv_status run_calls(rv_ring *ring, const job *j, rv_tensor *q, rv_tensor *k, rv_tensor *v,
                           const rv_ring_seq *seq, rv_tensor *o, rank_res *res) {
  rv_status st = RV_OK;
  double best = 1e300;
  RV_TRY(rv_ring_attention(ring, q, k, v, seq, o)); /* warm-up */
  for (int i = 0; i < j->reps; i++) {
    rv_ring_reset_stats(ring);
    double c0 = thread_cpu_s();
    RV_TRY(rv_ring_attention(ring, q, k, v, seq, o));
    double cpu = thread_cpu_s() - c0;
    rv_ring_stats s;
    rv_ring_get_stats(ring, &s);
    if (s.total_s < best) {
      best = s.total_s;
      res->st = s;
      res->cpu_s = cpu;
    }
  }
fail:
  return st;
}

/* One rank: its share of a random sequence, the ring over it, results gathered to all. */
static rv_status ring_rank(rv_comm *c, void *user) {
  rv_status st = RV_OK;
  job *j = user;
  int R = rv_comm_size(c), rank = rv_comm_rank(c);
  rv_backend *be = NULL;
  rv_ring *ring = NULL;
  float *buf = NULL;
  rank_res mine = {0};
  rv_ring_seq seq = {1.0f / sqrtf((float)j->head_dim), j->mask, j->window, j->tpf, 0, {{0}}};
  RV_TRY(rv_ring_layout_seq(j->layout, j->n, j->tpf, R, rank, &seq));
  mine.rows = seq.seg[0].len + (seq.nseg > 1 ? seq.seg[1].len : 0);
  rv_backend_cfg bc = {RV_BACKEND_CPU, 1, 0};
  RV_TRY(rv_backend_init(&bc, &be));
  rv_ring_cfg rc = {be, c, j->heads, j->head_dim,
                    rv_ring_layout_max_local(j->layout, j->n, j->tpf, R)};
  RV_TRY(rv_ring_init(&rc, &ring));
  size_t nf = (size_t)mine.rows * row_floats(j);
  mine.kv_bytes = (double)(2 * nf * sizeof(float) + rv_ring_kv_bytes(ring));
  if (j->memory_only) {
    RV_TRY(cache_share(c, be, j, &mine.cache_bytes));
  } else {
    buf = malloc(4 * (nf ? nf : 1) * sizeof(float));
    if (!buf) RV_TRY_FAIL(RV_ERR_NOMEM, "q, k, v, o of %lld rows", (long long)mine.rows);
    uint64_t x = 1234 + (uint64_t)rank; /* q, k, v uniform in [-0.5, 0.5) */
    for (size_t i = 0; i < 3 * nf; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      buf[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
    }
    rv_tensor t[4];
    for (int i = 0; i < 4; i++)
      t[i] = rv_tensor_3d(buf + (size_t)i * nf, RV_F32, mine.rows, j->heads, j->head_dim);
    RV_TRY(run_calls(ring, j, &t[0], &t[1], &t[2], &seq, &t[3], &mine));
    if (j->probe_comm) RV_TRY(probe_comm(c, j, mine.rows, &mine.comm_s));
  }
  rank_res all[MAX_R];
  RV_TRY(rv_comm_allgather(c, &mine, sizeof mine, all));
  if (rank == 0) memcpy(j->res, all, (size_t)R * sizeof mine);
fail:
  free(buf);
  rv_ring_free(ring);
  rv_backend_free(be);
  return st;
}

static rv_comm *world; /* --mpi */

/* Runs the job on R local threads (link_bps > 0: an emulated link), or on mpirun's ranks. */
static int run_job(job *j, int R, double link_bps) {
  rv_status st;
  if (world) {
    st = ring_rank(world, j);
  } else {
    rv_comm_group_cfg g = {RV_COMM_LOCAL, R, 120.0, RV_MEM_HOST, link_bps, NULL};
    st = rv_comm_local_group(&g, ring_rank, j, NULL);
  }
  if (st < 0) fprintf(stderr, "bench-ring: %s\n", rv_last_error());
  return st < 0 ? -1 : 0;
}

static int quick;

/* ---- memory ---- */

static void part_memory(void) {
  static const int64_t ns[] = {8192, 32768, 131072};
  static const int ranks[] = {1, 2, 4, 8};
  printf("\n## memory: bytes of keys/values per rank, H=4 D=64 fp32, 16 tokens per frame\n");
  printf("own K,V share + the ring's 2 transfer blocks (pass-KV); ring KV cache share (pass-Q)\n\n");
  printf("| N tokens | R | pass-KV MiB/rank | x R=1 | pass-Q cache MiB/rank |\n");
  printf("|---:|---:|---:|---:|---:|\n");
  for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
    double one = 0;
    for (size_t b = 0; b < sizeof ranks / sizeof *ranks; b++) {
      job j = {.n = ns[a], .heads = 4, .head_dim = 64, .tpf = 16, .mask = RV_MASK_NONE,
               .layout = RV_RING_CONTIGUOUS, .reps = 1, .memory_only = 1};
      if (run_job(&j, ranks[b], 0.0)) return;
      double most = 0, cache = 0;
      for (int r = 0; r < ranks[b]; r++) {
        most = fmax(most, j.res[r].kv_bytes);
        cache = fmax(cache, j.res[r].cache_bytes);
      }
      if (ranks[b] == 1) one = most;
      printf("| %lld | %d | %.1f | %.3f | %.1f |\n", (long long)ns[a], ranks[b],
             most / 1048576.0, most / one, cache / 1048576.0);
    }
  }
}

/* ---- overlap ---- */

typedef struct overlap_row {
  int64_t c;
  double compute_ms, comm_ms, wait_ms, hidden, flops, bps;
} overlap_row;

static int overlap_row_run(int64_t c, double link_bps, overlap_row *row) {
  job j = {.n = 2 * c, .heads = 4, .head_dim = 64, .tpf = 1, .mask = RV_MASK_NONE,
           .layout = RV_RING_CONTIGUOUS, .reps = quick ? 2 : 5, .probe_comm = 1};
  if (run_job(&j, 2, link_bps)) return -1;
  /* The rank that computes longer arrives last at each transfer: its wait is the
   * communication left exposed, without the other rank's lateness in it. */
  int slow = j.res[1].st.compute_s > j.res[0].st.compute_s;
  const rv_ring_stats *s = &j.res[slow].st;
  int64_t xfers = s->steps - s->calls;
  double compute = s->compute_s / (double)s->steps;
  double wait = xfers > 0 ? s->wait_s / (double)xfers : 0.0;
  double comm = fmax(j.res[0].comm_s, j.res[1].comm_s);
  double d = 4.0 * 64.0;
  row->c = c;
  row->compute_ms = 1e3 * compute;
  row->comm_ms = 1e3 * comm;
  row->wait_ms = 1e3 * wait;
  row->hidden = comm > 0 ? fmin(1.0, fmax(0.0, 1.0 - wait / comm)) : 1.0;
  row->flops = 4.0 * (double)c * (double)c * d / compute; /* QK^T and PV */
  row->bps = 2.0 * (double)c * d * 4.0 / comm;            /* K and V, fp32 */
  return 0;
}

static void part_overlap(const char *name, double link_bps) {
  static const int64_t cs[] = {16, 32, 64, 128, 256, 512, 1024, 2048};
  size_t count = quick ? 6 : sizeof cs / sizeof *cs;
  overlap_row rows[8];
  int fully = -1, cond = -1;
  printf("\n## overlap: pass-KV, no mask, R=2 over %s, H=4 D=64 fp32 (d=256)\n\n", name);
  printf("| block c | KV bytes/step | compute ms/step | transfer alone ms | wait after "
         "compute ms | comm hidden | F GFLOP/s | B GB/s | 2F/B tokens |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < count; i++) {
    overlap_row *r = &rows[i];
    if (overlap_row_run(cs[i], link_bps, r)) return;
    double need = 2.0 * r->flops / r->bps;
    printf("| %lld | %lld | %.3f | %.3f | %.3f | %.0f%% | %.1f | %.2f | %.0f |\n", (long long)r->c,
           (long long)(2 * r->c * 256 * 4), r->compute_ms, r->comm_ms, r->wait_ms,
           100.0 * r->hidden, r->flops / 1e9, r->bps / 1e9, need);
    if (fully < 0 && r->hidden >= 0.95) fully = (int)i;
    if (fully >= 0 && r->hidden < 0.95) fully = -1; /* must hold for the larger blocks too */
    if (cond < 0 && (double)r->c >= need) cond = (int)i;
  }
  printf("\nfully hidden (>= 95%%, and for every larger block): %s%lld tokens per block\n",
         fully >= 0 ? "c >= " : "not reached; largest tried ",
         (long long)(fully >= 0 ? rows[fully].c : rows[count - 1].c));
  if (cond >= 0)
    printf("paper's condition c >= F/B (bf16 K, V; for fp32 K and V the same balance reads "
           "c >= 2F/B), with F and B measured in the same row: first met at c = %lld tokens\n",
           (long long)rows[cond].c);
  else
    printf("paper's condition c >= 2F/B (fp32 K, V): not met within the sizes tried\n");
}

/* ---- causal balance ---- */

static void part_balance(void) {
  static const int ranks[] = {2, 4};
  int64_t n = quick ? 2048 : 4096;
  printf("\n## balance: frame-causal mask, N=%lld tokens (16 per frame), H=4 D=64\n\n",
         (long long)n);
  printf("| R | layout | busy s per rank (thread CPU) | slowest / mean | compute s per rank (wall) "
         "| blocks computed / skipped |\n");
  printf("|---:|---|---|---:|---|---|\n");
  for (size_t a = 0; a < sizeof ranks / sizeof *ranks; a++)
    for (int zig = 0; zig <= 1; zig++) {
      int R = ranks[a];
      job j = {.n = n, .heads = 4, .head_dim = 64, .tpf = 16, .mask = RV_MASK_CAUSAL,
               .layout = zig ? RV_RING_ZIGZAG : RV_RING_CONTIGUOUS, .reps = quick ? 2 : 3};
      if (run_job(&j, R, 0.0)) return;
      char busy[256] = "", wall[256] = "", blocks[256] = "";
      double most = 0, sum = 0;
      for (int r = 0; r < R; r++) {
        const rank_res *x = &j.res[r];
        most = fmax(most, x->cpu_s);
        sum += x->cpu_s;
        snprintf(busy + strlen(busy), sizeof busy - strlen(busy), "%s%.3f", r ? " " : "",
                 x->cpu_s);
        snprintf(wall + strlen(wall), sizeof wall - strlen(wall), "%s%.3f", r ? " " : "",
                 x->st.compute_s);
        snprintf(blocks + strlen(blocks), sizeof blocks - strlen(blocks), "%s%lld/%lld",
                 r ? " " : "", (long long)x->st.blocks_computed, (long long)x->st.blocks_skipped);
      }
      printf("| %d | %s | %s | %.3f | %s | %s |\n", R, zig ? "zigzag" : "contiguous", busy,
             most / (sum / R), wall, blocks);
    }
}

/* ---- window ---- */

/* Wall seconds of the slower rank; *cpu its thread CPU seconds (less moved by other
 * processes on a shared machine). */
static double window_time(int64_t frames, rv_mask_kind mask, int64_t *steps, double *cpu) {
  job j = {.n = frames * 16, .heads = 4, .head_dim = 64, .tpf = 16, .mask = mask, .window = 8,
           .layout = RV_RING_CONTIGUOUS, .reps = quick ? 2 : 3};
  if (run_job(&j, 2, 0.0)) return -1;
  int slow = j.res[1].st.total_s > j.res[0].st.total_s;
  *steps = j.res[0].st.steps;
  *cpu = fmax(j.res[0].cpu_s, j.res[1].cpu_s);
  return j.res[slow].st.total_s;
}

static void part_window(void) {
  static const int64_t frames[] = {64, 128, 256, 512, 1024, 2048};
  size_t count = quick ? 4 : sizeof frames / sizeof *frames;
  printf("\n## window: causal window W=8 frames (16 tokens each) vs no mask, R=2, H=4 D=64\n\n");
  printf("| frames | N tokens | window ms (wall) | window CPU us per token | ring steps | "
         "no mask ms (wall) | no mask CPU us per token |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < count; i++) {
    int64_t steps = 0, s2 = 0, n = frames[i] * 16;
    double wc = 0, gc = 0, w = window_time(frames[i], RV_MASK_WINDOW, &steps, &wc);
    if (w < 0) return;
    double g = frames[i] <= 256 ? window_time(frames[i], RV_MASK_NONE, &s2, &gc) : -1;
    printf("| %lld | %lld | %.2f | %.3f | %lld |", (long long)frames[i], (long long)n, 1e3 * w,
           1e6 * wc / (double)n, (long long)steps);
    if (g >= 0)
      printf(" %.1f | %.3f |\n", 1e3 * g, 1e6 * gc / (double)n);
    else
      printf(" - | - |\n");
  }
}

static int wants(int argc, char **argv, const char *part) {
  int named = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue;
    named = 1;
    if (!strcmp(argv[i], part)) return 1;
  }
  return !named;
}

int main(int argc, char **argv) {
  int mpi = 0;
  for (int i = 1; i < argc; i++) {
    mpi |= !strcmp(argv[i], "--mpi");
    quick |= !strcmp(argv[i], "--quick");
  }
  if (mpi) {
    rv_comm_mpi_cfg mc = {120.0, NULL};
    if (rv_comm_mpi_init(&mc, &world) < 0) {
      fprintf(stderr, "bench-ring: %s\n", rv_last_error());
      return 1;
    }
    if (rv_comm_size(world) != 2) {
      fprintf(stderr, "bench-ring: --mpi measures overlap with 2 ranks (mpirun -np 2)\n");
      return 1;
    }
    if (rv_comm_rank(world) != 0 && !freopen("/dev/null", "w", stdout)) return 1;
    part_overlap("mpi (Open MPI, 2 processes)", 0.0);
    rv_comm_free(world);
    rv_comm_mpi_finalize();
    return 0;
  }
  printf("# bench-ring%s (each rank: one thread of the cpu backend; best of a few runs)\n",
         quick ? " --quick" : "");
  if (wants(argc, argv, "memory")) part_memory();
  if (wants(argc, argv, "overlap")) {
    part_overlap("local threads (memcpy by copy-engine threads)", 0.0);
    part_overlap("local threads, link paced at 0.25 GB/s", 0.25e9);
  }
  if (wants(argc, argv, "balance")) part_balance();
  if (wants(argc, argv, "window")) part_window();
  return 0;
}
