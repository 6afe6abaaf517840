/* rvencoder: video/x-raw in, the same frames out, with the model's detections (ROI metas)
 * and per-frame action scores (frame meta) on the frames it analyses (DESIGN.md sections
 * 6-7). A thin element over rv_pipeline's push mode (detect_only): sampling at `fps`,
 * scaling, patchify, encoder and heads are the library's; tracking is rvtracker's.
 *
 * stream: each sampled frame is encoded when it arrives (frame-causal, `context` seconds of
 *   history) and leaves with its results: the element holds nothing, and the latency it
 *   reports is its measured per-frame processing time. Late frames are dropped by the base
 *   class's QoS before they reach the model.
 * offline: bidirectional attention over the whole stream: frames are held until EOS, then
 *   leave with their results (for files; refused on live sources). */
#include <math.h>

#include <gst/base/gstbasetransform.h>

#include <ringvit/pipeline.h>

#include "gstringvit.h"

GST_DEBUG_CATEGORY_STATIC(rv_encoder_debug);
#define GST_CAT_DEFAULT rv_encoder_debug

#define CAPS GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, RGBx, BGRA, BGRx, I420, NV12 }")

typedef struct GstRvEncoder {
  GstBaseTransform parent;
  /* properties, under the object lock */
  gchar *model;
  gint device, gpus, mode;
  gdouble fps, context, window;
  gfloat threshold;
  /* streaming */
  GstVideoInfo info;
  gboolean have_info;
  rv_pipeline *pipe;
  rv_pipeline_info pinfo;
  gint64 frames;           /* buffers seen since start or flush: the frame index */
  GstClockTime last_pts;   /* of the last frame pushed into the model */
  GQueue held;             /* offline: frames waiting for EOS */
  guint64 held_bytes;
  GstClockTime latency;    /* stream: the processing time reported */
  GstClockTime worst_step; /* stream: the slowest analysed frame so far */
} GstRvEncoder;

typedef struct GstRvEncoderClass {
  GstBaseTransformClass parent_class;
} GstRvEncoderClass;

G_DEFINE_TYPE(GstRvEncoder, gst_rv_encoder, GST_TYPE_BASE_TRANSFORM)

enum { PROP_0, PROP_MODEL, PROP_DEVICE, PROP_GPUS, PROP_FPS, PROP_MODE, PROP_CONTEXT, PROP_WINDOW, PROP_THRESHOLD };

#define HELD_LIMIT_BYTES (4096ull << 20) /* offline: frames held at most, as the library's limit */

static GType device_type(void) {
  static GType t = 0;
  static const GEnumValue values[] = {
      {RV_DEVICE_AUTO, "CUDA when usable, else the CPU", "auto"},
      {RV_DEVICE_CPU, "CPU", "cpu"},
      {RV_DEVICE_CUDA, "CUDA (fails when the build or machine cannot)", "cuda"},
      {0, NULL, NULL}};
  if (!t) t = g_enum_register_static("GstRvDevice", values);
  return t;
}

static GType mode_type(void) {
  static GType t = 0;
  static const GEnumValue values[] = {
      {RV_MODE_STREAM, "frame-causal, bounded latency (live feeds)", "stream"},
      {RV_MODE_OFFLINE, "bidirectional over the whole stream; frames held until EOS", "offline"},
      {0, NULL, NULL}};
  if (!t) t = g_enum_register_static("GstRvMode", values);
  return t;
}

static void set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps) {
  GstRvEncoder *self = (GstRvEncoder *)obj;
  GST_OBJECT_LOCK(self);
  switch (id) {
  case PROP_MODEL: g_free(self->model), self->model = g_value_dup_string(v); break;
  case PROP_DEVICE: self->device = g_value_get_enum(v); break;
  case PROP_GPUS: self->gpus = g_value_get_int(v); break;
  case PROP_FPS: self->fps = g_value_get_double(v); break;
  case PROP_MODE: self->mode = g_value_get_enum(v); break;
  case PROP_CONTEXT: self->context = g_value_get_double(v); break;
  case PROP_WINDOW: self->window = g_value_get_double(v); break;
  case PROP_THRESHOLD: self->threshold = g_value_get_float(v); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
  }
  GST_OBJECT_UNLOCK(self);
}

