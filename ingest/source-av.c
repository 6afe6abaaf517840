/* Demux and decode with libavformat/libavcodec: the source of ingest.
 *
 * The loop follows the send/receive shape of FFmpeg's decode examples: take frames from the
 * decoder until it asks for input, then read packets of the chosen stream and send them.
 * Around it: hwaccel (CUDA) with fallback, the timeline and sampler (timeline.c), skipping
 * of packets sampling will not take, damage accounting, and swscale to RGB. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>

#include "av-impl.h"
#include "source-impl.h"
#include "timeline-impl.h"

#define RV_IO_BUFFER         (64 * 1024)
#define RV_MAX_ERRORS_IN_ROW 1000      /* decoder failures without a frame before giving up */
#define RV_MAX_AGAIN         2000      /* EAGAIN from a non-blocking input, 1 ms apart */
#define RV_MAX_PIXELS        (1 << 26) /* 8192 x 8192 */
#define RV_COVER_CELLS       4         /* grid cells remembered: more than decode order spans */
#define RV_COVER_MARGIN_NS   2000000LL /* keeps rounding at cell edges out of covered() */

static const AVRational ns_q = {1, 1000000000};

struct rv_source {
  char *name;
  rv_ingest_io io;
  AVIOContext *avio; /* our byte source, or NULL */
  AVFormatContext *fc;
  AVStream *st;
  int si;
  AVCodecContext *dec;
  AVPacket *pkt;
  AVFrame *frame, *sw_frame;
  int sw_ready; /* sw_frame holds the current hardware frame's pixels */
  AVBufferRef *hw_dev;
  enum AVPixelFormat hw_fmt;
  int hw_required;
  const char *hw_note;
  struct SwsContext *sws[2];
  int sws_key[2]; /* colour setup applied to sws[slot]: (colorspace << 1) | full range */
  AVFrame **kept; /* [n_kept] references to sampled frames (rv_source_keep), or NULL */
  int n_kept;

  rv_timeline tl;
  rv_sampler sampler;
  rv_skip_mode skip;
  int intra_only;
  int64_t cover_cell[RV_COVER_CELLS], cover_ns[RV_COVER_CELLS]; /* see covered() */
  int64_t cover_discont; /* the timeline's discontinuities when they were noted */
  int h264_nal_len;      /* H.264: bytes of each NAL's length prefix (avcC), 0 for start codes;
                            -1 for other codecs */
  int64_t stream_start_ns, start_ns, end_ns, declared_end_ns, last_pkt_ns, position_ns;
  int need_base, seeked;
  int demux_eof, flushed, at_end, eof_reported, errors_in_row;
  char read_error[AV_ERROR_MAX_STRING_SIZE];
  rv_ingest_info info;
  rv_ingest_stats stats;
};

static int64_t to_ns(const rv_source *s, int64_t ts) {
  return ts == AV_NOPTS_VALUE ? RV_TS_NONE : av_rescale_q(ts, s->st->time_base, ns_q);
}

/* ---- custom I/O ---- */

static int io_read(void *opaque, uint8_t *buf, int size) {
  rv_source *s = opaque;
  int n = s->io.read(s->io.opaque, buf, size);
  return n > 0 ? n : n == 0 ? AVERROR_EOF : AVERROR(EIO);
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
  rv_source *s = opaque;
  int64_t r = (whence & AVSEEK_SIZE) ? s->io.seek(s->io.opaque, 0, RV_INGEST_SEEK_SIZE)
                                     : s->io.seek(s->io.opaque, offset, whence & ~AVSEEK_FORCE);
  return r < 0 ? AVERROR(EIO) : r;
}

static rv_status open_io(rv_source *s, const rv_ingest_io *io) {
  if (!io->read) return RV_FAIL(RV_ERR_INVALID, "%s: io.read must be set", s->name);
  s->io = *io;
  uint8_t *buf = av_malloc(RV_IO_BUFFER);
  if (!buf) return RV_FAIL(RV_ERR_NOMEM, "I/O buffer");
  s->avio = avio_alloc_context(buf, RV_IO_BUFFER, 0, s, io_read, NULL, io->seek ? io_seek : NULL);
  if (!s->avio) {
    av_free(buf);
    return RV_FAIL(RV_ERR_NOMEM, "I/O context");
  }
  s->avio->seekable = io->seek ? AVIO_SEEKABLE_NORMAL : 0;
  s->fc->pb = s->avio;
  return RV_OK;
}

/* Sampling takes at most one frame of a grid cell, the first one decoded. A packet that
 * goes to the decoder whole is remembered by its cell; a later frame of the same cell is not
 * taken, though the sampler, behind by the decoder's delay, does not know it yet. The margin
 * keeps both away from the cell's edges. */
