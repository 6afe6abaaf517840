/* The CLI's progress reporting: plain lines at a fixed period off a terminal, an in-place
 * bar on one, nothing when quiet; durations formatted as people read them. */
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "rv-test.h"

static char *run(int tty, int quiet, int updates, double step_s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rv_progress p;
  rv_progress_init(&p, f, quiet, tty);
  for (int i = 1; i <= updates; i++)
    rv_progress_update(&p, p.start_s + i * step_s, (int64_t)i * 1000000000LL, 100000000000LL, i);
  rv_progress_end(&p);
  fclose(f);
  return buf;
}

static int count(const char *s, char c) {
  int n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

static void test_plain_lines_every_ten_seconds(void **state) {
  (void)state;
  char *out = run(0, 0, 60, 1.0); /* 60 updates a second apart: lines at 1 s, 11 s, ... 51 s */
  assert_int_equal(count(out, '\n'), 6);
  assert_null(strchr(out, '\r'));
  assert_non_null(strstr(out, "ringvit: 1.0s / 1m40s"));
  assert_non_null(strstr(out, "x1.0 real time"));
  assert_non_null(strstr(out, "ETA 49.0s")); /* at 51 s of 100, one media second a second */
  free(out);
}

static void test_tty_bar_redraws_in_place(void **state) {
  (void)state;
  char *out = run(1, 0, 50, 1.0);
  assert_int_equal(count(out, '\r'), 50);
  assert_int_equal(count(out, '\n'), 1);                            /* only the final end of line */
  assert_non_null(strstr(out, "[###############...............]")); /* 50% */
  free(out);
}

static void test_quiet_prints_nothing(void **state) {
  (void)state;
  char *out = run(1, 1, 20, 1.0);
  assert_string_equal(out, "");
  free(out);
}

static void test_durations(void **state) {
  (void)state;
  char b[32];
  rv_format_duration(12.34, b, sizeof b);
  assert_string_equal(b, "12.3s");
  rv_format_duration(245, b, sizeof b);
  assert_string_equal(b, "4m05s");
  rv_format_duration(3723, b, sizeof b);
  assert_string_equal(b, "1h02m03s");
  rv_format_duration(-1, b, sizeof b);
  assert_string_equal(b, "?");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_lines_every_ten_seconds),
      cmocka_unit_test(test_tty_bar_redraws_in_place),
      cmocka_unit_test(test_quiet_prints_nothing),
      cmocka_unit_test(test_durations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
