/* Ground-truth files of a synthetic video: DIR/gt.txt (MOTChallenge rows, streamed frame
 * by frame), DIR/actions.jsonl (action segments in the annotation schema, sorted by start)
 * and DIR/meta.json (what the files mean: size, rate, seed, label names, rules). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <ringvit/ringvit.h>

#include "synth-impl.h"

struct rv_synth_gt {
  char *dir;
  char *video;
  FILE *gt;
  int64_t frames;
};

/* mkdir -p */
static rv_status make_dirs(const char *dir) {
  char *p = strdup(dir);
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "path");
  for (char *q = p + 1;; q++) {
    char c = *q;
    if (c != '/' && c != '\0') continue;
    *q = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      rv_status st = RV_FAIL(RV_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
      free(p);
      return st;
    }
    *q = c;
    if (!c) break;
  }
  free(p);
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return RV_FAIL(RV_ERR_IO, "%s is not a directory", dir);
  return RV_OK;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static FILE *open_in(const char *dir, const char *name, rv_status *st) {
  char *path = join(dir, name);
  FILE *f = path ? fopen(path, "w") : NULL;
  if (!path)
    *st = RV_FAIL(RV_ERR_NOMEM, "path");
  else if (!f)
    *st = RV_FAIL(RV_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  free(path);
  return f;
}

static void gt_free(rv_synth_gt *g) {
  if (g->gt) fclose(g->gt);
  free(g->dir);
  free(g->video);
  free(g);
}

rv_status rv_synth_gt_open(const char *dir, const rv_synth *s, const char *video,
                           rv_synth_gt **out) {
  rv_status st = RV_OK;
  if (!dir || !dir[0] || !s || !out)
    return RV_FAIL(RV_ERR_INVALID, "dir, world and out must be given");
  *out = NULL;
  RV_TRY(make_dirs(dir));
  rv_synth_gt *g = calloc(1, sizeof *g);
  if (!g) return RV_FAIL(RV_ERR_NOMEM, "ground-truth writer");
  g->dir = strdup(dir);
  g->video = video ? strdup(video) : NULL;
  if (!g->dir || (video && !g->video)) {
    gt_free(g);
    return RV_FAIL(RV_ERR_NOMEM, "ground-truth writer");
  }
  g->gt = open_in(dir, "gt.txt", &st);
  if (!g->gt) {
    gt_free(g);
    return st;
  }
  *out = g;
fail:
  return st;
}

rv_status rv_synth_gt_add(rv_synth_gt *g, const rv_synth_frame *f) {
  if (!g || !f) return RV_FAIL(RV_ERR_INVALID, "writer and frame must not be NULL");
  for (int i = 0; i < f->n_objects; i++) {
    const rv_synth_object *o = &f->objects[i];
    fprintf(g->gt, "%" PRId64 ",%d,%d,%d,%d,%d,1,%d,%.3f\n", f->index + 1, o->id, o->x + 1,
            o->y + 1, o->w, o->h, o->cls + 1, o->visibility);
  }
  if (f->index + 1 > g->frames) g->frames = f->index + 1;
  if (ferror(g->gt)) return RV_FAIL(RV_ERR_IO, "writing %s/gt.txt: %s", g->dir, strerror(errno));
  return RV_OK;
}

static int cmp_segment(const void *pa, const void *pb) {
  const rv_synth_segment *a = pa, *b = pb;
  if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns ? -1 : 1;
  if (a->track_id != b->track_id) return a->track_id < b->track_id ? -1 : 1;
  if (a->label != b->label) return a->label < b->label ? -1 : 1;
  return (a->end_ns > b->end_ns) - (a->end_ns < b->end_ns);
}

static rv_status write_actions(const rv_synth_gt *g, const rv_synth *s) {
  rv_status st = RV_OK;
  const rv_synth_segment *segs;
  rv_synth_segment *sorted = NULL;
  int64_t n;
  FILE *f = NULL;
  RV_TRY(rv_synth_segments(s, &segs, &n));
  sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  if (!sorted) RV_TRY_FAIL(RV_ERR_NOMEM, "%" PRId64 " segments", n);
  memcpy(sorted, segs, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_segment);
  f = open_in(g->dir, "actions.jsonl", &st);
  if (!f) goto fail;
  for (int64_t i = 0; i < n; i++) {
    const rv_synth_segment *a = &sorted[i];
    fputs("{\"event\":\"action\"", f);
    if (a->track_id) fprintf(f, ",\"track_id\":%d", a->track_id);
    fprintf(f, ",\"label\":\"%s\",\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"score\":1}\n",
            rv_synth_action_name(a->label), a->start_ns, a->end_ns);
  }
  if (ferror(f)) RV_TRY_FAIL(RV_ERR_IO, "writing %s/actions.jsonl", g->dir);
fail:
  if (f && fclose(f) != 0 && st >= 0) st = RV_FAIL(RV_ERR_IO, "closing %s/actions.jsonl", g->dir);
  free(sorted);
  return st;
}

static json_t *names(const char *(*name)(int), int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_string(name(i)));
  return a;
}

