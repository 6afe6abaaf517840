/* Push mode (rv_ingest_push): raw frames of every pixel format land in the model input as
 * the same picture, sampling by timestamp, batches that end at a size change (the frame
 * after it waits in the spare slot), the take-before-push protocol, the end, a reset, and
 * bad input. */
#include <stdlib.h>
#include <string.h>

#include <ringvit/ingest.h>

#include "rv-test.h"

enum { W = 40, H = 30 };

/* A frame of one flat colour (r, g, b) in `fmt`: planes in `buf`. BT.601 limited range. */
static rv_image flat(rv_pixel_format fmt, int w, int h, int r, int g, int b, uint8_t *buf) {
  rv_image img = {fmt, w, h, {buf, NULL, NULL}, {0, 0, 0}, 0, 0, 0};
  int y = (int)(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255 + 0.5);
  int u = (int)(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255 + 0.5);
  int v = (int)(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255 + 0.5);
  size_t n = (size_t)w * h;
  switch (fmt) {
  case RV_PIXEL_RGB24:
  case RV_PIXEL_BGR24:
    img.stride[0] = 3 * w;
    for (size_t i = 0; i < n; i++) {
      buf[3 * i] = (uint8_t)(fmt == RV_PIXEL_RGB24 ? r : b);
      buf[3 * i + 1] = (uint8_t)g;
      buf[3 * i + 2] = (uint8_t)(fmt == RV_PIXEL_RGB24 ? b : r);
    }
    break;
  case RV_PIXEL_RGBA:
  case RV_PIXEL_BGRA:
    img.stride[0] = 4 * w;
    for (size_t i = 0; i < n; i++) {
      buf[4 * i] = (uint8_t)(fmt == RV_PIXEL_RGBA ? r : b);
      buf[4 * i + 1] = (uint8_t)g;
      buf[4 * i + 2] = (uint8_t)(fmt == RV_PIXEL_RGBA ? b : r);
      buf[4 * i + 3] = 255;
    }
    break;
  case RV_PIXEL_I420:
    img.stride[0] = w, img.stride[1] = img.stride[2] = w / 2;
    img.data[1] = buf + n, img.data[2] = buf + n + n / 4;
    memset(buf, y, n), memset(buf + n, u, n / 4), memset(buf + n + n / 4, v, n / 4);
    break;
  case RV_PIXEL_NV12:
    img.stride[0] = img.stride[1] = w;
    img.data[1] = buf + n;
    memset(buf, y, n);
    for (size_t i = 0; i < n / 4; i++)
      buf[n + 2 * i] = (uint8_t)u, buf[n + 2 * i + 1] = (uint8_t)v;
    break;
  }
  return img;
}

static rv_ingest *open_push(int batch, double fps) {
  rv_ingest_cfg c;
  rv_ingest_cfg_default(&c);
  c.push = 1;
  c.width = 32, c.height = 32, c.patch = 16, c.batch = batch, c.fps = fps;
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&c, &ing), RV_OK);
  return ing;
}

/* Every format of the same colour gives the same model input pixels (to YUV rounding). */
static void test_formats_same_picture(void **state) {
  static uint8_t buf[W * H * 4];
  for (int f = RV_PIXEL_RGB24; f <= RV_PIXEL_NV12; f++) {
    rv_ingest *ing = open_push(1, 0);
    rv_image img = flat((rv_pixel_format)f, W, H, 200, 60, 30, buf);
    int taken = 0;
    assert_int_equal(rv_ingest_push(ing, &img, 0, 0, &taken), RV_OK);
    assert_int_equal(taken, 1);
    const rv_ingest_batch *b = NULL;
    assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
    assert_int_equal(b->n, 1);
    assert_int_equal(b->src_width, W);
    assert_true(b->tokens.data != NULL);
    /* letterbox: 40x30 into 32x32 is 32x24 at y = 4 */
    assert_float_equal(b->geom.pad_y, 4.0f, 1e-6);
    const uint8_t *px = (const uint8_t *)b->frames.data + (16 * 32 + 16) * 3;
    int tol = f >= RV_PIXEL_I420 ? 3 : 0;
    assert_true(abs(px[0] - 200) <= tol && abs(px[1] - 60) <= tol && abs(px[2] - 30) <= tol);
    rv_ingest_close(ing);
  }
}

/* Sampling at 2 fps of a 10 fps feed takes every fifth frame; batches of 3 fill, end at a
 * size change, and the frame after the change joins the next batch. */
