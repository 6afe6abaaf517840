/* Memory stays flat on a live feed (DESIGN.md section 7): a live 25 fps source through
 * rvencoder (stream) ! rvtracker ! rvjsonsink for `minutes`; the resident set at the end
 * must be within 5% of the one after the first minute. argv: [minutes] (default 10). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gst/gst.h>

#include "gstringvit.h"
#include "rv-test.h"

static int minutes = 10;

static double rss_mb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  if (f) fclose(f);
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

/* Runs the pipeline until `until_s` of wall time; fails on an error message. */
static void run_until(GstElement *p, GstBus *bus, gint64 t0, double until_s) {
  for (;;) {
    double left = until_s - (double)(g_get_monotonic_time() - t0) / 1e6;
    if (left <= 0) return;
    GstMessage *m = gst_bus_timed_pop_filtered(bus, (GstClockTime)(left * GST_SECOND),
                                               GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (!m) return;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error(m, &e, NULL);
      fail_msg("%s", e->message);
    }
    gst_message_unref(m);
    fail_msg("the live source ended early");
  }
}

static void test_live_memory_flat(void **state) {
  char model[1024], *launch;
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", model, sizeof model);
  launch = g_strdup_printf("videotestsrc is-live=true pattern=ball ! "
                           "video/x-raw,width=640,height=360,framerate=25/1 ! videoconvert ! "
                           "rvencoder mode=stream context=30 model=%s ! rvtracker ! "
                           "rvjsonsink location=/dev/null",
                           model);
  GstElement *p = gst_parse_launch(launch, NULL);
  assert_non_null(p);
  GstBus *bus = gst_element_get_bus(p);
  assert_int_not_equal(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  gint64 t0 = g_get_monotonic_time();
  run_until(p, bus, t0, 60.0);
  double first = rss_mb();
  run_until(p, bus, t0, 60.0 * minutes);
  double last = rss_mb();
  printf("live: RSS %.1f MB after 1 min, %.1f MB after %d min (%+.2f%%)\n", first, last, minutes,
         100.0 * (last - first) / first);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
  g_free(launch);
  assert_true(last <= first * 1.05);
}

int main(int argc, char **argv) {
  if (argc > 1) minutes = atoi(argv[1]);
  if (minutes < 2) return 2;
  gst_init(NULL, NULL);
  if (!gst_ringvit_register_static()) return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_live_memory_flat)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