static void forget_decoded(rv_source *s) {
  for (int i = 0; i < RV_COVER_CELLS; i++)
    s->cover_cell[i] = RV_TS_NONE;
  s->cover_discont = s->tl.discontinuities;
}

static void remember_decoded(rv_source *s, int64_t t) {
  int64_t c = rv_sampler_cell(&s->sampler, t - RV_COVER_MARGIN_NS);
  if (c == RV_TS_NONE) return;
  int i = (int)(c & (RV_COVER_CELLS - 1));
  if (s->cover_cell[i] != c || t < s->cover_ns[i]) {
    s->cover_cell[i] = c;
    s->cover_ns[i] = t;
  }
}

/* After a discontinuity, times of packets and of frames may be offset differently for a
 * while: nothing noted before it counts. */
static int covered(rv_source *s, int64_t t) {
  if (s->cover_discont != s->tl.discontinuities) forget_decoded(s);
  int64_t c = rv_sampler_cell(&s->sampler, t + RV_COVER_MARGIN_NS);
  if (c == RV_TS_NONE) return 0;
  int i = (int)(c & (RV_COVER_CELLS - 1));
  return s->cover_cell[i] == c && s->cover_ns[i] < t;
}

/* ---- opening ---- */

static const char *media_type_list(const AVFormatContext *fc, char *buf, size_t cap) {
  buf[0] = '\0';
  for (unsigned i = 0; i < fc->nb_streams; i++) {
    const char *t = av_get_media_type_string(fc->streams[i]->codecpar->codec_type);
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", t ? t : "unknown");
  }
  return buf[0] ? buf : "no streams";
}

/* The best video stream that is not a cover picture. */
static rv_status find_stream(rv_source *s) {
  char types[256];
  int si = av_find_best_stream(s->fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (si >= 0 && (s->fc->streams[si]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
    si = -1;
    for (unsigned i = 0; i < s->fc->nb_streams && si < 0; i++) {
      const AVStream *st = s->fc->streams[i];
      if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
          !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
        si = (int)i;
    }
  }
  if (si < 0)
    return RV_FAIL(RV_ERR_FORMAT, "%s: no video stream (%s has: %s)", s->name, s->fc->iformat->name,
                   media_type_list(s->fc, types, sizeof types));
  s->si = si;
  s->st = s->fc->streams[si];
  return RV_OK;
}

static enum AVPixelFormat get_format(AVCodecContext *ctx, const enum AVPixelFormat *fmts) {
  rv_source *s = ctx->opaque;
  for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
    if (*p == s->hw_fmt) return *p;
  if (s->hw_required) {
    RV_LOG_E("ingest: %s: NVDEC cannot decode this stream", s->name);
    return AV_PIX_FMT_NONE;
  }
  if (s->info.hw_decode)
    RV_LOG_I("ingest: %s: NVDEC cannot decode this stream: software decode", s->name);
  s->info.hw_decode = 0;
  for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) return *p;
  }
  return AV_PIX_FMT_NONE;
}

/* CUDA hwaccel when the decoder has it and a device opens; otherwise software, with the
 * reason kept for the one info line (an error when CUDA was required). */
