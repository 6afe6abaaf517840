/* Readers for `ringvit eval`: MOTChallenge txt, our JSON Lines (frames and action events),
 * and a synth ground-truth folder. Every error names the file and the line. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <ringvit/eval.h>

#include "idmap-impl.h"
#include "reserve-impl.h"

typedef struct reader {
  const char *path;
  FILE *f;
  char *line;
  size_t line_cap;
  long long lineno;
  rv_eval_data *d;
  size_t box_cap, frame_cap, seg_cap, class_cap; /* bytes (rv_reserve) */
  rv_idmap seen;                                 /* ids of the current frame */
  int64_t seen_frame;
} reader;

static rv_status bad_line(const reader *r, const char *file, int line, const char *func,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define BAD_LINE(r, ...) bad_line((r), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Appends a box; an id twice in one frame is an error, as in TrackEval. */
static rv_status push_box(reader *r, const rv_eval_box *b) {
  rv_status st = RV_OK;
  if (b->frame != r->seen_frame) {
    rv_idmap_clear(&r->seen);
    r->seen_frame = b->frame;
  }
  if (b->id >= 0 && rv_idmap_get(&r->seen, (uint64_t)b->id) >= 0)
    return BAD_LINE(r, "id %lld appears twice in frame %lld", (long long)b->id,
                    (long long)b->frame);
  if (b->id >= 0) RV_TRY(rv_idmap_put(&r->seen, (uint64_t)b->id, 1));
  RV_TRY(rv_reserve((void **)&r->d->boxes, &r->box_cap, (size_t)(r->d->n_boxes + 1) * sizeof *b,
                    "boxes"));
  r->d->boxes[r->d->n_boxes++] = *b;
fail:
  return st;
}

static rv_status push_frame(reader *r, int64_t frame) {
  rv_status st = rv_reserve((void **)&r->d->frames, &r->frame_cap,
                            (size_t)(r->d->n_frames + 1) * sizeof frame, "frames");
  if (st >= 0) r->d->frames[r->d->n_frames++] = frame;
  return st;
}

static rv_status push_segment(reader *r, const rv_eval_segment *s) {
  rv_status st = rv_reserve((void **)&r->d->segments, &r->seg_cap,
                            (size_t)(r->d->n_segments + 1) * sizeof *s, "action segments");
  if (st >= 0) r->d->segments[r->d->n_segments++] = *s;
  return st;
}

/* The index of class name in d->classes, appended when new (-1 in *idx when the table is
 * full: RV_EVAL_MAX_LABELS names). */
static rv_status class_index(rv_eval_data *d, size_t *cap, const char *name, int32_t *idx) {
  for (*idx = 0; *idx < d->n_classes; ++*idx)
    if (!strcmp(d->classes[*idx], name)) return RV_OK;
  if (d->n_classes >= RV_EVAL_MAX_LABELS) {
    *idx = -1;
    return RV_OK;
  }
  rv_status st = rv_reserve((void **)&d->classes, cap,
                            (size_t)(d->n_classes + 1) * sizeof *d->classes, "class names");
  if (st < 0) return st;
  snprintf(d->classes[d->n_classes], sizeof *d->classes, "%s", name);
  *idx = d->n_classes++;
  return RV_OK;
}

void rv_eval_data_free(rv_eval_data *d) {
  if (!d) return;
  free(d->classes);
  free(d->boxes);
  free(d->frames);
  free(d->segments);
  memset(d, 0, sizeof *d);
}

/* ---- files and lines ---- */

static rv_status open_file(reader *r, const char *path) {
  r->path = path;
  r->f = fopen(path, "r");
  if (r->f) return RV_OK;
  return RV_FAIL(errno == ENOENT ? RV_ERR_NOT_FOUND : RV_ERR_IO, "cannot open %s: %s", path,
                 strerror(errno));
}

static void close_file(reader *r) {
  rv_idmap_release(&r->seen);
  if (r->f) fclose(r->f);
  free(r->line);
  r->f = NULL;
  r->line = NULL;
}

/* The next line without its end, or RV_EOF. Blank lines are skipped. */
static rv_status next_line(reader *r, char **text) {
  for (;;) {
    errno = 0;
    ssize_t n = getline(&r->line, &r->line_cap, r->f);
    if (n < 0) {
      if (ferror(r->f)) return RV_FAIL(RV_ERR_IO, "reading %s: %s", r->path, strerror(errno));
      return RV_EOF;
    }
    r->lineno++;
    while (n > 0 && isspace((unsigned char)r->line[n - 1]))
      r->line[--n] = '\0';
    char *s = r->line;
    while (isspace((unsigned char)*s))
      s++;
    if (*s) {
      *text = s;
      return RV_OK;
    }
  }
}

static rv_status bad_line(const reader *r, const char *file, int line, const char *func,
                          const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return rv_error_set(RV_ERR_FORMAT, file, line, func, "%s:%lld: %s", r->path, r->lineno, msg);
}

/* ---- MOTChallenge txt ---- */

/* One number of a row; fields are separated by a comma and/or blanks. */
static int mot_field(char **s, double *v) {
  char *end;
  while (isspace((unsigned char)**s))
    (*s)++;
  errno = 0;
  *v = strtod(*s, &end);
  if (end == *s || errno == ERANGE || !isfinite(*v)) return 0;
  *s = end;
  while (isspace((unsigned char)**s))
    (*s)++;
  if (**s == ',') (*s)++;
  return 1;
}

static int integral(double v) { return v == floor(v) && fabs(v) < 9e15; }

/* Parses one row; *keep = 0 for GT rows whose 7th column is 0. A GT row's 8th column is its
 * class (1-based) when it is an integer >= 1 and its 9th its visibility (MOT16/17) when it
 * lies in [0, 1]; MOT15 puts world coordinates, -1, there. */
static rv_status mot_row(const reader *r, char *s, int is_gt, rv_eval_box *b, int *keep) {
  double v[9];
  int n = 0;
  while (n < 9 && *s && mot_field(&s, &v[n]))
    n++;
  if (n < 6 || (n < 7 && *s))
    return BAD_LINE(r, "expected frame,id,x,y,w,h[,conf,...]: bad number in column %d", n + 1);
  if (!integral(v[0]) || v[0] < 1) return BAD_LINE(r, "frame %g is not an integer >= 1", v[0]);
  if (!integral(v[1])) return BAD_LINE(r, "id %g is not an integer", v[1]);
  if (v[4] < 0 || v[5] < 0) return BAD_LINE(r, "negative box size %g x %g", v[4], v[5]);
  double vis = is_gt && n >= 9 && v[8] >= 0 && v[8] <= 1 ? v[8] : 1.0;
  int has_cls = is_gt && n >= 8 && integral(v[7]) && v[7] >= 1 && v[7] <= INT32_MAX;
  int32_t cls = has_cls ? (int32_t)(v[7] - 1) : -1;
  *b = (rv_eval_box){(int64_t)v[0], (int64_t)v[1], v[2], v[3], v[4], v[5], vis, cls};
  *keep = !(is_gt && n >= 7 && v[6] == 0);
  return RV_OK;
}

static rv_status read_mot(reader *r, int is_gt) {
  rv_status st = RV_OK;
  char *s;
  int64_t last = 0;
  while ((st = next_line(r, &s)) == RV_OK) {
    rv_eval_box b = {0};
    int keep = 0;
    RV_TRY(mot_row(r, s, is_gt, &b, &keep));
    if (b.frame < last)
      return BAD_LINE(r, "frame %lld after frame %lld: rows must be in frame order",
                      (long long)b.frame, (long long)last);
    last = b.frame;
    if (keep) RV_TRY(push_box(r, &b));
  }
fail:
  return st == RV_EOF ? RV_OK : st;
}

/* ---- JSON Lines ---- */

static rv_status json_line(const reader *r, const char *s, json_t **out) {
  json_error_t err;
  *out = json_loads(s, JSON_REJECT_DUPLICATES, &err);
  if (!*out) return BAD_LINE(r, "not JSON: %s (column %d)", err.text, err.column);
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return BAD_LINE(r, "a line must be a JSON object");
  }
  return RV_OK;
}

static rv_status action_line(reader *r, json_t *j) {
  json_t *label = json_object_get(j, "label"), *start = json_object_get(j, "start");
  json_t *end = json_object_get(j, "end"), *score = json_object_get(j, "score");
  json_t *track = json_object_get(j, "track_id");
  if (!json_is_string(label) || !json_is_integer(start) || !json_is_integer(end) ||
      (score && !json_is_number(score)) || (track && !json_is_integer(track)))
    return BAD_LINE(r, "an action needs label (string), start, end (integer ns), score");
  rv_eval_segment seg = {{0},
                         !track,
                         json_integer_value(start),
                         json_integer_value(end),
                         score ? json_number_value(score) : 1.0,
                         track ? json_integer_value(track) : 0,
                         0};
  if (strlen(json_string_value(label)) >= sizeof seg.label)
    return BAD_LINE(r, "label longer than %d bytes", RV_EVAL_LABEL_MAX - 1);
  strcpy(seg.label, json_string_value(label));
  if (seg.end_ns < seg.start_ns)
    return BAD_LINE(r, "action ends (%lld) before it starts (%lld)", (long long)seg.end_ns,
                    (long long)seg.start_ns);
  return push_segment(r, &seg);
}

/* The class of an object: its detection.label's index in the file's names (-1: no label). */
static rv_status object_class(reader *r, json_t *det, int32_t *cls) {
  json_t *label = json_object_get(det, "label");
  *cls = -1;
  if (!label) return RV_OK;
  if (!json_is_string(label) || strlen(json_string_value(label)) >= RV_EVAL_LABEL_MAX)
    return BAD_LINE(r, "detection.label must be a string shorter than %d bytes", RV_EVAL_LABEL_MAX);
  rv_status st = class_index(r->d, &r->class_cap, json_string_value(label), cls);
  if (st >= 0 && *cls < 0) return BAD_LINE(r, "more than %d distinct labels", RV_EVAL_MAX_LABELS);
  return st;
}

static rv_status object_box(reader *r, json_t *o, int64_t frame, int w, int h, rv_eval_box *b) {
  json_t *det = json_object_get(o, "detection");
  json_t *bb = json_object_get(det, "bounding_box");
  json_t *id = json_object_get(o, "id");
  double v[4];
  const char *keys[4] = {"x_min", "y_min", "x_max", "y_max"};
  for (int k = 0; k < 4; k++) {
    json_t *x = json_object_get(bb, keys[k]);
    if (!json_is_number(x)) return BAD_LINE(r, "object without detection.bounding_box.%s", keys[k]);
    v[k] = json_number_value(x);
  }
  if (id && (!json_is_integer(id) || json_integer_value(id) < 1))
    return BAD_LINE(r, "object id must be an integer >= 1");
  if (v[2] < v[0] || v[3] < v[1])
    return BAD_LINE(r, "negative box size (x_max < x_min or y_max < y_min)");
  /* normalized box to MOTChallenge's 1-based pixel convention, as gt.txt uses */
  *b = (rv_eval_box){frame,
                     id ? (int64_t)json_integer_value(id) : -1,
                     v[0] * w + 1,
                     v[1] * h + 1,
                     (v[2] - v[0]) * w,
                     (v[3] - v[1]) * h,
                     1.0,
                     -1};
  return object_class(r, det, &b->cls);
}

/* The GT frame of a frame line: nearest to its timestamp at the GT rate, else frame_index. */
static rv_status frame_of(const reader *r, json_t *j, double gt_fps, int64_t *frame) {
  json_t *ts = json_object_get(j, "timestamp"), *fi = json_object_get(j, "frame_index");
  if (!json_is_integer(ts)) return BAD_LINE(r, "a frame line needs an integer timestamp (ns)");
  if (gt_fps > 0) {
    double f = round((double)json_integer_value(ts) * gt_fps / 1e9);
    if (f < 0 || f > 9e15)
      return BAD_LINE(r, "timestamp %lld ns is outside the ground truth",
                      (long long)json_integer_value(ts));
    *frame = (int64_t)f + 1;
    return RV_OK;
  }
  if (!json_is_integer(fi) || json_integer_value(fi) < 0)
    return BAD_LINE(r, "the GT frame rate is unknown (no meta.json or seqinfo.ini; give --fps) "
                       "and the line has no frame_index");
  *frame = json_integer_value(fi) + 1;
  return RV_OK;
}

static rv_status frame_line(reader *r, json_t *j, double gt_fps) {
  rv_status st = RV_OK;
  int64_t frame = 0;
  json_t *res = json_object_get(j, "resolution"), *objs = json_object_get(j, "objects");
  json_t *w = json_object_get(res, "width"), *h = json_object_get(res, "height");
  RV_TRY(frame_of(r, j, gt_fps, &frame));
  if (!json_is_integer(w) || !json_is_integer(h) || json_integer_value(w) < 1 ||
      json_integer_value(h) < 1 || json_integer_value(w) > 1 << 20 ||
      json_integer_value(h) > 1 << 20 || !json_is_array(objs))
    return BAD_LINE(r, "a frame line needs resolution {width, height} and objects []");
  if (r->d->n_frames && frame <= r->d->frames[r->d->n_frames - 1])
    return BAD_LINE(r,
                    "lands on GT frame %lld, not after the previous line's frame %lld "
                    "(timestamps out of order, or sampled faster than the GT)",
                    (long long)frame, (long long)r->d->frames[r->d->n_frames - 1]);
  RV_TRY(push_frame(r, frame));
  size_t k;
  json_t *o;
  json_array_foreach(objs, k, o) {
    rv_eval_box b = {0};
    RV_TRY(object_box(r, o, frame, (int)json_integer_value(w), (int)json_integer_value(h), &b));
    RV_TRY(push_box(r, &b));
  }
fail:
  return st;
}

/* frames_ok = 0: only action lines are allowed (actions.jsonl). */
static rv_status read_jsonl(reader *r, int frames_ok, double gt_fps) {
  rv_status st = RV_OK;
  char *s;
  json_t *j = NULL;
  while ((st = next_line(r, &s)) == RV_OK) {
    RV_TRY(json_line(r, s, &j));
    json_t *ev = json_object_get(j, "event");
    if (ev && !(json_is_string(ev) && !strcmp(json_string_value(ev), "action")))
      RV_TRY(BAD_LINE(r, "unknown event (only \"action\" is known)"));
    if (ev)
      RV_TRY(action_line(r, j));
    else if (frames_ok)
      RV_TRY(frame_line(r, j, gt_fps));
    else
      RV_TRY(BAD_LINE(r, "expected an action event line"));
    json_decref(j);
    j = NULL;
  }
fail:
  json_decref(j);
  return st == RV_EOF ? RV_OK : st;
}

/* ---- ground truth ---- */

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* The folder part of a file path ("." when there is none). */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  char *d = strndup(path, (size_t)(slash - path));
  return d;
}

