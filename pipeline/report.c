/* The HTML report: bounded summaries collected during a run, written as one file with
 * inline SVG and base64 images. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/config.h>
#include <ringvit/report.h>

#include "image-impl.h"

enum { MAX_SERIES = 4096, MAX_LANES = 40, LABEL_CAP = 48 };

typedef struct track_sum {
  uint64_t id;
  char label[LABEL_CAP];
  int64_t first_ns, last_ns;
  int64_t frames;
} track_sum;

typedef struct action_rec {
  uint64_t track_id;
  char label[LABEL_CAP];
  int64_t start_ns, end_ns;
  float score;
} action_rec;

typedef struct thumb {
  int64_t pts_ns;
  int key; /* 1: kept for an action start, 0: periodic */
  char reason[LABEL_CAP + 16];
  int w, h;     /* thumbnail pixels */
  float sx, sy; /* source pixels -> thumbnail */
  rv_image_blob img;
  rv_report_object *boxes; /* labels point into `labels` */
  char (*labels)[LABEL_CAP];
  int n_boxes;
} thumb;

typedef struct series_pt {
  int64_t pts_ns;
  int count;
} series_pt;

struct rv_report {
  rv_report_cfg cfg;
  char title[256];
  track_sum *tracks;
  size_t n_tracks, cap_tracks;
  action_rec *actions;
  size_t n_actions, cap_actions;
  thumb *thumbs;
  int n_thumbs;
  int64_t *pending_keys; /* action starts still waiting for a frame */
  char (*pending_reason)[LABEL_CAP + 16];
  size_t n_pending, cap_pending;
  int64_t last_periodic_ns;
  int64_t periodic_every_ns;
  series_pt series[MAX_SERIES];
  int n_series;
  int64_t series_step; /* merge factor after halvings */
  int64_t first_ns, last_ns, frames;
  int width, height;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t ncap = *cap ? *cap * 2 : 64;
  while (ncap < need)
    ncap *= 2;
  void *p = realloc(*arr, ncap * elem);
  if (!p) return 0;
  *arr = p;
  *cap = ncap;
  return 1;
}

rv_status rv_report_init(const rv_report_cfg *cfg, rv_report **out) {
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  rv_report *r = calloc(1, sizeof *r);
  if (!r) return RV_FAIL(RV_ERR_NOMEM, "report handle");
  if (cfg) r->cfg = *cfg;
  if (r->cfg.max_thumbnails <= 0) r->cfg.max_thumbnails = 24;
  if (r->cfg.thumb_width <= 0) r->cfg.thumb_width = 320;
  if (r->cfg.min_track_s <= 0) r->cfg.min_track_s = 10.0;
  snprintf(r->title, sizeof r->title, "%s", cfg && cfg->title ? cfg->title : "ringvit analysis");
  r->periodic_every_ns =
      r->cfg.thumb_every_s > 0 ? (int64_t)(r->cfg.thumb_every_s * 1e9) : 10000000000LL;
  r->last_periodic_ns = INT64_MIN;
  r->first_ns = INT64_MAX;
  r->last_ns = INT64_MIN;
  r->thumbs = calloc((size_t)r->cfg.max_thumbnails, sizeof *r->thumbs);
  if (!r->thumbs) {
    free(r);
    return RV_FAIL(RV_ERR_NOMEM, "thumbnail table");
  }
  r->series_step = 1;
  *out = r;
  return RV_OK;
}

static void thumb_clear(thumb *t) {
  rv_image_blob_free(&t->img);
  free(t->boxes);
  free(t->labels);
  memset(t, 0, sizeof *t);
}

void rv_report_free(rv_report *r) {
  if (!r) return;
  for (int i = 0; i < r->n_thumbs; i++)
    thumb_clear(&r->thumbs[i]);
  free(r->thumbs);
  free(r->tracks);
  free(r->actions);
  free(r->pending_keys);
  free(r->pending_reason);
  free(r);
}

static track_sum *find_track(rv_report *r, uint64_t id) {
  for (size_t i = r->n_tracks; i-- > 0;) /* recent tracks are last */
    if (r->tracks[i].id == id) return &r->tracks[i];
  return NULL;
}