static rv_status setup_hw(rv_source *s, const AVCodec *dec, rv_hwaccel mode) {
  s->hw_fmt = AV_PIX_FMT_NONE;
  s->hw_note = "software decode";
  if (mode == RV_HWACCEL_NONE) return RV_OK;
  s->hw_required = mode == RV_HWACCEL_CUDA;
  for (int i = 0;; i++) {
    const AVCodecHWConfig *c = avcodec_get_hw_config(dec, i);
    if (!c) break;
    if ((c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
        c->device_type == AV_HWDEVICE_TYPE_CUDA) {
      s->hw_fmt = c->pix_fmt;
      break;
    }
  }
  if (s->hw_fmt == AV_PIX_FMT_NONE) {
    if (s->hw_required)
      return RV_FAIL(RV_ERR_UNSUPPORTED, "%s: the %s decoder has no CUDA hwaccel", s->name,
                     dec->name);
    s->hw_note = "software decode (no NVDEC for this codec)";
    return RV_OK;
  }
  int err = av_hwdevice_ctx_create(&s->hw_dev, AV_HWDEVICE_TYPE_CUDA, NULL, NULL, 0);
  if (err < 0) {
    s->hw_fmt = AV_PIX_FMT_NONE;
    if (s->hw_required) return RV_AV_FAIL(err, "%s: no CUDA device for NVDEC", s->name);
    s->hw_note = "software decode (no CUDA device)";
    return RV_OK;
  }
  s->dec->hw_device_ctx = av_buffer_ref(s->hw_dev);
  if (!s->dec->hw_device_ctx) return RV_FAIL(RV_ERR_NOMEM, "hw device reference");
  s->dec->get_format = get_format;
  s->info.hw_decode = 1;
  s->hw_note = "NVDEC (CUDA) decode";
  return RV_OK;
}

/* Codecs whose every frame stands alone, so unneeded packets need not be decoded at all
 * (FFV1 and some others are marked intra-only but carry coder state across frames). */
static int frames_independent(enum AVCodecID id) {
  return id == AV_CODEC_ID_MJPEG || id == AV_CODEC_ID_RAWVIDEO || id == AV_CODEC_ID_PRORES ||
         id == AV_CODEC_ID_DNXHD || id == AV_CODEC_ID_JPEG2000;
}

static rv_status open_decoder(rv_source *s, const rv_ingest_cfg *cfg) {
  int err;
  const AVCodecParameters *par = s->st->codecpar;
  const AVCodec *dec = avcodec_find_decoder(par->codec_id);
  if (!dec)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "%s: this FFmpeg has no decoder for %s video", s->name,
                   avcodec_get_name(par->codec_id));
  s->dec = avcodec_alloc_context3(dec);
  if (!s->dec) return RV_FAIL(RV_ERR_NOMEM, "decoder context");
  if ((err = avcodec_parameters_to_context(s->dec, par)) < 0)
    return RV_AV_FAIL(err, "%s: stream parameters", s->name);
  s->dec->pkt_timebase = s->st->time_base;
  s->dec->thread_count = cfg->threads;
  s->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  s->dec->max_pixels = RV_MAX_PIXELS;
  s->dec->opaque = s;
  rv_status st = setup_hw(s, dec, cfg->hwaccel);
  if (st < 0) return st;
  if ((err = avcodec_open2(s->dec, dec, NULL)) < 0)
    return RV_AV_FAIL(err, "%s: cannot open the %s decoder", s->name, dec->name);
  s->intra_only = frames_independent(par->codec_id);
  s->h264_nal_len = -1;
  if (par->codec_id == AV_CODEC_ID_H264)
    s->h264_nal_len =
        par->extradata_size >= 7 && par->extradata[0] == 1 ? (par->extradata[4] & 3) + 1 : 0;
  return RV_OK;
}

static double nominal_fps(const AVStream *st) {
  if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) return av_q2d(st->avg_frame_rate);
  if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0) return av_q2d(st->r_frame_rate);
  return 0;
}

static void fill_info(rv_source *s) {
  const AVStream *st = s->st;
  rv_ingest_info *in = &s->info;
  in->container = s->fc->iformat->name;
  in->codec = avcodec_get_name(st->codecpar->codec_id);
  in->width = st->codecpar->width;
  in->height = st->codecpar->height;
  in->fps = nominal_fps(st);
  in->frames = st->nb_frames > 0 ? st->nb_frames : 0;
  in->threads = s->dec->thread_count;
  if (st->start_time != AV_NOPTS_VALUE)
    s->stream_start_ns = to_ns(s, st->start_time);
  else if (s->fc->start_time != AV_NOPTS_VALUE)
    s->stream_start_ns = av_rescale_q(s->fc->start_time, AV_TIME_BASE_Q, ns_q);
  in->start_s = (double)s->stream_start_ns * 1e-9;
  /* The stream's duration is its span. The container's (Matroska, MP4 with an edit list)
   * counts from 0 when the stream starts later: then the end is the duration itself. */
  s->declared_end_ns = RV_TS_NONE;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
    s->declared_end_ns = s->stream_start_ns + to_ns(s, st->duration);
  } else if (s->fc->duration != AV_NOPTS_VALUE && s->fc->duration > 0) {
    int64_t d = av_rescale_q(s->fc->duration, AV_TIME_BASE_Q, ns_q);
    s->declared_end_ns =
        s->stream_start_ns > 0 && d > s->stream_start_ns ? d : s->stream_start_ns + d;
  }
  in->duration_s = s->declared_end_ns == RV_TS_NONE
                       ? 0
                       : (double)(s->declared_end_ns - s->stream_start_ns) * 1e-9;
}

/* start_s: seek to the keyframe before it; frames before it are decoded and dropped. */
static void seek_start(rv_source *s, double start_s) {
  int64_t target = av_rescale_q(s->start_ns, ns_q, s->st->time_base);
  int err = avformat_seek_file(s->fc, s->si, INT64_MIN, target, target, 0);
  if (err < 0) {
    RV_LOG_W("ingest: %s: cannot seek to %.3f s (%s): decoding from the start", s->name, start_s,
             av_err2str(err));
    return;
  }
  s->need_base = s->seeked = 1;
}

