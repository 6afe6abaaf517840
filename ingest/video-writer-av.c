/* Encoding with FFmpeg: RGB24 -> libswscale -> the encoder's pixel format -> libavcodec ->
 * libavformat. Modelled on the shape of FFmpeg's encode/mux examples, written for ringvit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av-impl.h"
#include "video-writer-impl.h"

/* Our codec names and the encoders that serve them, preferred first. Hardware encoders
 * are left out: they exist in the library whether or not a device is there. */
typedef struct codec_row {
  const char *name;
  const char *encoders[3];
} codec_row;

static const codec_row codec_rows[] = {
    {"h264", {"libx264", "libopenh264", NULL}},
    {"mpeg4", {"mpeg4", "libxvid", NULL}},
    {"mjpeg", {"mjpeg", NULL, NULL}},
    {"ffv1", {"ffv1", NULL, NULL}},
    {"vp8", {"libvpx", NULL, NULL}},
    {"vp9", {"libvpx-vp9", NULL, NULL}},
    {"rawvideo", {"rawvideo", NULL, NULL}},
};

struct rv_avw {
  AVFormatContext *oc;
  AVCodecContext *enc;
  AVStream *st;
  AVFrame *frame;
  AVPacket *pkt;
  struct SwsContext *sws;
  int header_written;
  int64_t ticks_per_frame; /* encoder time-base ticks of one nominal frame */
  int64_t next_pts;        /* encoder ticks of the next nominal frame */
  int64_t last_pts;
  const char *path;
};

static const AVCodec *find_encoder(const char *codec) {
  if (!codec) {
    const AVCodec *h264 = find_encoder("h264");
    return h264 ? h264 : find_encoder("mpeg4");
  }
  for (size_t i = 0; i < sizeof codec_rows / sizeof codec_rows[0]; i++) {
    if (strcmp(codec_rows[i].name, codec) != 0) continue;
    for (int j = 0; j < 3 && codec_rows[i].encoders[j]; j++) {
      const AVCodec *c = avcodec_find_encoder_by_name(codec_rows[i].encoders[j]);
      if (c) return c;
    }
  }
  return NULL;
}

int rv_avw_have_codec(const char *codec) { return find_encoder(codec) != NULL; }

