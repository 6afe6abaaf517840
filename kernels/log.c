#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ringvit/status.h>

static pthread_once_t level_once = PTHREAD_ONCE_INIT;
static rv_log_level current_level = RV_LOG_INFO;
static rv_log_fn sink_fn;
static void *sink_user;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_level_from_env(void) {
  static const char *names[] = {"debug", "info", "warn", "error", "off"};
  const char *env = getenv("RINGVIT_LOG");
  if (!env) return;
  for (int i = 0; i <= RV_LOG_OFF; i++) {
    if (strcasecmp(env, names[i]) == 0) {
      current_level = (rv_log_level)i;
      return;
    }
  }
  fprintf(stderr, "ringvit: RINGVIT_LOG=%s is not one of debug|info|warn|error|off\n", env);
}

rv_log_level rv_log_get_level(void) {
  pthread_once(&level_once, read_level_from_env);
  return current_level;
}

void rv_log_set_level(rv_log_level level) {
  pthread_once(&level_once, read_level_from_env);
  current_level = level;
}

void rv_log_set_callback(rv_log_fn fn, void *user) {
  pthread_mutex_lock(&sink_lock);
  sink_fn = fn;
  sink_user = user;
  pthread_mutex_unlock(&sink_lock);
}

void rv_vlog(rv_log_level level, const char *fmt, va_list ap) {
  static const char *tags[] = {"debug", "info", "warning", "error"};
  if (level >= RV_LOG_OFF || level < rv_log_get_level()) return;
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  pthread_mutex_lock(&sink_lock);
  if (sink_fn)
    sink_fn(level, msg, sink_user);
  else
    fprintf(stderr, "ringvit: %s: %s\n", tags[level], msg);
  pthread_mutex_unlock(&sink_lock);
}

void rv_log(rv_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rv_vlog(level, fmt, ap);
  va_end(ap);
}
