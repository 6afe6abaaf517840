/* The HTML report: structure, bounded thumbnails, escaping, key moments, and (label slow)
 * what headless Chromium makes of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/report.h>

#include "rv-test.h"

enum { W = 64, H = 48 };

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* 100 s of frames at 2 fps: track 7 present throughout, track 8 for 5 s, one scene action
 * and one track action with a label that needs escaping. */
static void make_report(const char *path, int max_thumbs) {
  static uint8_t rgb[W * H * 3];
  for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 7);
  rv_report *r = NULL;
  rv_report_cfg cfg = {"clip <1>.mp4", max_thumbs, 32, 10.0, 0};
  assert_int_equal(rv_report_init(&cfg, &r), RV_OK);
  assert_int_equal(rv_report_add_action(r, 0, "crowd", 20000000000LL, 30000000000LL, 0.9f), RV_OK);
  assert_int_equal(rv_report_add_action(r, 7, "loiter & wait", 40000000000LL, 90000000000LL, 0.8f), RV_OK);
  for (int f = 0; f < 200; f++) {
    int64_t pts = (int64_t)f * 500000000LL;
    rv_report_object objs[2] = {{7, "person", 10, 10, 8, 20, 0.9f}, {8, "vehicle", 30, 20, 20, 10, 0.7f}};
    int n = (f >= 100 && f < 110) ? 2 : 1;
    assert_int_equal(rv_report_add_frame(r, pts, W, H, objs, n, rgb, W * 3), RV_OK);
  }
  assert_int_equal(rv_report_write(r, path), RV_OK);
  rv_report_free(r);
}

static void test_report_structure(void **state) {
  (void)state;
  char path[] = "/tmp/rv-report-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  make_report(path, 5);
  char *html = slurp(path);
  assert_non_null(html);
  assert_non_null(strstr(html, "<title>clip &lt;1&gt;.mp4</title>"));
  assert_int_equal(count(html, "class=\"lane action-lane\""), 2);
  assert_int_equal(count(html, "class=\"lane track-lane\""), 1); /* track 8 is too short for a lane */
  assert_non_null(strstr(html, "data-label=\"loiter &amp; wait\""));
  assert_int_equal(count(html, "class=\"track-row\""), 2);
  assert_true(count(html, "<figure class=\"thumb") <= 5);
  assert_int_equal(count(html, "<figure class=\"thumb key\""), 2); /* both action starts */
  assert_true(strstr(html, "data:image/jpeg;base64,/9j/") || strstr(html, "data:image/bmp;base64,Qk"));
  assert_non_null(strstr(html, "id=\"objects-plot\" width=\"1120\" height=\"140\" data-max=\"2\""));
  assert_non_null(strstr(html, "200 frames analysed"));
  free(html);
  remove(path);
}

static void test_report_bad_input(void **state) {
  (void)state;
  rv_report *r = NULL;
  assert_int_equal(rv_report_init(NULL, &r), RV_OK);
  assert_int_equal(rv_report_add_action(r, 1, "x", 10, 5, 1.0f), RV_ERR_INVALID);
  assert_int_equal(rv_report_add_frame(r, 0, 0, 10, NULL, 0, NULL, 0), RV_ERR_INVALID);
  assert_int_equal(rv_report_add_frame(r, 0, 10, 10, NULL, 2, NULL, 0), RV_ERR_INVALID);
  assert_int_equal(rv_report_write(r, "/nonexistent-dir/x.html"), RV_ERR_IO);
  rv_report_free(r);
}

/* Headless Chromium loads the file and the rendered DOM has every section. */
static void test_report_in_chromium(void **state) {
  (void)state;
  if (access("/usr/bin/chromium", X_OK) != 0) {
    printf("chromium is not installed: skipped\n");
    exit(RV_TEST_SKIP_CODE);
  }
  char dir[] = "/tmp/rv-report-dir-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char html[256], dom[256], png[256], cmd[2048];
  snprintf(html, sizeof html, "%s/report.html", dir);
  snprintf(dom, sizeof dom, "%s/dom.html", dir);
  snprintf(png, sizeof png, "%s/shot.png", dir);
  make_report(html, 8);
  const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                      "--disable-background-networking --disable-component-update --disable-sync";
  snprintf(cmd, sizeof cmd, "chromium %s --user-data-dir=%s/profile --dump-dom file://%s > %s 2>/dev/null",
           flags, dir, html, dom);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "chromium %s --user-data-dir=%s/profile --window-size=1200,1600 --screenshot=%s file://%s >/dev/null 2>&1",
           flags, dir, png, html);
  assert_int_equal(system(cmd), 0);
  char *d = slurp(dom);
  assert_non_null(d);
  assert_non_null(strstr(d, "id=\"timeline\""));
  assert_non_null(strstr(d, "id=\"objects-plot\""));
  assert_int_equal(count(d, "class=\"track-row\""), 2);
  assert_true(count(d, "<figure class=\"thumb") >= 2);
  assert_true(count(d, "<rect class=\"box\"") >= 2);
  free(d);
  FILE *f = fopen(png, "rb");
  assert_non_null(f);
  unsigned char sig[8];
  assert_int_equal(fread(sig, 1, 8, f), 8);
  fseek(f, 0, SEEK_END);
  assert_true(ftell(f) > 10000); /* a real page, not a blank one */
  fclose(f);
  assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
  if (getenv("RINGVIT_TEST_KEEP")) { /* to look at the screenshot */
    printf("kept %s\n", dir);
    return;
  }
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "chromium")) {
    const struct CMUnitTest t[] = {cmocka_unit_test(test_report_in_chromium)};
    return cmocka_run_group_tests(t, NULL, NULL);
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_report_structure),
                                     cmocka_unit_test(test_report_bad_input)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