static int is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static double fps_from_meta(const char *dir) {
  char *path = join(dir, "meta.json");
  json_t *m = path ? json_load_file(path, 0, NULL) : NULL;
  json_t *fps = json_object_get(m, "fps");
  double v = json_is_number(fps) ? json_number_value(fps) : 0;
  json_decref(m);
  free(path);
  return v > 0 && isfinite(v) ? v : 0;
}

/* One name of meta.json's "classes": the k-th, so that a gt.txt class k + 1 names it. */
static rv_status meta_class(const char *path, json_t *v, size_t k, rv_eval_data *d, size_t *cap) {
  int32_t idx = -1;
  if (!json_is_string(v) || strlen(json_string_value(v)) >= RV_EVAL_LABEL_MAX)
    return RV_FAIL(RV_ERR_FORMAT, "%s: \"classes\" must hold names shorter than %d bytes", path,
                   RV_EVAL_LABEL_MAX);
  rv_status st = class_index(d, cap, json_string_value(v), &idx);
  if (st >= 0 && idx < 0)
    return RV_FAIL(RV_ERR_FORMAT, "%s: more than %d classes", path, RV_EVAL_MAX_LABELS);
  if (st >= 0 && (size_t)idx != k)
    return RV_FAIL(RV_ERR_FORMAT, "%s: class \"%s\" is named twice", path, d->classes[idx]);
  return st;
}

