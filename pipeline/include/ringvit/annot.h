/* Annotation writers (DESIGN.md section 6).
 *
 * JSON Lines, one object per analysed frame with DL Streamer gvametaconvert's field
 * names, so existing consumers read it:
 *   {"timestamp": ns, "frame_index": n, "resolution": {"width", "height"},
 *    "objects": [{"detection": {"bounding_box": {"x_min", "y_min", "x_max", "y_max"}
 *                 (normalized), "confidence", "label", "label_id"},
 *                 "x", "y", "w", "h" (pixels), "id" (track id), "roi_type" (label)}]}
 * and action events on lines of their own:
 *   {"event": "action", "track_id" (absent for scene actions), "label", "start", "end"
 *    (ns), "score"}
 * docs/annotations.schema.json is the JSON Schema of both. Every line is written whole
 * and flushed, so a killed run leaves each completed line intact.
 *
 * MOTChallenge txt: "frame,id,x,y,w,h,conf,-1,-1,-1" per object, frames and pixels 1-based
 * (x = x1 + 1), as MOTChallenge's gt.txt and `ringvit synth --gt` have them. */
#ifndef RINGVIT_ANNOT_H
#define RINGVIT_ANNOT_H

#include <stdint.h>

#include <ringvit/actions.h>
#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_annot_object {
  uint64_t id;          /* track id; 0 = untracked ("id" omitted, -1 in MOT) */
  float x1, y1, x2, y2; /* source pixels */
  float score;
  int label_id;
  const char *label; /* NULL = "object" */
} rv_annot_object;

typedef struct rv_annot_frame {
  int64_t pts_ns;
  int64_t frame_index; /* source frame number, 0-based; < 0 = unknown (omitted) */
  int width, height;   /* source frame */
  const rv_annot_object *objects;
  int n_objects;
} rv_annot_frame;

/* One line's JSON text (no newline), malloc'd; the caller frees it. For sinks that are not
 * files (GStreamer). */
rv_status rv_annot_frame_json(const rv_annot_frame *f, char **out);
rv_status rv_annot_action_json(const rv_action_segment *s, char **out);

typedef struct rv_jsonl_writer rv_jsonl_writer;

/* path "-" = stdout. An existing file is replaced. */
rv_status rv_jsonl_open(const char *path, rv_jsonl_writer **out);
/* Continues an interrupted run's file: its complete lines are kept (a partial last line is
 * cut), and the run's first lines must equal them (RV_ERR_FORMAT naming the line when they
 * do not); they are checked, not written again, and the rest is appended. The same for
 * rv_mot_open_resume. A missing file starts empty. */
rv_status rv_jsonl_open_resume(const char *path, rv_jsonl_writer **out);
rv_status rv_jsonl_write_frame(rv_jsonl_writer *w, const rv_annot_frame *f);
rv_status rv_jsonl_write_action(rv_jsonl_writer *w, const rv_action_segment *s);
/* Closes and frees; NULL-safe; returns the first error the writer met. */
rv_status rv_jsonl_close(rv_jsonl_writer *w);

typedef struct rv_mot_writer rv_mot_writer;

rv_status rv_mot_open(const char *path, rv_mot_writer **out); /* "-" = stdout */
rv_status rv_mot_open_resume(const char *path, rv_mot_writer **out);
/* frame: 1-based MOTChallenge frame number. */
rv_status rv_mot_write_frame(rv_mot_writer *w, int64_t frame, const rv_annot_object *objs, int n);
rv_status rv_mot_close(rv_mot_writer *w);

#ifdef __cplusplus
}
#endif
#endif
