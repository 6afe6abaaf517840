#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

enum { BAR_WIDTH = 30 };
static const double TTY_EVERY_S = 0.2;

void rv_progress_init(rv_progress *p, FILE *out, int quiet, int tty) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->quiet = quiet;
  p->tty = tty < 0 ? isatty(fileno(out)) : tty;
  p->every_s = 10.0;
  p->start_s = rv_progress_now();
  p->last_s = -1e300;
}

double rv_progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rv_format_duration(double s, char *buf, size_t cap) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, cap, "?");
  } else if (s < 60) {
    snprintf(buf, cap, "%.1fs", s);
  } else {
    long t = lround(s);
    if (t >= 3600)
      snprintf(buf, cap, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
    else
      snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
  }
}

/* "12m03s / 1h00m00s  20.1%  x14.2 real time  ETA 4m12s  (2410 frames)" */
static void describe(const rv_progress *p, double now_s, int64_t pos_ns, int64_t dur_ns, char *buf,
                     size_t cap, double *frac) {
  double wall = now_s - p->start_s, pos = (double)pos_ns * 1e-9, dur = (double)dur_ns * 1e-9;
  double speed = wall > 0 ? pos / wall : 0;
  char spos[32], sdur[32], seta[32];
  rv_format_duration(pos, spos, sizeof spos);
  *frac = dur > 0 ? fmin(fmax(pos / dur, 0.0), 1.0) : -1.0;
  if (*frac < 0) {
    snprintf(buf, cap, "%s  x%.1f real time  (%lld frames)", spos, speed, (long long)p->frames);
    return;
  }
  rv_format_duration(dur, sdur, sizeof sdur);
  rv_format_duration(speed > 0 ? (dur - pos) / speed : NAN, seta, sizeof seta);
  snprintf(buf, cap, "%s / %s  %5.1f%%  x%.1f real time  ETA %s  (%lld frames)", spos, sdur,
           100.0 * *frac, speed, seta, (long long)p->frames);
}

void rv_progress_update(rv_progress *p, double now_s, int64_t pos_ns, int64_t dur_ns,
                        int64_t frames) {
  p->frames = frames;
  if (p->quiet || now_s - p->last_s < (p->tty ? TTY_EVERY_S : p->every_s)) return;
  p->last_s = now_s;
  char text[160];
  double frac;
  describe(p, now_s, pos_ns, dur_ns, text, sizeof text, &frac);
  if (!p->tty) {
    fprintf(p->out, "ringvit: %s\n", text);
    fflush(p->out);
    return;
  }
  char bar[BAR_WIDTH + 1];
  int fill = frac < 0 ? 0 : (int)lround(frac * BAR_WIDTH);
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[BAR_WIDTH] = 0;
  fprintf(p->out, "\r[%s] %s\033[K", bar, text); /* \033[K clears what a longer line left */
  fflush(p->out);
  p->drawn = 1;
}

void rv_progress_end(rv_progress *p) {
  if (p->drawn) fputc('\n', p->out);
  p->drawn = 0;
}