static rv_status note_track(rv_report *r, const rv_report_object *o, int64_t pts) {
  track_sum *t = find_track(r, o->track_id);
  if (!t) {
    if (!grow((void **)&r->tracks, &r->cap_tracks, r->n_tracks + 1, sizeof *r->tracks))
      return RV_FAIL(RV_ERR_NOMEM, "report track table");
    t = &r->tracks[r->n_tracks++];
    memset(t, 0, sizeof *t);
    t->id = o->track_id;
    snprintf(t->label, sizeof t->label, "%s", o->label ? o->label : "object");
    t->first_ns = pts;
  }
  t->last_ns = pts;
  t->frames++;
  return RV_OK;
}

/* Keeps at most MAX_SERIES points by merging neighbours (max count) when full. */
static void note_count(rv_report *r, int64_t pts, int count) {
  if (r->n_series > 0 && r->frames % r->series_step != 0) {
    series_pt *last = &r->series[r->n_series - 1];
    if (count > last->count) last->count = count;
    return;
  }
  if (r->n_series == MAX_SERIES) {
    for (int i = 0; i < MAX_SERIES / 2; i++) {
      series_pt a = r->series[2 * i], b = r->series[2 * i + 1];
      r->series[i] = (series_pt){a.pts_ns, a.count > b.count ? a.count : b.count};
    }
    r->n_series = MAX_SERIES / 2;
    r->series_step *= 2;
  }
  r->series[r->n_series++] = (series_pt){pts, count};
}

/* Index of the slot a new thumbnail goes to, or -1 to drop it. Key moments evict the
 * oldest periodic thumbnail; periodic ones are thinned by doubling their interval. */
static int thumb_slot(rv_report *r, int key) {
  if (r->n_thumbs < r->cfg.max_thumbnails) return r->n_thumbs++;
  if (key) {
    for (int i = 0; i < r->n_thumbs; i++)
      if (!r->thumbs[i].key) return i;
    return -1;
  }
  int kept = 0; /* drop every other periodic thumbnail and double the interval */
  for (int i = 0, seen = 0; i < r->n_thumbs; i++) {
    if (!r->thumbs[i].key && (seen++ % 2)) {
      thumb_clear(&r->thumbs[i]);
      continue;
    }
    r->thumbs[kept++] = r->thumbs[i];
  }
  for (int i = kept; i < r->n_thumbs; i++)
    memset(&r->thumbs[i], 0, sizeof r->thumbs[i]);
  r->n_thumbs = kept;
  r->periodic_every_ns *= 2;
  return r->n_thumbs < r->cfg.max_thumbnails ? r->n_thumbs++ : -1;
}

/* The image (img_w x img_h) may be the frame itself or a smaller copy of it; boxes are in
 * frame pixels (width x height) either way. */
static rv_status keep_thumb(rv_report *r, int slot, int key, const char *reason, int64_t pts,
                            int width, int height, const rv_report_object *objs, int n_objs,
                            const rv_report_image *img) {
  rv_status st = RV_OK;
  thumb *t = &r->thumbs[slot];
  thumb_clear(t);
  t->pts_ns = pts;
  t->key = key;
  snprintf(t->reason, sizeof t->reason, "%s", reason);
  t->w = r->cfg.thumb_width < img->width ? r->cfg.thumb_width : img->width;
  t->h = (int)((int64_t)img->height * t->w / img->width);
  if (t->h < 1) t->h = 1;
  t->sx = (float)t->w / (float)width;
  t->sy = (float)t->h / (float)height;
  RV_TRY(rv_image_encode_thumbnail(img->rgb, img->width, img->height, img->stride, t->w, t->h,
                                   &t->img));
  if (n_objs > 0) {
    t->boxes = calloc((size_t)n_objs, sizeof *t->boxes);
    t->labels = calloc((size_t)n_objs, sizeof *t->labels);
    if (!t->boxes || !t->labels) RV_TRY_FAIL(RV_ERR_NOMEM, "thumbnail boxes");
    for (int i = 0; i < n_objs; i++) {
      t->boxes[i] = objs[i];
      snprintf(t->labels[i], LABEL_CAP, "%s", objs[i].label ? objs[i].label : "object");
      t->boxes[i].label = t->labels[i];
    }
    t->n_boxes = n_objs;
  }
  return RV_OK;
fail:
  thumb_clear(t);
  return st;
}