static rv_status open_input(rv_source *s, const rv_ingest_cfg *cfg) {
  int err;
  s->fc = avformat_alloc_context();
  if (!s->fc) return RV_FAIL(RV_ERR_NOMEM, "format context");
  if (cfg->io) {
    rv_status st = open_io(s, cfg->io);
    if (st < 0) return st;
  }
  if ((err = avformat_open_input(&s->fc, cfg->io ? "" : cfg->path, NULL, NULL)) < 0) {
    struct stat sb;
    int local = cfg->io || (stat(cfg->path, &sb) == 0 && S_ISREG(sb.st_mode));
    if (local && (err == AVERROR(EIO) || err == AVERROR_EOF)) /* the data ran out */
      return RV_FAIL(RV_ERR_FORMAT,
                     "%s: cannot open: the input ends inside its headers "
                     "(truncated?): %s",
                     s->name, av_err2str(err));
    return RV_AV_FAIL(err, "%s: cannot open", s->name);
  }
  if ((err = avformat_find_stream_info(s->fc, NULL)) < 0)
    RV_LOG_W("ingest: %s: stream info incomplete (%s)", s->name, av_err2str(err));
  return RV_OK;
}

rv_status rv_source_open(const rv_ingest_cfg *cfg, rv_source **out) {
  rv_status st = RV_OK;
  rv_source *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "source");
  rv_av_route_log();
  s->name = strdup(cfg->path ? cfg->path : "input");
  s->pkt = av_packet_alloc();
  s->frame = av_frame_alloc();
  s->sw_frame = av_frame_alloc();
  s->sws_key[0] = s->sws_key[1] = -1;
  forget_decoded(s);
  if (!s->name || !s->pkt || !s->frame || !s->sw_frame) RV_TRY_FAIL(RV_ERR_NOMEM, "source");
  if (cfg->keep_source) {
    s->kept = calloc((size_t)cfg->batch, sizeof *s->kept);
    if (!s->kept) RV_TRY_FAIL(RV_ERR_NOMEM, "kept frames");
    s->n_kept = cfg->batch;
    for (int i = 0; i < s->n_kept; i++)
      if (!(s->kept[i] = av_frame_alloc())) RV_TRY_FAIL(RV_ERR_NOMEM, "kept frames");
  }
  RV_TRY(open_input(s, cfg));
  RV_TRY(find_stream(s));
  RV_TRY(open_decoder(s, cfg));
  fill_info(s);
  for (unsigned i = 0; i < s->fc->nb_streams; i++)
    if ((int)i != s->si) s->fc->streams[i]->discard = AVDISCARD_ALL;
  double fps = s->info.fps > 0 ? s->info.fps : 25.0;
  int discont = (s->fc->iformat->flags & AVFMT_TS_DISCONT) != 0;
  rv_timeline_init(&s->tl, llround(1e9 / fps), discont ? RV_TL_DISCONT_NS : 0);
  s->skip = cfg->skip;
  s->start_ns = cfg->start_s > 0 ? s->stream_start_ns + llround(cfg->start_s * 1e9) : RV_TS_NONE;
  s->end_ns = cfg->end_s > 0 ? s->stream_start_ns + llround(cfg->end_s * 1e9) : RV_TS_NONE;
  s->last_pkt_ns = s->position_ns = RV_TS_NONE;
  rv_sampler_init(&s->sampler, cfg->fps, s->start_ns);
  if (s->start_ns != RV_TS_NONE) seek_start(s, cfg->start_s);
  RV_LOG_I("ingest: %s: %s %s %dx%d %.3g fps, %s, %d threads", s->name, s->info.container,
           s->info.codec, s->info.width, s->info.height, s->info.fps, s->hw_note, s->info.threads);
  *out = s;
  return RV_OK;
fail:
  rv_source_close(s);
  return st;
}

/* ---- reading ---- */

/* Frame number of the first packet after a seek: its place in a per-frame index (MP4, AVI),
 * else estimated from the frame rate. */
static int64_t index_after_seek(rv_source *s, int64_t pts_ns) {
  int n = avformat_index_get_entries_count(s->st);
  int64_t ts = s->pkt->dts != AV_NOPTS_VALUE ? s->pkt->dts : s->pkt->pts;
  if (n > 0 && s->st->nb_frames > 0 && n >= s->st->nb_frames) {
    int i = av_index_search_timestamp(s->st, ts, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY);
    if (i >= 0) return i;
  }
  double fps = s->info.fps > 0 ? s->info.fps : 25.0;
  int64_t k = llround((double)(pts_ns - s->stream_start_ns) * fps * 1e-9);
  return k > 0 ? k : 0;
}