static json_t *rates_json(const rv_synth_rates *q) {
  return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "persons_per_min",
                   (double)q->persons_per_min, "vehicles_per_min", (double)q->vehicles_per_min,
                   "objects_per_min", (double)q->objects_per_min, "run", (double)q->run, "stand",
                   (double)q->stand, "loiter", (double)q->loiter, "fall", (double)q->fall, "bag",
                   (double)q->bag, "drop", (double)q->drop, "abandon", (double)q->abandon, "ret",
                   (double)q->ret, "park", (double)q->park);
}

static json_t *meta_json(const rv_synth_gt *g, const rv_synth *s) {
  const rv_synth_cfg *c = rv_synth_get_cfg(s);
  json_t *m =
      json_pack("{s:s,s:s,s:i,s:i,s:f,s:I,s:f,s:f,s:f,s:f,s:f,s:s,s:o,s:o,s:o,s:[],s:o}",
                "generator", "ringvit synth", "version", rv_version_string(), "width", c->width,
                "height", c->height, "fps", c->fps, "frames", (json_int_t)g->frames, "seconds",
                (double)g->frames / c->fps, "density", (double)c->density, "noise",
                (double)c->noise, "lighting", (double)c->lighting, "shake", (double)c->shake,
                "backdrop", c->backdrop == RV_SYNTH_BACKDROP_PLAIN ? "plain" : "scene", "video",
                g->video ? json_string(g->video) : json_null(), "classes",
                names(rv_synth_class_name, RV_SYNTH_N_CLASSES), "track_actions",
                names(rv_synth_action_name, RV_SYNTH_N_ACTIONS), "scene_actions", "rates",
                rates_json(&c->rates));
  if (!m) return NULL;
  char seed[24];
  snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
  json_object_set_new(m, "seed",
                      c->seed <= (uint64_t)INT64_MAX ? json_integer((json_int_t)c->seed)
                                                     : json_string(seed));
  json_object_set_new(m, "gt",
                      json_pack("{s:s,s:[s,s,s,s,s,s,s,s,s],s:i,s:i,s:i,s:s}", "file", "gt.txt",
                                "columns", "frame", "id", "x", "y", "w", "h", "conf", "class",
                                "visibility", "frame_base", 1, "pixel_base", 1, "class_base", 1,
                                "box",
                                "amodal box of the whole silhouette; may pass the frame edges"));
  json_object_set_new(m, "actions",
                      json_pack("{s:s,s:s}", "file", "actions.jsonl", "interval",
                                "[start, end) in ns of frame pts"));
  json_object_set_new(m, "rules",
                      json_pack("{s:f,s:f,s:f,s:f}", "loiter_s", RV_SYNTH_LOITER_S,
                                "loiter_extent_m", RV_SYNTH_LOITER_EXTENT_M, "left_behind_s",
                                RV_SYNTH_LEFT_BEHIND_S, "attend_m", RV_SYNTH_ATTEND_M));
  return m;
}

static rv_status write_meta(const rv_synth_gt *g, const rv_synth *s) {
  json_t *m = meta_json(g, s);
  if (!m) return RV_FAIL(RV_ERR_NOMEM, "meta.json");
  char *path = join(g->dir, "meta.json");
  int rc = path ? json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
  json_decref(m);
  rv_status st = rc == 0 ? RV_OK : RV_FAIL(RV_ERR_IO, "cannot write %s/meta.json", g->dir);
  free(path);
  return st;
}

rv_status rv_synth_gt_close(rv_synth_gt *g, rv_synth *s) {
  rv_status st = RV_OK;
  if (!g) return RV_OK;
  if (ferror(g->gt) | fclose(g->gt)) st = RV_FAIL(RV_ERR_IO, "writing %s/gt.txt", g->dir);
  g->gt = NULL;
  if (s && st >= 0) st = rv_synth_finish(s);
  if (s && st >= 0) st = write_actions(g, s);
  if (s && st >= 0) st = write_meta(g, s);
  gt_free(g);
  return st;
}
