/* What the elements share: the frame meta, objects as ROI metas, action events, errors. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <ringvit/status.h>

#include "gstringvit.h"

void rv_gst_frame_meta_register(void) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    static const gchar *tags[] = {NULL};
    gst_meta_register_custom(RV_GST_FRAME_META, tags, NULL, NULL, NULL);
    g_once_init_leave(&once, 1);
  }
}

GstStructure *rv_gst_frame_meta_add(GstBuffer *buf) {
  GstCustomMeta *m = gst_buffer_add_custom_meta(buf, RV_GST_FRAME_META);
  if (!m) return NULL;
  GstStructure *s = gst_custom_meta_get_structure(m);
  gst_structure_set_name(s, RV_GST_FRAME);
  return s;
}

const GstStructure *rv_gst_frame_meta_get(GstBuffer *buf) {
  GstCustomMeta *m = gst_buffer_get_custom_meta(buf, RV_GST_FRAME_META);
  return m ? gst_custom_meta_get_structure(m) : NULL;
}

void rv_gst_set_floats(GstStructure *s, const char *field, const float *v, int n) {
  GValue arr = G_VALUE_INIT, x = G_VALUE_INIT;
  gst_value_array_init(&arr, (guint)n);
  g_value_init(&x, G_TYPE_DOUBLE);
  for (int i = 0; i < n; i++) {
    g_value_set_double(&x, v[i]);
    gst_value_array_append_value(&arr, &x);
  }
  gst_structure_take_value(s, field, &arr);
  g_value_unset(&x);
}

int rv_gst_get_floats(const GstStructure *s, const char *field, float *v, int cap) {
  const GValue *arr = s ? gst_structure_get_value(s, field) : NULL;
  if (!arr || !GST_VALUE_HOLDS_ARRAY(arr)) return 0;
  int n = (int)gst_value_array_get_size(arr);
  for (int i = 0; i < n && i < cap; i++) {
    const GValue *x = gst_value_array_get_value(arr, (guint)i);
    v[i] = G_VALUE_HOLDS_DOUBLE(x) ? (float)g_value_get_double(x) : 0.0f;
  }
  return n;
}

void rv_gst_set_strings(GstStructure *s, const char *field, const char *const *v, int n) {
  GValue arr = G_VALUE_INIT, x = G_VALUE_INIT;
  gst_value_array_init(&arr, (guint)n);
  g_value_init(&x, G_TYPE_STRING);
  for (int i = 0; i < n; i++) {
    g_value_set_string(&x, v[i]);
    gst_value_array_append_value(&arr, &x);
  }
  gst_structure_take_value(s, field, &arr);
  g_value_unset(&x);
}

int rv_gst_array_size(const GstStructure *s, const char *field) {
  const GValue *arr = s ? gst_structure_get_value(s, field) : NULL;
  return arr && GST_VALUE_HOLDS_ARRAY(arr) ? (int)gst_value_array_get_size(arr) : 0;
}

const char *rv_gst_get_string(const GstStructure *s, const char *field, int i) {
  if (i < 0 || i >= rv_gst_array_size(s, field)) return NULL;
  const GValue *x = gst_value_array_get_value(gst_structure_get_value(s, field), (guint)i);
  return G_VALUE_HOLDS_STRING(x) ? g_value_get_string(x) : NULL;
}

/* One row per rv_track_tuning member: its frame-structure field, where it lives and its
 * C type (the structure carries every one as a double). */
enum { TUNING_FLOAT, TUNING_DOUBLE, TUNING_INT };
#define TUNING(field, member)                                                                      \
  {                                                                                                \
    field, offsetof(rv_track_tuning, member),                                                      \
        _Generic(((rv_track_tuning *)0)->member,                                                   \
                 float: TUNING_FLOAT, double: TUNING_DOUBLE, int: TUNING_INT)                      \
  }
static const struct {
  const char *field;
  size_t offset;
  int kind;
} tuning_fields[] = {
    TUNING("track-high", high_thresh),
    TUNING("track-low", low_thresh),
    TUNING("track-new", new_track_thresh),
    TUNING("track-lost-s", lost_s),
    TUNING("track-match", match_thresh),
    TUNING("track-second-match", second_match_thresh),
    TUNING("track-unconfirmed-match", unconfirmed_match_thresh),
    TUNING("track-reid", reid_thresh),
    TUNING("track-detection-boxes", detection_boxes),
    TUNING("action-on", action_on),
    TUNING("action-off", action_off),
    TUNING("action-smooth-s", action_smooth_s),
    TUNING("action-min-s", action_min_s),
    TUNING("action-gap-s", action_gap_s),
};
#undef TUNING
enum { N_TUNING = sizeof tuning_fields / sizeof tuning_fields[0] };

static double tuning_get(const rv_track_tuning *t, int i) {
  const char *p = (const char *)t + tuning_fields[i].offset;
  switch (tuning_fields[i].kind) {
  case TUNING_FLOAT: return *(const float *)p;
  case TUNING_INT: return *(const int *)p;
  default: return *(const double *)p;
  }
}