/* H.264: whether the NAL unit starting at `nal` lets its packet go undecoded. Slices of
 * non-reference pictures (nal_ref_idc 0) are used by no other picture, and access unit
 * delimiters and filler carry nothing; anything else (parameter sets, SEI, reference slices)
 * keeps the packet. */
static int h264_nal_droppable(uint8_t nal) {
  int type = nal & 0x1f;
  if (type == 1) return (nal & 0x60) == 0;
  return type == 9 || type == 12;
}

/* Length-prefixed NAL units (avcC, as in MP4 and Matroska). */
static int h264_prefixed_droppable(const uint8_t *p, int size, int len_bytes) {
  int slices = 0;
  while (size > len_bytes) {
    uint32_t n = 0;
    for (int i = 0; i < len_bytes; i++)
      n = n << 8 | p[i];
    p += len_bytes;
    size -= len_bytes;
    if (n == 0 || n > (uint32_t)size || !h264_nal_droppable(p[0])) return 0;
    slices += (p[0] & 0x1f) == 1;
    p += n;
    size -= (int)n;
  }
  return size == 0 && slices > 0;
}

/* Annex B: NAL units after 00 00 01 start codes (MPEG-TS, raw .h264). */
static int h264_annexb_droppable(const uint8_t *p, int size) {
  int slices = 0;
  for (int i = 0; i + 3 < size; i++) {
    if (p[i] || p[i + 1] || p[i + 2] != 1) continue;
    uint8_t nal = p[i + 3];
    if (!h264_nal_droppable(nal)) return 0;
    slices += (nal & 0x1f) == 1;
    i += 3;
  }
  return slices > 0;
}

/* A packet holding only a non-reference picture: not sending it to the decoder changes no
 * other frame, and (unlike skip_frame) costs no frame thread a turn in its round robin. */
static int packet_nonref(const rv_source *s) {
  const AVPacket *p = s->pkt;
  if (s->h264_nal_len < 0 || !p->data) return 0;
  return s->h264_nal_len ? h264_prefixed_droppable(p->data, p->size, s->h264_nal_len)
                         : h264_annexb_droppable(p->data, p->size);
}

/* Accounting for a packet of our stream, and whether it goes to the decoder. Packets that
 * sampling will not take: non-reference frames are discarded by the decoder (skip_frame),
 * independent frames are not decoded at all. */
static int want_packet(rv_source *s) {
  AVPacket *p = s->pkt;
  int key = (p->flags & AV_PKT_FLAG_KEY) != 0;
  int64_t raw = to_ns(s, p->pts);
  s->stats.packets++;
  if (p->flags & AV_PKT_FLAG_CORRUPT) s->stats.corrupt_packets++;
  if (s->need_base && raw != RV_TS_NONE) {
    rv_timeline_restart(&s->tl, index_after_seek(s, raw));
    forget_decoded(s);
    s->need_base = 0;
  }
  if (raw != RV_TS_NONE) {
    int64_t end = raw + to_ns(s, p->duration > 0 ? p->duration : 0);
    if (s->last_pkt_ns == RV_TS_NONE || end > s->last_pkt_ns) s->last_pkt_ns = end;
  }
  int64_t t = rv_timeline_map(&s->tl, raw);
  int unneeded = s->skip == RV_SKIP_AUTO &&
                 (rv_sampler_skippable(&s->sampler, t) || covered(s, t)) &&
                 (s->tl.last_ns == RV_TS_NONE || t >= s->tl.last_ns - RV_TL_BACK_NS);
  int nonref = unneeded && !key && packet_nonref(s);
  int decode =
      s->skip == RV_SKIP_KEYFRAMES ? key : !(unneeded && ((key && s->intra_only) || nonref));
  rv_timeline_packet(&s->tl, raw, decode);
  s->dec->skip_frame = unneeded && !key ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
  /* decoded whole: not discarded by skip_frame (H.264 packets past packet_nonref hold
   * reference pictures, which it keeps), not flagged corrupt */
  int whole = s->dec->skip_frame == AVDISCARD_DEFAULT || s->h264_nal_len >= 0;
  if (decode && whole && !(p->flags & AV_PKT_FLAG_CORRUPT) && s->skip == RV_SKIP_AUTO)
    remember_decoded(s, t);
  return decode;
}