static void get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps) {
  GstRvEncoder *self = (GstRvEncoder *)obj;
  GST_OBJECT_LOCK(self);
  switch (id) {
  case PROP_MODEL: g_value_set_string(v, self->model); break;
  case PROP_DEVICE: g_value_set_enum(v, self->device); break;
  case PROP_GPUS: g_value_set_int(v, self->gpus); break;
  case PROP_FPS: g_value_set_double(v, self->fps); break;
  case PROP_MODE: g_value_set_enum(v, self->mode); break;
  case PROP_CONTEXT: g_value_set_double(v, self->context); break;
  case PROP_WINDOW: g_value_set_double(v, self->window); break;
  case PROP_THRESHOLD: g_value_set_float(v, self->threshold); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
  }
  GST_OBJECT_UNLOCK(self);
}

static void drop_held(GstRvEncoder *self) {
  GstBuffer *b;
  while ((b = g_queue_pop_head(&self->held)))
    gst_buffer_unref(b);
  self->held_bytes = 0;
}

static void close_pipeline(GstRvEncoder *self) {
  rv_pipeline_close(self->pipe);
  self->pipe = NULL;
  drop_held(self);
}

/* (Re)opens the model for a new stream: at start, and after a flush. */
static gboolean open_pipeline(GstRvEncoder *self) {
  close_pipeline(self);
  rv_pipeline_cfg cfg;
  rv_pipeline_cfg_default(&cfg);
  GST_OBJECT_LOCK(self);
  gchar *model = g_strdup(self->model);
  cfg.device = self->device;
  cfg.fps = self->fps;
  cfg.mode = self->mode;
  cfg.context_s = self->context;
  cfg.window_s = self->window;
  cfg.threshold = self->threshold;
  gint gpus = self->gpus;
  GST_OBJECT_UNLOCK(self);
  cfg.model = model;
  cfg.push = 1;
  cfg.detect_only = 1;
  rv_status st = gpus > 1 ? RV_FAIL(RV_ERR_UNSUPPORTED,
                                    "gpus=%d: several GPUs need the NCCL ring, which this "
                                    "element does not drive yet (use gpus=1)",
                                    gpus)
                          : rv_pipeline_open(&cfg, &self->pipe);
  if (st < 0) rv_gst_post_error(GST_ELEMENT(self), st, "rvencoder: cannot open the model");
  g_free(model);
  if (st < 0) return FALSE;
  self->pinfo = rv_pipeline_get_info(self->pipe);
  self->frames = 0;
  self->last_pts = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static gboolean start(GstBaseTransform *bt) {
  GstRvEncoder *self = (GstRvEncoder *)bt;
  self->latency = self->worst_step = 0;
  return open_pipeline(self);
}

static gboolean stop(GstBaseTransform *bt) {
  close_pipeline((GstRvEncoder *)bt);
  return TRUE;
}

static gboolean set_caps(GstBaseTransform *bt, GstCaps *in, GstCaps *out) {
  GstRvEncoder *self = (GstRvEncoder *)bt;
  self->have_info = gst_video_info_from_caps(&self->info, in);
  return self->have_info;
}

static const char *const *labels(GstRvEncoder *self, rv_label_kind kind, int *n) {
  static const char *none[1];
  *n = rv_pipeline_label_count(self->pipe, kind);
  const char **v = g_new0(const char *, *n + 1);
  for (int i = 0; i < *n; i++) {
    v[i] = rv_pipeline_label(self->pipe, kind, i);
    if (!v[i]) v[i] = "";
  }
  return *n ? v : (g_free(v), none);
}

/* The frame meta: what was analysed, the scene scores and the names rvtracker needs. */
static void add_frame_meta(GstRvEncoder *self, GstBuffer *buf, const rv_frame_result *r) {
  GstStructure *s = rv_gst_frame_meta_add(buf);
  int ns = 0, na = 0;
  const char *const *scene = labels(self, RV_LABEL_SCENE_ACTION, &ns);
  const char *const *act = labels(self, RV_LABEL_TRACK_ACTION, &na);
  gst_structure_set(s, "frame-index", G_TYPE_INT64, (gint64)r->frame_index, "timestamp",
                    G_TYPE_INT64, (gint64)r->pts_ns, "rate", G_TYPE_DOUBLE, self->pinfo.rate,
                    "width", G_TYPE_INT, r->width, "height", G_TYPE_INT, r->height,
                    "embedding-dim", G_TYPE_INT, self->pinfo.emb_dim, "class-aware",
                    G_TYPE_BOOLEAN, self->pinfo.class_aware != 0, NULL);
  rv_gst_set_tuning(s, &self->pinfo.tuning);
  rv_gst_set_strings(s, "scene-labels", scene, ns);
  rv_gst_set_floats(s, "scene", r->scene, r->scene ? r->n_scene : 0);
  rv_gst_set_strings(s, "action-labels", act, na);
  if (ns) g_free((gpointer)scene);
  if (na) g_free((gpointer)act);
}

static void attach(GstRvEncoder *self, GstBuffer *buf, const rv_frame_result *r) {
  add_frame_meta(self, buf, r);
  for (int i = 0; i < r->n_objects; i++) {
    const rv_object *o = &r->objects[i];
    rv_gst_object g = {0};
    g.x1 = o->x, g.y1 = o->y, g.x2 = o->x + o->w, g.y2 = o->y + o->h;
    g.score = o->score;
    g.label_id = o->label_id;
    g.label = o->label;
    g.n_act = o->act ? MIN(o->n_act, RV_GST_MAX_FLOATS) : 0;
    g.emb_dim = o->emb ? MIN(o->emb_dim, RV_GST_MAX_FLOATS) : 0;
    if (g.n_act) memcpy(g.act, o->act, (size_t)g.n_act * sizeof *g.act);
    if (g.emb_dim) memcpy(g.emb, o->emb, (size_t)g.emb_dim * sizeof *g.emb);
    rv_gst_object_add(buf, &g, r->width, r->height);
  }
}

static gboolean image_of(const GstVideoFrame *f, rv_image *img) {
  static const struct {
    GstVideoFormat gst;
    rv_pixel_format rv;
  } map[] = {{GST_VIDEO_FORMAT_RGB, RV_PIXEL_RGB24},  {GST_VIDEO_FORMAT_BGR, RV_PIXEL_BGR24},
             {GST_VIDEO_FORMAT_RGBA, RV_PIXEL_RGBA},  {GST_VIDEO_FORMAT_RGBx, RV_PIXEL_RGBA},
             {GST_VIDEO_FORMAT_BGRA, RV_PIXEL_BGRA},  {GST_VIDEO_FORMAT_BGRx, RV_PIXEL_BGRA},
             {GST_VIDEO_FORMAT_I420, RV_PIXEL_I420},  {GST_VIDEO_FORMAT_NV12, RV_PIXEL_NV12}};
  const GstVideoInfo *vi = &f->info;
  memset(img, 0, sizeof *img);
  for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
    if (map[i].gst == GST_VIDEO_INFO_FORMAT(vi)) {
      img->format = map[i].rv;
      img->width = GST_VIDEO_INFO_WIDTH(vi);
      img->height = GST_VIDEO_INFO_HEIGHT(vi);
      for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(f) && p < 3; p++) {
        img->data[p] = GST_VIDEO_FRAME_PLANE_DATA(f, p);
        img->stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(f, p);
      }
      img->full_range = vi->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
      img->bt709 = vi->colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709;
      img->sar = GST_VIDEO_INFO_PAR_D(vi) > 0
                     ? (double)GST_VIDEO_INFO_PAR_N(vi) / GST_VIDEO_INFO_PAR_D(vi)
                     : 1.0;
      return TRUE;
    }
  return FALSE;
}

