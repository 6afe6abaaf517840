#include <stdio.h>
#include <string.h>

#include <ringvit/status.h>

#define RV_ERROR_CAP 1024

/* Per thread, so that ranks running as threads never see each other's errors. */
static _Thread_local char last_error[RV_ERROR_CAP];
static _Thread_local rv_status last_status;

const char *rv_status_str(rv_status st) {
  switch (st) {
  case RV_OK: return "ok";
  case RV_EOF: return "end of stream";
  case RV_AGAIN: return "try again";
  case RV_ERR_INVALID: return "invalid argument";
  case RV_ERR_SHAPE: return "shape mismatch";
  case RV_ERR_DTYPE: return "unsupported element type";
  case RV_ERR_NOMEM: return "out of memory";
  case RV_ERR_IO: return "I/O error";
  case RV_ERR_FORMAT: return "malformed data";
  case RV_ERR_UNSUPPORTED: return "not supported";
  case RV_ERR_DEVICE: return "device error";
  case RV_ERR_COMM: return "communication error";
  case RV_ERR_TIMEOUT: return "timed out";
  case RV_ERR_NOT_FOUND: return "not found";
  case RV_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char *rv_last_error(void) { return last_error; }

rv_status rv_last_error_status(void) { return last_status; }

void rv_clear_error(void) {
  last_error[0] = '\0';
  last_status = RV_OK;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

rv_status rv_error_set(rv_status st, const char *file, int line, const char *func,
                       const char *fmt, ...) {
  char msg[RV_ERROR_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(last_error, sizeof last_error, "%s:%d %s: %s", base_name(file), line, func, msg);
  last_status = st;
  rv_log(RV_LOG_DEBUG, "error %s (%s)", last_error, rv_status_str(st));
  return st;
}