rv_status rv_report_add_frame(rv_report *r, int64_t pts_ns, int width, int height,
                              const rv_report_object *objs, int n_objs, const uint8_t *rgb,
                              int stride) {
  rv_report_image img = {rgb, width, height, stride};
  return rv_report_add_frame_image(r, pts_ns, width, height, objs, n_objs, rgb ? &img : NULL);
}

rv_status rv_report_add_frame_image(rv_report *r, int64_t pts_ns, int width, int height,
                                    const rv_report_object *objs, int n_objs,
                                    const rv_report_image *img) {
  rv_status st = RV_OK;
  if (!r || (n_objs > 0 && !objs) || n_objs < 0)
    return RV_FAIL(RV_ERR_INVALID, "report and objects must be given");
  if (width < 1 || height < 1) return RV_FAIL(RV_ERR_INVALID, "frame size %dx%d", width, height);
  r->width = width;
  r->height = height;
  if (pts_ns < r->first_ns) r->first_ns = pts_ns;
  if (pts_ns > r->last_ns) r->last_ns = pts_ns;
  for (int i = 0; i < n_objs; i++)
    if (objs[i].track_id) RV_TRY(note_track(r, &objs[i], pts_ns));
  note_count(r, pts_ns, n_objs);
  r->frames++;
  if (!img || !img->rgb) return RV_OK;
  if (img->width < 1 || img->height < 1 || img->stride < 3 * img->width)
    return RV_FAIL(RV_ERR_INVALID, "image %dx%d with stride %d", img->width, img->height,
                   img->stride);
  char reason[LABEL_CAP + 16] = "";
  int key = 0;
  for (size_t i = 0; i < r->n_pending; i++) /* the earliest pending key moment now due */
    if (r->pending_keys[i] <= pts_ns) {
      key = 1;
      snprintf(reason, sizeof reason, "%s", r->pending_reason[i]);
      r->pending_keys[i] = r->pending_keys[--r->n_pending];
      memcpy(r->pending_reason[i], r->pending_reason[r->n_pending], sizeof reason);
      break;
    }
  int periodic = !key && (r->last_periodic_ns == INT64_MIN ||
                          pts_ns - r->last_periodic_ns >= r->periodic_every_ns);
  if (!key && !periodic) return RV_OK;
  if (periodic) {
    r->last_periodic_ns = pts_ns;
    snprintf(reason, sizeof reason, "periodic");
  }
  int slot = thumb_slot(r, key);
  if (slot >= 0) RV_TRY(keep_thumb(r, slot, key, reason, pts_ns, width, height, objs, n_objs, img));
fail:
  return st;
}

rv_status rv_report_add_action(rv_report *r, uint64_t track_id, const char *label, int64_t start_ns,
                               int64_t end_ns, float score) {
  if (!r || !label) return RV_FAIL(RV_ERR_INVALID, "report and label must be given");
  if (end_ns < start_ns)
    return RV_FAIL(RV_ERR_INVALID, "action '%s' ends (%" PRId64 ") before it starts (%" PRId64 ")",
                   label, end_ns, start_ns);
  if (!grow((void **)&r->actions, &r->cap_actions, r->n_actions + 1, sizeof *r->actions) ||
      !grow((void **)&r->pending_keys, &r->cap_pending, r->n_pending + 1, sizeof *r->pending_keys))
    return RV_FAIL(RV_ERR_NOMEM, "report action table");
  void *reasons = realloc(r->pending_reason, r->cap_pending * sizeof *r->pending_reason);
  if (!reasons) return RV_FAIL(RV_ERR_NOMEM, "report action table");
  r->pending_reason = reasons;
  action_rec *a = &r->actions[r->n_actions++];
  a->track_id = track_id;
  snprintf(a->label, sizeof a->label, "%s", label);
  a->start_ns = start_ns;
  a->end_ns = end_ns;
  a->score = score;
  /* a segment reported after its start (streaming) still marks the frames that follow */
  r->pending_keys[r->n_pending] = start_ns;
  if (track_id)
    snprintf(r->pending_reason[r->n_pending], LABEL_CAP + 16, "%s #%" PRIu64, label, track_id);
  else
    snprintf(r->pending_reason[r->n_pending], LABEL_CAP + 16, "%s", label);
  r->n_pending++;
  return RV_OK;
}