/* The frame into the model (when its time moves forward). */
static rv_status push_frame(GstRvEncoder *self, GstBuffer *buf) {
  gint64 t = rv_gst_frame_time(buf, &GST_BASE_TRANSFORM(self)->segment);
  GstClockTime pts = t >= 0 ? (GstClockTime)t : GST_CLOCK_TIME_NONE;
  /* the source's frame number where it says it (videotestsrc, rvsrc), else our count */
  gint64 index = GST_BUFFER_OFFSET_IS_VALID(buf) ? (gint64)GST_BUFFER_OFFSET(buf) : self->frames;
  self->frames++;
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return RV_FAIL(RV_ERR_INVALID, "frame %" G_GINT64_FORMAT " has no timestamp", index);
  if (GST_CLOCK_TIME_IS_VALID(self->last_pts) && pts <= self->last_pts) {
    GST_DEBUG_OBJECT(self, "frame at %" GST_TIME_FORMAT " is not after the last: not analysed",
                     GST_TIME_ARGS(pts));
    return RV_AGAIN;
  }
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &self->info, buf, GST_MAP_READ))
    return RV_FAIL(RV_ERR_INVALID, "cannot map frame %" G_GINT64_FORMAT, index);
  rv_image img;
  rv_status st = image_of(&frame, &img)
                     ? rv_pipeline_push(self->pipe, &img, (int64_t)pts, index)
                     : RV_FAIL(RV_ERR_UNSUPPORTED, "pixel format %s",
                               gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&self->info)));
  gst_video_frame_unmap(&frame);
  if (st == RV_OK) self->last_pts = pts;
  return st;
}

