#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rv-schema.h"
#include "rv-test.h"

static const json_t *resolve(const json_t *root, const json_t *s) {
  const char *ref = json_string_value(json_object_get(s, "$ref"));
  if (!ref) return s;
  assert_true(!strncmp(ref, "#/$defs/", 8));
  const json_t *d = json_object_get(json_object_get(root, "$defs"), ref + 8);
  assert_non_null(d);
  return d;
}

static int type_ok(const char *t, const json_t *v) {
  if (!strcmp(t, "object")) return json_is_object(v);
  if (!strcmp(t, "array")) return json_is_array(v);
  if (!strcmp(t, "string")) return json_is_string(v);
  if (!strcmp(t, "integer")) return json_is_integer(v);
  if (!strcmp(t, "number")) return json_is_number(v);
  fail_msg("schema type %s not handled by the test", t);
  return 0;
}

int rv_schema_valid(const json_t *root, const json_t *s, const json_t *v) {
  s = resolve(root, s);
  const json_t *k;
  if ((k = json_object_get(s, "type")) && !type_ok(json_string_value(k), v)) return 0;
  if ((k = json_object_get(s, "const")) && !json_equal((json_t *)k, (json_t *)v)) return 0;
  if ((k = json_object_get(s, "minimum")) && json_number_value(v) < json_number_value(k)) return 0;
  if ((k = json_object_get(s, "maximum")) && json_number_value(v) > json_number_value(k)) return 0;
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(s, "required"), i, e) {
    if (!json_object_get(v, json_string_value(e))) return 0;
  }
  const char *key;
  json_t *ps = json_object_get(s, "properties"), *pv;
  if (ps && json_is_object(v)) {
    json_object_foreach((json_t *)v, key, pv) {
      const json_t *sub = json_object_get(ps, key);
      if (sub && !rv_schema_valid(root, sub, pv)) return 0;
    }
  }
  if ((k = json_object_get(s, "items")) && json_is_array(v)) {
    json_array_foreach(v, i, e) {
      if (!rv_schema_valid(root, k, e)) return 0;
    }
  }
  if ((k = json_object_get(s, "oneOf"))) {
    int n = 0;
    json_array_foreach(k, i, e) n += rv_schema_valid(root, e, v);
    if (n != 1) return 0;
  }
  return 1;
}

json_t *rv_schema_load(void) {
  char path[1024];
  json_error_t err;
  json_t *root = json_load_file(
      rv_test_source_path("docs/annotations.schema.json", path, sizeof path), 0, &err);
  if (!root) fail_msg("schema: %s line %d", err.text, err.line);
  return root;
}