/* ---- writing ---- */

static void fmt_time(char *buf, size_t cap, int64_t ns) {
  double s = (double)ns / 1e9;
  int h = (int)(s / 3600);
  int m = (int)((s - h * 3600) / 60);
  snprintf(buf, cap, "%d:%02d:%04.1f", h, m, s - h * 3600 - m * 60);
}

/* Writes text with &, <, >, " escaped. */
static void put_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A stable colour per label. */
static const char *label_colour(const char *label) {
  static const char *palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  unsigned h = 5381;
  for (const char *p = label; *p; p++)
    h = h * 33u + (unsigned char)*p;
  return palette[h % (sizeof palette / sizeof *palette)];
}

typedef struct timeline_geom {
  double t0, span;    /* seconds */
  double left, width; /* pixels */
} timeline_geom;

static double tx(const timeline_geom *g, int64_t ns) {
  return g->left + ((double)ns / 1e9 - g->t0) / g->span * g->width;
}

static int cmp_track_len(const void *a, const void *b) {
  const track_sum *x = *(const track_sum *const *)a, *y = *(const track_sum *const *)b;
  int64_t dx = x->last_ns - x->first_ns, dy = y->last_ns - y->first_ns;
  return dx < dy ? 1 : dx > dy ? -1 : (x->id > y->id) - (x->id < y->id);
}

static void lane_bar(FILE *f, const timeline_geom *g, double y, int64_t a, int64_t b,
                     const char *colour, const char *tip) {
  double x0 = tx(g, a), x1 = tx(g, b);
  if (x1 - x0 < 2) x1 = x0 + 2;
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\"><title>", x0, y,
          x1 - x0, colour);
  put_escaped(f, tip);
  fputs("</title></rect>\n", f);
}

/* Distinct action labels, in first-seen order. */
static size_t action_labels(const rv_report *r, const char **out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_actions; i++) {
    size_t j = 0;
    while (j < n && strcmp(out[j], r->actions[i].label))
      j++;
    if (j == n && n < cap) out[n++] = r->actions[i].label;
  }
  return n;
}

