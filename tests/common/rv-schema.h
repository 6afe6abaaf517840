/* A small JSON Schema validator for the keywords docs/annotations.schema.json uses (type,
 * const, minimum, maximum, required, properties, items, oneOf, local $ref), so tests can
 * check every line ringvit writes against the published schema. */
#ifndef RINGVIT_RV_SCHEMA_H
#define RINGVIT_RV_SCHEMA_H

#include <jansson.h>

/* Loads docs/annotations.schema.json from the source tree; fails the test when it can't. */
json_t *rv_schema_load(void);
/* 1 when v satisfies schema s (root: the document holding "$defs"). */
int rv_schema_valid(const json_t *root, const json_t *s, const json_t *v);

#endif