/* The class names of meta.json's "classes" in dir, when it has them. */
static rv_status classes_from_meta(const char *dir, rv_eval_data *d) {
  rv_status st = RV_OK;
  char *path = join(dir, "meta.json");
  json_t *m = path ? json_load_file(path, 0, NULL) : NULL;
  json_t *names = json_object_get(m, "classes"), *v;
  size_t cap = 0, k;
  if (!path) RV_TRY_FAIL(RV_ERR_NOMEM, "paths");
  if (names && !json_is_array(names))
    RV_TRY_FAIL(RV_ERR_FORMAT, "%s: \"classes\" must be an array of names", path);
  json_array_foreach(names, k, v) RV_TRY(meta_class(path, v, k, d, &cap));
fail:
  json_decref(m);
  free(path);
  return st;
}

static double fps_from_seqinfo(const char *dir) {
  char *path = join(dir, "seqinfo.ini"), line[256];
  FILE *f = path ? fopen(path, "r") : NULL;
  double v = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "frameRate", 9) && strchr(line, '='))
      v = strtod(strchr(line, '=') + 1, NULL);
  if (f) fclose(f);
  free(path);
  return v > 0 && isfinite(v) ? v : 0;
}

/* The frame rate from meta.json or seqinfo.ini in dir, or seqinfo.ini one folder up. */
static double gt_fps(const char *dir) {
  double v = fps_from_meta(dir);
  if (!v) v = fps_from_seqinfo(dir);
  char *up = join(dir, "..");
  if (!v && up) v = fps_from_seqinfo(up);
  free(up);
  return v;
}

