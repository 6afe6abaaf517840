/* Progress of a long run on stderr: a bar with position, rate (x real time) and ETA,
 * redrawn in place on a terminal; on anything else (a log file, CI) a plain line every
 * `every_s` seconds, so logs stay readable. */
#ifndef RINGVIT_CLI_PROGRESS_H
#define RINGVIT_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct rv_progress {
  FILE *out;
  int tty;        /* 1: redraw in place */
  int quiet;      /* 1: print nothing */
  double every_s; /* plain mode: seconds between lines */
  double start_s; /* wall clock at init */
  double last_s;  /* wall clock of the last print */
  int64_t frames; /* sampled frames done */
  int drawn;      /* a bar is on screen (needs a newline before other output) */
} rv_progress;

/* tty < 0: ask isatty(fileno(out)). */
void rv_progress_init(rv_progress *p, FILE *out, int quiet, int tty);
/* Wall-clock seconds (monotonic). */
double rv_progress_now(void);
/* pos and dur in ns of media time (dur <= 0: unknown); now_s from rv_progress_now(). */
void rv_progress_update(rv_progress *p, double now_s, int64_t pos_ns, int64_t dur_ns,
                        int64_t frames);
/* Ends the bar line, so the summary starts on its own line. */
void rv_progress_end(rv_progress *p);
/* "1h02m03s", "4m05s", "12.3s" */
void rv_format_duration(double s, char *buf, size_t cap);

#endif
