/* The id map against a plain array under random puts, gets and deletes (deletion by
 * backward shift must keep every other key reachable). */
#include <stdlib.h>

#include "../../pipeline/idmap-impl.h"
#include "rv-test.h"

enum { KEYS = 3000 };

static void test_idmap_random(void **state) {
  (void)state;
  static int32_t ref[KEYS];
  for (int i = 0; i < KEYS; i++)
    ref[i] = -1;
  rv_idmap m = {0};
  assert_int_equal(rv_idmap_get(&m, 5), -1);
  rv_idmap_del(&m, 5); /* empty: nothing happens */
  rv_rng rng;
  rv_rng_seed(&rng, 9);
  size_t live = 0;
  for (int it = 0; it < 200000; it++) {
    int k = (int)(rv_rng_next(&rng) % KEYS);
    uint64_t key = (uint64_t)k * 7919u; /* spread, and key 0 is a valid key */
    int op = (int)(rv_rng_next(&rng) % 3);
    if (op == 0) {
      live += ref[k] < 0;
      ref[k] = it;
      assert_int_equal(rv_idmap_put(&m, key, it), RV_OK);
    } else if (op == 1) {
      live -= ref[k] >= 0;
      ref[k] = -1;
      rv_idmap_del(&m, key);
    }
    assert_int_equal(rv_idmap_get(&m, key), ref[k]);
    assert_int_equal(m.n, live);
  }
  for (int k = 0; k < KEYS; k++)
    assert_int_equal(rv_idmap_get(&m, (uint64_t)k * 7919u), ref[k]);
  rv_idmap_clear(&m);
  assert_int_equal(rv_idmap_get(&m, 0), -1);
  rv_idmap_release(&m);
  rv_idmap_release(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_idmap_random)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
