/* libFuzzer target: the safetensors header parser and the model config parser behind it.
 * Any input must be accepted or refused with an error, never crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>

#include <ringvit/vit.h>

#include "safetensors-impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rv_st *st = NULL;
  if (rv_st_parse(data, size, &st) == RV_OK) {
    const char *cfg = rv_st_meta(st, "ringvit");
    rv_vit_config c;
    if (cfg) (void)rv_vit_config_parse(cfg, &c);
    float sink[16];
    for (int i = 0; i < st->n; i++) /* touch every accepted byte range */
      if (rv_st_nelem(&st->e[i]) <= 16) (void)rv_st_to_f32(&st->e[i], sink, rv_st_nelem(&st->e[i]));
    rv_st_free(st);
  }
  return 0;
}
