/* rvsrc: a source over the ingest library (DESIGN.md section 7): demux and decode with
 * FFmpeg (NVDEC when there), decoding only what sampling at `fps` takes where that is
 * lossless, and pushing the sampled frames with their exact presentation times — the fast
 * path for long files, where decodebin would decode every frame. At the source size the
 * frames go out as decoded (I420 or NV12, when downstream takes them), so rvencoder scales
 * the very planes `ringvit analyze` scales and the annotations are the same; otherwise, or
 * when width/height ask for another size, as RGB. */
#include <math.h>

#include <gst/base/gstpushsrc.h>

#include <ringvit/ingest.h>

#include "gstringvit.h"

GST_DEBUG_CATEGORY_STATIC(rv_src_debug);
#define GST_CAT_DEFAULT rv_src_debug

typedef struct GstRvSrc {
  GstPushSrc parent;
  /* properties, under the object lock */
  gchar *location;
  gdouble fps, start_s, end_s;
  gint width, height, hw;
  /* streaming */
  rv_ingest_cfg cfg; /* as opened, path = self->path */
  gchar *path;
  double origin_s; /* the input's first presentation time */
  rv_ingest *ing;
  const rv_ingest_batch *batch;
  int next;          /* frame of batch to push next */
  GstVideoInfo info; /* of the caps set last */
  gint fps_n, fps_d;
  gboolean caps_set;
  gboolean yuv_asked, yuv_ok; /* downstream was asked whether it takes the decoded format */
} GstRvSrc;

typedef struct GstRvSrcClass {
  GstPushSrcClass parent_class;
} GstRvSrcClass;

G_DEFINE_TYPE(GstRvSrc, gst_rv_src, GST_TYPE_PUSH_SRC)

enum { PROP_0, PROP_LOCATION, PROP_FPS, PROP_WIDTH, PROP_HEIGHT, PROP_HW, PROP_START, PROP_END };

static GType hw_type(void) {
  static GType t = 0;
  static const GEnumValue values[] = {
      {RV_HWACCEL_AUTO, "NVDEC when a GPU and the codec allow, else software", "auto"},
      {RV_HWACCEL_NONE, "software decoding", "none"},
      {RV_HWACCEL_CUDA, "NVDEC required (fails without it)", "cuda"},
      {0, NULL, NULL}};
  if (!t) t = g_enum_register_static("GstRvHwDecode", values);
  return t;
}

static void set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps) {
  GstRvSrc *self = (GstRvSrc *)obj;
  GST_OBJECT_LOCK(self);
  switch (id) {
  case PROP_LOCATION: g_free(self->location), self->location = g_value_dup_string(v); break;
  case PROP_FPS: self->fps = g_value_get_double(v); break;
  case PROP_WIDTH: self->width = g_value_get_int(v); break;
  case PROP_HEIGHT: self->height = g_value_get_int(v); break;
  case PROP_HW: self->hw = g_value_get_enum(v); break;
  case PROP_START: self->start_s = g_value_get_double(v); break;
  case PROP_END: self->end_s = g_value_get_double(v); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
  }
  GST_OBJECT_UNLOCK(self);
}

static void get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps) {
  GstRvSrc *self = (GstRvSrc *)obj;
  GST_OBJECT_LOCK(self);
  switch (id) {
  case PROP_LOCATION: g_value_set_string(v, self->location); break;
  case PROP_FPS: g_value_set_double(v, self->fps); break;
  case PROP_WIDTH: g_value_set_int(v, self->width); break;
  case PROP_HEIGHT: g_value_set_int(v, self->height); break;
  case PROP_HW: g_value_set_enum(v, self->hw); break;
  case PROP_START: g_value_set_double(v, self->start_s); break;
  case PROP_END: g_value_set_double(v, self->end_s); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
  }
  GST_OBJECT_UNLOCK(self);
}

/* Output size: as given, the other side from the source's aspect when one is 0, the
 * source's size when both are. */
static void output_size(const rv_ingest_info *in, int *w, int *h) {
  double aspect = in->height > 0 ? (double)in->width / in->height : 1.0;
  if (*w == 0 && *h == 0) *w = in->width, *h = in->height;
  if (*w == 0) *w = (int)fmax(2, 2 * lround(*h * aspect / 2));
  if (*h == 0) *h = (int)fmax(2, 2 * lround(*w / aspect / 2));
}

