/* cuBLASLt is opened at run time, not linked (kernels/cuda/cublaslt-impl.h): a CPU-only
 * process never maps it, the CUDA backend's loader finds it, checks it and says clearly
 * why when it cannot. Needs no GPU: loading the library and asking its version do not. */
#include <stdio.h>
#include <string.h>

#include "cuda/cublaslt-impl.h"
#include "rv-test.h"

static int maps_contain(const char *needle) {
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

/* First in the list: nothing before it may have opened the library. */
static void test_cpu_process_does_not_map_it(void **state) {
  (void)state;
  assert_false(maps_contain("libcublasLt"));
  (void)rv_backend_available(RV_BACKEND_CUDA); /* the runtime answers this alone */
  rv_backend_cfg cfg = {RV_BACKEND_CPU, 1, 0};
  rv_backend *be = NULL;
  assert_int_equal(rv_backend_init(&cfg, &be), RV_OK);
  rv_backend_free(be);
  assert_false(maps_contain("libcublasLt"));
}

static void test_missing_library(void **state) {
  (void)state;
  rv_cublaslt_api api;
  memset(&api, 0xab, sizeof api);
  const char *name = "libringvit-test-no-such-library.so.0";
  assert_int_equal(rv_cublaslt_open(name, &api), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "cannot load cuBLASLt"));
  assert_non_null(strstr(rv_last_error(), name));
  assert_non_null(strstr(rv_last_error(), "device cpu"));
  assert_null(api.Matmul);
  assert_null(api.Create);
}

static void test_library_that_is_not_cublaslt(void **state) {
  (void)state;
  rv_cublaslt_api api;
  assert_int_equal(rv_cublaslt_open("libm.so.6", &api), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "has no cublasLtGetVersion"));
  assert_null(api.GetVersion);
}

static void test_bad_arguments(void **state) {
  (void)state;
  rv_cublaslt_api api;
  assert_int_equal(rv_cublaslt_open(NULL, &api), RV_ERR_INVALID);
  assert_int_equal(rv_cublaslt_open(RV_CUBLASLT_SONAME, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_cublaslt_get(NULL), RV_ERR_INVALID);
}

static void test_opens_the_installed_one(void **state) {
  (void)state;
  rv_cublaslt_api api;
  assert_int_equal(rv_cublaslt_open(RV_CUBLASLT_SONAME, &api), RV_OK);
  void *const *slot = (void *const *)&api;
  for (size_t i = 0; i < sizeof api / sizeof(void *); i++)
    assert_non_null(slot[i]);
  assert_int_equal(api.GetVersion() / 10000, CUBLAS_VER_MAJOR);
  assert_true(strlen(api.GetStatusString(CUBLAS_STATUS_NOT_SUPPORTED)) > 0);
  assert_true(maps_contain("libcublasLt"));
  const rv_cublaslt_api *a = NULL, *b = NULL;
  assert_int_equal(rv_cublaslt_get(&a), RV_OK);
  assert_int_equal(rv_cublaslt_get(&b), RV_OK);
  assert_ptr_equal(a, b);
  assert_ptr_equal(a->Matmul, api.Matmul);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu_process_does_not_map_it),  cmocka_unit_test(test_missing_library),
      cmocka_unit_test(test_library_that_is_not_cublaslt), cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_opens_the_installed_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
