/* bench-ingest: our ingest against the ffmpeg command line a user would otherwise run, on a
 * clip this program makes (1280x720, 30 fps, H.264 when an encoder exists, else MPEG-4;
 * cached under the build folder). Sampling 2 fps to 224x224: ffmpeg to raw RGB, ours to
 * normalized 16x16 patch tokens. Each run is a child process, so its peak RSS is its own.
 *
 * Usage: bench-ingest [--minutes M] [--short-minutes S] [--threads N] [--our-threads N]
 *                     [--dir DIR] [--quick]
 *   --threads: decoder threads of both (ffmpeg -threads N); --our-threads: ours only
 *   --quick: only ffmpeg and our default run on the long clip */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ringvit/ingest.h>
#include <ringvit/video-writer.h>

#include "bench-common.h"

#define W   1280
#define H   720
#define FPS 30

/* Something with motion and texture for the encoder: a drifting gradient, moving boxes,
 * sparse noise. */
static void draw(uint8_t *rgb, int64_t i, uint32_t *seed) {
  for (int y = 0; y < H; y++) {
    uint8_t *row = rgb + (size_t)y * W * 3;
    for (int x = 0; x < W; x++) {
      row[3 * x] = (uint8_t)((x + 2 * i) >> 2);
      row[3 * x + 1] = (uint8_t)((y + i) >> 1);
      row[3 * x + 2] = (uint8_t)(((x ^ y) >> 3) + i);
    }
  }
  for (int b = 0; b < 6; b++) {
    int bw = 60 + 25 * b, bh = 40 + 20 * b;
    int bx = (int)((i * (3 + b) + 200 * b) % (W - bw)),
        by = (int)((i * (2 + b) / 2 + 90 * b) % (H - bh));
    for (int y = by; y < by + bh; y++)
      for (int x = bx; x < bx + bw; x++) {
        uint8_t *p = rgb + ((size_t)y * W + x) * 3;
        p[0] = (uint8_t)(40 * b);
        p[1] = (uint8_t)(255 - 40 * b);
        p[2] = (uint8_t)(120 + 20 * b);
      }
  }
  for (int k = 0; k < W * H / 64; k++) {
    *seed = *seed * 1664525u + 1013904223u;
    rgb[(*seed >> 8) % ((uint32_t)W * H * 3)] ^= 0x3f;
  }
}

static int make_clip(const char *path, double minutes) {
  struct stat sb;
  if (stat(path, &sb) == 0 && sb.st_size > 0) return 0;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.part.mp4", path);
  rv_video_writer_cfg cfg = {.path = tmp, .width = W, .height = H, .fps = FPS};
  rv_video_writer *vw = NULL;
  int64_t n = llround(minutes * 60 * FPS);
  uint8_t *rgb = malloc((size_t)W * H * 3);
  uint32_t seed = 1;
  double t0 = bench_now();
  fprintf(stderr, "bench-ingest: making %s (%lld frames, %s)...\n", path, (long long)n,
          rv_video_writer_have_codec("h264") ? "h264" : "mpeg4");
  int ok = rgb && rv_video_writer_open(&cfg, &vw) == RV_OK;
  for (int64_t i = 0; ok && i < n; i++) {
    draw(rgb, i, &seed);
    ok = rv_video_writer_write(vw, rgb, W * 3, -1) == RV_OK;
  }
  if (rv_video_writer_close(vw) != RV_OK) ok = 0;
  free(rgb);
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "bench-ingest: cannot make %s: %s\n", path, rv_last_error());
    return -1;
  }
  fprintf(stderr, "bench-ingest: made it in %.0f s\n", bench_now() - t0);
  return 0;
}

typedef struct run_result {
  double wall_s, cpu_s, rss_mib;
  int64_t frames, decoded, packets;
  int ok;
} run_result;

/* The child's side of our run: ingest everything, report counts through a pipe. */
static int ours_child(const char *path, rv_skip_mode skip, int threads, int fd) {
  rv_ingest_cfg cfg;
  rv_ingest_cfg_default(&cfg);
  cfg.path = path;
  cfg.fps = 2;
  cfg.resize = RV_RESIZE_STRETCH; /* as ffmpeg's scale=224:224 */
  cfg.threads = threads;
  cfg.skip = skip;
  rv_ingest *ing = NULL;
  if (rv_ingest_open(&cfg, &ing) != RV_OK) {
    fprintf(stderr, "bench-ingest: %s\n", rv_last_error());
    return 1;
  }
  const rv_ingest_batch *b;
  rv_status st;
  int64_t counts[3] = {0, 0, 0};
  double checksum = 0;
  while ((st = rv_ingest_next(ing, &b)) == RV_OK) {
    counts[0] += b->n - b->n_pad;
    checksum += ((const float *)b->tokens.data)[0]; /* the tokens are really made and read */
  }
  rv_ingest_stats s = rv_ingest_get_stats(ing);
  counts[1] = s.decoded;
  counts[2] = s.packets;
  rv_ingest_close(ing);
  if (st != RV_EOF) {
    fprintf(stderr, "bench-ingest: %s\n", rv_last_error());
    return 1;
  }
  if (write(fd, counts, sizeof counts) != (ssize_t)sizeof counts) return 1;
  return isfinite(checksum) ? 0 : 1;
}

