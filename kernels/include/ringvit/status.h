/* Status codes, per-thread error context and logging.
 *
 * Every fallible ringvit function returns an rv_status: 0 is success, positive values
 * are flow states (end of stream, try again), negative values are errors. The text of
 * the last error raised on the calling thread, with its location and any foreign
 * message (FFmpeg, CUDA, NCCL, MPI), is kept until the next error on that thread. */
#ifndef RINGVIT_STATUS_H
#define RINGVIT_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_status {
  RV_OK = 0,
  RV_EOF = 1,              /* no more data */
  RV_AGAIN = 2,            /* nothing yet; call again */
  RV_ERR_INVALID = -1,     /* bad argument or option */
  RV_ERR_SHAPE = -2,       /* tensor shapes do not agree */
  RV_ERR_DTYPE = -3,       /* unsupported or mismatched element type */
  RV_ERR_NOMEM = -4,       /* allocation failed */
  RV_ERR_IO = -5,          /* file or network I/O failed */
  RV_ERR_FORMAT = -6,      /* malformed or corrupt input data */
  RV_ERR_UNSUPPORTED = -7, /* valid request this build or device cannot serve */
  RV_ERR_DEVICE = -8,      /* CUDA / cuBLAS / driver failure */
  RV_ERR_COMM = -9,        /* MPI / NCCL / ring peer failure */
  RV_ERR_TIMEOUT = -10,    /* a wait exceeded its deadline */
  RV_ERR_NOT_FOUND = -11,  /* missing file, tensor, stream or key */
  RV_ERR_INTERNAL = -12,   /* broken invariant: a bug in ringvit */
} rv_status;

/* Short constant text for a status ("invalid argument"); never NULL. */
const char *rv_status_str(rv_status st);

/* Message of the last error raised on this thread: "file.c:42 rv_fn: what happened".
 * Empty string when none. The pointer stays valid until the next error on this thread. */
const char *rv_last_error(void);
rv_status rv_last_error_status(void);
void rv_clear_error(void);

/* Records an error for this thread and returns `st`, so callers write
 * `return RV_FAIL(RV_ERR_INVALID, "n must be > 0, got %d", n);` */
rv_status rv_error_set(rv_status st, const char *file, int line, const char *func,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define RV_FAIL(st, ...) rv_error_set((st), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Propagates an error from a call whose callee already recorded the message.
 * Requires a local `rv_status st` and a `fail:` label. */
#define RV_TRY(expr)            \
  do {                          \
    st = (expr);                \
    if (st < 0) goto fail;      \
  } while (0)

/* Records an error and jumps to `fail:`. */
#define RV_TRY_FAIL(code, ...)          \
  do {                                  \
    st = RV_FAIL((code), __VA_ARGS__);  \
    goto fail;                          \
  } while (0)

/* ---- logging ---- */
typedef enum rv_log_level {
  RV_LOG_DEBUG = 0,
  RV_LOG_INFO = 1,
  RV_LOG_WARN = 2,
  RV_LOG_ERROR = 3,
  RV_LOG_OFF = 4,
} rv_log_level;

typedef void (*rv_log_fn)(rv_log_level level, const char *msg, void *user);

/* Level from RINGVIT_LOG=debug|info|warn|error|off on first use; default info. */
rv_log_level rv_log_get_level(void);
void rv_log_set_level(rv_log_level level);
/* Route messages elsewhere (e.g. GST_DEBUG); NULL restores stderr. */
void rv_log_set_callback(rv_log_fn fn, void *user);
void rv_log(rv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rv_vlog(rv_log_level level, const char *fmt, va_list ap);

#define RV_LOG_D(...) rv_log(RV_LOG_DEBUG, __VA_ARGS__)
#define RV_LOG_I(...) rv_log(RV_LOG_INFO, __VA_ARGS__)
#define RV_LOG_W(...) rv_log(RV_LOG_WARN, __VA_ARGS__)
#define RV_LOG_E(...) rv_log(RV_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
