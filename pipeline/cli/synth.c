/* `ringvit synth`: renders a synthetic surveillance video with its exact ground truth. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringvit/synth.h>
#include <ringvit/video-writer.h>

#include "cli.h"

static const char *const USAGE =
    "usage: ringvit synth --seconds S -o VIDEO --gt DIR [options]\n"
    "\n"
    "Renders a synthetic surveillance scene (persons, vehicles, bags, moving objects) and its\n"
    "exact ground truth: DIR/gt.txt (MOTChallenge: frame,id,x,y,w,h,1,class,visibility),\n"
    "DIR/actions.jsonl (action segments) and DIR/meta.json (labels, rules, settings).\n"
    "\n"
    "  --seconds S       length in seconds (required)\n"
    "  -o, --output V    video file: .mp4 .mkv .avi .webm .mov, or .rgb for raw RGB24 frames\n"
    "                    with a JSON sidecar V.json (works without FFmpeg)\n"
    "  --gt DIR          ground-truth directory (created)\n"
    "  --seed N          world seed (default 1); the same seed gives the same video\n"
    "  --fps F           frame rate (default 10)\n"
    "  --size WxH        frame size (default 640x360)\n"
    "  --density D       crowd and traffic density, a multiplier of the arrival rates (default 1)\n"
    "  --codec C         h264, mpeg4, mjpeg, ffv1, vp8, vp9, rawvideo (default h264 if present)\n"
    "  --noise SIGMA     sensor noise in 8-bit levels (default 2.5)\n"
    "  --lighting A      slow lighting drift amplitude, 0..0.5 (default 0.12)\n"
    "  --shake PX        camera shake amplitude in pixels (default 0)\n"
    "  --backdrop B      scene (default) or plain (one flat colour, nothing occludes)\n"
    "  --rate NAME=V     change one rate (repeatable): persons_per_min vehicles_per_min\n"
    "                    objects_per_min run stand loiter fall bag drop abandon ret park\n"
    "  -q, --quiet       no progress line\n"
    "  -h, --help        this text\n"
    "\n"
    "exit codes: 0 ok, 1 bad usage, 2 input error, 3 runtime failure\n";

typedef struct opts {
  rv_synth_cfg cfg;
  const char *video, *gt, *codec;
  int have_seconds, quiet;
} opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ringvit synth: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(ringvit synth --help for the options)\n");
  va_end(ap);
  return RV_EXIT_USAGE;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

static int parse_size(const char *s, int *w, int *h) {
  char *end;
  long a = strtol(s, &end, 10);
  if (end == s || (*end != 'x' && *end != 'X')) return 0;
  const char *p = end + 1;
  long b = strtol(p, &end, 10);
  if (end == p || *end || a < 32 || b < 32 || a > 8192 || b > 8192) return 0;
  *w = (int)a, *h = (int)b;
  return 1;
}

static float *rate_field(rv_synth_rates *q, const char *name, size_t len) {
  struct {
    const char *name;
    float *field;
  } map[] = {{"persons_per_min", &q->persons_per_min},
             {"vehicles_per_min", &q->vehicles_per_min},
             {"objects_per_min", &q->objects_per_min},
             {"run", &q->run},
             {"stand", &q->stand},
             {"loiter", &q->loiter},
             {"fall", &q->fall},
             {"bag", &q->bag},
             {"drop", &q->drop},
             {"abandon", &q->abandon},
             {"ret", &q->ret},
             {"park", &q->park}};
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strlen(map[i].name) == len && !strncmp(map[i].name, name, len)) return map[i].field;
  return NULL;
}

static int parse_rate(opts *o, const char *arg) {
  const char *eq = strchr(arg, '=');
  double v;
  float *f = eq ? rate_field(&o->cfg.rates, arg, (size_t)(eq - arg)) : NULL;
  if (!f) return usage_error("--rate '%s': expected NAME=VALUE with a known NAME", arg);
  if (!parse_double(eq + 1, 0, 600, &v))
    return usage_error("--rate '%s': the value is not a number in [0, 600]", arg);
  *f = (float)v;
  return RV_EXIT_OK;
}

/* The options that set one float of the configuration; 1 when `name` is one of them. */
static int parse_float_opt(opts *o, const char *name, const char *val, int *rc) {
  rv_synth_cfg *c = &o->cfg;
  const struct {
    const char *name;
    float *field;
    double lo, hi;
  } opt[] = {{"--density", &c->density, 0, 50},
             {"--noise", &c->noise, 0, 64},
             {"--lighting", &c->lighting, 0, 0.5},
             {"--shake", &c->shake, 0, 16}};
  for (size_t i = 0; i < sizeof opt / sizeof *opt; i++) {
    double d;
    if (strcmp(name, opt[i].name)) continue;
    if (!parse_double(val, opt[i].lo, opt[i].hi, &d))
      *rc = usage_error("%s '%s': expected a number in [%g, %g]", name, val, opt[i].lo, opt[i].hi);
    else
      *opt[i].field = (float)d, *rc = RV_EXIT_OK;
    return 1;
  }
  return 0;
}

