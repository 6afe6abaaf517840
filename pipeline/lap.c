/* Rectangular linear assignment: Jonker-Volgenant shortest augmenting paths with dual
 * potentials (Jonker & Volgenant 1987; the rectangular form as in Crouse 2016). Each row
 * is added by one Dijkstra search over the columns on reduced costs, then the duals are
 * updated and the path is flipped: O(n^2 m) for n <= m, no initialisation heuristics, so
 * the result is exactly optimal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

typedef struct lap_view {
  const double *cost;
  int cols;       /* of the caller's matrix */
  int transposed; /* 1: solving the caller's columns as rows */
  double limit;   /* finite: costs become min(cost - limit, 0) */
  int limited;
} lap_view;

typedef struct lap_work {
  double *u, *v, *shortest;
  int *path, *col4row, *row4col, *remaining;
  unsigned char *sr, *sc;
} lap_work;

static double lap_cost(const lap_view *w, int i, int j) {
  double c = w->transposed ? w->cost[(size_t)j * w->cols + i] : w->cost[(size_t)i * w->cols + j];
  if (!w->limited) return c;
  return c < w->limit ? c - w->limit : 0.0;
}

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

size_t rv_lap_work_bytes(int rows, int cols) {
  size_t n = (size_t)(rows < cols ? rows : cols), m = (size_t)(rows < cols ? cols : rows);
  return align8((n + 2 * m) * sizeof(double)) + align8((n + 3 * m) * sizeof(int)) + align8(n + m);
}

static void lap_carve(void *mem, int n, int m, lap_work *w) {
  char *p = mem;
  w->u = (double *)p;
  w->v = w->u + n;
  w->shortest = w->v + m;
  p += align8(((size_t)n + 2 * (size_t)m) * sizeof(double));
  w->path = (int *)p;
  w->col4row = w->path + m;
  w->row4col = w->col4row + n;
  w->remaining = w->row4col + m;
  p += align8(((size_t)n + 3 * (size_t)m) * sizeof(int));
  w->sr = (unsigned char *)p;
  w->sc = w->sr + n;
}

/* Dijkstra from free row `start` over reduced costs; returns the free column reached
 * (the sink) and the length of the shortest path in *min_val, or -1 when none is finite. */
static int lap_search(const lap_view *cv, lap_work *w, int n, int m, int start, double *min_val) {
  int nrem = m, sink = -1, i = start;
  double mv = 0.0;
  for (int k = 0; k < m; k++) {
    w->remaining[k] = m - 1 - k;
    w->shortest[k] = INFINITY;
  }
  memset(w->sr, 0, (size_t)n);
  memset(w->sc, 0, (size_t)m);
  while (sink < 0) {
    int best = -1;
    double lowest = INFINITY;
    w->sr[i] = 1;
    for (int k = 0; k < nrem; k++) {
      int j = w->remaining[k];
      double r = mv + lap_cost(cv, i, j) - w->u[i] - w->v[j];
      if (r < w->shortest[j]) {
        w->path[j] = i;
        w->shortest[j] = r;
      }
      /* among equal lengths prefer a free column: it ends the search sooner */
      if (w->shortest[j] < lowest || (w->shortest[j] == lowest && w->row4col[j] < 0)) {
        lowest = w->shortest[j];
        best = k;
      }
    }
    if (best < 0 || !isfinite(lowest)) return -1;
    mv = lowest;
    int j = w->remaining[best];
    if (w->row4col[j] < 0)
      sink = j;
    else
      i = w->row4col[j];
    w->sc[j] = 1;
    w->remaining[best] = w->remaining[--nrem];
  }
  *min_val = mv;
  return sink;
}

