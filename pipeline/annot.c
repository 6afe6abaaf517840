/* JSON Lines (gvametaconvert field names) and MOTChallenge writers. Each line is built in
 * memory, written with one call and flushed, so an interrupted run never leaves a torn
 * line before its last one. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <ringvit/annot.h>

/* ---- JSON of one line ---- */

/* Adds key: val to obj, taking val; records failure in *ok (allocation, NULL val). */
static void put(json_t *obj, const char *key, json_t *val, int *ok) {
  if (!val || json_object_set_new(obj, key, val) != 0) *ok = 0;
}

static json_t *object_json(const rv_annot_object *o, int width, int height) {
  int ok = 1;
  json_t *j = json_object(), *det = json_object(), *bb = json_object();
  if (!j || !det || !bb) ok = 0;
  const char *label = o->label ? o->label : "object";
  if (ok) {
    put(bb, "x_min", json_real((double)o->x1 / width), &ok);
    put(bb, "y_min", json_real((double)o->y1 / height), &ok);
    put(bb, "x_max", json_real((double)o->x2 / width), &ok);
    put(bb, "y_max", json_real((double)o->y2 / height), &ok);
    put(det, "bounding_box", bb, &ok);
    bb = NULL;
    put(det, "confidence", json_real(o->score), &ok);
    put(det, "label", json_string(label), &ok);
    put(det, "label_id", json_integer(o->label_id), &ok);
    put(j, "detection", det, &ok);
    det = NULL;
    /* gvametaconvert's pixel ROI is integral; the normalized box above keeps the precision */
    put(j, "x", json_integer((json_int_t)lroundf(o->x1)), &ok);
    put(j, "y", json_integer((json_int_t)lroundf(o->y1)), &ok);
    put(j, "w", json_integer((json_int_t)lroundf(o->x2 - o->x1)), &ok);
    put(j, "h", json_integer((json_int_t)lroundf(o->y2 - o->y1)), &ok);
    if (o->id) put(j, "id", json_integer((json_int_t)o->id), &ok);
    put(j, "roi_type", json_string(label), &ok);
  }
  json_decref(bb);
  json_decref(det);
  if (!ok) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static rv_status check_frame(const rv_annot_frame *f) {
  if (f->width <= 0 || f->height <= 0)
    return RV_FAIL(RV_ERR_INVALID, "frame size %dx%d", f->width, f->height);
  if (f->n_objects < 0 || (f->n_objects > 0 && !f->objects))
    return RV_FAIL(RV_ERR_INVALID, "bad object list (%d objects)", f->n_objects);
  for (int i = 0; i < f->n_objects; i++) {
    const rv_annot_object *o = &f->objects[i];
    if (!isfinite(o->x1) || !isfinite(o->y1) || !isfinite(o->x2) || !isfinite(o->y2) ||
        !isfinite(o->score) || o->x2 < o->x1 || o->y2 < o->y1)
      return RV_FAIL(RV_ERR_INVALID, "object %d: bad box (%g, %g, %g, %g) or score", i,
                     (double)o->x1, (double)o->y1, (double)o->x2, (double)o->y2);
    if (o->id > (uint64_t)INT64_MAX)
      return RV_FAIL(RV_ERR_INVALID, "object %d: id too large for JSON", i);
  }
  return RV_OK;
}

/* Serializes and frees j into *out. */
static rv_status dump(json_t *j, int ok, char **out) {
  char *s = ok && j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
  json_decref(j);
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "JSON line");
  *out = s;
  return RV_OK;
}

rv_status rv_annot_frame_json(const rv_annot_frame *f, char **out) {
  rv_status st = RV_OK;
  if (!f || !out) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *out = NULL;
  RV_TRY(check_frame(f));
  int ok = 1;
  json_t *j = json_object(), *res = json_object(), *objs = json_array();
  if (!j || !res || !objs) ok = 0;
  if (ok) {
    put(j, "timestamp", json_integer(f->pts_ns), &ok);
    if (f->frame_index >= 0) put(j, "frame_index", json_integer(f->frame_index), &ok);
    put(res, "width", json_integer(f->width), &ok);
    put(res, "height", json_integer(f->height), &ok);
    put(j, "resolution", res, &ok);
    res = NULL;
    for (int i = 0; i < f->n_objects && ok; i++) {
      json_t *o = object_json(&f->objects[i], f->width, f->height);
      if (!o || json_array_append_new(objs, o) != 0) ok = 0;
    }
    put(j, "objects", objs, &ok);
    objs = NULL;
  }
  json_decref(res);
  json_decref(objs);
  RV_TRY(dump(j, ok, out));
fail:
  return st;
}

