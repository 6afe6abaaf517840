/* The plugin's elements under GstHarness, registered statically (nothing installed): caps,
 * properties, metas in and out, sampling, EOS and flush, QoS drops, caps renegotiation,
 * errors, and each element's own job (tracking foreign metas, JSON lines, the source's
 * timestamps, the overlay's drawing). argv[1]: the `ringvit` command (to make a video). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <jansson.h>

#include "gstringvit.h"
#include "rv-schema.h"
#include "rv-test.h"

static const char *ringvit_cmd;
static char model[1024];

#define FRAME_NS (GST_SECOND / 30)

/* A frame of the caps' format with a moving bright square (so the model sees something). */
static GstBuffer *make_frame(const GstVideoInfo *vi, int k, GstClockTime pts) {
  GstBuffer *b = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(vi), NULL);
  GstVideoFrame f;
  g_assert(gst_video_frame_map(&f, vi, b, GST_MAP_WRITE));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&f); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA(&f, p);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, p), rows = GST_VIDEO_FRAME_COMP_HEIGHT(&f, p);
    for (int y = 0; y < rows; y++)
      for (int x = 0; x < stride; x++)
        d[y * stride + x] = (guint8)((x / 8 + y / 8 + k) % 2 ? 200 : 40);
  }
  gst_video_frame_unmap(&f);
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DURATION(b) = FRAME_NS;
  return b;
}

static GstHarness *encoder(const char *caps, GstVideoInfo *vi) {
  char *launch = g_strdup_printf("rvencoder model=%s", model);
  GstHarness *h = gst_harness_new_parse(launch);
  g_free(launch);
  gst_harness_set_src_caps_str(h, caps);
  GstCaps *c = gst_caps_from_string(caps);
  assert_true(gst_video_info_from_caps(vi, c));
  gst_caps_unref(c);
  return h;
}

