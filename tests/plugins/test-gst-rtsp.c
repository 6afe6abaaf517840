/* A live feed: a generated 25 fps scene served on loopback by gst-rtsp-server (started and
 * stopped here), read with rtspsrc into rvencoder (stream mode) ! rvtracker ! rvjsonsink,
 * in real time. Passes when every second of the feed was analysed at the model's rate
 * (QoS may drop frames, but the analysis keeps pace with the feed: no backlog at the end).
 * The client runs as gst-launch-1.0 (the plugin from GST_PLUGIN_PATH).
 * argv: RINGVIT GST_LAUNCH [seconds]. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "rv-test.h"

static const char *ringvit_cmd, *gst_launch;
static int seconds = 12;
static char dir[64] = "/tmp/rv-gst-rtsp-XXXXXX", scene[128], out[128], model[1024];

/* Where the test is, on stdout as it goes: a run the watchdog ends says where it stuck. */
static void stage(const char *what) {
  printf("rtsp: %s\n", what);
  fflush(stdout);
}

static gpointer serve(gpointer loop) {
  g_main_loop_run(loop);
  return NULL;
}

static void test_rtsp_live(void **state) {
  /* the server, on its own main loop and thread */
  GMainContext *ctx = g_main_context_new();
  GMainLoop *loop = g_main_loop_new(ctx, FALSE);
  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, "0"); /* any free port */
  GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
  char *launch = g_strdup_printf("( filesrc location=%s ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 )", scene);
  gst_rtsp_media_factory_set_launch(f, launch);
  gst_rtsp_media_factory_set_shared(f, TRUE);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, "/scene", f);
  g_object_unref(mounts);
  guint source = gst_rtsp_server_attach(server, ctx);
  assert_true(source > 0);
  int port = gst_rtsp_server_get_bound_port(server);
  GThread *thread = g_thread_new("rtsp", serve, loop);
  /* the client: gst-launch-1.0 in its own process, interrupted (-e: EOS first) when the feed
   * is over and killed if it does not stop; rvjsonsink's lines are whole at any moment */
  char *client = g_strdup_printf(
      "timeout -s INT -k 10 %d %s -e rtspsrc location=rtsp://127.0.0.1:%d/scene latency=200 ! "
      "rtph264depay ! avdec_h264 ! videoconvert ! rvencoder mode=stream model=%s ! rvtracker ! "
      "rvjsonsink location=%s sync=true",
      seconds + 4, gst_launch, port, model, out);
  stage("client playing");
  gint64 t0 = g_get_monotonic_time();
  char *cerr = NULL;
  int status = 0;
  assert_true(g_spawn_command_line_sync(client, NULL, &cerr, &status, NULL));
  double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
  /* 0 or 124: interrupted at the end of the feed, as planned; killed (timeout's -k signals its
   * whole process group): rtspsrc stuck in its teardown, after the lines were written */
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("rtsp: client exit %d after %.1f s\n", code, wall);
  if (code != 0 && code != 124 && code != 128 + SIGKILL) fail_msg("client: %s", cerr);
  g_free(cerr);
  stage("stopping the server");
  g_main_loop_quit(loop);
  g_thread_join(thread);
  g_source_destroy(g_main_context_find_source_by_id(ctx, source));
  g_object_unref(server);
  g_main_loop_unref(loop);
  g_main_context_unref(ctx);
  g_free(client);
  g_free(launch);
  stage("stopped");
  /* the lines: at 2 fps, every second of the feed */
  FILE *fp = fopen(out, "r");
  assert_non_null(fp);
  char line[1 << 16];
  int frames = 0;
  long long last = -1, first = -1;
  while (fgets(line, sizeof line, fp)) {
    const char *ts = strstr(line, "\"timestamp\":");
    if (!ts || strstr(line, "\"event\"")) continue;
    long long t = atoll(ts + 12);
    assert_true(t > last);
    if (first < 0) first = t;
    last = t;
    frames++;
  }
  fclose(fp);
  printf("rtsp: %d analysed frames over %.1f s of wall time, stream time %.2f .. %.2f s\n", frames, wall,
         first * 1e-9, last * 1e-9);
  assert_true(frames >= 2 * (seconds - 2));
  assert_true(last * 1e-9 >= seconds - 2.0); /* the analysis reached the end of the feed */
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  ringvit_cmd = argv[1];
  gst_launch = argv[2];
  if (argc > 3) seconds = atoi(argv[3]);
  alarm((unsigned)seconds + 120); /* a stuck client or server fails the test, never hangs it */
  gst_init(NULL, NULL);
  static const char *needed[] = {"rtspsrc", "rtph264depay", "avdec_h264", "h264parse", "qtdemux"};
  for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
    GstElementFactory *ef = gst_element_factory_find(needed[i]);
    if (!ef) {
      printf("skipped: no %s element\n", needed[i]);
      return RV_TEST_SKIP_CODE;
    }
    gst_object_unref(ef);
  }
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", model, sizeof model);
  if (!mkdtemp(dir)) return 1;
  g_snprintf(scene, sizeof scene, "%s/scene.mp4", dir);
  g_snprintf(out, sizeof out, "%s/live.jsonl", dir);
  char *cmd = g_strdup_printf("%s synth --seconds %d --fps 25 --seed 4 --codec h264 -o %s --gt %s/gt >/dev/null",
                              ringvit_cmd, seconds, scene, dir);
  if (system(cmd) != 0) return 1;
  g_free(cmd);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_rtsp_live)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  cmd = g_strdup_printf("rm -rf %s", dir);
  if (system(cmd) != 0 && rc == 0) rc = 1;
  g_free(cmd);
  return rc;
}
