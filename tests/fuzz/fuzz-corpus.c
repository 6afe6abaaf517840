/* Makes the seed corpus of fuzz-ingest (committed under corpus/ingest; run again only to
 * refresh it): tiny clips of every codec and container the writer has, and damaged ones.
 * Usage: fuzz-corpus OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/video-writer.h>

static int write_clip(const char *dir, const char *name, const char *codec, int w, int h, int n,
                      int vfr) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!rv_video_writer_have_codec(codec)) return 0;
  rv_video_writer_cfg cfg = {
      .path = path, .width = w, .height = h, .fps = 10, .codec = codec, .gop = 3};
  rv_video_writer *vw = NULL;
  uint8_t *rgb = malloc((size_t)w * h * 3);
  int ok = rgb && rv_video_writer_open(&cfg, &vw) == RV_OK;
  for (int i = 0; ok && i < n; i++) {
    for (int p = 0; p < w * h; p++) {
      rgb[3 * p] = (uint8_t)(p % w * 8 + i * 20);
      rgb[3 * p + 1] = (uint8_t)(p / w * 8);
      rgb[3 * p + 2] = (uint8_t)(i * 40);
    }
    ok = rv_video_writer_write(vw, rgb, 3 * w, vfr ? (int64_t)i * i * 30000000 : -1) == RV_OK;
  }
  if (rv_video_writer_close(vw) != RV_OK) ok = 0;
  free(rgb);
  if (!ok) fprintf(stderr, "fuzz-corpus: %s: %s\n", name, rv_last_error());
  return ok ? 0 : -1;
}

/* A damaged copy: the first `keep` bytes, with every `step`-th byte after `from` flipped. */
static int damage(const char *dir, const char *src, const char *dst, long keep, long from,
                  long step) {
  char in_path[4096], out_path[4096];
  snprintf(in_path, sizeof in_path, "%s/%s", dir, src);
  snprintf(out_path, sizeof out_path, "%s/%s", dir, dst);
  FILE *in = fopen(in_path, "rb"), *out = fopen(out_path, "wb");
  int c;
  long i = 0;
  while (in && out && (c = fgetc(in)) != EOF && (keep < 0 || i < keep)) {
    fputc(step > 0 && i >= from && (i - from) % step == 0 ? c ^ 0x5a : c, out);
    i++;
  }
  if (in) fclose(in);
  if (out) fclose(out);
  return in && out ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz-corpus OUTDIR\n");
    return 2;
  }
  const char *d = argv[1];
  int bad = 0;
  bad |= write_clip(d, "mpeg4.avi", "mpeg4", 32, 24, 6, 0);
  bad |= write_clip(d, "mjpeg.avi", "mjpeg", 17, 9, 3, 0);
  bad |= write_clip(d, "ffv1.mkv", "ffv1", 24, 16, 4, 0);
  bad |= write_clip(d, "vp8.webm", "vp8", 32, 24, 5, 0);
  bad |= write_clip(d, "h264.mp4", "h264", 32, 32, 8, 0);
  bad |= write_clip(d, "h264-vfr.mkv", "h264", 32, 32, 8, 1);
  bad |= write_clip(d, "mpeg4-vfr.mov", "mpeg4", 32, 24, 5, 1);
  bad |= write_clip(d, "raw.nut", "rawvideo", 8, 8, 3, 0);
  bad |= damage(d, "h264-vfr.mkv", "h264-cut.mkv", 900, 0, 0);
  bad |= damage(d, "mpeg4.avi", "mpeg4-flip.avi", -1, 600, 97);
  bad |= damage(d, "vp8.webm", "vp8-flip.webm", -1, 300, 61);
  bad |= damage(d, "h264.mp4", "h264-flip.mp4", -1, 200, 53);
  char path[4096];
  snprintf(path, sizeof path, "%s/empty.mp4", d);
  FILE *f = fopen(path, "wb");
  if (f) fclose(f);
  snprintf(path, sizeof path, "%s/text.mp4", d);
  f = fopen(path, "wb");
  if (f) {
    fputs("not a video\n", f);
    fclose(f);
  }
  return bad ? 1 : 0;
}