static int count_rois(GstBuffer *b) {
  int n = 0;
  gpointer st = NULL;
  while (gst_buffer_iterate_meta_filtered(b, &st, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    n++;
  return n;
}

/* Every ROI meta of an analysed frame follows DESIGN.md section 6. */
static void check_rois(GstBuffer *b, int w, int h) {
  gpointer st = NULL;
  GstMeta *m;
  while (
      (m = gst_buffer_iterate_meta_filtered(b, &st, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *r = (GstVideoRegionOfInterestMeta *)m;
    GstStructure *d = gst_video_region_of_interest_meta_get_param(r, "detection");
    assert_non_null(d);
    double x1, y1, x2, y2, conf;
    int label_id;
    assert_true(gst_structure_get_double(d, "x_min", &x1) &&
                gst_structure_get_double(d, "y_min", &y1));
    assert_true(gst_structure_get_double(d, "x_max", &x2) &&
                gst_structure_get_double(d, "y_max", &y2));
    assert_true(gst_structure_get_double(d, "confidence", &conf));
    assert_true(gst_structure_get_int(d, "label_id", &label_id));
    assert_true(x1 < x2 && y1 < y2 && x1 > -0.5 && x2 < 1.5);
    assert_true(conf >= 0.3 && conf <= 1.0); /* the default threshold */
    assert_true(label_id == 0 || label_id == 1);
    assert_string_equal(g_quark_to_string(r->roi_type), label_id ? "vehicle" : "person");
    assert_true(r->x + r->w <= (guint)w && r->y + r->h <= (guint)h);
  }
}

static void test_static_registration(void **state) {
  static const char *names[] = {"rvencoder", "rvtracker", "rvjsonsink", "rvsrc", "rvoverlay"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    GstElementFactory *f = gst_element_factory_find(names[i]);
    assert_non_null(f);
    gst_object_unref(f);
  }
}

/* Every property says what it is, with a default inside its range. */
static void test_properties_documented(void **state) {
  static const char *names[] = {"rvencoder", "rvtracker", "rvjsonsink", "rvsrc", "rvoverlay"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    GstElement *e = gst_element_factory_make(names[i], NULL);
    guint n = 0;
    GParamSpec **ps = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
    for (guint k = 0; k < n; k++) {
      if (ps[k]->owner_type != G_OBJECT_TYPE(e)) continue;
      assert_true(strlen(g_param_spec_get_blurb(ps[k])) > 10);
      GValue v = G_VALUE_INIT;
      g_value_init(&v, ps[k]->value_type);
      g_object_get_property(G_OBJECT(e), ps[k]->name, &v);
      assert_false(g_param_value_validate(ps[k], &v)); /* the default is valid as it is */
      assert_true(g_param_value_defaults(ps[k], &v));
      g_value_unset(&v);
    }
    g_free(ps);
    gst_object_unref(e);
  }
  GstElement *e = gst_element_factory_make("rvencoder", NULL);
  double fps, context;
  float thr;
  int gpus, mode;
  g_object_get(e, "fps", &fps, "context", &context, "threshold", &thr, "gpus", &gpus, "mode", &mode,
               NULL);
  assert_true(fps == 0.0 && context == 60.0 && gpus == 1 && mode == 1 /* stream */);
  assert_float_equal(thr, 0.0f, 1e-6); /* the model's calibration, else 0.3 */
  GParamSpecDouble *pf =
      (GParamSpecDouble *)g_object_class_find_property(G_OBJECT_GET_CLASS(e), "fps");
  assert_true(pf->minimum == 0.0 && pf->maximum == 1000.0);
  gst_util_set_object_arg(G_OBJECT(e), "mode", "offline");
  g_object_get(e, "mode", &mode, NULL);
  assert_int_equal(mode, 0);
  gst_object_unref(e);
}

/* Each input format: frames leave unchanged, the analysed ones (2 fps of 30) with ROI
 * metas and a frame meta carrying the scene scores. */
static void test_encoder_formats_and_sampling(void **state) {
  static const char *formats[] = {"RGB", "BGR", "RGBA", "BGRx", "I420", "NV12"};
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
    char caps[160];
    g_snprintf(caps, sizeof caps, "video/x-raw,format=%s,width=64,height=48,framerate=30/1",
               formats[i]);
    GstVideoInfo vi;
    GstHarness *h = encoder(caps, &vi);
    int analysed = 0;
    for (int k = 0; k < 31; k++) {
      GstBuffer *in = make_frame(&vi, k, (GstClockTime)k * FRAME_NS);
      GstMapInfo a;
      gst_buffer_map(in, &a, GST_MAP_READ);
      guint8 *copy = g_memdup2(a.data, a.size);
      gst_buffer_unmap(in, &a);
      assert_int_equal(gst_harness_push(h, in), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull(h);
      assert_int_equal(gst_buffer_memcmp(out, 0, copy, gst_buffer_get_size(out)), 0);
      g_free(copy);
      const GstStructure *f = rv_gst_frame_meta_get(out);
      /* 2 fps by timestamp: frames 0, 15 and 30 */
      assert_int_equal(f != NULL, k % 15 == 0);
      if (f) {
        analysed++;
        float scene[8];
        assert_int_equal(rv_gst_get_floats(f, "scene", scene, 8), 3);
        assert_int_equal(rv_gst_array_size(f, "scene-labels"), 3);
        assert_string_equal(rv_gst_get_string(f, "scene-labels", 0), "crowd");
        assert_true(count_rois(out) > 0); /* the busy model always reports objects */
        check_rois(out, 64, 48);
      } else {
        assert_int_equal(count_rois(out), 0);
      }
      gst_buffer_unref(out);
    }
    assert_int_equal(analysed, 3);
    gst_harness_teardown(h);
  }
}

/* A flush restarts the stream (timestamps from 0 again are analysed); EOS passes. */
static void test_encoder_flush_eos_renegotiation(void **state) {
  GstVideoInfo vi;
  GstHarness *h = encoder("video/x-raw,format=RGB,width=64,height=48,framerate=30/1", &vi);
  for (int k = 0; k < 20; k++)
    gst_harness_push(h, make_frame(&vi, k, (GstClockTime)k * FRAME_NS));
  for (int k = 0; k < 20; k++)
    gst_buffer_unref(gst_harness_pull(h));
  assert_true(gst_harness_push_event(h, gst_event_new_flush_start()));
  assert_true(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  assert_true(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  /* a new size and format after the flush */
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=96,height=64,framerate=30/1");
  GstCaps *c = gst_caps_from_string("video/x-raw,format=I420,width=96,height=64,framerate=30/1");
  gst_video_info_from_caps(&vi, c);
  gst_caps_unref(c);
  gst_harness_push(h, make_frame(&vi, 0, 0));
  GstBuffer *out = gst_harness_pull(h);
  assert_non_null(rv_gst_frame_meta_get(out));
  int w = 0;
  gst_structure_get_int(rv_gst_frame_meta_get(out), "width", &w);
  assert_int_equal(w, 96);
  check_rois(out, 96, 64);
  gst_buffer_unref(out);
  assert_true(gst_harness_push_event(h, gst_event_new_eos()));
  GstEvent *e;
  gboolean eos = FALSE;
  while ((e = gst_harness_try_pull_event(h))) {
    eos |= GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  assert_true(eos);
  gst_harness_teardown(h);
}

/* Offline: frames wait for EOS, then all leave in order with their results. */
static void test_encoder_offline_holds_until_eos(void **state) {
  GstVideoInfo vi;
  char *launch = g_strdup_printf("rvencoder mode=offline model=%s", model);
  GstHarness *h = gst_harness_new_parse(launch);
  g_free(launch);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  GstCaps *c = gst_caps_from_string("video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  gst_video_info_from_caps(&vi, c);
  gst_caps_unref(c);
  for (int k = 0; k < 40; k++)
    assert_int_equal(gst_harness_push(h, make_frame(&vi, k, (GstClockTime)k * FRAME_NS)),
                     GST_FLOW_OK);
  assert_int_equal(gst_harness_buffers_received(h), 0);
  gst_harness_push_event(h, gst_event_new_eos());
  assert_int_equal(gst_harness_buffers_received(h), 40);
  for (int k = 0; k < 40; k++) {
    GstBuffer *out = gst_harness_pull(h);
    assert_int_equal(GST_BUFFER_PTS(out), (GstClockTime)k * FRAME_NS);
    assert_int_equal(rv_gst_frame_meta_get(out) != NULL, k % 15 == 0);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

/* Frames already late by the sink's QoS report are dropped before the model sees them. */
static void test_encoder_qos_drops_late_frames(void **state) {
  GstVideoInfo vi;
  GstHarness *h = encoder("video/x-raw,format=RGB,width=64,height=48,framerate=30/1", &vi);
  gst_harness_push(h, make_frame(&vi, 0, 0));
  gst_buffer_unref(gst_harness_pull(h));
  /* the sink: the frame at 0 came 1 s late */
  assert_true(gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 2.0, GST_SECOND, 0)));
  for (int k = 1; k < 30; k++) /* up to 1 s: all behind what the sink can still show */
    gst_harness_push(h, make_frame(&vi, k, (GstClockTime)k * FRAME_NS));
  assert_int_equal(gst_harness_buffers_received(h), 1);
  gst_harness_push(h, make_frame(&vi, 200, 10 * GST_SECOND));
  assert_int_equal(gst_harness_buffers_received(h), 2);
  GstBuffer *out = gst_harness_pull(h);
  assert_non_null(rv_gst_frame_meta_get(out)); /* the model runs again on what is in time */
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

/* Starting the element fails with an element error whose text contains `needle`. */
static void expect_start_error(const char *launch, GQuark domain, int code, const char *needle) {
  GstElement *e = gst_parse_launch(launch, NULL);
  assert_non_null(e);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  assert_int_equal(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  assert_non_null(m);
  GError *err = NULL;
  gst_message_parse_error(m, &err, NULL);
  assert_true(g_error_matches(err, domain, code));
  assert_non_null(strstr(err->message, needle));
  g_error_free(err);
  gst_message_unref(m);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_bus_set_flushing(bus, TRUE); /* the other messages hold the element */
  gst_element_set_bus(e, NULL);
  gst_object_unref(bus);
  gst_object_unref(e);
}

/* Stream mode adds its measured analysis time to upstream's latency, nothing before the
 * first analysed frame. */
static void test_encoder_latency_query(void **state) {
  GstVideoInfo vi;
  GstHarness *h = encoder("video/x-raw,format=RGB,width=64,height=48,framerate=30/1", &vi);
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  assert_int_equal(gst_harness_query_latency(h), 10 * GST_MSECOND);
  gst_harness_push(h, make_frame(&vi, 0, 0));
  gst_buffer_unref(gst_harness_pull(h));
  GstClockTime l = gst_harness_query_latency(h);
  assert_true(l > 10 * GST_MSECOND && l < 10 * GST_SECOND);
  gst_harness_teardown(h);
}

static void test_encoder_missing_model_is_an_error(void **state) {
  expect_start_error("rvencoder model=/nonexistent/model.safetensors", GST_RESOURCE_ERROR,
                     GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/model.safetensors");
}

/* Another detector's metas (no structures of ours): tracked, one id per object. */
static GstBuffer *foreign_frame(int k, gboolean with_frame_meta, float scene_score) {
  GstBuffer *b = gst_buffer_new_allocate(NULL, 64, NULL);
  GST_BUFFER_PTS(b) = (GstClockTime)k * GST_SECOND / 2;
  gst_buffer_add_video_region_of_interest_meta(b, "car", 10 + 4 * k, 20, 40, 30);
  gst_buffer_add_video_region_of_interest_meta(b, "car", 200 - 3 * k, 100, 50, 40);
  if (with_frame_meta) {
    GstStructure *s = rv_gst_frame_meta_add(b);
    const char *labels[] = {"crowd"};
    float p[1] = {scene_score};
    gst_structure_set(s, "rate", G_TYPE_DOUBLE, 2.0, "width", G_TYPE_INT, 320, "height", G_TYPE_INT,
                      240, NULL);
    rv_gst_set_strings(s, "scene-labels", labels, 1);
    rv_gst_set_floats(s, "scene", p, 1);
  }
  return b;
}

static void test_tracker_foreign_metas_and_action_events(void **state) {
  GstHarness *h = gst_harness_new("rvtracker");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=2/1");
  guint64 ids[2] = {0, 0};
  int actions = 0;
  for (int k = 0; k < 16; k++) {
    /* the scene is "crowd" from 1 s to 4 s */
    gst_harness_push(h, foreign_frame(k, TRUE, k >= 2 && k < 8 ? 0.95f : 0.05f));
    GstBuffer *out = gst_harness_pull(h);
    assert_int_equal(count_rois(out), 2);
    gpointer st = NULL;
    GstMeta *m;
    for (int i = 0; (m = gst_buffer_iterate_meta_filtered(
                         out, &st, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE));
         i++) {
      GstVideoRegionOfInterestMeta *r = (GstVideoRegionOfInterestMeta *)m;
      GstStructure *oid = gst_video_region_of_interest_meta_get_param(r, "object_id");
      guint64 id = 0;
      assert_non_null(oid);
      assert_true(gst_structure_get_uint64(oid, "id", &id));
      assert_int_equal((guint64)r->id, id);
      int slot = r->x < 120 && k < 10 ? 0 : r->x >= 120 ? 1 : 0;
      if (!ids[slot]) ids[slot] = id;
      assert_int_equal(id, ids[slot]); /* one id per object throughout */
    }
    gst_buffer_unref(out);
    GstEvent *e;
    while ((e = gst_harness_try_pull_event(h))) {
      rv_action_segment s;
      if (rv_gst_action_event_parse(e, &s)) {
        actions++;
        assert_string_equal(s.label_name, "crowd");
        assert_int_equal(s.track_id, 0);
        assert_true(s.start_ns >= 500000000LL && s.start_ns <= 1500000000LL);
        assert_true(s.end_ns >= 3500000000LL && s.end_ns <= 5000000000LL);
      }
      gst_event_unref(e);
    }
  }
  assert_true(ids[0] != ids[1]);
  assert_int_equal(actions, 1);
  gst_harness_teardown(h);
}

/* The ids rvtracker gives one object seen 2 s, hidden 2 s (analysed frames without it), seen
 * again, with `lost_s` (0 = none) as rvencoder passes a model's calibration on. */
static void gap_ids(double lost_s, guint64 *first, guint64 *last) {
  GstHarness *h = gst_harness_new("rvtracker");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=2/1");
  rv_track_tuning in = {.high_thresh = 0.4f,
                        .low_thresh = 0.05f,
                        .new_track_thresh = 0.45f,
                        .lost_s = lost_s,
                        .action_on = 0.7f,
                        .action_gap_s = 2.5,
                        .unconfirmed_match_thresh = 0.9f,
                        .reid_thresh = 0.05f,
                        .detection_boxes = 1},
                  back = {0};
  for (int k = 0; k < 12; k++) {
    GstBuffer *b = gst_buffer_new_allocate(NULL, 64, NULL);
    GST_BUFFER_PTS(b) = (GstClockTime)k * GST_SECOND / 2;
    if (k < 4 || k >= 8)
      gst_buffer_add_video_region_of_interest_meta(b, "car", 10 + 4 * k, 20, 40, 30);
    GstStructure *s = rv_gst_frame_meta_add(b);
    gst_structure_set(s, "rate", G_TYPE_DOUBLE, 2.0, NULL);
    rv_gst_set_tuning(s, &in);
    rv_gst_get_tuning(s, &back);
    assert_true(back.new_track_thresh == in.new_track_thresh && back.lost_s == in.lost_s &&
                back.action_on == in.action_on && back.action_gap_s == in.action_gap_s &&
                back.action_off == 0 && back.unconfirmed_match_thresh == 0.9f &&
                back.reid_thresh == 0.05f && back.match_thresh == 0 && back.detection_boxes == 1);
    gst_harness_push(h, b);
    GstBuffer *out = gst_harness_pull(h);
    gpointer st = NULL;
    GstMeta *m =
        gst_buffer_iterate_meta_filtered(out, &st, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
    guint64 id = m ? (guint64)((GstVideoRegionOfInterestMeta *)m)->id : 0;
    if (k == 3) *first = id;
    if (k == 11) *last = id;
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

static void test_tracker_takes_model_tuning(void **state) {
  guint64 a, b;
  gap_ids(0, &a, &b);
  assert_true(a != 0 && b != 0 && a != b); /* ByteTrack's 1 s: a new id */
  gap_ids(3.0, &a, &b);
  assert_true(a != 0 && a == b); /* kept 3 s: the same id */
}

/* Frames without the frame meta between analysed ones are not tracked (their objects would
 * be missing, not gone). */
static void test_tracker_only_analysed_frames(void **state) {
  GstHarness *h = gst_harness_new("rvtracker");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=2/1");
  gst_harness_push(h, foreign_frame(0, TRUE, 0));
  GstBuffer *out = gst_harness_pull(h);
  assert_int_equal(count_rois(out), 2);
  gst_buffer_unref(out);
  GstBuffer *plain = gst_buffer_new_allocate(NULL, 64, NULL);
  GST_BUFFER_PTS(plain) = GST_SECOND / 4;
  gst_harness_push(h, plain);
  out = gst_harness_pull(h);
  assert_int_equal(count_rois(out), 0);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

static void test_jsonsink_lines(void **state) {
  char path[] = "/tmp/rv-gst-sink-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  char *launch = g_strdup_printf("rvjsonsink location=%s", path);
  GstHarness *h = gst_harness_new_parse(launch);
  g_free(launch);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=2/1");
  GstHarness *t = gst_harness_new("rvtracker");
  gst_harness_set_src_caps_str(t, "video/x-raw,format=RGB,width=320,height=240,framerate=2/1");
  for (int k = 0; k < 3; k++) {
    gst_harness_push(t, foreign_frame(k, TRUE, 0.0f));
    assert_int_equal(gst_harness_push(h, gst_harness_pull(t)), GST_FLOW_OK);
  }
  rv_action_segment seg = {3, 1, "run", 500000000LL, 1000000000LL, 0.75f};
  assert_true(gst_harness_push_event(h, rv_gst_action_event_new(&seg)));
  gst_harness_teardown(t);
  gst_harness_teardown(h); /* closes the file */
  json_t *schema = rv_schema_load();
  FILE *f = fopen(path, "r");
  char line[65536];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_true(rv_schema_valid(schema, schema, j));
    if (n < 3) {
      assert_int_equal(json_integer_value(json_object_get(j, "timestamp")), n * 500000000LL);
      json_t *objs = json_object_get(j, "objects");
      assert_int_equal(json_array_size(objs), 2);
      json_t *o = json_array_get(objs, 0);
      assert_string_equal(json_string_value(json_object_get(o, "roi_type")), "car");
      assert_true(json_integer_value(json_object_get(o, "id")) >= 1);
      assert_int_equal(
          json_integer_value(json_object_get(json_object_get(j, "resolution"), "width")), 320);
    } else {
      assert_string_equal(json_string_value(json_object_get(j, "event")), "action");
      assert_string_equal(json_string_value(json_object_get(j, "label")), "run");
      assert_int_equal(json_integer_value(json_object_get(j, "track_id")), 3);
    }
    json_decref(j);
    n++;
  }
  fclose(f);
  assert_int_equal(n, 4);
  json_decref(schema);
  unlink(path);
}

static void test_jsonsink_bad_location_is_an_error(void **state) {
  expect_start_error("rvjsonsink location=/nonexistent-dir/out.jsonl", GST_RESOURCE_ERROR,
                     GST_RESOURCE_ERROR_OPEN_WRITE, "/nonexistent-dir/out.jsonl");
}

/* The first frame's caps and size from `launch`, with the harness sink taking `sink_caps`. */
static void first_frame(const char *launch, const char *sink_caps, GstVideoInfo *vi, gsize *size) {
  GstHarness *h = gst_harness_new_parse(launch);
  gst_harness_set_sink_caps_str(h, sink_caps);
  gst_harness_play(h);
  GstBuffer *b = gst_harness_pull(h);
  assert_non_null(b);
  *size = gst_buffer_get_size(b);
  gst_buffer_unref(b);
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  assert_true(gst_video_info_from_caps(vi, caps));
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}

/* At the source size rvsrc passes frames on as decoded (I420, limited range, BT.601 as synth
 * writes them); a downstream that takes only RGB, or a width, gets RGB. */
static void check_src_formats(const char *video) {
  char *launch = g_strdup_printf("rvsrc location=%s fps=2", video);
  GstVideoInfo vi;
  gsize size;
  first_frame(launch, "video/x-raw", &vi, &size);
  assert_int_equal(GST_VIDEO_INFO_FORMAT(&vi), GST_VIDEO_FORMAT_I420);
  assert_true(GST_VIDEO_INFO_WIDTH(&vi) == 320 && GST_VIDEO_INFO_HEIGHT(&vi) == 192);
  assert_int_equal(size, 320 * 192 * 3 / 2);
  assert_int_equal(vi.colorimetry.range, GST_VIDEO_COLOR_RANGE_16_235);
  first_frame(launch, "video/x-raw,format=RGB", &vi, &size);
  assert_int_equal(GST_VIDEO_INFO_FORMAT(&vi), GST_VIDEO_FORMAT_RGB);
  assert_int_equal(size, 320 * 192 * 3);
  g_free(launch);
}

/* A generated 10 fps scene: rvsrc at 2 fps pushes every 5th frame with its exact time. */
static void test_src_sampled_frames(void **state) {
  char dir[] = "/tmp/rv-gst-src-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *video = g_strdup_printf("%s/scene.mp4", dir), *gt = g_strdup_printf("%s/gt", dir);
  char *cmd =
      g_strdup_printf("%s synth --seconds 4 --seed 5 --size 320x192 -o %s --gt %s >/dev/null 2>&1",
                      ringvit_cmd, video, gt);
  assert_int_equal(system(cmd), 0);
  char *launch = g_strdup_printf("rvsrc location=%s fps=2 width=160", video);
  GstHarness *h = gst_harness_new_parse(launch);
  g_free(launch);
  gst_harness_play(h); /* a source starts when told */
  int n = 0;
  GstBuffer *b;
  while ((b = gst_harness_pull(h))) {
    assert_int_equal(GST_BUFFER_PTS(b), (GstClockTime)n * GST_SECOND / 2);
    assert_int_equal(GST_BUFFER_OFFSET(b), (guint64)n * 5);
    assert_int_equal(gst_buffer_get_size(b), 160 * 96 * 3);
    gst_buffer_unref(b);
    if (++n == 8) break;
  }
  assert_int_equal(n, 8);
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  GstVideoInfo vi;
  gst_video_info_from_caps(&vi, caps);
  assert_int_equal(GST_VIDEO_INFO_FORMAT(&vi), GST_VIDEO_FORMAT_RGB);
  assert_int_equal(GST_VIDEO_INFO_HEIGHT(&vi), 96); /* from the source's aspect */
  gst_caps_unref(caps);
  /* after the end, a seek to 1 s: the frames from there, on the same grid */
  GstEvent *e;
  while ((e = gst_harness_pull_event(h)) && GST_EVENT_TYPE(e) != GST_EVENT_EOS)
    gst_event_unref(e);
  gst_event_unref(e);
  assert_true(gst_harness_push_upstream_event(
      h, gst_event_new_seek(1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET,
                            GST_SECOND, GST_SEEK_TYPE_NONE, 0)));
  for (n = 2; n < 8; n++) {
    b = gst_harness_pull(h);
    assert_non_null(b);
    assert_int_equal(GST_BUFFER_PTS(b), (GstClockTime)n * GST_SECOND / 2);
    gst_buffer_unref(b);
  }
  gst_harness_teardown(h);
  check_src_formats(video);
  /* a missing file is an element error naming it */
  expect_start_error("rvsrc location=/nonexistent/video.mp4", GST_RESOURCE_ERROR,
                     GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/video.mp4");
  g_free(cmd);
  cmd = g_strdup_printf("rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  g_free(cmd);
  g_free(video);
  g_free(gt);
}

/* The box is drawn on its analysed frame and kept on the frames after it. */
static void test_overlay_draws_boxes(void **state) {
  GstHarness *h = gst_harness_new("rvoverlay");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=BGRx,width=64,height=48,framerate=30/1");
  for (int k = 0; k < 2; k++) {
    GstBuffer *b = gst_buffer_new_allocate(NULL, 64 * 48 * 4, NULL);
    gst_buffer_memset(b, 0, 0, 64 * 48 * 4);
    GST_BUFFER_PTS(b) = (GstClockTime)k * FRAME_NS;
    if (k == 0) {
      rv_gst_object o = {0};
      o.x1 = 10, o.y1 = 20, o.x2 = 40, o.y2 = 46, o.score = 0.9f, o.label = "person", o.id = 4;
      GstStructure *s = rv_gst_frame_meta_add(b);
      gst_structure_set(s, "width", G_TYPE_INT, 64, "height", G_TYPE_INT, 48, NULL);
      rv_gst_object_add(b, &o, 64, 48);
    }
    GstBuffer *out = gst_harness_push_and_pull(h, b);
    GstMapInfo m;
    gst_buffer_map(out, &m, GST_MAP_READ);
    int lit_edge = 0, lit_inside = 0;
    for (int y = 22; y < 44; y++) {
      lit_edge += m.data[(y * 64 + 10) * 4 + 2] > 100;   /* left edge, red channel */
      lit_inside += m.data[(y * 64 + 25) * 4 + 2] > 100; /* the middle stays untouched */
    }
    gst_buffer_unmap(out, &m);
    assert_true(lit_edge >= 15);
    assert_int_equal(lit_inside, 0);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s RINGVIT_COMMAND\n", argv[0]);
    return 2;
  }
  ringvit_cmd = argv[1];
  gst_init(NULL, NULL);
  if (!gst_ringvit_register_static()) return 1;
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", model, sizeof model);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_registration),
      cmocka_unit_test(test_properties_documented),
      cmocka_unit_test(test_encoder_formats_and_sampling),
      cmocka_unit_test(test_encoder_flush_eos_renegotiation),
      cmocka_unit_test(test_encoder_offline_holds_until_eos),
      cmocka_unit_test(test_encoder_qos_drops_late_frames),
      cmocka_unit_test(test_encoder_latency_query),
      cmocka_unit_test(test_encoder_missing_model_is_an_error),
      cmocka_unit_test(test_tracker_foreign_metas_and_action_events),
      cmocka_unit_test(test_tracker_only_analysed_frames),
      cmocka_unit_test(test_tracker_takes_model_tuning),
      cmocka_unit_test(test_jsonsink_lines),
      cmocka_unit_test(test_jsonsink_bad_location_is_an_error),
      cmocka_unit_test(test_src_sampled_frames),
      cmocka_unit_test(test_overlay_draws_boxes),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  gst_deinit(); /* the leaks tracer reports what is still alive here */
  return failed;
}