/* Reports a slower frame than any before as latency (stream mode), so that live sinks
 * wait for the results instead of dropping every frame as late. */
static void note_step(GstRvEncoder *self, GstClockTime took) {
  if (took <= self->worst_step) return;
  self->worst_step = took;
  if (took > self->latency + self->latency / 5) { /* grows by a fifth at least: few messages */
    GST_OBJECT_LOCK(self);
    self->latency = took + took / 4;
    GST_OBJECT_UNLOCK(self);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

static GstFlowReturn transform_ip(GstBaseTransform *bt, GstBuffer *buf) {
  GstRvEncoder *self = (GstRvEncoder *)bt;
  if (!self->have_info) return GST_FLOW_NOT_NEGOTIATED;
  gint64 t0 = g_get_monotonic_time();
  rv_status st = push_frame(self, buf);
  gboolean pushed = st == RV_OK;
  if (st < 0) goto fail;
  if (self->mode == RV_MODE_OFFLINE) { /* every frame waits, analysed or not, to keep order */
    self->held_bytes += gst_buffer_get_size(buf);
    if (self->held_bytes > HELD_LIMIT_BYTES) {
      st = RV_FAIL(RV_ERR_NOMEM, "mode=offline holds every frame until the end of the stream: "
                                 "over %llu MB held; use mode=stream",
                   HELD_LIMIT_BYTES >> 20);
      goto fail;
    }
    g_queue_push_tail(&self->held, gst_buffer_ref(buf));
    const rv_frame_result *r; /* the frame joins the context; results come at the end */
    if (pushed && (st = rv_pipeline_next(self->pipe, &r)) < 0) goto fail;
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  const rv_frame_result *r;
  while (st == RV_OK && (st = rv_pipeline_next(self->pipe, &r)) == RV_OK)
    attach(self, buf, r);
  if (st == RV_AGAIN && !pushed) return GST_FLOW_OK;
  if (st < 0) goto fail;
  note_step(self, (GstClockTime)(g_get_monotonic_time() - t0) * GST_USECOND);
  return GST_FLOW_OK;
fail:
  rv_gst_post_error(GST_ELEMENT(self), st, "rvencoder");
  return GST_FLOW_ERROR;
}

/* Offline, at EOS: the context is encoded, then every held frame leaves in order, each
 * analysed one with its results. */
static GstFlowReturn release_held(GstRvEncoder *self) {
  GstFlowReturn ret = GST_FLOW_OK;
  const rv_frame_result *r;
  rv_status st = rv_pipeline_push_end(self->pipe);
  while (st >= 0 && (st = rv_pipeline_next(self->pipe, &r)) == RV_OK) {
    GstBuffer *b;
    while ((b = g_queue_pop_head(&self->held))) {
      gboolean mine = rv_gst_frame_time(b, &GST_BASE_TRANSFORM(self)->segment) == r->pts_ns;
      b = gst_buffer_make_writable(b);
      if (mine) attach(self, b, r);
      if (ret == GST_FLOW_OK)
        ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), b);
      else
        gst_buffer_unref(b);
      if (mine) break;
    }
  }
  if (st < 0) {
    rv_gst_post_error(GST_ELEMENT(self), st, "rvencoder");
    ret = GST_FLOW_ERROR;
  }
  GstBuffer *b;
  while ((b = g_queue_pop_head(&self->held)))
    ret = ret == GST_FLOW_OK ? gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), b)
                             : (gst_buffer_unref(b), ret);
  self->held_bytes = 0;
  return ret;
}

static gboolean sink_event(GstBaseTransform *bt, GstEvent *e) {
  GstRvEncoder *self = (GstRvEncoder *)bt;
  switch (GST_EVENT_TYPE(e)) {
  case GST_EVENT_EOS:
    if (self->pipe && self->mode == RV_MODE_OFFLINE) release_held(self);
    break;
  case GST_EVENT_FLUSH_STOP: /* a seek: the history no longer precedes what comes */
    if (self->pipe && !open_pipeline(self)) {
      gst_event_unref(e);
      return FALSE;
    }
    break;
  default: break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_rv_encoder_parent_class)->sink_event(bt, e);
}