static void write_timeline(FILE *f, const rv_report *r, const timeline_geom *g) {
  const char *labels[MAX_LANES];
  size_t n_labels = action_labels(r, labels, MAX_LANES);
  const track_sum **long_tracks = malloc((r->n_tracks + 1) * sizeof *long_tracks);
  size_t n_long = 0;
  for (size_t i = 0; long_tracks && i < r->n_tracks; i++)
    if ((double)(r->tracks[i].last_ns - r->tracks[i].first_ns) / 1e9 >= r->cfg.min_track_s)
      long_tracks[n_long++] = &r->tracks[i];
  if (long_tracks) qsort(long_tracks, n_long, sizeof *long_tracks, cmp_track_len);
  if (n_long > MAX_LANES) n_long = MAX_LANES;
  size_t lanes = n_labels + n_long;
  fprintf(f,
          "<h2>Timeline</h2>\n<svg id=\"timeline\" width=\"%.0f\" height=\"%zu\" role=\"img\">\n",
          g->left + g->width + 70, 24 * lanes + 30);
  char tip[160], a[32], b[32];
  for (size_t l = 0; l < n_labels; l++) {
    double y = 24.0 * (double)l + 4;
    fprintf(f, "<g class=\"lane action-lane\" data-label=\"");
    put_escaped(f, labels[l]);
    fprintf(f, "\"><text x=\"4\" y=\"%.1f\">", y + 12);
    put_escaped(f, labels[l]);
    fputs("</text>\n", f);
    for (size_t i = 0; i < r->n_actions; i++) {
      const action_rec *ac = &r->actions[i];
      if (strcmp(ac->label, labels[l])) continue;
      fmt_time(a, sizeof a, ac->start_ns);
      fmt_time(b, sizeof b, ac->end_ns);
      snprintf(tip, sizeof tip, "%s %s%" PRIu64 " %s-%s score %.2f", ac->label,
               ac->track_id ? "#" : "", ac->track_id, a, b, ac->score);
      lane_bar(f, g, y, ac->start_ns, ac->end_ns, label_colour(ac->label), tip);
    }
    fputs("</g>\n", f);
  }
  for (size_t l = 0; l < n_long; l++) {
    const track_sum *t = long_tracks[l];
    double y = 24.0 * (double)(n_labels + l) + 4;
    fprintf(f,
            "<g class=\"lane track-lane\" data-track=\"%" PRIu64
            "\"><text x=\"4\" y=\"%.1f\">#%" PRIu64 " ",
            t->id, y + 12, t->id);
    put_escaped(f, t->label);
    fputs("</text>\n", f);
    fmt_time(a, sizeof a, t->first_ns);
    fmt_time(b, sizeof b, t->last_ns);
    snprintf(tip, sizeof tip, "#%" PRIu64 " %s %s-%s", t->id, t->label, a, b);
    lane_bar(f, g, y, t->first_ns, t->last_ns, "#cfd8dc", tip);
    for (size_t i = 0; i < r->n_actions; i++)
      if (r->actions[i].track_id == t->id)
        lane_bar(f, g, y + 3, r->actions[i].start_ns, r->actions[i].end_ns,
                 label_colour(r->actions[i].label), r->actions[i].label);
    fputs("</g>\n", f);
  }
  double y_axis = 24.0 * (double)lanes + 16;
  for (int i = 0; i <= 4; i++) {
    int64_t ns = (int64_t)((g->t0 + g->span * i / 4.0) * 1e9);
    fmt_time(a, sizeof a, ns);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", tx(g, ns) - 20, y_axis, a);
  }
  fputs("</svg>\n", f);
  free(long_tracks);
}

static void write_objects_plot(FILE *f, const rv_report *r, const timeline_geom *g) {
  int maxc = 1;
  for (int i = 0; i < r->n_series; i++)
    if (r->series[i].count > maxc) maxc = r->series[i].count;
  fprintf(f,
          "<h2>Tracked objects over time</h2>\n<svg id=\"objects-plot\" width=\"%.0f\" "
          "height=\"140\" data-max=\"%d\">\n",
          g->left + g->width + 70, maxc);
  fprintf(f, "<text x=\"4\" y=\"14\">%d</text><text x=\"4\" y=\"124\">0</text>\n", maxc);
  fputs("<polyline fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"1.5\" points=\"", f);
  for (int i = 0; i < r->n_series; i++)
    fprintf(f, "%.1f,%.1f ", tx(g, r->series[i].pts_ns), 120.0 - 110.0 * r->series[i].count / maxc);
  fputs("\"/>\n</svg>\n", f);
}

static int cmp_thumb(const void *a, const void *b) {
  const thumb *x = a, *y = b;
  return (x->pts_ns > y->pts_ns) - (x->pts_ns < y->pts_ns);
}

