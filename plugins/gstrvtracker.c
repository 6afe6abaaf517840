/* rvtracker: ByteTrack over the ROI metas of any upstream element (rvencoder's, or another
 * detector's such as DL Streamer's gvadetect), with the library's tracker and action
 * segmenter (<ringvit/tracking.h>) as rv_pipeline runs them. Each tracked object's meta gets
 * the track's box (Kalman-filtered, or its detection's where the model's calibration says
 * "track-detection-boxes"), the id in its `id` field and an "object_id" structure;
 * detections no confirmed track took are removed, as `ringvit analyze` leaves them out.
 * Action segments leave as custom downstream events (RV_GST_ACTION_EVENT) once they close,
 * after the frame that closed them.
 *
 * Frames carrying rvencoder's frame meta are the analysed ones; until a frame meta is seen,
 * every frame is (other detectors mark nothing). */
#include <gst/base/gstbasetransform.h>

#include <ringvit/tracking.h>

#include "gstringvit.h"

GST_DEBUG_CATEGORY_STATIC(rv_tracker_debug);
#define GST_CAT_DEFAULT rv_tracker_debug

typedef struct GstRvTracker {
  GstBaseTransform parent;
  GstVideoInfo info;
  gboolean have_info;
  rv_tracking *trk;
  gboolean marked;       /* a frame meta has been seen: only marked frames are analysed */
  GstClockTime last_pts; /* of the last analysed frame */
  GQueue pending;        /* action events for after the current frame */
  GArray *objs;          /* rv_gst_object, this frame's */
  GArray *dets;          /* rv_detection, this frame's */
} GstRvTracker;

typedef struct GstRvTrackerClass {
  GstBaseTransformClass parent_class;
} GstRvTrackerClass;

G_DEFINE_TYPE(GstRvTracker, gst_rv_tracker, GST_TYPE_BASE_TRANSFORM)

static void reset(GstRvTracker *self) {
  rv_tracking_free(self->trk);
  self->trk = NULL;
  self->marked = FALSE;
  self->last_pts = GST_CLOCK_TIME_NONE;
  GstEvent *e;
  while ((e = g_queue_pop_head(&self->pending)))
    gst_event_unref(e);
}

/* The tracker, made at the first analysed frame: its rate and labels come from the frame
 * meta (rvencoder's) or the caps (any other detector). */
static rv_status open_tracking(GstRvTracker *self, const GstStructure *f) {
  rv_tracking_cfg cfg = {0};
  gboolean class_aware = TRUE;
  int dim = 0, ns = rv_gst_array_size(f, "scene-labels"), na = rv_gst_array_size(f, "action-labels");
  const char **scene = g_new0(const char *, ns + 1), **act = g_new0(const char *, na + 1);
  for (int i = 0; i < ns; i++)
    scene[i] = rv_gst_get_string(f, "scene-labels", i);
  for (int i = 0; i < na; i++)
    act[i] = rv_gst_get_string(f, "action-labels", i);
  if (!f || !gst_structure_get_double(f, "rate", &cfg.fps))
    cfg.fps = self->have_info && GST_VIDEO_INFO_FPS_D(&self->info) > 0
                  ? (double)GST_VIDEO_INFO_FPS_N(&self->info) / GST_VIDEO_INFO_FPS_D(&self->info)
                  : 0.0;
  if (f) gst_structure_get_int(f, "embedding-dim", &dim);
  if (f) gst_structure_get_boolean(f, "class-aware", &class_aware);
  cfg.class_aware = class_aware;
  if (f) rv_gst_get_tuning(f, &cfg.tuning);
  cfg.use_appearance = dim > 0;
  cfg.n_scene = ns;
  cfg.scene_labels = ns ? scene : NULL;
  cfg.n_track = na;
  cfg.track_labels = na ? act : NULL;
  rv_status st = rv_tracking_init(&cfg, &self->trk);
  g_free(scene);
  g_free(act);
  return st;
}

static void queue_segments(GstRvTracker *self) {
  const rv_action_segment *segs;
  int n = 0;
  rv_tracking_take(self->trk, &segs, &n);
  for (int i = 0; i < n; i++)
    g_queue_push_tail(&self->pending, rv_gst_action_event_new(&segs[i]));
}

static void send_pending(GstRvTracker *self) {
  GstEvent *e;
  while ((e = g_queue_pop_head(&self->pending)))
    gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(self), e);
}

/* This frame's objects: every ROI meta, read as detections in frame pixels. */
static void read_objects(GstRvTracker *self, GstBuffer *buf, int w, int h) {
  g_array_set_size(self->objs, 0);
  g_array_set_size(self->dets, 0);
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    rv_gst_object o = {0};
    o.meta = (GstVideoRegionOfInterestMeta *)m;
    g_array_append_val(self->objs, o);
  }
  g_array_set_size(self->dets, self->objs->len);
  for (guint i = 0; i < self->objs->len; i++) {
    rv_gst_object *o = &g_array_index(self->objs, rv_gst_object, i);
    rv_gst_object_read(o->meta, w, h, o);
    rv_detection *d = &g_array_index(self->dets, rv_detection, i);
    *d = (rv_detection){o->x1, o->y1, o->x2, o->y2, o->score, o->label_id,
                        o->emb_dim ? o->emb : NULL, o->emb_dim,
                        o->n_act ? o->act : NULL, o->n_act};
  }
}

static GstVideoRegionOfInterestMeta *copy_roi(GstBuffer *buf,
                                              const GstVideoRegionOfInterestMeta *m) {
  GstVideoRegionOfInterestMeta *c =
      gst_buffer_add_video_region_of_interest_meta_id(buf, m->roi_type, m->x, m->y, m->w, m->h);
  c->parent_id = m->parent_id;
  for (GList *l = m->params; l; l = l->next)
    gst_video_region_of_interest_meta_add_param(c, gst_structure_copy(l->data));
  return c;
}