static void tuning_put(rv_track_tuning *t, int i, double v) {
  char *p = (char *)t + tuning_fields[i].offset;
  switch (tuning_fields[i].kind) {
  case TUNING_FLOAT: *(float *)p = (float)v; break;
  case TUNING_INT: *(int *)p = (int)v; break;
  default: *(double *)p = v;
  }
}

void rv_gst_set_tuning(GstStructure *s, const rv_track_tuning *t) {
  for (int i = 0; i < N_TUNING; i++) {
    double v = tuning_get(t, i);
    if (v > 0) gst_structure_set(s, tuning_fields[i].field, G_TYPE_DOUBLE, v, NULL);
  }
}

void rv_gst_get_tuning(const GstStructure *s, rv_track_tuning *t) {
  for (int i = 0; i < N_TUNING; i++) {
    double v;
    if (gst_structure_get_double(s, tuning_fields[i].field, &v)) tuning_put(t, i, v);
  }
}

static guint to_pixels(float v, int limit) {
  long p = lroundf(v);
  return (guint)(p < 0 ? 0 : p > limit ? limit : p);
}

/* The integer box of the meta itself, kept inside the frame. */
static void set_meta_box(GstVideoRegionOfInterestMeta *m, const float b[4], int w, int h) {
  m->x = to_pixels(b[0], w);
  m->y = to_pixels(b[1], h);
  m->w = to_pixels(b[2], w) - m->x;
  m->h = to_pixels(b[3], h) - m->y;
}

static GstStructure *detection_structure(const float b[4], float score, int label_id,
                                         const char *label, int w, int h) {
  return gst_structure_new("detection", "x_min", G_TYPE_DOUBLE, (double)b[0] / w, "y_min",
                           G_TYPE_DOUBLE, (double)b[1] / h, "x_max", G_TYPE_DOUBLE,
                           (double)b[2] / w, "y_max", G_TYPE_DOUBLE, (double)b[3] / h, "confidence",
                           G_TYPE_DOUBLE, (double)score, "label_id", G_TYPE_INT, label_id, "label",
                           G_TYPE_STRING, label, NULL);
}

GstVideoRegionOfInterestMeta *rv_gst_object_add(GstBuffer *buf, const rv_gst_object *o, int w,
                                                int h) {
  const char *label = o->label ? o->label : "object";
  const float b[4] = {o->x1, o->y1, o->x2, o->y2};
  GstVideoRegionOfInterestMeta *m =
      gst_buffer_add_video_region_of_interest_meta(buf, label, 0, 0, 0, 0);
  set_meta_box(m, b, w, h);
  gst_video_region_of_interest_meta_add_param(
      m, detection_structure(b, o->score, o->label_id, label, w, h));
  if (o->n_act > 0 || o->emb_dim > 0) {
    GstStructure *x = gst_structure_new_empty("ringvit");
    rv_gst_set_floats(x, "actions", o->act, o->n_act);
    rv_gst_set_floats(x, "embedding", o->emb, o->emb_dim);
    gst_video_region_of_interest_meta_add_param(m, x);
  }
  if (o->id) rv_gst_object_update(m, b, o->id, w, h);
  return m;
}

void rv_gst_object_read(GstVideoRegionOfInterestMeta *m, int w, int h, rv_gst_object *o) {
  GstStructure *d = gst_video_region_of_interest_meta_get_param(m, "detection");
  GstStructure *x = gst_video_region_of_interest_meta_get_param(m, "ringvit");
  double x1, y1, x2, y2, conf;
  o->meta = m;
  o->label = g_quark_to_string(m->roi_type);
  GstStructure *oid = gst_video_region_of_interest_meta_get_param(m, "object_id");
  guint64 id = 0;
  o->id = oid && gst_structure_get_uint64(oid, "id", &id) ? id : m->id > 0 ? (guint64)m->id : 0;
  if (d && gst_structure_get_double(d, "x_min", &x1) && gst_structure_get_double(d, "y_min", &y1) &&
      gst_structure_get_double(d, "x_max", &x2) && gst_structure_get_double(d, "y_max", &y2)) {
    o->x1 = (float)(x1 * w), o->y1 = (float)(y1 * h), o->x2 = (float)(x2 * w);
    o->y2 = (float)(y2 * h);
  } else {
    o->x1 = (float)m->x, o->y1 = (float)m->y;
    o->x2 = (float)(m->x + m->w), o->y2 = (float)(m->y + m->h);
  }
  o->score = d && gst_structure_get_double(d, "confidence", &conf) ? (float)conf : 1.0f;
  if (!d || !gst_structure_get_int(d, "label_id", &o->label_id)) o->label_id = 0;
  o->n_act = MIN(rv_gst_get_floats(x, "actions", o->act, RV_GST_MAX_FLOATS), RV_GST_MAX_FLOATS);
  o->emb_dim = MIN(rv_gst_get_floats(x, "embedding", o->emb, RV_GST_MAX_FLOATS), RV_GST_MAX_FLOATS);
}