rv_status rv_annot_action_json(const rv_action_segment *s, char **out) {
  if (!s || !out) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *out = NULL;
  if (s->end_ns < s->start_ns || !isfinite(s->score))
    return RV_FAIL(RV_ERR_INVALID, "segment [%lld, %lld] score %g", (long long)s->start_ns,
                   (long long)s->end_ns, (double)s->score);
  if (s->track_id > (uint64_t)INT64_MAX)
    return RV_FAIL(RV_ERR_INVALID, "track id too large for JSON");
  int ok = 1;
  json_t *j = json_object();
  if (!j) ok = 0;
  if (ok) {
    put(j, "event", json_string("action"), &ok);
    if (s->track_id) put(j, "track_id", json_integer((json_int_t)s->track_id), &ok);
    put(j, "label", json_string(s->label_name ? s->label_name : "action"), &ok);
    put(j, "start", json_integer(s->start_ns), &ok);
    put(j, "end", json_integer(s->end_ns), &ok);
    put(j, "score", json_real(s->score), &ok);
  }
  return dump(j, ok, out);
}

/* ---- line files ---- */

typedef struct line_out {
  FILE *f;
  int own;
  rv_status err; /* first failure, sticky */
  /* resuming: the first `replay` lines the run produces are already in the file; each is
   * checked against it instead of written, so a resumed run can neither duplicate nor
   * lose a record, nor continue a file some other run wrote */
  int64_t replay, replayed;
  char *old;
  size_t old_cap;
  char path[512];
} line_out;

/* Keeps the complete lines of an interrupted run's file (a killed writer leaves at most
 * one partial line at the end) and counts them. */
static rv_status lo_open_resume(const char *path, line_out *o) {
  o->f = fopen(path, "r+");
  if (!o->f && errno == ENOENT) o->f = fopen(path, "w+"); /* nothing written yet */
  if (!o->f) return RV_FAIL(RV_ERR_IO, "cannot open %s to resume: %s", path, strerror(errno));
  o->own = 1;
  snprintf(o->path, sizeof o->path, "%s", path);
  long keep = 0, pos = 0;
  int c;
  while ((c = fgetc(o->f)) != EOF) {
    pos++;
    if (c == '\n') {
      keep = pos;
      o->replay++;
    }
  }
  if (ferror(o->f) || fflush(o->f) != 0 || ftruncate(fileno(o->f), keep) != 0)
    return RV_FAIL(RV_ERR_IO, "cannot resume %s: %s", path, strerror(errno));
  rewind(o->f);
  if (o->replay == 0 && fseek(o->f, 0, SEEK_END) != 0)
    return RV_FAIL(RV_ERR_IO, "cannot resume %s: %s", path, strerror(errno));
  return RV_OK;
}

/* A line the file already holds: it must be the one the run produced. */
static rv_status lo_replay(line_out *o, const char *text) {
  ssize_t n = getline(&o->old, &o->old_cap, o->f);
  if (n <= 0)
    return o->err = RV_FAIL(RV_ERR_IO, "%s: cannot reread line %lld", o->path,
                            (long long)o->replayed + 1);
  o->old[n - 1] = '\0';
  if (strcmp(o->old, text))
    return o->err = RV_FAIL(RV_ERR_FORMAT,
                            "%s: line %lld differs from what this run produces: it was written "
                            "with another input, model or options, so it cannot be resumed",
                            o->path, (long long)o->replayed + 1);
  if (++o->replayed == o->replay && fseek(o->f, 0, SEEK_END) != 0) /* from here on: append */
    return o->err = RV_FAIL(RV_ERR_IO, "%s: %s", o->path, strerror(errno));
  return RV_OK;
}

struct rv_jsonl_writer {
  line_out o;
};

struct rv_mot_writer {
  line_out o;
};

static rv_status lo_open(const char *path, line_out *o) {
  if (!path) return RV_FAIL(RV_ERR_INVALID, "path must not be NULL");
  if (!strcmp(path, "-")) {
    o->f = stdout;
    return RV_OK;
  }
  o->f = fopen(path, "w");
  if (!o->f) return RV_FAIL(RV_ERR_IO, "cannot create %s: %s", path, strerror(errno));
  o->own = 1;
  return RV_OK;
}

/* Writes text plus a newline in one call and flushes. */
static rv_status lo_line(line_out *o, char *text) {
  if (o->err < 0) return o->err;
  if (o->replayed < o->replay) return lo_replay(o, text);
  size_t n = strlen(text);
  text[n] = '\n'; /* the caller's buffer has room: json_dumps and our snprintf leave a NUL */
  size_t wrote = fwrite(text, 1, n + 1, o->f);
  text[n] = '\0';
  if (wrote != n + 1 || fflush(o->f) != 0)
    o->err = RV_FAIL(RV_ERR_IO, "write failed: %s", strerror(errno));
  return o->err;
}