static void test_batches_sampling_and_size_change(void **state) {
  static uint8_t buf[2 * W * 2 * H * 3];
  rv_ingest *ing = open_push(3, 2.0);
  const rv_ingest_batch *b = NULL;
  int taken = 0, n_taken = 0;
  for (int k = 0; k < 10; k++) { /* frames 0, 5 taken */
    rv_image img = flat(RV_PIXEL_RGB24, W, H, 10 * k, 0, 0, buf);
    assert_int_equal(rv_ingest_push(ing, &img, k * 100000000LL, k, &taken), RV_OK);
    n_taken += taken;
    assert_int_equal(rv_ingest_next(ing, &b), RV_AGAIN);
  }
  assert_int_equal(n_taken, 2);
  rv_image big = flat(RV_PIXEL_RGB24, 2 * W, 2 * H, 0, 250, 0, buf);
  assert_int_equal(rv_ingest_push(ing, &big, 1000000000LL, 10, &taken), RV_OK);
  assert_int_equal(taken, 1);
  /* a batch waits: it must be taken before the next push */
  assert_int_equal(rv_ingest_push(ing, &big, 1500000000LL, 15, &taken), RV_AGAIN);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(b->n, 2);
  assert_int_equal(b->src_width, W);
  assert_int_equal(b->pts_ns[1], 500000000LL);
  assert_int_equal(b->frame_index[1], 5);
  assert_int_equal(rv_ingest_push(ing, &big, 1500000000LL, 15, &taken), RV_OK);
  assert_int_equal(rv_ingest_push_end(ing), RV_OK);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(b->n, 2); /* the spare frame at 1 s and the one at 1.5 s */
  assert_int_equal(b->src_width, 2 * W);
  assert_int_equal(b->pts_ns[0], 1000000000LL);
  assert_int_equal(b->frame_index[1], 15);
  const uint8_t *px = (const uint8_t *)b->frames.data + (16 * 32 + 16) * 3;
  assert_true(px[0] == 0 && px[1] == 250 && px[2] == 0);
  assert_int_equal(rv_ingest_next(ing, &b), RV_EOF);
  assert_int_equal(rv_ingest_next(ing, &b), RV_EOF);
  /* a reset starts over, timestamps from 0 again */
  rv_ingest_push_reset(ing);
  rv_image img = flat(RV_PIXEL_RGB24, W, H, 1, 2, 3, buf);
  assert_int_equal(rv_ingest_push(ing, &img, 0, 0, &taken), RV_OK);
  assert_int_equal(taken, 1);
  assert_int_equal(rv_ingest_next(ing, &b), RV_AGAIN);
  rv_ingest_close(ing);
}

static void test_bad_input(void **state) {
  static uint8_t buf[W * H * 3];
  rv_ingest *ing = open_push(1, 0);
  const rv_ingest_batch *b = NULL;
  rv_image img = flat(RV_PIXEL_RGB24, W, H, 1, 2, 3, buf);
  assert_int_equal(rv_ingest_push(ing, &img, 100, 0, NULL), RV_OK);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(rv_ingest_push(ing, &img, 100, 1, NULL), RV_ERR_INVALID); /* not later */
  assert_non_null(strstr(rv_last_error(), "increase"));
  rv_image bad = img;
  bad.format = (rv_pixel_format)42;
  assert_int_equal(rv_ingest_push(ing, &bad, 200, 1, NULL), RV_ERR_INVALID);
  bad = img;
  bad.width = 0;
  assert_int_equal(rv_ingest_push(ing, &bad, 200, 1, NULL), RV_ERR_INVALID);
  bad = flat(RV_PIXEL_I420, W, H, 1, 2, 3, buf);
  bad.data[2] = NULL;
  assert_int_equal(rv_ingest_push(ing, &bad, 200, 1, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_ingest_push_end(ing), RV_OK);
  assert_int_equal(rv_ingest_push(ing, &img, 300, 2, NULL), RV_ERR_INVALID); /* after the end */
  rv_ingest_close(ing);
  /* a file ingest refuses pushes */
  rv_ingest_cfg c;
  rv_ingest_cfg_default(&c);
  c.push = 1;
  c.thumb_width = 64;
  assert_int_equal(rv_ingest_open(&c, &ing), RV_ERR_UNSUPPORTED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats_same_picture),
      cmocka_unit_test(test_batches_sampling_and_size_change),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