void rv_gst_object_update(GstVideoRegionOfInterestMeta *m, const float box[4], guint64 id, int w,
                          int h) {
  set_meta_box(m, box, w, h);
  m->id = (gint)MIN(id, (guint64)G_MAXINT);
  GstStructure *d = gst_video_region_of_interest_meta_get_param(m, "detection");
  if (d)
    gst_structure_set(d, "x_min", G_TYPE_DOUBLE, (double)box[0] / w, "y_min", G_TYPE_DOUBLE,
                      (double)box[1] / h, "x_max", G_TYPE_DOUBLE, (double)box[2] / w, "y_max",
                      G_TYPE_DOUBLE, (double)box[3] / h, NULL);
  GstStructure *oid = gst_video_region_of_interest_meta_get_param(m, "object_id");
  if (oid)
    gst_structure_set(oid, "id", G_TYPE_UINT64, id, NULL);
  else
    gst_video_region_of_interest_meta_add_param(
        m, gst_structure_new("object_id", "id", G_TYPE_UINT64, id, NULL));
}

void rv_gst_frame_size(GstBuffer *buf, const GstVideoInfo *info, int *w, int *h) {
  const GstStructure *f = rv_gst_frame_meta_get(buf);
  *w = info ? GST_VIDEO_INFO_WIDTH(info) : 0;
  *h = info ? GST_VIDEO_INFO_HEIGHT(info) : 0;
  if (f) {
    gst_structure_get_int(f, "width", w);
    gst_structure_get_int(f, "height", h);
  }
  if (*w < 1) *w = 1;
  if (*h < 1) *h = 1;
}

gint64 rv_gst_frame_time(GstBuffer *buf, const GstSegment *seg) {
  const GstStructure *f = rv_gst_frame_meta_get(buf);
  gint64 t;
  if (f && gst_structure_get_int64(f, "timestamp", &t)) return t;
  GstClockTime pts = GST_BUFFER_PTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return -1;
  GstClockTime st = seg && seg->format == GST_FORMAT_TIME
                        ? gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts)
                        : GST_CLOCK_TIME_NONE;
  return (gint64)(GST_CLOCK_TIME_IS_VALID(st) ? st : pts);
}

GstEvent *rv_gst_action_event_new(const rv_action_segment *s) {
  GstStructure *st = gst_structure_new(
      RV_GST_ACTION_EVENT, "track-id", G_TYPE_UINT64, (guint64)s->track_id, "label", G_TYPE_STRING,
      s->label_name ? s->label_name : "", "label-id", G_TYPE_INT, s->label, "start", G_TYPE_INT64,
      (gint64)s->start_ns, "end", G_TYPE_INT64, (gint64)s->end_ns, "score", G_TYPE_DOUBLE,
      (double)s->score, NULL);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, st);
}

gboolean rv_gst_action_event_parse(GstEvent *e, rv_action_segment *s) {
  if (GST_EVENT_TYPE(e) != GST_EVENT_CUSTOM_DOWNSTREAM ||
      !gst_event_has_name(e, RV_GST_ACTION_EVENT))
    return FALSE;
  const GstStructure *st = gst_event_get_structure(e);
  guint64 id = 0;
  gint64 start = 0, end = 0;
  double score = 0;
  memset(s, 0, sizeof *s);
  if (!gst_structure_get_uint64(st, "track-id", &id) ||
      !gst_structure_get_int64(st, "start", &start) || !gst_structure_get_int64(st, "end", &end) ||
      !gst_structure_get_double(st, "score", &score))
    return FALSE;
  gst_structure_get_int(st, "label-id", &s->label);
  s->track_id = id;
  s->label_name = gst_structure_get_string(st, "label");
  s->start_ns = start;
  s->end_ns = end;
  s->score = (float)score;
  return TRUE;
}

void rv_gst_post_error(GstElement *el, int status, const char *what) {
  const char *msg = rv_last_error();
  if (status == RV_ERR_NOT_FOUND)
    GST_ELEMENT_ERROR(el, RESOURCE, NOT_FOUND, ("%s: %s", what, msg), (NULL));
  else if (status == RV_ERR_IO)
    GST_ELEMENT_ERROR(el, RESOURCE, READ, ("%s: %s", what, msg), (NULL));
  else if (status == RV_ERR_INVALID || status == RV_ERR_UNSUPPORTED)
    GST_ELEMENT_ERROR(el, LIBRARY, SETTINGS, ("%s: %s", what, msg), (NULL));
  else if (status == RV_ERR_FORMAT)
    GST_ELEMENT_ERROR(el, STREAM, DECODE, ("%s: %s", what, msg), (NULL));
  else
    GST_ELEMENT_ERROR(el, LIBRARY, FAILED, ("%s: %s", what, msg), (NULL));
}

void rv_gst_add_pads(GstElementClass *ec, const char *caps, gboolean sink, gboolean src) {
  GstCaps *c = gst_caps_from_string(caps);
  if (sink)
    gst_element_class_add_pad_template(
        ec, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, c));
  if (src)
    gst_element_class_add_pad_template(ec,
                                       gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, c));
  gst_caps_unref(c);
}