/* The tracked objects' copies stay; the ROI metas read as detections go. */
static gboolean keep_tracked(GstBuffer *buf, GstMeta **m, gpointer user) {
  GHashTable *tracked = user;
  if ((*m)->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE &&
      !g_hash_table_contains(tracked, *m))
    *m = NULL;
  return TRUE;
}

static rv_status track_frame(GstRvTracker *self, GstBuffer *buf, const GstStructure *f) {
  rv_status st = RV_OK;
  int w, h;
  rv_gst_frame_size(buf, self->have_info ? &self->info : NULL, &w, &h);
  if (!self->trk) RV_TRY(open_tracking(self, f));
  read_objects(self, buf, w, h);
  float scene[RV_GST_MAX_FLOATS];
  int ns = rv_gst_get_floats(f, "scene", scene, RV_GST_MAX_FLOATS);
  const rv_track_out *tr = NULL;
  int nt = 0;
  RV_TRY(rv_tracking_frame(self->trk, rv_gst_frame_time(buf, &GST_BASE_TRANSFORM(self)->segment),
                           (const rv_detection *)self->dets->data, (int)self->dets->len,
                           ns ? scene : NULL, &tr, &nt));
  GHashTable *tracked = g_hash_table_new(NULL, NULL);
  for (int i = 0; i < nt; i++) { /* copies in the tracker's order, as `ringvit analyze` lists */
    GstVideoRegionOfInterestMeta *m =
        copy_roi(buf, g_array_index(self->objs, rv_gst_object, tr[i].det_index).meta);
    const float box[4] = {tr[i].x1, tr[i].y1, tr[i].x2, tr[i].y2};
    rv_gst_object_update(m, box, tr[i].id, w, h);
    g_hash_table_add(tracked, m);
  }
  gst_buffer_foreach_meta(buf, keep_tracked, tracked);
  g_hash_table_unref(tracked);
  queue_segments(self);
fail:
  return st;
}

static GstFlowReturn transform_ip(GstBaseTransform *bt, GstBuffer *buf) {
  GstRvTracker *self = (GstRvTracker *)bt;
  send_pending(self); /* segments closed by the previous frame follow it */
  const GstStructure *f = rv_gst_frame_meta_get(buf);
  self->marked |= f != NULL;
  if (self->marked && !f) return GST_FLOW_OK;
  gint64 t = rv_gst_frame_time(buf, &GST_BASE_TRANSFORM(self)->segment);
  GstClockTime pts = t >= 0 ? (GstClockTime)t : GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID(pts) ||
      (GST_CLOCK_TIME_IS_VALID(self->last_pts) && pts <= self->last_pts)) {
    GST_WARNING_OBJECT(self, "frame without a later timestamp: not tracked");
    return GST_FLOW_OK;
  }
  self->last_pts = pts;
  rv_status st = track_frame(self, buf, f);
  if (st < 0) {
    rv_gst_post_error(GST_ELEMENT(self), st, "rvtracker");
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean sink_event(GstBaseTransform *bt, GstEvent *e) {
  GstRvTracker *self = (GstRvTracker *)bt;
  switch (GST_EVENT_TYPE(e)) {
  case GST_EVENT_EOS:
    send_pending(self);
    if (self->trk && rv_tracking_finish(self->trk) == RV_OK) queue_segments(self);
    send_pending(self);
    rv_tracking_free(self->trk); /* a new stream may follow (after a flush) */
    self->trk = NULL;
    break;
  case GST_EVENT_FLUSH_STOP: reset(self); break;
  default: break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_rv_tracker_parent_class)->sink_event(bt, e);
}

static gboolean set_caps(GstBaseTransform *bt, GstCaps *in, GstCaps *out) {
  GstRvTracker *self = (GstRvTracker *)bt;
  self->have_info = gst_video_info_from_caps(&self->info, in);
  return TRUE;
}

static gboolean stop(GstBaseTransform *bt) {
  reset((GstRvTracker *)bt);
  return TRUE;
}

static void finalize(GObject *obj) {
  GstRvTracker *self = (GstRvTracker *)obj;
  reset(self);
  g_array_unref(self->objs);
  g_array_unref(self->dets);
  G_OBJECT_CLASS(gst_rv_tracker_parent_class)->finalize(obj);
}

static void gst_rv_tracker_class_init(GstRvTrackerClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bc = GST_BASE_TRANSFORM_CLASS(klass);
  oc->finalize = finalize;
  rv_gst_add_pads(ec, "video/x-raw(ANY)", TRUE, TRUE);
  gst_element_class_set_static_metadata(
      ec, "ringvit tracker", "Filter/Analyzer/Video",
      "ByteTrack over the GstVideoRegionOfInterestMeta of any upstream element: track ids in "
      "the metas, action segments as custom downstream events",
      "ringvit");
  bc->transform_ip = transform_ip;
  bc->sink_event = sink_event;
  bc->set_caps = set_caps;
  bc->stop = stop;
  bc->passthrough_on_same_caps = FALSE;
  bc->transform_ip_on_passthrough = FALSE;
  GST_DEBUG_CATEGORY_INIT(rv_tracker_debug, "rvtracker", 0, "ringvit tracker");
}

static void gst_rv_tracker_init(GstRvTracker *self) {
  g_queue_init(&self->pending);
  self->objs = g_array_new(FALSE, TRUE, sizeof(rv_gst_object));
  self->dets = g_array_new(FALSE, TRUE, sizeof(rv_detection));
  self->last_pts = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