static rv_status lo_close(line_out *o) {
  rv_status st = o->err;
  free(o->old);
  if (o->f && o->own && fclose(o->f) != 0 && st >= 0)
    st = RV_FAIL(RV_ERR_IO, "close failed: %s", strerror(errno));
  if (o->f && !o->own && fflush(o->f) != 0 && st >= 0)
    st = RV_FAIL(RV_ERR_IO, "flush failed: %s", strerror(errno));
  return st;
}

/* Both writers are a line_out; their handles only keep the types apart. */
static rv_status lo_new(const char *path, int resume, line_out **out) {
  rv_status st = RV_OK;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  line_out *o = calloc(1, sizeof *o);
  if (!o) return RV_FAIL(RV_ERR_NOMEM, "writer handle");
  if (resume && (!path || !strcmp(path, "-")))
    RV_TRY_FAIL(RV_ERR_INVALID, "only a file can be resumed");
  RV_TRY(resume ? lo_open_resume(path, o) : lo_open(path, o));
  *out = o;
  return RV_OK;
fail:
  if (o->f && o->own) fclose(o->f);
  free(o);
  return st;
}

static rv_status lo_free(line_out *o) {
  if (!o) return RV_OK;
  rv_status st = lo_close(o);
  free(o);
  return st;
}

rv_status rv_jsonl_open(const char *path, rv_jsonl_writer **out) {
  return lo_new(path, 0, (line_out **)out);
}

rv_status rv_jsonl_open_resume(const char *path, rv_jsonl_writer **out) {
  return lo_new(path, 1, (line_out **)out);
}

rv_status rv_jsonl_close(rv_jsonl_writer *w) { return lo_free(w ? &w->o : NULL); }

rv_status rv_mot_open(const char *path, rv_mot_writer **out) {
  return lo_new(path, 0, (line_out **)out);
}

rv_status rv_mot_open_resume(const char *path, rv_mot_writer **out) {
  return lo_new(path, 1, (line_out **)out);
}

rv_status rv_mot_close(rv_mot_writer *w) { return lo_free(w ? &w->o : NULL); }

/* Writes one JSON text; json_dumps's buffer has its NUL where the newline goes. */
static rv_status write_json(line_out *o, char *s) {
  char *line = realloc(s, strlen(s) + 2);
  if (!line) {
    free(s);
    return RV_FAIL(RV_ERR_NOMEM, "JSON line");
  }
  rv_status st = lo_line(o, line);
  free(line);
  return st;
}

rv_status rv_jsonl_write_frame(rv_jsonl_writer *w, const rv_annot_frame *f) {
  rv_status st = RV_OK;
  char *s = NULL;
  if (!w) return RV_FAIL(RV_ERR_INVALID, "writer must not be NULL");
  RV_TRY(rv_annot_frame_json(f, &s));
  RV_TRY(write_json(&w->o, s));
fail:
  return st;
}

rv_status rv_jsonl_write_action(rv_jsonl_writer *w, const rv_action_segment *seg) {
  rv_status st = RV_OK;
  char *s = NULL;
  if (!w) return RV_FAIL(RV_ERR_INVALID, "writer must not be NULL");
  RV_TRY(rv_annot_action_json(seg, &s));
  RV_TRY(write_json(&w->o, s));
fail:
  return st;
}

rv_status rv_mot_write_frame(rv_mot_writer *w, int64_t frame, const rv_annot_object *objs, int n) {
  rv_status st = RV_OK;
  if (!w) return RV_FAIL(RV_ERR_INVALID, "writer must not be NULL");
  if (frame < 1)
    return RV_FAIL(RV_ERR_INVALID, "MOTChallenge frames start at 1, got %lld", (long long)frame);
  rv_annot_frame f = {0, frame, 1, 1, objs, n};
  RV_TRY(check_frame(&f));
  for (int i = 0; i < n; i++) {
    const rv_annot_object *o = &objs[i];
    char line[256];
    long long id = o->id ? (long long)o->id : -1;
    /* MOTChallenge pixels are 1-based (its gt.txt and `ringvit synth`'s are) */
    snprintf(line, sizeof line - 1, "%lld,%lld,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1", (long long)frame,
             id, (double)o->x1 + 1, (double)o->y1 + 1, (double)(o->x2 - o->x1),
             (double)(o->y2 - o->y1), (double)o->score);
    RV_TRY(lo_line(&w->o, line));
  }
fail:
  return st;
}