/* The demuxer is done: a clean end, a read error, or an end before the declared one. */
static void end_of_input(rv_source *s, int err) {
  s->demux_eof = 1;
  if (err != AVERROR_EOF) {
    av_strerror(err, s->read_error, sizeof s->read_error);
    s->stats.truncated = 1;
    return;
  }
  int short_count = s->info.frames > 0 && s->stats.packets < s->info.frames && !s->seeked;
  int short_time = s->declared_end_ns != RV_TS_NONE && s->last_pkt_ns != RV_TS_NONE &&
                   s->last_pkt_ns < s->declared_end_ns - s->tl.frame_ns;
  if (short_count || short_time) s->stats.truncated = 1;
}

/* Next packet for the decoder in s->pkt: RV_OK, or RV_EOF when the input is done. */
static rv_status next_packet(rv_source *s) {
  int again = 0;
  for (;;) {
    int err = av_read_frame(s->fc, s->pkt);
    if (err == AVERROR(EAGAIN) && ++again < RV_MAX_AGAIN) {
      av_usleep(1000);
      continue;
    }
    if (err < 0) {
      end_of_input(s, err);
      return RV_EOF;
    }
    if (s->pkt->stream_index == s->si && want_packet(s)) return RV_OK;
    if (s->pkt->stream_index == s->si) s->stats.dropped++;
    av_packet_unref(s->pkt);
  }
}

/* Next decoded frame in s->frame: RV_OK, RV_EOF once the decoder is drained, or an error. */
static rv_status next_frame(rv_source *s) {
  for (;;) {
    int err = avcodec_receive_frame(s->dec, s->frame);
    if (err >= 0) return RV_OK;
    if (err == AVERROR_EOF) return RV_EOF;
    if (err != AVERROR(EAGAIN)) {
      if (err == AVERROR(ENOMEM)) return RV_AV_FAIL(err, "%s: decoding", s->name);
      s->stats.corrupt_packets++;
      if (++s->errors_in_row > RV_MAX_ERRORS_IN_ROW)
        return RV_AV_FAIL(err, "%s: the decoder failed %d times in a row", s->name,
                          RV_MAX_ERRORS_IN_ROW);
      continue;
    }
    if (s->demux_eof) {
      if (s->flushed) return RV_EOF;
      avcodec_send_packet(s->dec, NULL);
      s->flushed = 1;
      continue;
    }
    if (next_packet(s) == RV_EOF) continue;
    err = avcodec_send_packet(s->dec, s->pkt);
    av_packet_unref(s->pkt);
    if (err == AVERROR(ENOMEM)) return RV_AV_FAIL(err, "%s: decoding", s->name);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
      return RV_AV_FAIL(err, "%s: decoder refused input after asking for it", s->name);
    if (err < 0) s->stats.corrupt_packets++;
  }
}

/* The end: one warning when the input was damaged or short, an error when nothing decoded. */
static rv_status finish(rv_source *s) {
  if (s->eof_reported) return RV_EOF;
  s->eof_reported = 1;
  const rv_ingest_stats *t = &s->stats;
  if (t->decoded == 0)
    return RV_FAIL(RV_ERR_FORMAT, "%s: no decodable %s frame (%lld packets, %lld refused)%s%s",
                   s->name, s->info.codec, (long long)t->packets, (long long)t->corrupt_packets,
                   s->read_error[0] ? ": " : "", s->read_error);
  if (t->truncated)
    RV_LOG_W("ingest: %s: input ends early (%s) at %.2f s of %.2f s: %lld frames decoded, "
             "%lld corrupt packets skipped",
             s->name, s->read_error[0] ? s->read_error : "truncated?", rv_source_position(s),
             s->info.duration_s, (long long)t->decoded, (long long)t->corrupt_packets);
  else if (t->corrupt_packets || t->corrupt_frames)
    RV_LOG_W("ingest: %s: damaged input: %lld corrupt packets skipped, %lld frames concealed",
             s->name, (long long)t->corrupt_packets, (long long)t->corrupt_frames);
  return RV_EOF;
}

rv_status rv_source_next(rv_source *s, rv_source_frame *f) {
  if (s->at_end) return RV_EOF;
  for (;;) {
    av_frame_unref(s->frame);
    s->sw_ready = 0;
    rv_status st = next_frame(s);
    if (st == RV_EOF) {
      s->at_end = 1;
      return finish(s);
    }
    if (st < 0) return st;
    s->stats.decoded++;
    s->errors_in_row = 0;
    if (s->frame->decode_error_flags || (s->frame->flags & AV_FRAME_FLAG_CORRUPT))
      s->stats.corrupt_frames++;
    int64_t t, idx;
    rv_timeline_frame(&s->tl, to_ns(s, s->frame->best_effort_timestamp), &t, &idx);
    s->position_ns = t;
    if (s->start_ns != RV_TS_NONE && t < s->start_ns - RV_SAMPLE_TOL_NS) continue;
    if (s->end_ns != RV_TS_NONE && t >= s->end_ns) {
      s->at_end = 1;
      s->eof_reported = 1;
      return RV_EOF;
    }
    if (!rv_sampler_take(&s->sampler, t)) continue;
    s->stats.sampled++;
    f->pts_ns = t;
    f->index = idx;
    f->width = s->frame->width;
    f->height = s->frame->height;
    AVRational sar = s->frame->sample_aspect_ratio;
    f->sar = sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1.0;
    return RV_OK;
  }
}