static int supports_pix_fmt(const AVCodec *c, enum AVPixelFormat f) {
  if (!c->pix_fmts) return 1;
  for (const enum AVPixelFormat *p = c->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
    if (*p == f) return 1;
  return 0;
}

/* 4:2:0 when the size allows it, 4:4:4 for odd sizes where the encoder has it; MJPEG
 * uses the full-range J formats, rawvideo stays RGB (BGR in AVI, whose raw frames are). */
static enum AVPixelFormat pick_pix_fmt(const AVCodec *c, const AVFormatContext *oc, int w, int h) {
  int odd = (w | h) & 1;
  if (c->id == AV_CODEC_ID_RAWVIDEO)
    return strcmp(oc->oformat->name, "avi") == 0 ? AV_PIX_FMT_BGR24 : AV_PIX_FMT_RGB24;
  enum AVPixelFormat p420 = c->id == AV_CODEC_ID_MJPEG ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
  enum AVPixelFormat p444 = c->id == AV_CODEC_ID_MJPEG ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUV444P;
  if (odd && supports_pix_fmt(c, p444)) return p444;
  if (supports_pix_fmt(c, p420)) return p420;
  return c->pix_fmts ? c->pix_fmts[0] : AV_PIX_FMT_YUV420P;
}

/* Time base: 1/fps for AVI (frame slots), else fps subdivided so variable frame rate
 * keeps sub-millisecond timing while the denominator stays <= 65535 (MPEG-4 part 2). */
static void pick_time_base(const AVFormatContext *oc, double fps, AVRational *tb, int64_t *tpf) {
  AVRational rate = av_d2q(fps, 65535);
  int64_t k = 1;
  if (strcmp(oc->oformat->name, "avi") != 0) {
    k = 65535 / rate.num;
    if (k > 1000) k = 1000;
    if (k < 1) k = 1;
  }
  *tb = (AVRational){rate.den, (int)(rate.num * k)};
  *tpf = k;
}

/* Quality when no bit rate is given: constant quantizer / CRF, lossless codecs as they are. */
static void set_quality(AVCodecContext *enc, const AVCodec *c, const rv_video_writer_cfg *cfg) {
  if (cfg->bit_rate > 0) {
    enc->bit_rate = cfg->bit_rate;
    return;
  }
  switch (c->id) {
  case AV_CODEC_ID_MPEG4:
  case AV_CODEC_ID_MJPEG:
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3;
    break;
  case AV_CODEC_ID_H264: av_opt_set(enc->priv_data, "crf", "20", 0); break;
  case AV_CODEC_ID_VP8:
  case AV_CODEC_ID_VP9:
    enc->bit_rate = (int64_t)(0.25 * cfg->width * cfg->height * cfg->fps) + 100000;
    av_opt_set(enc->priv_data, "crf", "10", 0);
    break;
  default: break;
  }
}

/* Encoder speed: these files are test media and benchmark inputs, made on every run. */
static void set_speed(AVCodecContext *enc, const AVCodec *c) {
  if (strcmp(c->name, "libx264") == 0) av_opt_set(enc->priv_data, "preset", "veryfast", 0);
  if (c->id == AV_CODEC_ID_VP8 || c->id == AV_CODEC_ID_VP9) {
    av_opt_set(enc->priv_data, "deadline", "realtime", 0);
    av_opt_set(enc->priv_data, "cpu-used", "8", 0);
  }
}

/* An explicit gop is a strict interval: no extra keyframes at scene changes (test media
 * changes every frame, and tests count on where the keyframes are). */
static void set_gop(AVCodecContext *enc, const AVCodec *c, int gop) {
  enc->gop_size = gop;
  enc->keyint_min = gop;
  if (c->id == AV_CODEC_ID_MPEG4) av_opt_set_int(enc->priv_data, "sc_threshold", 1000000000, 0);
  if (strcmp(c->name, "libx264") == 0) av_opt_set_int(enc->priv_data, "sc_threshold", 0, 0);
}

static rv_status open_encoder(rv_avw *a, const AVCodec *c, const rv_video_writer_cfg *cfg) {
  int err;
  AVCodecContext *enc = avcodec_alloc_context3(c);
  if (!enc) return RV_FAIL(RV_ERR_NOMEM, "encoder context");
  a->enc = enc;
  enc->width = cfg->width;
  enc->height = cfg->height;
  enc->pix_fmt = pick_pix_fmt(c, a->oc, cfg->width, cfg->height);
  enc->sample_aspect_ratio = (AVRational){1, 1};
  pick_time_base(a->oc, cfg->fps, &enc->time_base, &a->ticks_per_frame);
  enc->framerate = av_d2q(cfg->fps, 65535);
  if (cfg->gop > 0) set_gop(enc, c, cfg->gop);
  if (enc->pix_fmt == AV_PIX_FMT_YUVJ420P || enc->pix_fmt == AV_PIX_FMT_YUVJ444P)
    enc->color_range = AVCOL_RANGE_JPEG;
  set_quality(enc, c, cfg);
  set_speed(enc, c);
  if (a->oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if ((err = avcodec_open2(enc, c, NULL)) < 0)
    return RV_AV_FAIL(err, "%s: cannot open encoder %s for %dx%d %s", a->path, c->name, cfg->width,
                      cfg->height, av_get_pix_fmt_name(enc->pix_fmt));
  return RV_OK;
}

static rv_status open_frame(rv_avw *a) {
  int err;
  AVCodecContext *enc = a->enc;
  a->frame = av_frame_alloc();
  a->pkt = av_packet_alloc();
  if (!a->frame || !a->pkt) return RV_FAIL(RV_ERR_NOMEM, "frame and packet");
  a->frame->format = enc->pix_fmt;
  a->frame->width = enc->width;
  a->frame->height = enc->height;
  a->frame->color_range = enc->color_range;
  if ((err = av_frame_get_buffer(a->frame, 0)) < 0) return RV_AV_FAIL(err, "av_frame_get_buffer");
  /* the J formats are the plain ones in full range, which swscale wants said explicitly */
  enum AVPixelFormat dst = enc->pix_fmt == AV_PIX_FMT_YUVJ420P   ? AV_PIX_FMT_YUV420P
                           : enc->pix_fmt == AV_PIX_FMT_YUVJ444P ? AV_PIX_FMT_YUV444P
                                                                 : enc->pix_fmt;
  a->sws = sws_getContext(enc->width, enc->height, AV_PIX_FMT_RGB24, enc->width, enc->height, dst,
                          SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  if (!a->sws)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "no conversion rgb24 -> %s", av_get_pix_fmt_name(dst));
  const int *coefs = sws_getCoefficients(SWS_CS_ITU601);
  int full = enc->color_range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(a->sws, coefs, 1, coefs, full, 0, 1 << 16, 1 << 16);
  return RV_OK;
}

static rv_status open_muxer(rv_avw *a, const AVCodec *c) {
  int err;
  AVFormatContext *oc = a->oc;
  if (avformat_query_codec(oc->oformat, c->id, FF_COMPLIANCE_NORMAL) == 0)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "%s: container %s cannot hold %s video", a->path,
                   oc->oformat->name, c->name);
  /* QuickTime pads raw rows to an even width, which FFmpeg's reader does not undo */
  if (c->id == AV_CODEC_ID_RAWVIDEO && strstr(oc->oformat->name, "mov") && (a->enc->width & 1))
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "%s: raw video of odd width %d in %s does not read back; "
                   "use .nut or .avi",
                   a->path, a->enc->width, oc->oformat->name);
  a->st = avformat_new_stream(oc, NULL);
  if (!a->st) return RV_FAIL(RV_ERR_NOMEM, "output stream");
  if ((err = avcodec_parameters_from_context(a->st->codecpar, a->enc)) < 0)
    return RV_AV_FAIL(err, "avcodec_parameters_from_context");
  a->st->time_base = a->enc->time_base;
  a->st->avg_frame_rate = a->enc->framerate;
  if (!(oc->oformat->flags & AVFMT_NOFILE) &&
      (err = avio_open(&oc->pb, a->path, AVIO_FLAG_WRITE)) < 0)
    return RV_AV_FAIL(err, "%s: cannot create", a->path);
  if ((err = avformat_write_header(oc, NULL)) < 0)
    return RV_AV_FAIL(err, "%s: cannot write the %s header", a->path, oc->oformat->name);
  a->header_written = 1;
  return RV_OK;
}