/* Dual update after a search, then flip the alternating path ending at `sink`. */
static void lap_augment(lap_work *w, int n, int m, int start, int sink, double mv) {
  w->u[start] += mv;
  for (int i = 0; i < n; i++)
    if (w->sr[i] && i != start) w->u[i] += mv - w->shortest[w->col4row[i]];
  for (int j = 0; j < m; j++)
    if (w->sc[j]) w->v[j] -= mv - w->shortest[j];
  for (int j = sink;;) {
    int i = w->path[j];
    w->row4col[j] = i;
    int prev = w->col4row[i];
    w->col4row[i] = j;
    j = prev;
    if (i == start) break;
  }
}

static rv_status lap_check(const double *cost, int rows, int cols, double limit) {
  if (rows < 0 || cols < 0) return RV_FAIL(RV_ERR_INVALID, "negative size %d x %d", rows, cols);
  if (rows > 0 && cols > 0 && !cost) return RV_FAIL(RV_ERR_INVALID, "cost must not be NULL");
  if (isnan(limit)) return RV_FAIL(RV_ERR_INVALID, "cost_limit is NaN");
  for (size_t k = 0; k < (size_t)rows * (size_t)cols; k++)
    if (!isfinite(cost[k]))
      return RV_FAIL(RV_ERR_INVALID, "cost[%d][%d] is not finite", (int)(k / (size_t)cols),
                     (int)(k % (size_t)cols));
  return RV_OK;
}

static void lap_unmatched(int rows, int cols, int *row_to_col, int *col_to_row) {
  if (row_to_col)
    for (int r = 0; r < rows; r++)
      row_to_col[r] = -1;
  if (col_to_row)
    for (int c = 0; c < cols; c++)
      col_to_row[c] = -1;
}

/* Writes the caller's view of the result, dropping pairs the limit excludes. */
static void lap_report(const lap_view *cv, const lap_work *w, int rows, int cols, int *row_to_col,
                       int *col_to_row) {
  lap_unmatched(rows, cols, row_to_col, col_to_row);
  int n = cv->transposed ? cols : rows;
  for (int i = 0; i < n; i++) {
    int j = w->col4row[i];
    if (j < 0) continue;
    int r = cv->transposed ? j : i, c = cv->transposed ? i : j;
    if (cv->limited && !(cv->cost[(size_t)r * cols + c] < cv->limit)) continue;
    if (row_to_col) row_to_col[r] = c;
    if (col_to_row) col_to_row[c] = r;
  }
}

rv_status rv_lap_solve(const double *cost, int rows, int cols, double cost_limit, int *row_to_col,
                       int *col_to_row, void *work) {
  rv_status st = RV_OK;
  void *own = NULL;
  RV_TRY(lap_check(cost, rows, cols, cost_limit));
  if (rows == 0 || cols == 0) {
    lap_unmatched(rows, cols, row_to_col, col_to_row);
    return RV_OK;
  }
  lap_view cv = {cost, cols, rows > cols, cost_limit, isfinite(cost_limit)};
  int n = cv.transposed ? cols : rows, m = cv.transposed ? rows : cols;
  if (!work) {
    work = own = malloc(rv_lap_work_bytes(rows, cols));
    if (!own) RV_TRY_FAIL(RV_ERR_NOMEM, "assignment workspace %d x %d", rows, cols);
  }
  lap_work w;
  lap_carve(work, n, m, &w);
  memset(w.u, 0, (size_t)n * sizeof(double));
  memset(w.v, 0, (size_t)m * sizeof(double));
  for (int i = 0; i < n; i++)
    w.col4row[i] = -1;
  for (int j = 0; j < m; j++)
    w.row4col[j] = -1;
  for (int row = 0; row < n; row++) {
    double mv = 0;
    int sink = lap_search(&cv, &w, n, m, row, &mv);
    if (sink < 0) RV_TRY_FAIL(RV_ERR_INTERNAL, "no augmenting path for row %d", row);
    lap_augment(&w, n, m, row, sink, mv);
  }
  lap_report(&cv, &w, rows, cols, row_to_col, col_to_row);
fail:
  free(own);
  return st;
}
