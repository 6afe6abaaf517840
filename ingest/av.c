#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "av-impl.h"

rv_status rv_av_status(int err) {
  switch (err) {
  case AVERROR(ENOENT): return RV_ERR_NOT_FOUND;
  case AVERROR(ENOMEM): return RV_ERR_NOMEM;
  case AVERROR(EINVAL): return RV_ERR_INVALID;
  case AVERROR(ENOSYS):
  case AVERROR_PATCHWELCOME:
  case AVERROR_DECODER_NOT_FOUND:
  case AVERROR_ENCODER_NOT_FOUND:
  case AVERROR_DEMUXER_NOT_FOUND:
  case AVERROR_MUXER_NOT_FOUND:
  case AVERROR_PROTOCOL_NOT_FOUND: return RV_ERR_UNSUPPORTED;
  case AVERROR_INVALIDDATA:
  case AVERROR_BUG2:
  case AVERROR_EOF: return RV_ERR_FORMAT;
  case AVERROR_STREAM_NOT_FOUND: return RV_ERR_NOT_FOUND;
  case AVERROR_BUG: return RV_ERR_INTERNAL;
  case AVERROR(ETIMEDOUT): return RV_ERR_TIMEOUT;
  default: return RV_ERR_IO;
  }
}

rv_status rv_av_error(int err, const char *file, int line, const char *func, const char *fmt, ...) {
  char what[512], text[AV_ERROR_MAX_STRING_SIZE] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (av_strerror(err, text, sizeof text) < 0) snprintf(text, sizeof text, "error %d", err);
  return rv_error_set(rv_av_status(err), file, line, func, "%s: %s", what, text);
}

static void log_line(void *avcl, int level, const char *fmt, va_list ap) {
  if (level > av_log_get_level() || rv_log_get_level() > RV_LOG_DEBUG) return;
  char line[1024];
  int prefix = 1;
  av_log_format_line2(avcl, level, fmt, ap, line, sizeof line, &prefix);
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  if (n > 0) rv_log(RV_LOG_DEBUG, "ffmpeg: %s", line);
}

static pthread_once_t route_once = PTHREAD_ONCE_INIT;
static void route(void) { av_log_set_callback(log_line); }
void rv_av_route_log(void) { pthread_once(&route_once, route); }
