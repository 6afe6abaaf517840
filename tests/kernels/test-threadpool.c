/* The cpu backend's thread pool: every item of every job runs exactly once, also when
 * several threads run jobs on one pool at once (a pipeline's decode thread patchifies while
 * its encoder multiplies), which once lost a wakeup and hung. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "rv-test.h"
#include "threadpool.h"

enum { ITEMS = 64, JOBS = 3000 };

typedef struct job {
  atomic_int hits[ITEMS];
} job;

static void count(void *ctx, int64_t begin, int64_t end, int tid) {
  job *j = ctx;
  for (int64_t i = begin; i < end; i++)
    atomic_fetch_add(&j->hits[i], 1);
}

typedef struct caller {
  rv_pool *pool;
  int bad; /* jobs with an item run other than once */
} caller;

static void *run_jobs(void *arg) {
  caller *c = arg;
  for (int k = 0; k < JOBS; k++) {
    job j;
    for (int i = 0; i < ITEMS; i++)
      atomic_init(&j.hits[i], 0);
    rv_pool_run(c->pool, count, &j, ITEMS, 1 + k % 5);
    for (int i = 0; i < ITEMS; i++)
      if (atomic_load(&j.hits[i]) != 1) {
        c->bad++;
        break;
      }
  }
  return NULL;
}

static void test_concurrent_callers(void **state) {
  rv_pool *pool = NULL;
  assert_int_equal(rv_pool_create(3, &pool), RV_OK);
  caller c[3] = {{pool, 0}, {pool, 0}, {pool, 0}};
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&t[i], NULL, run_jobs, &c[i]), 0);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < 3; i++)
    assert_int_equal(c[i].bad, 0);
  rv_pool_free(pool);
}

int main(void) {
  alarm(120); /* a lost wakeup fails the test instead of hanging it */
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrent_callers)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