/* ---- scaling ---- */

static int sws_colorspace(enum AVColorSpace cs) {
  switch (cs) {
  case AVCOL_SPC_BT709: return SWS_CS_ITU709;
  case AVCOL_SPC_FCC: return SWS_CS_FCC;
  case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
  case AVCOL_SPC_BT2020_NCL:
  case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
  default: return SWS_CS_ITU601;
  }
}

/* The J (full-range) formats as their plain twins plus a range flag, as swscale wants. */
static enum AVPixelFormat plain_format(enum AVPixelFormat f, int *full) {
  switch (f) {
  case AV_PIX_FMT_YUVJ420P: *full = 1; return AV_PIX_FMT_YUV420P;
  case AV_PIX_FMT_YUVJ422P: *full = 1; return AV_PIX_FMT_YUV422P;
  case AV_PIX_FMT_YUVJ444P: *full = 1; return AV_PIX_FMT_YUV444P;
  case AV_PIX_FMT_YUVJ440P: *full = 1; return AV_PIX_FMT_YUV440P;
  case AV_PIX_FMT_YUVJ411P: *full = 1; return AV_PIX_FMT_YUV411P;
  default: return f;
  }
}

static rv_status pixels_on_host(rv_source *s, const AVFrame **out) {
  *out = s->frame;
  if (s->hw_fmt == AV_PIX_FMT_NONE || s->frame->format != s->hw_fmt) return RV_OK;
  if (!s->sw_ready) {
    av_frame_unref(s->sw_frame);
    int err = av_hwframe_transfer_data(s->sw_frame, s->frame, 0);
    if (err < 0)
      return RV_FAIL(RV_ERR_DEVICE, "%s: copying a decoded frame from the GPU: %s", s->name,
                     av_err2str(err));
    s->sw_ready = 1;
  }
  *out = s->sw_frame;
  return RV_OK;
}

/* One scaler (cached in *sws, its colour setup in *key) from planes of `fmt` to RGB24. */
static rv_status scale_rgb(struct SwsContext **sws, int *key, const char *name,
                           enum AVPixelFormat fmt, int full, int colorspace, int sw, int sh,
                           const uint8_t *const data[], const int linesize[], uint8_t *dst,
                           int stride, int w, int h) {
  struct SwsContext *prev = *sws;
  *sws = sws_getCachedContext(prev, sw, sh, fmt, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL,
                              NULL);
  if (!*sws)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "%s: no conversion from %s %dx%d to rgb24 %dx%d", name,
                   av_get_pix_fmt_name(fmt), sw, sh, w, h);
  int k = (colorspace << 1) | full;
  if (*sws != prev || *key != k) {
    const int *coefs = sws_getCoefficients(colorspace);
    sws_setColorspaceDetails(*sws, coefs, full, coefs, 1, 0, 1 << 16, 1 << 16);
    *key = k;
  }
  uint8_t *d[4] = {dst, NULL, NULL, NULL};
  int ds[4] = {stride, 0, 0, 0};
  if (sws_scale(*sws, data, linesize, 0, sh, d, ds) <= 0)
    return RV_FAIL(RV_ERR_FORMAT, "%s: scaling a %s frame failed", name, av_get_pix_fmt_name(fmt));
  return RV_OK;
}

rv_status rv_source_render(rv_source *s, int slot, uint8_t *dst, int stride, int w, int h) {
  const AVFrame *f;
  rv_status st = pixels_on_host(s, &f);
  if (st < 0) return st;
  int full = f->color_range == AVCOL_RANGE_JPEG;
  enum AVPixelFormat fmt = plain_format((enum AVPixelFormat)f->format, &full);
  return scale_rgb(&s->sws[slot], &s->sws_key[slot], s->name, fmt, full,
                   sws_colorspace(f->colorspace), f->width, f->height,
                   (const uint8_t *const *)f->data, f->linesize, dst, stride, w, h);
}

/* The held frame as an rv_image the push path would scale exactly as render() does: planar
 * or semi-planar 4:2:0 in the BT.601 or BT.709 matrix; anything else stays RGB-only. */
