/* The fixed camera's background and box snapping (pipeline/foreground-impl.h): a person-
 * sized block on a textured scene is found to the pixel, a box a patch off snaps onto it,
 * and what is not a blob under the box (nothing, a speck, the whole picture changing, a
 * slow light drift) moves no box. */
#include <stdlib.h>
#include <string.h>

#include "foreground-impl.h"
#include "rv-test.h"

enum { W = 64, H = 48 };

/* A scene with texture everywhere, so that a block differs from it by colour, not by
 * luck; shade lifts every pixel by that many levels. */
static void scene(uint8_t *rgb, int shade) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < 3; c++)
        rgb[(y * W + x) * 3 + c] = (uint8_t)(60 + (x * 7 + y * 13 + c * 29) % 50 + shade);
}

static void block(uint8_t *rgb, int x0, int y0, int w, int h) {
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++)
      memcpy(&rgb[(y * W + x) * 3], (uint8_t[3]){220, 30, 40}, 3);
}

static int bit(const uint8_t *mask, int x, int y) {
  size_t i = (size_t)y * W + x;
  return mask[i >> 3] >> (i & 7) & 1;
}

/* A background learnt on `frames` empty frames, then the frame with n blocks {x, y, w, h}
 * pushed; mask receives its foreground. */
static rv_foreground *with_blocks(uint8_t *mask, int frames, const int (*blocks)[4], int n) {
  rv_foreground *fg = NULL;
  uint8_t rgb[W * H * 3];
  assert_int_equal(rv_foreground_init(W, H, 0.08f, &fg), RV_OK);
  scene(rgb, 0);
  for (int i = 0; i < frames; i++) {
    rv_foreground_push(fg, rgb, mask);
    for (size_t b = 0; b < rv_foreground_mask_bytes(W, H); b++)
      assert_int_equal(mask[b], 0); /* nothing moved yet */
  }
  for (int i = 0; i < n; i++)
    block(rgb, blocks[i][0], blocks[i][1], blocks[i][2], blocks[i][3]);
  rv_foreground_push(fg, rgb, mask);
  return fg;
}

/* ... with one person-sized block, 6x20 at (30, 12). */
static rv_foreground *with_block(uint8_t *mask, int frames) {
  return with_blocks(mask, frames, (const int[][4]){{30, 12, 6, 20}}, 1);
}

static void test_block_found_to_the_pixel(void **state) {
  (void)state;
  uint8_t mask[(W * H + 7) / 8];
  rv_foreground_free(with_block(mask, 5));
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      assert_int_equal(bit(mask, x, y), x >= 30 && x < 36 && y >= 12 && y < 32);
}

static void test_box_snaps_onto_block(void **state) {
  (void)state;
  uint8_t mask[(W * H + 7) / 8];
  rv_foreground_free(with_block(mask, 3));
  float off[][4] = {{28, 16, 34, 30}, {31.5f, 8, 38, 26}, {29, 13, 37, 31}};
  for (int i = 0; i < 3; i++) {
    float *b = off[i];
    assert_int_equal(rv_foreground_snap(mask, W, H, b), 1);
    assert_float_equal(b[0], 30, 0), assert_float_equal(b[1], 12, 0);
    assert_float_equal(b[2], 36, 0), assert_float_equal(b[3], 32, 0);
  }
}

