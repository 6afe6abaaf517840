/* The GStreamer plugin `ringvit` (DESIGN.md section 7): what its elements share.
 *
 * Objects travel as GstVideoRegionOfInterestMeta with DL Streamer's conventions (DESIGN.md
 * section 6): roi_type = the label, a "detection" params structure (normalized x_min,
 * y_min, x_max, y_max, confidence, label_id, label), the track id in the meta's id and in
 * an "object_id" structure (id). Ours add a "ringvit" structure with the per-object
 * action probabilities ("actions") and appearance embedding ("embedding").
 *
 * Each analysed frame carries a custom meta (RV_GST_FRAME_META) with a "ringvit-frame"
 * structure: frame-index, rate (analysed frames per second), width, height (the frame the
 * boxes refer to), scene-labels and scene (scene-action probabilities), action-labels
 * (names of the per-object actions), embedding-dim. Frames without it were not analysed.
 *
 * Action segments travel as custom downstream events (RV_GST_ACTION_EVENT): track-id
 * (0 = scene), label, start, end (ns), score. */
#ifndef GST_RINGVIT_H
#define GST_RINGVIT_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include <ringvit/actions.h>
#include <ringvit/annot.h>
#include <ringvit/detect.h>
#include <ringvit/tracking.h>

G_BEGIN_DECLS

#define RV_GST_FRAME_META   "GstRvFrameMeta"
#define RV_GST_FRAME        "ringvit-frame"
#define RV_GST_ACTION_EVENT "ringvit-action"
#define RV_GST_MAX_FLOATS   256 /* action probabilities or embedding floats per object */

GType gst_rv_encoder_get_type(void);
GType gst_rv_tracker_get_type(void);
GType gst_rv_json_sink_get_type(void);
GType gst_rv_src_get_type(void);
GType gst_rv_overlay_get_type(void);

/* Registers every element (and the frame meta) with a plugin: from plugin_init, or
 * gst_ringvit_register_static() for tests and applications that link the elements in. */
gboolean gst_ringvit_register(GstPlugin *plugin);
gboolean gst_ringvit_register_static(void);

/* ---- frame meta ---- */
void rv_gst_frame_meta_register(void);
/* A new frame meta's structure (owned by the buffer, which must be writable). */
GstStructure *rv_gst_frame_meta_add(GstBuffer *buf);
/* The buffer's frame structure, or NULL: it was not analysed. */
const GstStructure *rv_gst_frame_meta_get(GstBuffer *buf);

/* ---- float arrays in structures (GstValueArray of doubles) ---- */
void rv_gst_set_floats(GstStructure *s, const char *field, const float *v, int n);
/* Copies at most cap values; returns how many the field holds (0 when absent). */
int rv_gst_get_floats(const GstStructure *s, const char *field, float *v, int cap);
void rv_gst_set_strings(GstStructure *s, const char *field, const char *const *v, int n);
/* The i-th string of an array field, or NULL. */
const char *rv_gst_get_string(const GstStructure *s, const char *field, int i);
int rv_gst_array_size(const GstStructure *s, const char *field);

/* The model's tracker and action-segmenter calibration in the frame structure ("track-high",
 * "track-low", "track-new", "track-lost-s", "action-on", "action-off", "action-smooth-s",
 * "action-min-s", "action-gap-s"; only the non-zero ones); get leaves absent fields as they are. */
void rv_gst_set_tuning(GstStructure *s, const rv_track_tuning *t);
void rv_gst_get_tuning(const GstStructure *s, rv_track_tuning *t);

/* ---- objects ---- */
/* One object as the elements exchange it. Boxes in pixels of the frame (w x h). */
typedef struct rv_gst_object {
  GstVideoRegionOfInterestMeta *meta;
  float x1, y1, x2, y2;
  float score; /* 1 when the meta says none */
  int label_id;
  const char *label; /* roi_type */
  guint64 id;        /* track id, 0 = none */
  float act[RV_GST_MAX_FLOATS], emb[RV_GST_MAX_FLOATS];
  int n_act, emb_dim;
} rv_gst_object;

/* Attaches an object: meta, "detection" and (when act or emb) "ringvit" structures. */
GstVideoRegionOfInterestMeta *rv_gst_object_add(GstBuffer *buf, const rv_gst_object *o, int w,
                                                int h);
/* Reads a meta (ours or another element's; missing fields get defaults). */
void rv_gst_object_read(GstVideoRegionOfInterestMeta *m, int w, int h, rv_gst_object *o);
/* Moves the meta's box (pixels and "detection") and sets its track id. */
void rv_gst_object_update(GstVideoRegionOfInterestMeta *m, const float box[4], guint64 id, int w,
                          int h);
/* The frame size boxes refer to: the frame meta's, else the caps'. */
void rv_gst_frame_size(GstBuffer *buf, const GstVideoInfo *info, int *w, int *h);

/* The frame's time in the media (stream time, what `ringvit analyze` reports: demuxers'
 * edit lists shift PTS, not stream time): the frame meta's "timestamp" when analysed,
 * else from the segment; -1 when unknown. */
gint64 rv_gst_frame_time(GstBuffer *buf, const GstSegment *seg);

/* ---- action events ---- */
GstEvent *rv_gst_action_event_new(const rv_action_segment *s);
/* TRUE when e is an action event; label points into the event. */
gboolean rv_gst_action_event_parse(GstEvent *e, rv_action_segment *s);

/* Always pads with these caps: a sink pad, a src pad or both. */
void rv_gst_add_pads(GstElementClass *ec, const char *caps, gboolean sink, gboolean src);

/* Posts rv_last_error() as an element error (domain from the status) with `what`. */
void rv_gst_post_error(GstElement *el, int status, const char *what);

G_END_DECLS
#endif