static void wait_child(pid_t pid, double t0, run_result *r) {
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return;
  r->wall_s = bench_now() - t0;
  r->cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
             1e-6 * ru.ru_stime.tv_usec;
  r->rss_mib = (double)ru.ru_maxrss / 1024.0;
  r->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static run_result run_ours(const char *path, rv_skip_mode skip, int threads) {
  run_result r = {0};
  int fds[2];
  if (pipe(fds) != 0) return r;
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(ours_child(path, skip, threads, fds[1]));
  }
  close(fds[1]);
  int64_t counts[3] = {0, 0, 0};
  ssize_t got = pid > 0 ? read(fds[0], counts, sizeof counts) : -1;
  close(fds[0]);
  if (pid > 0) wait_child(pid, t0, &r);
  if (got != (ssize_t)sizeof counts) r.ok = 0;
  r.frames = counts[0];
  r.decoded = counts[1];
  r.packets = counts[2];
  return r;
}

static run_result run_ffmpeg(const char *path, int threads) {
  run_result r = {0};
  char th[16];
  snprintf(th, sizeof th, "%d", threads);
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execlp("ffmpeg", "ffmpeg", "-nostdin", "-loglevel", "error", "-threads", th, "-i", path, "-vf",
           "fps=2,scale=224:224", "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null",
           (char *)NULL);
    _exit(127);
  }
  if (pid > 0) wait_child(pid, t0, &r);
  return r;
}

static void row(const char *what, const run_result *r, const run_result *ff, double clip_s) {
  if (!r->ok) {
    printf("| %s | failed | | | | | |\n", what);
    return;
  }
  char counts[64] = "";
  if (r->packets)
    snprintf(counts, sizeof counts, "%lld / %lld", (long long)r->decoded, (long long)r->packets);
  printf("| %s | %.1f | %.1f | %.0fx | %s | %.0f | %.2fx | %.2fx |\n", what, r->wall_s, r->cpu_s,
         clip_s / r->wall_s, counts, r->rss_mib, ff && ff->ok ? ff->wall_s / r->wall_s : 1.0,
         ff && ff->ok ? ff->cpu_s / r->cpu_s : 1.0);
}

int main(int argc, char **argv) {
  double minutes = 10, short_minutes = 1;
  int threads = 2, our_threads = -1, quick = 0;
  const char *dir = RV_BENCH_MEDIA_DIR;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--minutes") && i + 1 < argc)
      minutes = atof(argv[++i]);
    else if (!strcmp(argv[i], "--short-minutes") && i + 1 < argc)
      short_minutes = atof(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--our-threads") && i + 1 < argc)
      our_threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else {
      fprintf(stderr, "usage: bench-ingest [--minutes M] [--short-minutes S] [--threads N] "
                      "[--our-threads N] [--dir DIR] [--quick]\n");
      return 2;
    }
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench-ingest: cannot create %s\n", dir);
    return 1;
  }
  const char *codec = rv_video_writer_have_codec("h264") ? "h264" : "mpeg4";
  char long_clip[4096], short_clip[4096];
  snprintf(long_clip, sizeof long_clip, "%s/clip-%s-720p30-%gmin.mp4", dir, codec, minutes);
  snprintf(short_clip, sizeof short_clip, "%s/clip-%s-720p30-%gmin.mp4", dir, codec, short_minutes);
  if (make_clip(long_clip, minutes) || (!quick && make_clip(short_clip, short_minutes))) return 1;

  rv_log_set_level(RV_LOG_WARN);
  double clip_s = minutes * 60, short_s = short_minutes * 60;
  printf("clip: %g min 1280x720 %d fps %s; 2 fps -> 224x224; %d decoder threads each\n\n", minutes,
         FPS, codec, threads);
  printf("| run | wall s | cpu s | x realtime | decoded / packets | peak RSS MiB | throughput vs "
         "ffmpeg | cpu vs ffmpeg |\n|---|---|---|---|---|---|---|---|\n");
  run_result ff = run_ffmpeg(long_clip, threads);
  row("ffmpeg -threads N -vf fps=2,scale=224:224 rgb24", &ff, &ff, clip_s);
  int ot = our_threads >= 0 ? our_threads : threads;
  run_result a = run_ours(long_clip, RV_SKIP_AUTO, ot);
  row("ringvit tokens, skip=auto (default)", &a, &ff, clip_s);
  if (!quick) {
    run_result none = run_ours(long_clip, RV_SKIP_NONE, ot);
    row("ringvit tokens, skip=none", &none, &ff, clip_s);
    run_result keys = run_ours(long_clip, RV_SKIP_KEYFRAMES, ot);
    row("ringvit tokens, keyframes only (fewer frames)", &keys, &ff, clip_s);
    printf("\nframes out: ffmpeg n/a (raw to /dev/null), ours %lld (skip=auto), %lld (none), "
           "%lld (keyframes)\n",
           (long long)a.frames, (long long)none.frames, (long long)keys.frames);
    run_result s = run_ours(short_clip, RV_SKIP_AUTO, ot);
    run_result sff = run_ffmpeg(short_clip, threads);
    printf("\n| clip | ours peak RSS MiB | ffmpeg peak RSS MiB | ours wall s | x realtime |\n"
           "|---|---|---|---|---|\n");
    printf("| %g min | %.0f | %.0f | %.1f | %.0fx |\n", short_minutes, s.rss_mib, sff.rss_mib,
           s.wall_s, short_s / s.wall_s);
    printf("| %g min | %.0f | %.0f | %.1f | %.0fx |\n", minutes, a.rss_mib, ff.rss_mib, a.wall_s,
           clip_s / a.wall_s);
  }
  return ff.ok && a.ok ? 0 : 1;
}
