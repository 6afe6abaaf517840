/* A self-contained HTML report of an analysis: a timeline with one lane per action class
 * and per long track, a plot of tracked objects over time, thumbnails of key moments
 * with their boxes, and a table of tracks. No network access is needed to view it.
 *
 * The report is fed as the analysis runs and keeps bounded state: per-track summaries,
 * a fixed number of thumbnails, and a downsampled object-count series. */
#ifndef RINGVIT_REPORT_H
#define RINGVIT_REPORT_H

#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_report rv_report;

typedef struct rv_report_cfg {
  const char *title;    /* e.g. the input file name */
  int max_thumbnails;   /* 0 = 24 */
  int thumb_width;      /* pixels, 0 = 320 */
  double min_track_s;   /* tracks shorter than this get no lane of their own; 0 = 10 s */
  double thumb_every_s; /* periodic thumbnails besides the key moments; 0 = spread evenly */
} rv_report_cfg;

typedef struct rv_report_object {
  uint64_t track_id; /* 0 = untracked */
  const char *label;
  float x, y, w, h; /* source pixels */
  float score;
} rv_report_object;

rv_status rv_report_init(const rv_report_cfg *cfg, rv_report **out);
void rv_report_free(rv_report *r); /* NULL-safe */

/* One analysed frame. rgb (packed RGB24, width x height, row stride `stride` bytes) may be
 * NULL; when given, the report may keep a downscaled thumbnail of it. */
rv_status rv_report_add_frame(rv_report *r, int64_t pts_ns, int width, int height,
                              const rv_report_object *objs, int n_objs, const uint8_t *rgb,
                              int stride);

/* The same, with the picture as a smaller copy of the frame (e.g. a decoder's thumbnail):
 * objects stay in frame pixels (width x height) and are scaled onto the image. */
typedef struct rv_report_image {
  const uint8_t *rgb; /* packed RGB24 */
  int width, height, stride;
} rv_report_image;
rv_status rv_report_add_frame_image(rv_report *r, int64_t pts_ns, int width, int height,
                                    const rv_report_object *objs, int n_objs,
                                    const rv_report_image *img);

/* An action segment (track_id 0 = scene-level). Its start becomes a key moment: the next
 * frame added at or after it is kept as a thumbnail. */
rv_status rv_report_add_action(rv_report *r, uint64_t track_id, const char *label, int64_t start_ns,
                               int64_t end_ns, float score);

/* Writes the HTML file. Can be called more than once (e.g. at the end of each run). */
rv_status rv_report_write(const rv_report *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif
