/* What the FFmpeg-facing files of ingest share: errors with FFmpeg's own text, and the
 * routing of FFmpeg's log into rv_log. Internal to ingest. */
#ifndef RINGVIT_INGEST_AV_IMPL_H
#define RINGVIT_INGEST_AV_IMPL_H

#include <ringvit/status.h>

/* Records an error whose message is the formatted context followed by av_strerror(err),
 * with a status that matches the AVERROR code (ENOENT -> not found, ENOMEM -> out of
 * memory, INVALIDDATA -> malformed data, ...). Returns that status. */
rv_status rv_av_error(int err, const char *file, int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define RV_AV_FAIL(err, ...) rv_av_error((err), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* The rv_status that corresponds to an AVERROR code. */
rv_status rv_av_status(int err);

/* Sends FFmpeg's log lines to rv_log at debug level (once per process): we report what
 * matters ourselves, in one line, and library code prints nothing of its own accord. */
void rv_av_route_log(void);

#endif