rv_status rv_avw_open(const rv_video_writer_cfg *cfg, rv_avw **out) {
  rv_status st = RV_OK;
  rv_avw *a = calloc(1, sizeof *a);
  *out = NULL;
  if (!a) return RV_FAIL(RV_ERR_NOMEM, "video writer");
  rv_av_route_log();
  a->path = cfg->path;
  a->last_pts = INT64_MIN;
  const AVCodec *c = find_encoder(cfg->codec);
  if (!c)
    RV_TRY_FAIL(RV_ERR_UNSUPPORTED, "%s: this FFmpeg has no encoder for %s", cfg->path,
                cfg->codec ? cfg->codec : "h264 or mpeg4");
  if (avformat_alloc_output_context2(&a->oc, NULL, NULL, cfg->path) < 0 || !a->oc)
    RV_TRY(RV_AV_FAIL(AVERROR_MUXER_NOT_FOUND, "%s: no container for this file name", cfg->path));
  RV_TRY(open_encoder(a, c, cfg));
  RV_TRY(open_frame(a));
  RV_TRY(open_muxer(a, c));
  a->path = NULL; /* borrowed from cfg: not needed after open (messages name the codec) */
  *out = a;
  return RV_OK;
fail:
  a->path = NULL;
  rv_avw_close(a);
  return st;
}

/* Moves every packet the encoder has ready into the muxer. */
static rv_status drain(rv_avw *a) {
  for (;;) {
    int err = avcodec_receive_packet(a->enc, a->pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return RV_OK;
    if (err < 0) return RV_AV_FAIL(err, "avcodec_receive_packet(%s)", a->enc->codec->name);
    av_packet_rescale_ts(a->pkt, a->enc->time_base, a->st->time_base);
    a->pkt->stream_index = a->st->index;
    if ((err = av_interleaved_write_frame(a->oc, a->pkt)) < 0)
      return RV_AV_FAIL(err, "av_interleaved_write_frame(%s)", a->oc->oformat->name);
  }
}

rv_status rv_avw_write(rv_avw *a, const uint8_t *rgb, int stride, int64_t pts_ns) {
  int err;
  int64_t pts = a->next_pts;
  if (pts_ns >= 0)
    pts = av_rescale_q_rnd(pts_ns, (AVRational){1, 1000000000}, a->enc->time_base,
                           AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
  if (pts <= a->last_pts)
    return RV_FAIL(RV_ERR_INVALID,
                   "pts %lld ns does not follow the previous frame (time base %d/%d)",
                   (long long)pts_ns, a->enc->time_base.num, a->enc->time_base.den);
  if ((err = av_frame_make_writable(a->frame)) < 0)
    return RV_AV_FAIL(err, "av_frame_make_writable");
  const uint8_t *src[1] = {rgb};
  const int src_stride[1] = {stride};
  sws_scale(a->sws, src, src_stride, 0, a->enc->height, a->frame->data, a->frame->linesize);
  a->frame->pts = pts;
  a->frame->quality = a->enc->global_quality;
  if ((err = avcodec_send_frame(a->enc, a->frame)) < 0)
    return RV_AV_FAIL(err, "avcodec_send_frame(%s)", a->enc->codec->name);
  a->last_pts = pts;
  a->next_pts = pts + a->ticks_per_frame;
  return drain(a);
}

static rv_status finish(rv_avw *a) {
  rv_status st = RV_OK;
  int err;
  if (!a->header_written) return RV_OK;
  if ((err = avcodec_send_frame(a->enc, NULL)) < 0)
    st = RV_AV_FAIL(err, "flushing %s", a->enc->codec->name);
  else
    st = drain(a);
  if ((err = av_write_trailer(a->oc)) < 0 && st == RV_OK)
    st = RV_AV_FAIL(err, "av_write_trailer(%s)", a->oc->oformat->name);
  return st;
}

rv_status rv_avw_close(rv_avw *a) {
  if (!a) return RV_OK;
  rv_status st = finish(a);
  if (a->oc && a->oc->pb && !(a->oc->oformat->flags & AVFMT_NOFILE)) {
    int err = avio_closep(&a->oc->pb);
    if (err < 0 && st == RV_OK) st = RV_AV_FAIL(err, "closing the output");
  }
  avformat_free_context(a->oc);
  sws_freeContext(a->sws);
  av_frame_free(&a->frame);
  av_packet_free(&a->pkt);
  avcodec_free_context(&a->enc);
  free(a);
  return st;
}