rv_status rv_source_keep(rv_source *s, int slot, rv_image *img) {
  memset(img, 0, sizeof *img);
  if (slot < 0 || slot >= s->n_kept) return RV_FAIL(RV_ERR_INVALID, "keep slot %d", slot);
  const AVFrame *f;
  rv_status st = pixels_on_host(s, &f);
  if (st < 0) return st;
  int full = f->color_range == AVCOL_RANGE_JPEG;
  enum AVPixelFormat fmt = plain_format((enum AVPixelFormat)f->format, &full);
  int cs = sws_colorspace(f->colorspace);
  if ((fmt != AV_PIX_FMT_YUV420P && fmt != AV_PIX_FMT_NV12) ||
      (cs != SWS_CS_ITU601 && cs != SWS_CS_ITU709))
    return RV_OK; /* width 0: no such form */
  AVFrame *k = s->kept[slot];
  av_frame_unref(k);
  int err = av_frame_ref(k, f);
  if (err < 0) return RV_FAIL(RV_ERR_NOMEM, "%s: keeping a frame: %s", s->name, av_err2str(err));
  img->format = fmt == AV_PIX_FMT_NV12 ? RV_PIXEL_NV12 : RV_PIXEL_I420;
  img->width = k->width;
  img->height = k->height;
  for (int p = 0; p < (fmt == AV_PIX_FMT_NV12 ? 2 : 3); p++) {
    img->data[p] = k->data[p];
    img->stride[p] = k->linesize[p];
  }
  img->full_range = full;
  img->bt709 = cs == SWS_CS_ITU709;
  img->sar = k->sample_aspect_ratio.num > 0 && k->sample_aspect_ratio.den > 0
                 ? av_q2d(k->sample_aspect_ratio)
                 : 1.0;
  return RV_OK;
}

/* ---- push mode: the caller's frames ---- */

struct rv_image_scaler {
  struct SwsContext *sws;
  int key;
};

rv_status rv_image_scaler_init(rv_image_scaler **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return RV_FAIL(RV_ERR_NOMEM, "image scaler");
  (*out)->key = -1;
  return RV_OK;
}

static const enum AVPixelFormat image_formats[] = {
    [RV_PIXEL_RGB24] = AV_PIX_FMT_RGB24,  [RV_PIXEL_BGR24] = AV_PIX_FMT_BGR24,
    [RV_PIXEL_RGBA] = AV_PIX_FMT_RGBA,    [RV_PIXEL_BGRA] = AV_PIX_FMT_BGRA,
    [RV_PIXEL_I420] = AV_PIX_FMT_YUV420P, [RV_PIXEL_NV12] = AV_PIX_FMT_NV12,
};

rv_status rv_image_render(rv_image_scaler *s, const rv_image *img, uint8_t *dst, int stride, int w,
                          int h) {
  if ((unsigned)img->format >= sizeof image_formats / sizeof *image_formats)
    return RV_FAIL(RV_ERR_INVALID, "pixel format %d unknown", (int)img->format);
  const uint8_t *data[4] = {img->data[0], img->data[1], img->data[2], NULL};
  int linesize[4] = {img->stride[0], img->stride[1], img->stride[2], 0};
  int cs = img->bt709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  return scale_rgb(&s->sws, &s->key, "frame", image_formats[img->format], img->full_range != 0, cs,
                   img->width, img->height, data, linesize, dst, stride, w, h);
}

void rv_image_scaler_free(rv_image_scaler *s) {
  if (!s) return;
  sws_freeContext(s->sws);
  free(s);
}

/* ---- the rest ---- */

void rv_source_close(rv_source *s) {
  if (!s) return;
  avcodec_free_context(&s->dec);
  avformat_close_input(&s->fc);
  if (s->avio) av_freep(&s->avio->buffer);
  avio_context_free(&s->avio);
  av_buffer_unref(&s->hw_dev);
  sws_freeContext(s->sws[0]);
  sws_freeContext(s->sws[1]);
  av_frame_free(&s->frame);
  av_frame_free(&s->sw_frame);
  for (int i = 0; i < s->n_kept; i++)
    av_frame_free(&s->kept[i]);
  free(s->kept);
  av_packet_free(&s->pkt);
  free(s->name);
  free(s);
}

const rv_ingest_info *rv_source_info(const rv_source *s) { return &s->info; }

rv_ingest_stats rv_source_stats(const rv_source *s) {
  rv_ingest_stats t = s->stats;
  t.discontinuities = s->tl.discontinuities;
  return t;
}

double rv_source_position(const rv_source *s) {
  if (s->position_ns == RV_TS_NONE) return 0;
  return (double)(s->position_ns - s->stream_start_ns) * 1e-9;
}
