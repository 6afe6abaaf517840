"""A phase-B training step of the demo model on a CPU (vit/train/train.py): the temporal
stage over a window of cached spatial features (own-region causal keys), the heads at 96
frames, the backward pass, with glibc's default allocator settings and with the trainer's
(`train.keep_freed_memory`), each in its own process, in one run.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tests/bench/bench-train-step.py [--frames 480,960]

Prints a table: median seconds per step (after one warm-up step) and the ratio.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "vit", "train"))
MODEL = os.path.join(ROOT, "samples", "models", "rv-demo.safetensors")


def step_seconds(frames, reps, threads):
    """Median seconds of a phase-B step over `frames` frames (this process's allocator)."""
    import torch
    import model as M
    import train
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    base = M.from_file(MODEL)
    m = M.RvViT(dict(base.c, temporal_keys="own_region", temporal_scope="causal"))
    m.load_state_dict(base.state_dict())
    m.train()
    seq, d = m.npre + m.gh0 * m.gw0 + m.ndet, m.c["width"]
    x = torch.randn(frames * seq, d)
    times = [0.5 * i for i in range(frames)]
    out = []
    for r in range(reps + 1):
        t = time.perf_counter()
        keep = train.loss_frames(frames, 96, random.Random(r))
        heads = train.tail(m, x, frames, seq, times, keep)
        sum(v.pow(2).mean() for v in heads.values()).backward()
        m.zero_grad()
        out.append(time.perf_counter() - t)
    return statistics.median(out[1:])


def child(args):
    if args.keep:
        import train
        if not train.keep_freed_memory():
            sys.exit("glibc's mallopt refused the settings")
    print(" ".join(f"{step_seconds(n, args.reps, args.threads):.3f}" for n in args.frames))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", default="480,960")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.frames = [int(v) for v in str(args.frames).split(",")]
    if args.child:
        return child(args)
    cmd = [sys.executable, __file__, "--child", "--frames", ",".join(map(str, args.frames)),
           "--reps", str(args.reps), "--threads", str(args.threads)]
    default = [float(v) for v in subprocess.check_output(cmd, text=True).split()]
    kept = [float(v) for v in subprocess.check_output(cmd + ["--keep"], text=True).split()]
    print(f"phase-B step, {args.threads} threads, heads at 96 frames, median of {args.reps}")
    print("| frames | glibc default s | keep_freed_memory s | speed-up |")
    print("|---|---|---|---|")
    for n, a, b in zip(args.frames, default, kept):
        print(f"| {n} | {a:.2f} | {b:.2f} | x{a / b:.1f} |")


if __name__ == "__main__":
    main()
