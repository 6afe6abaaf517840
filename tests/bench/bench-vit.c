/* ViT encoder throughput: ringvit's `cpu` backend against PyTorch running torchvision's
 * VisionTransformer of the same config, same weights and input, same thread count, in
 * one run (the torch side runs as a /usr/bin/python3 subprocess: bench-vit-torch.py).
 *
 *   bench-vit [--threads 2] [--batch 8] [--reps 5] [--python /usr/bin/python3]
 *
 * Default config: ViT-S/16 at 224 (width 384, 6 heads, 12 blocks, MLP 1536). Prints
 * frames/s of both, their ratio, and the largest difference of our logits from torch's.
 * The torch side is timed before and after ours (the mean is reported): on a shared
 * machine the load drifts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/vit.h>

#include "bench-common.h"
#include "safetensors-impl.h"

typedef struct run_ctx {
  rv_backend *be;
  rv_vit *v;
  const rv_vit_config *c;
  rv_tensor frames, tokens;
  int batch;
  rv_vit_outputs out;
} run_ctx;

static void die(const char *what) {
  fprintf(stderr, "bench-vit: %s: %s\n", what, rv_last_error());
  exit(3);
}

static void run_ours(void *p) {
  run_ctx *r = p;
  if (rv_patchify(r->be, &r->frames, r->c->mean, r->c->std, r->c->patch, r->c->tubelet,
                  &r->tokens) != RV_OK)
    die("patchify");
  if (rv_vit_encode(r->v, &r->tokens, r->batch, NULL, &r->out) != RV_OK) die("encode");
}

static double torch_side(const char *python, const char *dir, int threads, int batch, int reps) {
  char cmd[2048], src[1024];
  const char *root = getenv("RINGVIT_SOURCE_DIR");
  snprintf(src, sizeof src, "%s/tests/bench/bench-vit-torch.py", root ? root : RINGVIT_SOURCE_DIR);
  snprintf(cmd, sizeof cmd, "%s %s %s --threads %d --batch %d --reps %d", python, src, dir, threads,
           batch, reps);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[256];
  double fps = -1;
  while (fgets(line, sizeof line, p)) {
    if (!strncmp(line, "torch_fps ", 10)) fps = atof(line + 10);
    if (!strncmp(line, "torch_version ", 14)) printf("torch %s", line + 14);
  }
  return pclose(p) == 0 ? fps : -1;
}

static float *load_f32(const rv_st *st, const char *name, int64_t *n) {
  const rv_st_entry *e = rv_st_find(st, name);
  if (!e) return NULL;
  *n = rv_st_nelem(e);
  float *buf = malloc((size_t)*n * sizeof(float));
  if (buf && rv_st_to_f32(e, buf, *n) != RV_OK) die(name);
  return buf;
}

int main(int argc, char **argv) {
  int threads = 2, batch = 8, reps = 5;
  const char *python = "/usr/bin/python3";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch"))
      batch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps"))
      reps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--python"))
      python = argv[i + 1];
  }
  char dir[] = "/tmp/bench-vit-XXXXXX", path[512];
  if (!mkdtemp(dir)) return 3;
  double torch_fps = torch_side(python, dir, threads, batch, reps);
  if (torch_fps <= 0) {
    fprintf(stderr, "bench-vit: the torch side failed (is torchvision installed for %s?)\n",
            python);
    return 3;
  }
  rv_model *m = NULL;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  if (rv_model_load(path, &m) != RV_OK) die("load");
  run_ctx r = {0};
  r.c = rv_model_config(m);
  r.batch = batch;
  rv_backend_cfg bc = {RV_BACKEND_CPU, threads, 0};
  if (rv_backend_init(&bc, &r.be) != RV_OK) die("backend");
  rv_vit_cfg vc = {m, r.be, 0, 0, batch, batch, NULL, NULL, NULL, 0};
  if (rv_vit_init(&vc, &r.v) != RV_OK) die("encoder");
  rv_st_map *io = NULL;
  snprintf(path, sizeof path, "%s/io.safetensors", dir);
  if (rv_st_map_open(path, &io) != RV_OK) die("io");
  int64_t nf, nl;
  float *frames = load_f32(io->st, "frames", &nf), *logits = load_f32(io->st, "logits", &nl);
  r.frames = rv_tensor_4d(frames, RV_F32, batch, r.c->image_h, r.c->image_w, 3);
  int64_t rows = (int64_t)batch * rv_vit_tokens_per_frame(r.v);
  float *tok = malloc((size_t)(rows * rv_vit_token_dim(r.v)) * sizeof(float));
  r.tokens = rv_tensor_2d(tok, RV_F32, rows, rv_vit_token_dim(r.v));
  double t = bench_median(run_ours, &r, reps);
  /* the machine's load drifts: time torch before and after ours and take the mean */
  double torch_after = torch_side(python, dir, threads, batch, reps);
  if (torch_after > 0) torch_fps = 0.5 * (torch_fps + torch_after);
  double ours_fps = batch / t, worst = 0, scale = 0;
  for (int64_t i = 0; i < nl; i++)
    scale = fmax(scale, fabs(logits[i]));
  for (int64_t i = 0; i < nl; i++)
    worst = fmax(worst, fabs(((float *)r.out.scene.data)[i] - logits[i]));
  printf("ViT-S/16 %dx%d, batch %d frames, %d threads, median of %d\n", r.c->image_h, r.c->image_w,
         batch, threads, reps);
  printf("| ringvit cpu | torchvision (torch) | ratio | max |logit diff| / max |logit| |\n");
  printf("|---|---|---|---|\n");
  printf("| %.2f frames/s | %.2f frames/s | %.2fx | %.2g |\n", ours_fps, torch_fps,
         ours_fps / torch_fps, worst / scale);
  printf("peak RSS %.0f MiB\n", bench_peak_rss_mib());
  free(tok);
  free(frames);
  free(logits);
  rv_st_map_close(io);
  rv_vit_free(r.v);
  rv_backend_free(r.be);
  rv_model_free(m);
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  return system(path) == 0 ? 0 : 3;
}
