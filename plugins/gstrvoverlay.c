/* rvoverlay: draws the objects of the ROI metas (box, track id, label, current action) and
 * the current scene actions on the frames, with cairo. Between analysed frames (rvencoder
 * analyses at its own rate) the last analysed frame's drawing stays. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>

#include <gst/video/gstvideofilter.h>

#include "gstringvit.h"

#define ACTIVE 0.5f /* an action probability at least this is drawn as current */

typedef struct drawn_object {
  float x1, y1, x2, y2;
  guint64 id;
  char text[96];
} drawn_object;

typedef struct GstRvOverlay {
  GstVideoFilter parent;
  GArray *objs; /* drawn_object: what the last analysed frame showed */
  char scene[160];
  gboolean marked;
} GstRvOverlay;

typedef struct GstRvOverlayClass {
  GstVideoFilterClass parent_class;
} GstRvOverlayClass;

G_DEFINE_TYPE(GstRvOverlay, gst_rv_overlay, GST_TYPE_VIDEO_FILTER)

/* The label of the most probable action at or above ACTIVE, or NULL. */
static const char *current(const GstStructure *f, const char *labels, const float *p, int n) {
  int best = -1;
  for (int i = 0; i < n; i++)
    if (p[i] >= ACTIVE && (best < 0 || p[i] > p[best])) best = i;
  return best >= 0 ? rv_gst_get_string(f, labels, best) : NULL;
}

/* What to draw, from an analysed frame (or any frame of a detector that marks none). */
static void remember(GstRvOverlay *self, GstBuffer *buf, const GstVideoInfo *vi) {
  const GstStructure *f = rv_gst_frame_meta_get(buf);
  int w, h;
  rv_gst_frame_size(buf, vi, &w, &h);
  double sx = (double)GST_VIDEO_INFO_WIDTH(vi) / w, sy = (double)GST_VIDEO_INFO_HEIGHT(vi) / h;
  g_array_set_size(self->objs, 0);
  gpointer state = NULL;
  GstMeta *m;
  rv_gst_object *o = g_new0(rv_gst_object, 1);
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    rv_gst_object_read((GstVideoRegionOfInterestMeta *)m, w, h, o);
    drawn_object d = {(float)(o->x1 * sx), (float)(o->y1 * sy), (float)(o->x2 * sx),
                      (float)(o->y2 * sy), o->id, ""};
    const char *act = current(f, "action-labels", o->act, MIN(o->n_act, RV_GST_MAX_FLOATS));
    if (o->id)
      g_snprintf(d.text, sizeof d.text, "#%" G_GUINT64_FORMAT " %s%s%s", o->id, o->label,
                 act ? " " : "", act ? act : "");
    else
      g_snprintf(d.text, sizeof d.text, "%s %.2f%s%s", o->label, o->score, act ? " " : "",
                 act ? act : "");
    g_array_append_val(self->objs, d);
  }
  g_free(o);
  float scene[RV_GST_MAX_FLOATS];
  int ns = MIN(rv_gst_get_floats(f, "scene", scene, RV_GST_MAX_FLOATS), RV_GST_MAX_FLOATS);
  self->scene[0] = 0;
  for (int i = 0; i < ns; i++) {
    const char *l = scene[i] >= ACTIVE ? rv_gst_get_string(f, "scene-labels", i) : NULL;
    if (l) g_strlcat(self->scene, l, sizeof self->scene), g_strlcat(self->scene, " ", sizeof self->scene);
  }
}

static void colour(cairo_t *cr, guint64 id) {
  static const double pal[8][3] = {{1, 0.2, 0.2}, {0.2, 1, 0.2}, {0.3, 0.5, 1}, {1, 1, 0.2},
                                   {1, 0.3, 1},   {0.2, 1, 1},   {1, 0.6, 0.2}, {0.7, 0.7, 0.7}};
  const double *c = pal[id % 8];
  cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

static void draw(GstRvOverlay *self, cairo_t *cr) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 12);
  cairo_set_line_width(cr, 2);
  for (guint i = 0; i < self->objs->len; i++) {
    const drawn_object *d = &g_array_index(self->objs, drawn_object, i);
    colour(cr, d->id);
    cairo_rectangle(cr, d->x1, d->y1, d->x2 - d->x1, d->y2 - d->y1);
    cairo_stroke(cr);
    cairo_move_to(cr, d->x1 + 2, d->y1 > 14 ? d->y1 - 3 : d->y1 + 13);
    cairo_show_text(cr, d->text);
  }
  if (self->scene[0]) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_move_to(cr, 6, 16);
    cairo_show_text(cr, self->scene);
  }
}

static GstFlowReturn transform_frame_ip(GstVideoFilter *vf, GstVideoFrame *frame) {
  GstRvOverlay *self = (GstRvOverlay *)vf;
  gboolean analysed = rv_gst_frame_meta_get(frame->buffer) != NULL;
  self->marked |= analysed;
  if (analysed || !self->marked) remember(self, frame->buffer, &frame->info);
  cairo_format_t fmt = GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_BGRA ? CAIRO_FORMAT_ARGB32
                                                                              : CAIRO_FORMAT_RGB24;
  cairo_surface_t *s = cairo_image_surface_create_for_data(
      GST_VIDEO_FRAME_PLANE_DATA(frame, 0), fmt, GST_VIDEO_FRAME_WIDTH(frame),
      GST_VIDEO_FRAME_HEIGHT(frame), GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0));
  cairo_t *cr = cairo_create(s);
  draw(self, cr);
  cairo_status_t cs = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  if (cs != CAIRO_STATUS_SUCCESS) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("rvoverlay: cairo: %s", cairo_status_to_string(cs)),
                      (NULL));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean sink_event(GstBaseTransform *bt, GstEvent *e) {
  GstRvOverlay *self = (GstRvOverlay *)bt;
  if (GST_EVENT_TYPE(e) == GST_EVENT_FLUSH_STOP) {
    g_array_set_size(self->objs, 0);
    self->scene[0] = 0;
    self->marked = FALSE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_rv_overlay_parent_class)->sink_event(bt, e);
}

static void finalize(GObject *obj) {
  g_array_unref(((GstRvOverlay *)obj)->objs);
  G_OBJECT_CLASS(gst_rv_overlay_parent_class)->finalize(obj);
}

static void gst_rv_overlay_class_init(GstRvOverlayClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  oc->finalize = finalize;
  rv_gst_add_pads(ec, GST_VIDEO_CAPS_MAKE("{ BGRx, BGRA }"), TRUE, TRUE);
  gst_element_class_set_static_metadata(
      ec, "ringvit overlay", "Filter/Effect/Video",
      "Draws the boxes, track ids, labels and current actions of the ROI metas (cairo)",
      "ringvit");
  GST_BASE_TRANSFORM_CLASS(klass)->sink_event = sink_event;
  GST_BASE_TRANSFORM_CLASS(klass)->passthrough_on_same_caps = FALSE;
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip = transform_frame_ip;
}

static void gst_rv_overlay_init(GstRvOverlay *self) {
  self->objs = g_array_new(FALSE, TRUE, sizeof(drawn_object));
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
