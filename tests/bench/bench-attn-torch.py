"""The PyTorch side of bench-attn-cuda: scaled_dot_product_attention with the FLASH and the
CUDNN backend on the given shapes (batch 1, bf16, standard-normal q, k, v in torch's
[batch, heads, N, dim] layout), timed with CUDA events.

    bench-attn-torch.py --shapes N:HEADS:DIM:CAUSAL[,...] [--reps 5]

Prints "sdpa <flash|cudnn> N HEADS DIM CAUSAL <TFLOP/s>" per shape and backend (median of
--reps runs after a warm-up; causal counts the unmasked half of 4 N^2 H D), "nan" where a
backend refused the shape; first a line with the versions.
"""
import argparse
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def median_seconds(fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch sees no CUDA device")
        return 1
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}", flush=True)
    backends = (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION))
    for spec in a.shapes.split(","):
        n, h, d, causal = (int(x) for x in spec.split(":"))
        gen = torch.Generator(device="cuda").manual_seed(n + h + d)
        q, k, v = (torch.randn(1, h, n, d, device="cuda", dtype=torch.bfloat16, generator=gen)
                   for _ in range(3))
        flops = 4.0 * n * n * h * d * (0.5 if causal else 1.0)
        for name, backend in backends:
            try:
                with sdpa_kernel([backend]):
                    t = median_seconds(
                        lambda: F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal)),
                        a.reps)
                print(f"sdpa {name} {n} {h} {d} {causal} {flops / t / 1e12:.1f}", flush=True)
            except RuntimeError as ex:
                print(f"sdpa {name} {n} {h} {d} {causal} nan", flush=True)
                print(f"  ({name} refused {n}:{h}:{d}:{causal}: {str(ex).splitlines()[0]})")
        del q, k, v
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