static void test_box_without_blob_stays(void **state) {
  (void)state;
  uint8_t mask[(W * H + 7) / 8];
  rv_foreground_free(with_block(mask, 3));
  float empty[4] = {2, 2, 8, 20}, big[4] = {20, 0, 50, 47}, tiny[4] = {32, 14, 33, 16};
  float tall[4] = {30, 2, 36, 44}, was_big[4], was_tiny[4], was_tall[4];
  memcpy(was_big, big, sizeof big);
  memcpy(was_tiny, tiny, sizeof tiny);
  memcpy(was_tall, tall, sizeof tall);
  assert_int_equal(rv_foreground_snap(mask, W, H, empty), 0);
  assert_float_equal(empty[0], 2, 0), assert_float_equal(empty[3], 20, 0);
  /* a box twice the blob's height and more, or a speck inside it: not this blob's box */
  assert_int_equal(rv_foreground_snap(mask, W, H, big), 0);
  assert_memory_equal(big, was_big, sizeof big);
  assert_int_equal(rv_foreground_snap(mask, W, H, tiny), 0);
  assert_memory_equal(tiny, was_tiny, sizeof tiny);
  /* the blob is under half the box's height: the rest of what the box holds is not seen */
  assert_int_equal(rv_foreground_snap(mask, W, H, tall), 0);
  assert_memory_equal(tall, was_tall, sizeof tall);
  float flat[4] = {30, 12, 30, 32}; /* no width */
  assert_int_equal(rv_foreground_snap(mask, W, H, flat), 0);
}

/* One-pixel streaks touching a blob (a pole's edge, a shimmer) are too thin to be part of it:
 * rows count with 15% of the box's columns, columns with 10% of the blob's rows. */
static void test_thin_streaks_left_out(void **state) {
  (void)state;
  uint8_t mask[(W * H + 7) / 8];
  const int blocks[][4] = {{20, 20, 14, 14}, {26, 6, 1, 14}, {34, 27, 6, 1}};
  rv_foreground_free(with_blocks(mask, 3, blocks, 3));
  float b[4] = {18, 18, 36, 36};
  assert_int_equal(rv_foreground_snap(mask, W, H, b), 1);
  assert_float_equal(b[0], 20, 0), assert_float_equal(b[1], 20, 0);
  assert_float_equal(b[2], 34, 0), assert_float_equal(b[3], 34, 0);
}

static void test_whole_picture_change_is_not_foreground(void **state) {
  (void)state;
  rv_foreground *fg = NULL;
  uint8_t rgb[W * H * 3], mask[(W * H + 7) / 8];
  assert_int_equal(rv_foreground_init(W, H, 0.08f, &fg), RV_OK);
  scene(rgb, 0);
  rv_foreground_push(fg, rgb, mask);
  scene(rgb, 60); /* the light jumped, or the camera moved */
  block(rgb, 30, 12, 6, 20);
  rv_foreground_push(fg, rgb, mask);
  for (size_t b = 0; b < sizeof mask; b++)
    assert_int_equal(mask[b], 0);
  rv_foreground_free(fg);
}

static void test_slow_drift_is_followed(void **state) {
  (void)state;
  rv_foreground *fg = NULL;
  uint8_t rgb[W * H * 3], mask[(W * H + 7) / 8];
  assert_int_equal(rv_foreground_init(W, H, 0.08f, &fg), RV_OK);
  for (int shade = 0; shade <= 60; shade++) { /* a level a frame, the background follows */
    scene(rgb, shade);
    rv_foreground_push(fg, rgb, mask);
    for (size_t b = 0; b < sizeof mask; b++)
      assert_int_equal(mask[b], 0);
  }
  block(rgb, 30, 12, 6, 20); /* and still sees what then moves in */
  rv_foreground_push(fg, rgb, mask);
  assert_int_equal(bit(mask, 32, 20), 1);
  assert_int_equal(bit(mask, 10, 20), 0);
  rv_foreground_free(fg);
}

static void test_bad_arguments(void **state) {
  (void)state;
  rv_foreground *fg = NULL;
  assert_true(rv_foreground_init(0, H, 0.08f, &fg) < 0);
  assert_true(rv_foreground_init(W, H, 0.0f, &fg) < 0);
  assert_true(rv_foreground_init(W, H, 1.0f, &fg) < 0);
  assert_true(rv_foreground_init(W, H, 0.08f, NULL) < 0);
  assert_null(fg);
  rv_foreground_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_block_found_to_the_pixel),
      cmocka_unit_test(test_box_snaps_onto_block),
      cmocka_unit_test(test_box_without_blob_stays),
      cmocka_unit_test(test_thin_streaks_left_out),
      cmocka_unit_test(test_whole_picture_change_is_not_foreground),
      cmocka_unit_test(test_slow_drift_is_followed),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
