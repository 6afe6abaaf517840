/* How a sequence is spread over the ranks of a ring: contiguous chunks, or the zigzag
 * layout of causal masks (2R chunks, rank r holds chunks r and 2R-1-r), so that every
 * rank has as many early (cheap) as late (expensive) queries. */
#include <ringvit/ring.h>

/* First token of chunk c of `chunks`, splitting whole units as evenly as possible. */
static int64_t chunk_start(int64_t n, int64_t unit, int64_t chunks, int64_t c) {
  int64_t units = (n + unit - 1) / unit;
  int64_t u = units / chunks * c + (units % chunks < c ? units % chunks : c);
  int64_t t = u * unit;
  return t < n ? t : n;
}

static rv_status check_layout(rv_ring_layout layout, int64_t n, int64_t unit, int size, int rank) {
  if (layout != RV_RING_CONTIGUOUS && layout != RV_RING_ZIGZAG)
    return RV_FAIL(RV_ERR_INVALID, "unknown ring layout %d", (int)layout);
  if (n < 0 || unit < 1 || size < 1 || rank < 0 || rank >= size)
    return RV_FAIL(RV_ERR_INVALID, "layout of %lld tokens in units of %lld over rank %d of %d",
                   (long long)n, (long long)unit, rank, size);
  return RV_OK;
}

rv_status rv_ring_layout_seq(rv_ring_layout layout, int64_t n, int64_t unit, int size, int rank,
                             rv_ring_seq *seq) {
  rv_status st = check_layout(layout, n, unit, size, rank);
  if (st < 0) return st;
  if (!seq) return RV_FAIL(RV_ERR_INVALID, "seq must not be NULL");
  int64_t chunks = layout == RV_RING_ZIGZAG ? 2 * (int64_t)size : size;
  int64_t c[2] = {rank, chunks - 1 - rank};
  int nchunk = layout == RV_RING_ZIGZAG ? 2 : 1, m = 0;
  for (int i = 0; i < nchunk; i++) {
    int64_t a = chunk_start(n, unit, chunks, c[i]), b = chunk_start(n, unit, chunks, c[i] + 1);
    if (b == a) continue; /* empty chunk: fewer tokens than chunks */
    if (m > 0 && seq->seg[m - 1].pos0 + seq->seg[m - 1].len == a)
      seq->seg[m - 1].len += b - a; /* adjacent chunks (R = 1) make one segment */
    else
      seq->seg[m++] = (rv_ring_segment){a, b - a};
  }
  if (m == 0) seq->seg[m++] = (rv_ring_segment){chunk_start(n, unit, chunks, c[0]), 0};
  seq->nseg = m;
  return RV_OK;
}

int64_t rv_ring_layout_max_local(rv_ring_layout layout, int64_t n, int64_t unit, int size) {
  int64_t most = 0;
  if (size < 1) return -1;
  for (int r = 0; r < size; r++) {
    rv_ring_seq s;
    if (rv_ring_layout_seq(layout, n, unit, size, r, &s) < 0) return -1;
    int64_t k = 0;
    for (int i = 0; i < s.nseg; i++)
      k += s.seg[i].len;
    if (k > most) most = k;
  }
  return most;
}