typedef enum file_kind {
  GT_MOT,     /* gt.txt: rows with a 0 in the 7th column are left out */
  GT_ACTIONS, /* actions.jsonl: action lines only */
  PREDICTION, /* MOT txt or JSON Lines, told apart by the first character */
} file_kind;

static rv_status read_file(const char *path, rv_eval_data *d, file_kind kind, double fps) {
  rv_status st = RV_OK;
  reader r = {0};
  r.d = d;
  /* a second file appends: what the first allocated holds at least its records */
  r.box_cap = (size_t)d->n_boxes * sizeof *d->boxes;
  r.seg_cap = (size_t)d->n_segments * sizeof *d->segments;
  r.frame_cap = d->n_frames > 0 ? (size_t)d->n_frames * sizeof *d->frames : 0;
  RV_TRY(open_file(&r, path));
  if (kind == GT_MOT) st = read_mot(&r, 1);
  if (kind == GT_ACTIONS) st = read_jsonl(&r, 0, 0);
  if (kind == PREDICTION) {
    int c;
    while ((c = fgetc(r.f)) != EOF && isspace(c)) {
    }
    rewind(r.f);
    /* an empty file is both formats: no actions found, every GT frame missed */
    d->has_actions = c == '{' || c == EOF;
    d->n_frames = c == '{' ? 0 : -1;
    st = c == '{' ? read_jsonl(&r, 1, fps) : read_mot(&r, 0);
  }
fail:
  close_file(&r);
  return st;
}

