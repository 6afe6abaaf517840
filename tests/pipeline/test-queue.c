/* The bounded queue between pipeline stages: order, back-pressure, close and abort. */
#include <pthread.h>
#include <stdint.h>

#include "queue-impl.h"
#include "rv-test.h"

enum { ITEMS = 10000 };

static void *producer(void *arg) {
  rv_queue *q = arg;
  for (intptr_t i = 1; i <= ITEMS; i++)
    if (rv_queue_push(q, (void *)i) != RV_OK) return (void *)1;
  rv_queue_close(q);
  return NULL;
}

static void test_order_and_eof(void **state) {
  (void)state;
  rv_queue *q = NULL;
  assert_int_equal(rv_queue_init(3, &q), RV_OK);
  pthread_t th;
  pthread_create(&th, NULL, producer, q);
  intptr_t want = 1;
  void *item = NULL;
  rv_status st;
  while ((st = rv_queue_pop(q, &item)) == RV_OK) {
    assert_int_equal((intptr_t)item, want);
    assert_true(rv_queue_length(q) <= 3); /* never holds more than its capacity */
    want++;
  }
  assert_int_equal(st, RV_EOF);
  assert_int_equal(want, ITEMS + 1);
  void *ret = NULL;
  pthread_join(th, &ret);
  assert_null(ret);
  rv_queue_free(q);
}

static void *blocked_pusher(void *arg) {
  rv_queue *q = arg;
  return (void *)(intptr_t)rv_queue_push(q, (void *)2); /* the queue is full: waits */
}

static void test_abort_wakes_a_blocked_push(void **state) {
  (void)state;
  rv_queue *q = NULL;
  assert_int_equal(rv_queue_init(1, &q), RV_OK);
  assert_int_equal(rv_queue_push(q, (void *)1), RV_OK);
  pthread_t th;
  pthread_create(&th, NULL, blocked_pusher, q);
  rv_queue_abort(q, RV_ERR_IO);
  void *ret = NULL;
  pthread_join(th, &ret);
  assert_int_equal((rv_status)(intptr_t)ret, RV_ERR_IO);
  void *item = NULL;
  assert_int_equal(rv_queue_pop(q, &item), RV_ERR_IO); /* abort wins over queued items */
  rv_queue_free(q);
}

static void test_close_drains_then_eof(void **state) {
  (void)state;
  rv_queue *q = NULL;
  assert_int_equal(rv_queue_init(4, &q), RV_OK);
  assert_int_equal(rv_queue_push(q, (void *)7), RV_OK);
  rv_queue_close(q);
  assert_true(rv_queue_push(q, (void *)8) < 0);
  void *item = NULL;
  assert_int_equal(rv_queue_pop(q, &item), RV_OK);
  assert_int_equal((intptr_t)item, 7);
  assert_int_equal(rv_queue_pop(q, &item), RV_EOF);
  assert_int_equal(rv_queue_init(0, &(rv_queue *){NULL}), RV_ERR_INVALID);
  rv_queue_free(q);
  rv_queue_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_eof),
      cmocka_unit_test(test_abort_wakes_a_blocked_push),
      cmocka_unit_test(test_close_drains_then_eof),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