static gboolean start(GstBaseSrc *bs) {
  GstRvSrc *self = (GstRvSrc *)bs;
  rv_ingest_cfg cfg;
  rv_ingest_cfg_default(&cfg);
  cfg.patch = 0; /* frames only: rvencoder patchifies */
  GST_OBJECT_LOCK(self);
  gchar *path = g_strdup(self->location);
  cfg.fps = self->fps;
  cfg.start_s = self->start_s;
  cfg.end_s = self->end_s;
  cfg.hwaccel = self->hw;
  int w = self->width, h = self->height;
  GST_OBJECT_UNLOCK(self);
  cfg.path = path;
  cfg.resize = RV_RESIZE_STRETCH;
  rv_status st = path ? RV_OK : RV_FAIL(RV_ERR_INVALID, "no location set");
  if (st == RV_OK && (w == 0 || h == 0)) { /* the source size first: a probe open */
    cfg.width = cfg.height = 16;
    rv_ingest *probe = NULL;
    st = rv_ingest_open(&cfg, &probe);
    if (st == RV_OK) output_size(rv_ingest_get_info(probe), &w, &h);
    rv_ingest_close(probe);
  }
  cfg.width = w;
  cfg.height = h;
  GST_OBJECT_LOCK(self);
  cfg.keep_source = self->width == 0 && self->height == 0; /* frames may go out as decoded */
  GST_OBJECT_UNLOCK(self);
  if (st == RV_OK) st = rv_ingest_open(&cfg, &self->ing);
  if (st < 0) rv_gst_post_error(GST_ELEMENT(self), st, "rvsrc: cannot open the input");
  if (st < 0) {
    g_free(path);
    return FALSE;
  }
  g_free(self->path);
  self->path = path;
  self->cfg = cfg;
  const rv_ingest_info *in = rv_ingest_get_info(self->ing);
  self->origin_s = in->start_s;
  gst_util_double_to_fraction(cfg.fps > 0 ? cfg.fps : in->fps, &self->fps_n, &self->fps_d);
  self->batch = NULL;
  self->next = 0;
  self->caps_set = self->yuv_asked = self->yuv_ok = FALSE;
  return TRUE;
}

/* A seek opens the input again at the new start: ingest decodes from the keyframe before it
 * and samples from there, as `ringvit analyze --start` does. */
static gboolean do_seek(GstBaseSrc *bs, GstSegment *seg) {
  GstRvSrc *self = (GstRvSrc *)bs;
  if (!self->ing) return TRUE;
  GST_OBJECT_LOCK(self);
  double lo = self->start_s, hi = self->end_s;
  GST_OBJECT_UNLOCK(self);
  rv_ingest_cfg c = self->cfg;
  c.start_s = MAX(lo, (double)seg->start / GST_SECOND - self->origin_s);
  c.end_s =
      GST_CLOCK_TIME_IS_VALID(seg->stop) ? (double)seg->stop / GST_SECOND - self->origin_s : hi;
  if (hi > 0 && (c.end_s <= 0 || c.end_s > hi)) c.end_s = hi;
  seg->time = seg->start;
  if (c.start_s == self->cfg.start_s && c.end_s == self->cfg.end_s) return TRUE; /* as opened */
  rv_ingest *ing = NULL;
  rv_status st = rv_ingest_open(&c, &ing);
  if (st < 0) {
    rv_gst_post_error(GST_ELEMENT(self), st, "rvsrc: seeking");
    return FALSE;
  }
  rv_ingest_close(self->ing);
  self->ing = ing;
  if (self->yuv_ok) rv_ingest_skip_kept(ing, 1);
  self->cfg = c;
  self->batch = NULL;
  self->next = 0;
  return TRUE;
}

static gboolean is_seekable(GstBaseSrc *bs) { return TRUE; }

static gboolean stop(GstBaseSrc *bs) {
  GstRvSrc *self = (GstRvSrc *)bs;
  rv_ingest_close(self->ing);
  self->ing = NULL;
  self->batch = NULL;
  return TRUE;
}

/* Frame i's video info: as decoded where the ingest kept it and downstream takes that,
 * else RGB at the output size. */
