#include <stdlib.h>
#include <string.h>

#include <ringvit/config.h>

#include "image-impl.h"

#if RV_HAVE_FFMPEG
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#endif

void rv_image_blob_free(rv_image_blob *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->size = 0;
}

void rv_image_downscale_rgb(const uint8_t *src, int w, int h, int stride, uint8_t *dst, int tw,
                            int th) {
  for (int y = 0; y < th; y++) {
    int y0 = (int)((int64_t)y * h / th), y1 = (int)((int64_t)(y + 1) * h / th);
    if (y1 <= y0) y1 = y0 + 1;
    for (int x = 0; x < tw; x++) {
      int x0 = (int)((int64_t)x * w / tw), x1 = (int)((int64_t)(x + 1) * w / tw);
      if (x1 <= x0) x1 = x0 + 1;
      unsigned sum[3] = {0, 0, 0}, n = 0;
      for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++, n++)
          for (int c = 0; c < 3; c++)
            sum[c] += src[(size_t)yy * stride + (size_t)xx * 3 + c];
      for (int c = 0; c < 3; c++)
        dst[((size_t)y * tw + x) * 3 + c] = (uint8_t)((sum[c] + n / 2) / n);
    }
  }
}

static void put_le(uint8_t *p, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* 24-bit bottom-up BMP of a packed RGB image. */
static rv_status encode_bmp(const uint8_t *rgb, int w, int h, rv_image_blob *out) {
  size_t row = ((size_t)w * 3 + 3) & ~(size_t)3;
  size_t size = 54 + row * (size_t)h;
  uint8_t *p = calloc(1, size);
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "bitmap of %dx%d", w, h);
  p[0] = 'B';
  p[1] = 'M';
  put_le(p + 2, (uint32_t)size, 4);
  put_le(p + 10, 54, 4);
  put_le(p + 14, 40, 4);
  put_le(p + 18, (uint32_t)w, 4);
  put_le(p + 22, (uint32_t)h, 4);
  put_le(p + 26, 1, 2);
  put_le(p + 28, 24, 2);
  put_le(p + 34, (uint32_t)(row * (size_t)h), 4);
  for (int y = 0; y < h; y++) {
    uint8_t *dst = p + 54 + row * (size_t)(h - 1 - y);
    for (int x = 0; x < w; x++) {
      const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
      dst[3 * x] = s[2];
      dst[3 * x + 1] = s[1];
      dst[3 * x + 2] = s[0];
    }
  }
  out->data = p;
  out->size = size;
  out->mime = "image/bmp";
  return RV_OK;
}

#if RV_HAVE_FFMPEG
static rv_status av_fail(int err, const char *what) {
  char msg[AV_ERROR_MAX_STRING_SIZE] = "";
  av_strerror(err, msg, sizeof msg);
  return RV_FAIL(RV_ERR_INTERNAL, "%s: %s", what, msg);
}

/* Resize and convert with libswscale, then one MJPEG frame. */
static rv_status encode_jpeg(const uint8_t *rgb, int w, int h, int stride, int tw, int th,
                             rv_image_blob *out) {
  rv_status st = RV_OK;
  AVCodecContext *ctx = NULL;
  AVFrame *frame = NULL;
  AVPacket *pkt = NULL;
  struct SwsContext *sws = NULL;
  int err;
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) return RV_FAIL(RV_ERR_UNSUPPORTED, "this FFmpeg has no MJPEG encoder");
  ctx = avcodec_alloc_context3(codec);
  frame = av_frame_alloc();
  pkt = av_packet_alloc();
  if (!ctx || !frame || !pkt) RV_TRY_FAIL(RV_ERR_NOMEM, "JPEG encoder state");
  ctx->width = tw;
  ctx->height = th;
  ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  ctx->time_base = (AVRational){1, 25};
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * 4;
  if ((err = avcodec_open2(ctx, codec, NULL)) < 0) RV_TRY(av_fail(err, "avcodec_open2(mjpeg)"));
  frame->format = ctx->pix_fmt;
  frame->width = tw;
  frame->height = th;
  frame->quality = ctx->global_quality;
  if ((err = av_frame_get_buffer(frame, 0)) < 0) RV_TRY(av_fail(err, "av_frame_get_buffer"));
  /* YUVJ420P is YUV420P in full range: convert to the latter with the range set, since
   * swscale deprecates the J formats */
  sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, tw, th, AV_PIX_FMT_YUV420P, SWS_AREA, NULL, NULL,
                       NULL);
  if (!sws) RV_TRY_FAIL(RV_ERR_UNSUPPORTED, "sws_getContext %dx%d -> %dx%d", w, h, tw, th);
  const int *coefs = sws_getCoefficients(SWS_CS_ITU601);
  sws_setColorspaceDetails(sws, coefs, 1, coefs, 1, 0, 1 << 16, 1 << 16);
  const uint8_t *src[1] = {rgb};
  const int src_stride[1] = {stride};
  sws_scale(sws, src, src_stride, 0, h, frame->data, frame->linesize);
  if ((err = avcodec_send_frame(ctx, frame)) < 0) RV_TRY(av_fail(err, "avcodec_send_frame"));
  if ((err = avcodec_receive_packet(ctx, pkt)) < 0) RV_TRY(av_fail(err, "avcodec_receive_packet"));
  out->data = malloc((size_t)pkt->size);
  if (!out->data) RV_TRY_FAIL(RV_ERR_NOMEM, "JPEG of %d bytes", pkt->size);
  memcpy(out->data, pkt->data, (size_t)pkt->size);
  out->size = (size_t)pkt->size;
  out->mime = "image/jpeg";
fail:
  sws_freeContext(sws);
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return st;
}
#endif

rv_status rv_image_encode_thumbnail(const uint8_t *rgb, int w, int h, int stride, int tw, int th,
                                    rv_image_blob *out) {
  if (!rgb || !out || w < 1 || h < 1 || tw < 1 || th < 1 || stride < 3 * w)
    return RV_FAIL(RV_ERR_INVALID, "thumbnail of %dx%d (stride %d) to %dx%d", w, h, stride, tw, th);
  memset(out, 0, sizeof *out);
#if RV_HAVE_FFMPEG
  if (tw % 2 == 0 && th % 2 == 0) return encode_jpeg(rgb, w, h, stride, tw, th, out);
#endif
  uint8_t *small = malloc((size_t)tw * th * 3);
  if (!small) return RV_FAIL(RV_ERR_NOMEM, "thumbnail %dx%d", tw, th);
  rv_image_downscale_rgb(rgb, w, h, stride, small, tw, th);
  rv_status st = encode_bmp(small, tw, th, out);
  free(small);
  return st;
}

void rv_base64_write(FILE *f, const uint8_t *data, size_t size) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < size; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < size) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < size) v |= data[i + 2];
    char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < size ? tab[(v >> 6) & 63] : '=',
                 i + 2 < size ? tab[v & 63] : '='};
    fwrite(q, 1, 4, f);
  }
}
