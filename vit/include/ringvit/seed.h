/* The seed's model: the RingAttention sequence model of the Elixir/Axon original, as an
 * API of its own (DESIGN.md section 4).
 *
 *   input [batch, seq_len, embed_dim]
 *   -> input projection to hidden_size (only when embed_dim != hidden_size)
 *   -> num_layers x (LayerNorm, QKV, attention over the sequence split into num_chunks
 *      chunks, each query chunk visiting the key/value chunks in ring order
 *      (q + step) mod num_chunks with a token-causal mask, out projection, residual,
 *      LayerNorm, FFN (4 x hidden, GELU), residual)
 *   -> final LayerNorm -> [batch, hidden_size] of the last timestep.
 *
 * LayerNorm eps 1e-5 and erf GELU as Axon's defaults; dropout is ignored (inference).
 * Tensor names follow the Axon layer names, weights [out, in]:
 *   input_projection.{weight,bias}, ring_{l}_attn_norm.{weight,bias}, ring_{l}_qkv.{weight,bias},
 *   ring_{l}_out_proj.{weight,bias}, ring_{l}_ffn_norm.{weight,bias},
 *   ring_{l}_ffn_up.{weight,bias}, ring_{l}_ffn_down.{weight,bias}, final_norm.{weight,bias}
 * with l = 1 .. num_layers. */
#ifndef RINGVIT_SEED_H
#define RINGVIT_SEED_H

#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_seed_cfg {
  int embed_dim;   /* required */
  int hidden_size; /* 256 */
  int num_heads;   /* 4 */
  int num_chunks;  /* 4 */
  int num_layers;  /* 4 */
  float dropout;   /* 0.1, ignored at inference */
  int window_size; /* 60: the sequence length */
} rv_seed_cfg;

/* The defaults above with embed_dim set. */
rv_seed_cfg rv_seed_defaults(int embed_dim);
/* hidden_size: the width of the output. */
int rv_seed_output_size(const rv_seed_cfg *cfg);

typedef struct rv_seed rv_seed;

/* Builds the model with Axon's default initializers (glorot-uniform kernels, zero biases,
 * unit LayerNorm gains) drawn from `seed`, for `backend`; seq_len must divide into
 * num_chunks chunks and be at most window_size. */
rv_status rv_seed_build(const rv_seed_cfg *cfg, uint64_t seed, rv_backend *backend, int max_batch,
                        rv_seed **out);
/* Loads weights (and config) from a safetensors file written by vit/train/export.py. */
rv_status rv_seed_load(const char *path, rv_backend *backend, int max_batch, rv_seed **out);
void rv_seed_free(rv_seed *s); /* NULL-safe */

const rv_seed_cfg *rv_seed_config(const rv_seed *s);

/* x [batch, seq_len, embed_dim] f32 host/backend memory -> y [batch, hidden_size].
 * batch <= max_batch; seq_len <= window_size and a multiple of num_chunks. */
rv_status rv_seed_forward(rv_seed *s, const rv_tensor *x, rv_tensor *y);

#ifdef __cplusplus
}
#endif
#endif