static void frame_info(GstRvSrc *self, const rv_ingest_batch *b, int i, GstVideoInfo *vi) {
  const rv_image *img = b->source ? &b->source[i] : NULL;
  if (img && img->width > 0 && self->yuv_ok) {
    gst_video_info_set_format(
        vi, img->format == RV_PIXEL_NV12 ? GST_VIDEO_FORMAT_NV12 : GST_VIDEO_FORMAT_I420,
        (guint)img->width, (guint)img->height);
    vi->colorimetry.range =
        img->full_range ? GST_VIDEO_COLOR_RANGE_0_255 : GST_VIDEO_COLOR_RANGE_16_235;
    vi->colorimetry.matrix =
        img->bt709 ? GST_VIDEO_COLOR_MATRIX_BT709 : GST_VIDEO_COLOR_MATRIX_BT601;
    gst_util_double_to_fraction(img->sar > 0 ? img->sar : 1.0, &GST_VIDEO_INFO_PAR_N(vi),
                                &GST_VIDEO_INFO_PAR_D(vi));
  } else {
    gst_video_info_set_format(vi, GST_VIDEO_FORMAT_RGB, (guint)b->frames.shape[2],
                              (guint)b->frames.shape[1]);
  }
  GST_VIDEO_INFO_FPS_N(vi) = self->fps_n;
  GST_VIDEO_INFO_FPS_D(vi) = self->fps_d;
}

/* Asks downstream once whether it takes frame i as decoded. */
static void ask_yuv(GstRvSrc *self, const rv_ingest_batch *b, int i) {
  if (self->yuv_asked || !b->source || b->source[i].width == 0) return;
  self->yuv_asked = self->yuv_ok = TRUE;
  GstVideoInfo vi;
  frame_info(self, b, i, &vi);
  GstCaps *caps = gst_video_info_to_caps(&vi);
  self->yuv_ok = gst_pad_peer_query_accept_caps(GST_BASE_SRC_PAD(self), caps);
  gst_caps_unref(caps);
  if (self->yuv_ok) rv_ingest_skip_kept(self->ing, 1); /* RGB only for frames not kept */
}

/* Caps for frame i, set again when its format, size or colour differ from the last. */
static gboolean caps_for(GstRvSrc *self, const rv_ingest_batch *b, int i) {
  ask_yuv(self, b, i);
  GstVideoInfo vi;
  frame_info(self, b, i, &vi);
  if (self->caps_set && gst_video_info_is_equal(&vi, &self->info)) return TRUE;
  GstCaps *caps = gst_video_info_to_caps(&vi);
  self->caps_set = gst_base_src_set_caps(GST_BASE_SRC(self), caps);
  gst_caps_unref(caps);
  self->info = vi;
  return self->caps_set;
}

/* Plane rows of a kept I420 / NV12 frame into the mapped frame. */
static void copy_planes(GstVideoFrame *f, const rv_image *img) {
  const int nv12 = img->format == RV_PIXEL_NV12, cw = (img->width + 1) / 2;
  for (int p = 0; p < (nv12 ? 2 : 3); p++) {
    int rows = p ? (img->height + 1) / 2 : img->height;
    size_t bytes = (size_t)(p == 0 ? img->width : nv12 ? 2 * cw : cw);
    uint8_t *dst = GST_VIDEO_FRAME_PLANE_DATA(f, p);
    for (int y = 0; y < rows; y++)
      memcpy(dst + (size_t)y * GST_VIDEO_FRAME_PLANE_STRIDE(f, p),
             img->data[p] + (size_t)y * img->stride[p], bytes);
  }
}

/* One frame of the batch into a buffer laid out as the caps say (rows padded to 4 bytes). */
static GstBuffer *frame_buffer(GstRvSrc *self, const rv_ingest_batch *b, int i) {
  GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&self->info), NULL);
  GstVideoFrame f;
  if (!gst_video_frame_map(&f, &self->info, buf, GST_MAP_WRITE)) {
    gst_buffer_unref(buf);
    return NULL;
  }
  if (GST_VIDEO_INFO_FORMAT(&self->info) != GST_VIDEO_FORMAT_RGB) {
    copy_planes(&f, &b->source[i]);
  } else {
    int w = (int)b->frames.shape[2], h = (int)b->frames.shape[1];
    const uint8_t *src = (const uint8_t *)b->frames.data + (size_t)i * w * h * 3;
    for (int y = 0; y < h; y++)
      memcpy((uint8_t *)GST_VIDEO_FRAME_PLANE_DATA(&f, 0) +
                 (size_t)y * GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0),
             src + (size_t)y * w * 3, (size_t)w * 3);
  }
  gst_video_frame_unmap(&f);
  GST_BUFFER_PTS(buf) = (GstClockTime)b->pts_ns[i];
  GST_BUFFER_OFFSET(buf) = (guint64)b->frame_index[i];
  if (self->fps_n > 0)
    GST_BUFFER_DURATION(buf) =
        gst_util_uint64_scale(GST_SECOND, (guint64)self->fps_d, (guint64)self->fps_n);
  return buf;
}