/* One option with a value; returns an exit code, RV_EXIT_OK to go on. */
static int parse_valued(opts *o, const char *name, const char *val) {
  rv_synth_cfg *c = &o->cfg;
  int rc;
  if (parse_float_opt(o, name, val, &rc)) return rc;
  if (!strcmp(name, "--seconds")) {
    if (!parse_double(val, 1e-3, 1e8, &c->seconds))
      return usage_error("--seconds '%s': expected a length > 0", val);
    o->have_seconds = 1;
  } else if (!strcmp(name, "--seed")) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || end == val || *end || val[0] == '-')
      return usage_error("--seed '%s': expected an integer >= 0", val);
    c->seed = v;
  } else if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
    o->video = val;
  } else if (!strcmp(name, "--gt")) {
    o->gt = val;
  } else if (!strcmp(name, "--fps")) {
    if (!parse_double(val, 0.1, 120, &c->fps))
      return usage_error("--fps '%s': expected a rate in [0.1, 120]", val);
  } else if (!strcmp(name, "--size")) {
    if (!parse_size(val, &c->width, &c->height))
      return usage_error("--size '%s': expected WxH, each 32..8192", val);
  } else if (!strcmp(name, "--backdrop")) {
    if (strcmp(val, "scene") && strcmp(val, "plain"))
      return usage_error("--backdrop '%s': expected scene or plain", val);
    c->backdrop = !strcmp(val, "plain") ? RV_SYNTH_BACKDROP_PLAIN : RV_SYNTH_BACKDROP_SCENE;
  } else if (!strcmp(name, "--codec")) {
    o->codec = val;
  } else if (!strcmp(name, "--rate")) {
    return parse_rate(o, val);
  } else {
    return usage_error("unknown option '%s'", name);
  }
  return RV_EXIT_OK;
}

/* Returns -1 to go on, or the exit code to return now (--help, bad usage). */
static int parse_args(int argc, char **argv, opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(USAGE, stdout);
      return RV_EXIT_OK;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = 1;
      continue;
    }
    if (a[0] != '-') return usage_error("unexpected argument '%s'", a);
    if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
    int rc = parse_valued(o, a, argv[++i]);
    if (rc != RV_EXIT_OK) return rc;
  }
  if (!o->have_seconds) return usage_error("--seconds is required");
  if (!o->video) return usage_error("-o VIDEO is required");
  if (!o->gt) return usage_error("--gt DIR is required");
  return -1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(int64_t done, int64_t total, double t0, int final) {
  double el = now_s() - t0, rate = el > 0 ? (double)done / el : 0;
  fprintf(stderr, "\rringvit synth: frame %" PRId64 "/%" PRId64 "  %.1f fps  ETA %.0f s   %s", done,
          total, rate, rate > 0 ? (double)(total - done) / rate : 0.0, final ? "\n" : "");
}

static rv_status run(const opts *o, int show) {
  rv_status st = RV_OK;
  rv_synth *s = NULL;
  rv_synth_gt *g = NULL;
  rv_video_writer *k = NULL;
  uint8_t *rgb = NULL;
  rv_synth_frame fr;
  RV_TRY(rv_synth_init(&o->cfg, &s));
  rgb = malloc((size_t)o->cfg.width * o->cfg.height * 3);
  if (!rgb) RV_TRY_FAIL(RV_ERR_NOMEM, "frame");
  rv_video_writer_cfg vc = {o->video, o->cfg.width, o->cfg.height, o->cfg.fps, o->codec, 0, 0};
  RV_TRY(rv_video_writer_open(&vc, &k)); /* first: a bad output fails before DIR is made */
  RV_TRY(rv_synth_gt_open(o->gt, s, o->video, &g));
  int64_t total = rv_synth_frame_count(s);
  double t0 = now_s(), last = t0;
  while ((st = rv_synth_next_frame(s, rgb, 3 * o->cfg.width, &fr)) == RV_OK) {
    RV_TRY(rv_video_writer_write(k, rgb, 3 * o->cfg.width, fr.pts_ns));
    RV_TRY(rv_synth_gt_add(g, &fr));
    if (show && now_s() - last > 0.5) progress(fr.index + 1, total, t0, 0), last = now_s();
  }
  if (st < 0) goto fail;
  st = rv_video_writer_close(k);
  k = NULL;
  RV_TRY(st);
  st = rv_synth_gt_close(g, s);
  g = NULL;
  RV_TRY(st);
  if (show) progress(total, total, t0, 1);
fail:
  rv_video_writer_close(k); /* NULL-safe */
  if (g) rv_synth_gt_close(g, NULL);
  free(rgb);
  rv_synth_free(s);
  return st < 0 ? st : RV_OK;
}

static int synth_main(int argc, char **argv) {
  opts o = {0};
  rv_synth_cfg_default(&o.cfg);
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  rv_status st = run(&o, !o.quiet && isatty(2));
  if (st < 0) {
    rv_cli_error("synth", st, "generation failed");
    return rv_cli_exit_code(st) == RV_EXIT_OK ? RV_EXIT_RUNTIME : rv_cli_exit_code(st);
  }
  return RV_EXIT_OK;
}

const rv_cli_command rv_cli_synth = {
    "synth", "synthetic surveillance video with exact ground truth", synth_main};