rv_status rv_eval_load_gt(const char *path, rv_eval_data *out) {
  rv_status st = RV_OK;
  char *gt = NULL, *actions = NULL, *dir = NULL;
  if (!path || !out) return RV_FAIL(RV_ERR_INVALID, "path and out must be given");
  memset(out, 0, sizeof *out);
  if (is_dir(path)) {
    gt = join(path, "gt.txt");
    actions = join(path, "actions.jsonl");
    dir = strdup(path);
  } else {
    gt = strdup(path);
    dir = dir_of(path);
  }
  if (!gt || !dir || (is_dir(path) && !actions)) RV_TRY_FAIL(RV_ERR_NOMEM, "paths");
  RV_TRY(read_file(gt, out, GT_MOT, 0));
  out->n_frames = -1;
  out->fps = gt_fps(dir);
  RV_TRY(classes_from_meta(dir, out));
  struct stat sb;
  if (actions && stat(actions, &sb) == 0) {
    RV_TRY(read_file(actions, out, GT_ACTIONS, 0));
    out->has_actions = 1;
  }
fail:
  if (st < 0) rv_eval_data_free(out);
  free(gt);
  free(actions);
  free(dir);
  return st;
}

rv_status rv_eval_load_pred(const char *path, double fps, rv_eval_data *out) {
  if (!path || !out) return RV_FAIL(RV_ERR_INVALID, "path and out must be given");
  memset(out, 0, sizeof *out);
  rv_status st = read_file(path, out, PREDICTION, fps);
  if (st < 0) rv_eval_data_free(out);
  return st;
}