static GstFlowReturn create(GstPushSrc *ps, GstBuffer **out) {
  GstRvSrc *self = (GstRvSrc *)ps;
  if (!self->batch || self->next >= self->batch->n - self->batch->n_pad) {
    rv_status st = rv_ingest_next(self->ing, &self->batch);
    self->next = 0;
    if (st == RV_EOF) return GST_FLOW_EOS;
    if (st < 0) {
      rv_gst_post_error(GST_ELEMENT(self), st, "rvsrc");
      return GST_FLOW_ERROR;
    }
  }
  if (!caps_for(self, self->batch, self->next)) return GST_FLOW_NOT_NEGOTIATED;
  *out = frame_buffer(self, self->batch, self->next++);
  return *out ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static void finalize(GObject *obj) {
  GstRvSrc *self = (GstRvSrc *)obj;
  rv_ingest_close(self->ing);
  g_free(self->location);
  g_free(self->path);
  G_OBJECT_CLASS(gst_rv_src_parent_class)->finalize(obj);
}

static void gst_rv_src_class_init(GstRvSrcClass *klass) {
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *bc = GST_BASE_SRC_CLASS(klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
  oc->set_property = set_property;
  oc->get_property = get_property;
  oc->finalize = finalize;
  g_object_class_install_property(
      oc, PROP_LOCATION,
      g_param_spec_string("location", "Location", "Video file or URL to read", NULL, rw));
  g_object_class_install_property(
      oc, PROP_FPS,
      g_param_spec_double("fps", "Sampling rate",
                          "Frames per second pushed, sampled by timestamp; 0 = every frame", 0.0,
                          1000.0, 0.0, rw));
  g_object_class_install_property(
      oc, PROP_WIDTH,
      g_param_spec_int("width", "Width",
                       "Output width; 0 = from the height and the source's "
                       "aspect, or the source's (both 0: frames go out as decoded, I420 or NV12, "
                       "when downstream takes them; else RGB)",
                       0, 8192, 0, rw));
  g_object_class_install_property(
      oc, PROP_HEIGHT,
      g_param_spec_int("height", "Height",
                       "Output height; 0 = from the width and the source's "
                       "aspect, or the source's",
                       0, 8192, 0, rw));
  g_object_class_install_property(oc, PROP_HW,
                                  g_param_spec_enum("hw-decode", "Hardware decoding",
                                                    "Use of NVDEC hardware decoding", hw_type(),
                                                    RV_HWACCEL_AUTO, rw));
  g_object_class_install_property(oc, PROP_START,
                                  g_param_spec_double("start", "Start",
                                                      "Seconds from the input's start to begin at",
                                                      0.0, 1e9, 0.0, rw));
  g_object_class_install_property(
      oc, PROP_END,
      g_param_spec_double("end", "End", "Seconds from the input's start to stop at; 0 = the end",
                          0.0, 1e9, 0.0, rw));
  rv_gst_add_pads(ec, GST_VIDEO_CAPS_MAKE("{ I420, NV12, RGB }"), FALSE, TRUE);
  gst_element_class_set_static_metadata(
      ec, "ringvit source", "Source/Video",
      "Decodes a video file with ringvit's ingest (FFmpeg, NVDEC), only the frames sampling "
      "takes, and pushes them with their presentation times (as decoded at the source size, "
      "else RGB)",
      "ringvit");
  bc->start = start;
  bc->stop = stop;
  bc->do_seek = do_seek;
  bc->is_seekable = is_seekable;
  GST_PUSH_SRC_CLASS(klass)->create = create;
  GST_DEBUG_CATEGORY_INIT(rv_src_debug, "rvsrc", 0, "ringvit source");
  gst_type_mark_as_plugin_api(hw_type(), 0);
}

static void gst_rv_src_init(GstRvSrc *self) {
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_live(GST_BASE_SRC(self), FALSE);
}