static gboolean query(GstBaseTransform *bt, GstPadDirection dir, GstQuery *q) {
  GstRvEncoder *self = (GstRvEncoder *)bt;
  if (dir != GST_PAD_SRC || GST_QUERY_TYPE(q) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(gst_rv_encoder_parent_class)->query(bt, dir, q);
  if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(bt), q)) return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  GST_OBJECT_LOCK(self);
  GstClockTime ours = self->mode == RV_MODE_STREAM ? self->latency : GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);
  if (!GST_CLOCK_TIME_IS_VALID(ours)) { /* offline: the whole stream */
    if (live) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                        ("rvencoder: mode=offline holds frames until the end of the stream "
                         "and cannot run on a live source; use mode=stream"),
                        (NULL));
      return FALSE;
    }
    gst_query_set_latency(q, live, min, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  GST_DEBUG_OBJECT(self, "latency: adding %" GST_TIME_FORMAT, GST_TIME_ARGS(ours));
  gst_query_set_latency(q, live, min, max);
  return TRUE;
}

static void finalize(GObject *obj) {
  GstRvEncoder *self = (GstRvEncoder *)obj;
  close_pipeline(self);
  g_free(self->model);
  G_OBJECT_CLASS(gst_rv_encoder_parent_class)->finalize(obj);
}

static void gst_rv_encoder_class_init(GstRvEncoderClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bc = GST_BASE_TRANSFORM_CLASS(klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
  oc->set_property = set_property;
  oc->get_property = get_property;
  oc->finalize = finalize;
  g_object_class_install_property(
      oc, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Model file (safetensors); NULL = the demo model ($RINGVIT_MODEL, the "
                          "installed copy, or the source tree's)",
                          NULL, rw));
  g_object_class_install_property(
      oc, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where the encoder runs", device_type(),
                        RV_DEVICE_AUTO, rw));
  g_object_class_install_property(
      oc, PROP_GPUS,
      g_param_spec_int("gpus", "GPUs", "GPUs the ring spans (1 = no ring)", 1, 16, 1, rw));
  g_object_class_install_property(
      oc, PROP_FPS,
      g_param_spec_double("fps", "Analysis rate",
                          "Frames per second analysed, sampled by timestamp; 0 = the model's",
                          0.0, 1000.0, 0.0, rw));
  g_object_class_install_property(
      oc, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "Temporal attention: stream (causal) or offline",
                        mode_type(), RV_MODE_STREAM, rw));
  g_object_class_install_property(
      oc, PROP_CONTEXT,
      g_param_spec_double("context", "Context",
                          "stream: seconds of history the encoder attends to; 0 = 60", 0.0,
                          86400.0, 60.0, rw));
  g_object_class_install_property(
      oc, PROP_WINDOW,
      g_param_spec_double("window", "Window",
                          "offline: +-seconds of temporal context (a band of frames; the past seconds for a "
                          "frame-causal model); 0 = the whole stream. Stream mode, and models with a sliding "
                          "window of their own or no temporal attention, refuse it at start", 0.0,
                          86400.0, 0.0, rw));
  g_object_class_install_property(
      oc, PROP_THRESHOLD,
      g_param_spec_float("threshold", "Threshold",
                         "Detection confidence threshold; 0 = the model's calibrated one (its "
                         "tracking.detect_thresh), else 0.3",
                         0.0f, 0.99f, 0.0f, rw));
  rv_gst_add_pads(ec, CAPS, TRUE, TRUE);
  gst_element_class_set_static_metadata(
      ec, "ringvit encoder", "Filter/Analyzer/Video",
      "Runs a ringvit ViT (ring attention over time) on the frames: detections as "
      "GstVideoRegionOfInterestMeta, per-frame action scores",
      "ringvit");
  bc->start = start;
  bc->stop = stop;
  bc->set_caps = set_caps;
  bc->transform_ip = transform_ip;
  bc->sink_event = sink_event;
  bc->query = query;
  bc->passthrough_on_same_caps = FALSE;
  GST_DEBUG_CATEGORY_INIT(rv_encoder_debug, "rvencoder", 0, "ringvit encoder");
  gst_type_mark_as_plugin_api(device_type(), 0);
  gst_type_mark_as_plugin_api(mode_type(), 0);
}

static void gst_rv_encoder_init(GstRvEncoder *self) {
  self->gpus = 1;
  self->context = 60.0;
  self->threshold = 0.0f;
  self->mode = RV_MODE_STREAM;
  g_queue_init(&self->held);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
