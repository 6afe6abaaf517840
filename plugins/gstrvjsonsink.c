/* rvjsonsink: the JSON Lines of DESIGN.md section 6 (the library's annotation writer, as
 * `ringvit analyze -o` writes them): one line per analysed frame with its ROI metas, one
 * per action event, each flushed whole. */
#include <gst/base/gstbasesink.h>

#include <ringvit/annot.h>
#include <ringvit/status.h>

#include "gstringvit.h"

GST_DEBUG_CATEGORY_STATIC(rv_json_sink_debug);
#define GST_CAT_DEFAULT rv_json_sink_debug

typedef struct GstRvJsonSink {
  GstBaseSink parent;
  gchar *location; /* under the object lock */
  GstVideoInfo info;
  gboolean have_info;
  rv_jsonl_writer *w;
  gboolean marked; /* a frame meta has been seen: only marked frames are written */
  gint64 frames;
  GArray *objs; /* rv_annot_object */
  GArray *read; /* rv_gst_object */
} GstRvJsonSink;

typedef struct GstRvJsonSinkClass {
  GstBaseSinkClass parent_class;
} GstRvJsonSinkClass;

G_DEFINE_TYPE(GstRvJsonSink, gst_rv_json_sink, GST_TYPE_BASE_SINK)

enum { PROP_0, PROP_LOCATION };

static void set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps) {
  GstRvJsonSink *self = (GstRvJsonSink *)obj;
  if (id != PROP_LOCATION) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    return;
  }
  GST_OBJECT_LOCK(self);
  g_free(self->location);
  self->location = g_value_dup_string(v);
  GST_OBJECT_UNLOCK(self);
}

static void get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps) {
  GstRvJsonSink *self = (GstRvJsonSink *)obj;
  if (id != PROP_LOCATION) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    return;
  }
  GST_OBJECT_LOCK(self);
  g_value_set_string(v, self->location);
  GST_OBJECT_UNLOCK(self);
}

static gboolean start(GstBaseSink *bs) {
  GstRvJsonSink *self = (GstRvJsonSink *)bs;
  GST_OBJECT_LOCK(self);
  gchar *path = g_strdup(self->location && self->location[0] ? self->location : "-");
  GST_OBJECT_UNLOCK(self);
  rv_status st = rv_jsonl_open(path, &self->w);
  if (st < 0)
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("rvjsonsink: %s", rv_last_error()), (NULL));
  g_free(path);
  self->marked = FALSE;
  self->frames = 0;
  return st >= 0;
}

static gboolean stop(GstBaseSink *bs) {
  GstRvJsonSink *self = (GstRvJsonSink *)bs;
  rv_status st = rv_jsonl_close(self->w);
  self->w = NULL;
  if (st < 0) rv_gst_post_error(GST_ELEMENT(self), st, "rvjsonsink: writing the output");
  return st >= 0;
}

static gboolean set_caps(GstBaseSink *bs, GstCaps *caps) {
  GstRvJsonSink *self = (GstRvJsonSink *)bs;
  self->have_info = gst_video_info_from_caps(&self->info, caps);
  return TRUE;
}

static GstFlowReturn render(GstBaseSink *bs, GstBuffer *buf) {
  GstRvJsonSink *self = (GstRvJsonSink *)bs;
  const GstStructure *f = rv_gst_frame_meta_get(buf);
  gint64 index = self->frames++;
  self->marked |= f != NULL;
  if (self->marked && !f) return GST_FLOW_OK;
  if (f) gst_structure_get_int64(f, "frame-index", &index);
  int w, h;
  rv_gst_frame_size(buf, self->have_info ? &self->info : NULL, &w, &h);
  g_array_set_size(self->read, 0);
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    g_array_set_size(self->read, self->read->len + 1);
    rv_gst_object_read((GstVideoRegionOfInterestMeta *)m, w, h,
                       &g_array_index(self->read, rv_gst_object, self->read->len - 1));
  }
  g_array_set_size(self->objs, self->read->len);
  for (guint i = 0; i < self->read->len; i++) {
    const rv_gst_object *o = &g_array_index(self->read, rv_gst_object, i);
    g_array_index(self->objs, rv_annot_object, i) =
        (rv_annot_object){o->id, o->x1, o->y1, o->x2, o->y2, o->score, o->label_id, o->label};
  }
  rv_annot_frame af = {rv_gst_frame_time(buf, &GST_BASE_SINK(self)->segment), index, w, h,
                       (const rv_annot_object *)self->objs->data, (int)self->objs->len};
  rv_status st = rv_jsonl_write_frame(self->w, &af);
  if (st < 0) {
    rv_gst_post_error(GST_ELEMENT(self), st, "rvjsonsink");
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean event(GstBaseSink *bs, GstEvent *e) {
  GstRvJsonSink *self = (GstRvJsonSink *)bs;
  rv_action_segment s;
  if (self->w && rv_gst_action_event_parse(e, &s)) {
    rv_status st = rv_jsonl_write_action(self->w, &s);
    if (st < 0) rv_gst_post_error(GST_ELEMENT(self), st, "rvjsonsink");
  }
  if (GST_EVENT_TYPE(e) == GST_EVENT_FLUSH_STOP) self->marked = FALSE;
  return GST_BASE_SINK_CLASS(gst_rv_json_sink_parent_class)->event(bs, e);
}

static void finalize(GObject *obj) {
  GstRvJsonSink *self = (GstRvJsonSink *)obj;
  rv_jsonl_close(self->w);
  g_free(self->location);
  g_array_unref(self->objs);
  g_array_unref(self->read);
  G_OBJECT_CLASS(gst_rv_json_sink_parent_class)->finalize(obj);
}

static void gst_rv_json_sink_class_init(GstRvJsonSinkClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *bc = GST_BASE_SINK_CLASS(klass);
  oc->set_property = set_property;
  oc->get_property = get_property;
  oc->finalize = finalize;
  g_object_class_install_property(
      oc, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "JSON Lines file to write (replaced); NULL or \"-\" = stdout", NULL,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  rv_gst_add_pads(ec, "video/x-raw(ANY)", TRUE, FALSE);
  gst_element_class_set_static_metadata(
      ec, "ringvit JSON Lines sink", "Sink/Metadata",
      "Writes the objects (GstVideoRegionOfInterestMeta) and action events of each analysed "
      "frame as JSON Lines with DL Streamer gvametaconvert's field names",
      "ringvit");
  bc->start = start;
  bc->stop = stop;
  bc->set_caps = set_caps;
  bc->render = render;
  bc->event = event;
  GST_DEBUG_CATEGORY_INIT(rv_json_sink_debug, "rvjsonsink", 0, "ringvit JSON Lines sink");
}

static void gst_rv_json_sink_init(GstRvJsonSink *self) {
  self->objs = g_array_new(FALSE, TRUE, sizeof(rv_annot_object));
  self->read = g_array_new(FALSE, TRUE, sizeof(rv_gst_object));
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE); /* a file: as fast as it comes */
}
