/* Open-addressing id map; the load factor stays under 1/2 so probes stay short. */
#include <stdlib.h>
#include <string.h>

#include "idmap-impl.h"

static size_t slot_of(uint64_t key, size_t cap) {
  key ^= key >> 30; /* splitmix64's finaliser: sequential ids spread over the table */
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebULL;
  key ^= key >> 31;
  return (size_t)key & (cap - 1);
}

void rv_idmap_release(rv_idmap *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof *m);
}

void rv_idmap_clear(rv_idmap *m) {
  if (m->cap) memset(m->used, 0, m->cap);
  m->n = 0;
}

int32_t rv_idmap_get(const rv_idmap *m, uint64_t key) {
  if (!m->cap) return -1;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (!m->used[i]) return -1;
    if (m->keys[i] == key) return m->vals[i];
  }
}

static void insert(rv_idmap *m, uint64_t key, int32_t val) {
  size_t i = slot_of(key, m->cap);
  while (m->used[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->used[i]) m->n++;
  m->used[i] = 1;
  m->keys[i] = key;
  m->vals[i] = val;
}

static rv_status rehash(rv_idmap *m, size_t cap) {
  rv_idmap nm = {malloc(cap * sizeof(uint64_t)), malloc(cap * sizeof(int32_t)), calloc(cap, 1), cap,
                 0};
  if (!nm.keys || !nm.vals || !nm.used) {
    rv_idmap_release(&nm);
    return RV_FAIL(RV_ERR_NOMEM, "id map of %zu slots", cap);
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->used[i]) insert(&nm, m->keys[i], m->vals[i]);
  rv_idmap_release(m);
  *m = nm;
  return RV_OK;
}

rv_status rv_idmap_put(rv_idmap *m, uint64_t key, int32_t val) {
  if (2 * (m->n + 1) > m->cap) {
    rv_status st = rehash(m, m->cap ? 2 * m->cap : 64);
    if (st < 0) return st;
  }
  insert(m, key, val);
  return RV_OK;
}

/* Backward-shift deletion: moves later members of the probe run into the hole, so no
 * tombstones accumulate over hours of ids coming and going. */
void rv_idmap_del(rv_idmap *m, uint64_t key) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, i = slot_of(key, m->cap);
  while (m->used[i] && m->keys[i] != key)
    i = (i + 1) & mask;
  if (!m->used[i]) return;
  m->used[i] = 0;
  m->n--;
  for (size_t j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
    size_t home = slot_of(m->keys[j], m->cap);
    /* j's entry may fill hole i when its home is not in (i, j] cyclically */
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    m->keys[i] = m->keys[j];
    m->vals[i] = m->vals[j];
    m->used[i] = 1;
    m->used[j] = 0;
    i = j;
  }
}