static void write_thumbs(FILE *f, const rv_report *r) {
  thumb *sorted = malloc(((size_t)r->n_thumbs + 1) * sizeof *sorted);
  if (!sorted) return;
  memcpy(sorted, r->thumbs, (size_t)r->n_thumbs * sizeof *sorted);
  qsort(sorted, (size_t)r->n_thumbs, sizeof *sorted, cmp_thumb);
  fprintf(f, "<h2>Key moments</h2>\n<div id=\"thumbs\">\n");
  char when[32];
  for (int i = 0; i < r->n_thumbs; i++) {
    const thumb *t = &sorted[i];
    fmt_time(when, sizeof when, t->pts_ns);
    fprintf(f,
            "<figure class=\"thumb%s\"><svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">"
            "<image width=\"%d\" height=\"%d\" href=\"data:%s;base64,",
            t->key ? " key" : "", t->w, t->h, t->w, t->h, t->w, t->h, t->img.mime);
    rv_base64_write(f, t->img.data, t->img.size);
    fputs("\"/>\n", f);
    for (int b = 0; b < t->n_boxes; b++) {
      const rv_report_object *o = &t->boxes[b];
      fprintf(f,
              "<rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
              "fill=\"none\" stroke=\"%s\"/>",
              o->x * t->sx, o->y * t->sy, o->w * t->sx, o->h * t->sy, label_colour(o->label));
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" font-size=\"9\">", o->x * t->sx,
              o->y * t->sy - 1, label_colour(o->label));
      if (o->track_id) fprintf(f, "#%" PRIu64 " ", o->track_id);
      put_escaped(f, o->label);
      fputs("</text>\n", f);
    }
    fprintf(f, "</svg><figcaption>%s &middot; ", when);
    put_escaped(f, t->reason);
    fputs("</figcaption></figure>\n", f);
  }
  fputs("</div>\n", f);
  free(sorted);
}

static void write_track_table(FILE *f, const rv_report *r) {
  char a[32], b[32];
  fputs("<h2>Tracks</h2>\n<table id=\"tracks\"><thead><tr><th>id</th><th>class</th><th>first "
        "seen</th>"
        "<th>last seen</th><th>duration "
        "(s)</th><th>frames</th><th>actions</th></tr></thead><tbody>\n",
        f);
  for (size_t i = 0; i < r->n_tracks; i++) {
    const track_sum *t = &r->tracks[i];
    fmt_time(a, sizeof a, t->first_ns);
    fmt_time(b, sizeof b, t->last_ns);
    fprintf(f, "<tr class=\"track-row\"><td>%" PRIu64 "</td><td>", t->id);
    put_escaped(f, t->label);
    fprintf(f, "</td><td>%s</td><td>%s</td><td>%.1f</td><td>%" PRId64 "</td><td>", a, b,
            (double)(t->last_ns - t->first_ns) / 1e9, t->frames);
    int first = 1;
    for (size_t k = 0; k < r->n_actions; k++)
      if (r->actions[k].track_id == t->id) {
        if (!first) fputs(", ", f);
        put_escaped(f, r->actions[k].label);
        first = 0;
      }
    fputs("</td></tr>\n", f);
  }
  fputs("</tbody></table>\n", f);
}

static void write_document(FILE *f, const rv_report *r) {
  timeline_geom g = {0, 1, 150, 900};
  if (r->frames > 0) {
    g.t0 = (double)r->first_ns / 1e9;
    g.span = (double)(r->last_ns - r->first_ns) / 1e9;
    if (g.span <= 0) g.span = 1;
  }
  char a[32], b[32];
  fmt_time(a, sizeof a, r->frames ? r->first_ns : 0);
  fmt_time(b, sizeof b, r->frames ? r->last_ns : 0);
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
  put_escaped(f, r->title);
  fputs("</title>\n<style>body{font:14px sans-serif;margin:20px;color:#222}svg text{font:11px "
        "sans-serif}"
        "#thumbs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}figcaption{font-size:12px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px "
        "6px;text-align:left}</style>\n"
        "</head><body>\n<h1>",
        f);
  put_escaped(f, r->title);
  fprintf(f,
          "</h1>\n<p id=\"summary\">%" PRId64
          " frames analysed from %s to %s, %dx%d; %zu tracks; %zu actions.</p>\n",
          r->frames, a, b, r->width, r->height, r->n_tracks, r->n_actions);
  write_timeline(f, r, &g);
  write_objects_plot(f, r, &g);
  write_thumbs(f, r);
  write_track_table(f, r);
  fputs("<p>Generated by ringvit.</p>\n</body></html>\n", f);
}

rv_status rv_report_write(const rv_report *r, const char *path) {
  if (!r || !path) return RV_FAIL(RV_ERR_INVALID, "report and path must be given");
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return RV_FAIL(RV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
  write_document(f, r);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    remove(tmp);
    return RV_FAIL(RV_ERR_IO, "writing %s failed", tmp);
  }
  if (rename(tmp, path) != 0)
    return RV_FAIL(RV_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
  return RV_OK;
}
