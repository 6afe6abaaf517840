/* Sigma-delta background, foreground masks and box snapping (foreground-impl.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "foreground-impl.h"

#define STEP        1 /* levels the background moves per frame: a walker passes, a sitter fades in */
#define MAX_CHANGED 0.25 /* share of changed pixels above which a frame is not trusted */
#define GROW_X      0.5  /* the box is searched this share of its width beyond each side */
#define GROW_Y      0.3  /* and of its height above and below */
#define ROW_FILL    0.15 /* a row belongs to the blob with this share of the box's columns */
#define COL_FILL    0.10 /* a column with this share of the blob's rows */

struct rv_foreground {
  int w, h, diff; /* diff in levels */
  int started;
  uint8_t *bg; /* [h, w, 3] */
};

rv_status rv_foreground_init(int width, int height, float diff, rv_foreground **out) {
  if (!out || width < 1 || height < 1 || width > 16384 || height > 16384 || !(diff > 0 && diff < 1))
    return RV_FAIL(RV_ERR_INVALID, "foreground: %dx%d pixels, difference %g (needs (0, 1))", width,
                   height, (double)diff);
  rv_foreground *fg = calloc(1, sizeof *fg);
  if (fg) fg->bg = malloc((size_t)width * height * 3);
  if (!fg || !fg->bg) {
    rv_foreground_free(fg);
    return RV_FAIL(RV_ERR_NOMEM, "background of %dx%d pixels", width, height);
  }
  fg->w = width;
  fg->h = height;
  fg->diff = (int)lroundf(diff * 255.0f);
  *out = fg;
  return RV_OK;
}

void rv_foreground_free(rv_foreground *fg) {
  if (!fg) return;
  free(fg->bg);
  free(fg);
}

size_t rv_foreground_mask_bytes(int width, int height) { return ((size_t)width * height + 7) / 8; }

void rv_foreground_push(rv_foreground *fg, const uint8_t *rgb, uint8_t *mask) {
  size_t n = (size_t)fg->w * fg->h, changed = 0;
  memset(mask, 0, rv_foreground_mask_bytes(fg->w, fg->h));
  if (!fg->started) {
    memcpy(fg->bg, rgb, n * 3);
    fg->started = 1;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    int far = 0;
    for (int c = 0; c < 3; c++) {
      uint8_t *b = &fg->bg[i * 3 + c];
      int d = (int)rgb[i * 3 + c] - *b;
      far |= abs(d) > fg->diff;
      *b = (uint8_t)(*b + (d > STEP ? STEP : d < -STEP ? -STEP : d));
    }
    if (far) mask[i >> 3] |= (uint8_t)(1u << (i & 7));
    changed += far;
  }
  if ((double)changed > MAX_CHANGED * (double)n)
    memset(mask, 0, rv_foreground_mask_bytes(fg->w, fg->h));
}

/* Foreground pixels of mask row y in columns [a, b) (across) or of column y in rows [a, b). */
typedef struct line_count {
  const uint8_t *mask;
  int w, across, a, b;
} line_count;

static int count(const line_count *lc, int y) {
  int n = 0;
  for (int x = lc->a; x < lc->b; x++) {
    size_t i = lc->across ? (size_t)y * lc->w + x : (size_t)x * lc->w + y;
    n += lc->mask[i >> 3] >> (i & 7) & 1;
  }
  return n;
}

/* The run [*lo, *hi) of lines within [first, last) whose counts reach need, around the one
 * nearest to centre; 0 when there is none. (A run far from the centre is refused by the
 * caller's checks: a run of rows more than 0.4 box heights from it is shorter than half the
 * box, a run of columns more than half a width from it misses the box.) */
static int run_around(const line_count *lc, int first, int last, double centre, int need, int *lo,
                      int *hi) {
  int best = -1;
  double best_d = 0;
  for (int y = first; y < last; y++) {
    double d = fabs(y + 0.5 - centre);
    if ((best < 0 || d <= best_d) && count(lc, y) >= need) best = y, best_d = d;
  }
  if (best < 0) return 0;
  *lo = best;
  *hi = best + 1;
  while (*lo > first && count(lc, *lo - 1) >= need)
    (*lo)--;
  while (*hi < last && count(lc, *hi) >= need)
    (*hi)++;
  return 1;
}

static int clampi(double v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

int rv_foreground_snap(const uint8_t *mask, int width, int height, float box[4]) {
  double x1 = box[0], y1 = box[1], x2 = box[2], y2 = box[3], bw = x2 - x1, bh = y2 - y1;
  if (!(bw > 0 && bh > 0)) return 0;
  int ex0 = clampi(floor(x1 - GROW_X * bw), 0, width),
      ex1 = clampi(ceil(x2 + GROW_X * bw), 0, width);
  int ey0 = clampi(floor(y1 - GROW_Y * bh), 0, height),
      ey1 = clampi(ceil(y2 + GROW_Y * bh), 0, height);
  int bx0 = clampi(floor(x1), ex0, ex1), bx1 = clampi(ceil(x2), ex0, ex1);
  if (bx1 <= bx0 || ey1 <= ey0) return 0;
  line_count rows = {mask, width, 1, bx0, bx1};
  int ny0, ny1, nx0, nx1;
  int need = (int)ceil(fmax(1.0, ROW_FILL * (bx1 - bx0)));
  if (!run_around(&rows, ey0, ey1, 0.5 * (y1 + y2), need, &ny0, &ny1)) return 0;
  line_count cols = {mask, width, 0, ny0, ny1};
  need = (int)ceil(fmax(1.0, COL_FILL * (ny1 - ny0)));
  if (!run_around(&cols, ex0, ex1, 0.5 * (x1 + x2), need, &nx0, &nx1)) return 0;
  double nw = nx1 - nx0, nh = ny1 - ny0;
  double ix = fmax(0.0, fmin(nx1, x2) - fmax(nx0, x1)),
         iy = fmax(0.0, fmin(ny1, y2) - fmax(ny0, y1));
  double iou = ix * iy / (nw * nh + bw * bh - ix * iy);
  if (iou < 0.3 || nh < 0.5 * bh) return 0; /* another blob, or a speck of one */
  box[0] = (float)nx0, box[1] = (float)ny0, box[2] = (float)nx1, box[3] = (float)ny1;
  return 1;
}
