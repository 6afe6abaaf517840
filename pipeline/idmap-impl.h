/* A hash map from 64-bit ids to int32 slots (open addressing, linear probing, deletion by
 * backward shift): track ids to table rows in the segmenter and the evaluator. */
#ifndef RINGVIT_IDMAP_IMPL_H
#define RINGVIT_IDMAP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/status.h>

typedef struct rv_idmap {
  uint64_t *keys;
  int32_t *vals;
  unsigned char *used;
  size_t cap; /* power of two, or 0 before the first put */
  size_t n;
} rv_idmap;

/* A zeroed rv_idmap is an empty map; rv_idmap_release frees it (and leaves it empty). */
void rv_idmap_release(rv_idmap *m);
void rv_idmap_clear(rv_idmap *m);                      /* keeps the memory */
int32_t rv_idmap_get(const rv_idmap *m, uint64_t key); /* -1 when absent */
rv_status rv_idmap_put(rv_idmap *m, uint64_t key, int32_t val);
void rv_idmap_del(rv_idmap *m, uint64_t key);

#endif
