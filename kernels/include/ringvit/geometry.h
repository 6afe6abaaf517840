/* How a source frame maps onto the model's input: a scale per axis and a padding offset
 * (letterbox), so boxes found on the model input are mapped back to source pixels exactly.
 * Made by ingest (and the GStreamer elements), consumed by detection decoding. */
#ifndef RINGVIT_GEOMETRY_H
#define RINGVIT_GEOMETRY_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_frame_geom {
  int src_w, src_h;       /* source frame, pixels */
  int dst_w, dst_h;       /* model input, pixels */
  float scale_x, scale_y; /* dst = src * scale + pad */
  float pad_x, pad_y;
} rv_frame_geom;

/* Geometry that fits src into dst: letterbox keeps the aspect ratio and centres the image
 * (equal scales, padding on one axis); stretch fills dst (no padding). */
static inline rv_frame_geom rv_frame_geom_fit(int src_w, int src_h, int dst_w, int dst_h,
                                              int letterbox) {
  rv_frame_geom g = {src_w, src_h, dst_w, dst_h, (float)dst_w / (float)src_w,
                     (float)dst_h / (float)src_h, 0.0f, 0.0f};
  if (letterbox) {
    float s = g.scale_x < g.scale_y ? g.scale_x : g.scale_y;
    g.scale_x = g.scale_y = s;
    g.pad_x = 0.5f * ((float)dst_w - s * (float)src_w);
    g.pad_y = 0.5f * ((float)dst_h - s * (float)src_h);
  }
  return g;
}

static inline float rv_geom_src_x(const rv_frame_geom *g, float x) { return (x - g->pad_x) / g->scale_x; }
static inline float rv_geom_src_y(const rv_frame_geom *g, float y) { return (y - g->pad_y) / g->scale_y; }

#ifdef __cplusplus
}
#endif
#endif
