"""Is loiter's minute in what the temporal stage sees, and can the stage learn it? A cheap
question (minutes on the CPU) to ask before hours of phase B.

The shipped model's frozen spatial stage is run once over training clips (train.py's
caches, WORK/seed-N/clip.pt), and each frame kept as the temporal stage's input: its 3x5
region tokens (the mean of their cells), plus the cell features of standing people. Two
questions, each on people who loiter against people who stand but do not loiter yet (less
than a minute in view, or moved more than 4 m), at cells 60 s or more into a clip, with the
AUC (0.5 = chance) on clips held back from fitting (--test):

  linear  a logistic regression on the cell feature, the region token now, and causal
          exponentially decayed averages of the region token (time constants --taus):
          is a duration signal there for a readout that can average over time?
  fit     the model's own temporal blocks, final norm and dense head fitted on loiter alone
          with a temporal scope (global, causal, window W frames, band W): does attention
          find it, and how fast? --scope decay asks what the C engine cannot run yet: the
          first heads causal with a bias -age/tau on each key (ALiBi in seconds, --decay
          taus), the others global.

    /usr/bin/python3 vit/train/durationprobe.py --clips /tmp/rv-h1 --seeds 1201-1216 linear
    /usr/bin/python3 vit/train/durationprobe.py --clips /tmp/rv-h1 --seeds 1201-1216 \
        fit --scope window --window 120 --steps 600
"""
import argparse
import contextlib
import math
import os
import random
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import actionprobe  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402

def clip_inputs(m, clip):
    """The temporal stage's input for one clip: region tokens [F, regions, D] (half), times,
    and for each standing person's centre cell: (frame, cell, region), loiter label, feature."""
    npch = m.gh0 * m.gw0
    pool, unpool = m._pool_mats(m.gh0, m.gw0)
    f = train.clip_spatial_features(m, clip, chunk=64)[:, m.npre:m.npre + npch]
    labels = train.TRACK_ACTIONS
    loiter = clip.pos & (clip.act[..., labels.index("loiter")] > 0.5)
    standing = clip.pos & (clip.act[..., labels.index("stand")] > 0.5) & ~loiter
    fi, ci = torch.nonzero(loiter | standing, as_tuple=True)
    return dict(region=torch.einsum("kn,fnd->fkd", pool, f).half(), times=torch.as_tensor(clip.times),
                cells=torch.stack([fi, ci, unpool.argmax(1)[ci]], 1), label=loiter[fi, ci].long(),
                cellfeat=f[fi, ci].half())


def load_inputs(m, clips_dir, seeds, cache):
    if os.path.exists(cache):
        data = torch.load(cache)
        if sorted(data) == sorted(seeds):
            return data
    data = {}
    for seed in seeds:
        clip = train.read_clip_cache(os.path.join(clips_dir, f"seed-{seed}", "clip.pt"))
        data[seed] = clip_inputs(m, clip)
        print(f"seed {seed}: {clip.n} frames, {int(data[seed]['label'].sum())} loitering cells, "
              f"{int((data[seed]['label'] == 0).sum())} standing", flush=True)
    torch.save(data, cache)
    return data


def decayed(values, times, tau):
    """Causal exponentially decayed average over frames: out[f] = sum_g<=f w_g v_g / sum w_g
    with w_g = exp(-(t_f - t_g) / tau). values [F, ...], times [F] seconds."""
    out = torch.empty_like(values)
    acc, norm = torch.zeros_like(values[0]), 0.0
    for f in range(len(values)):
        keep = math.exp(-(times[f] - times[f - 1]) / tau) if f else 0.0
        acc = acc * keep + values[f]
        norm = norm * keep + 1.0
        out[f] = acc / norm
    return out


def judged(d):
    """The mask of d's cells at least train.HISTORY_S into the clip: their label can be told."""
    t = d["times"]
    return t[d["cells"][:, 0]] - t[0] >= train.HISTORY_S - 1e-6


def linear_features(d, parts, taus):
    f, _, r = d["cells"].T
    reg = d["region"].float()
    cols = []
    if "cell" in parts:
        cols.append(d["cellfeat"].float())
    if "now" in parts:
        cols.append(reg[f, r])
    for tau in taus if "decayed" in parts else ():
        cols.append(decayed(reg, d["times"].tolist(), tau)[f, r])
    keep = judged(d)
    return torch.cat(cols, 1)[keep], d["label"][keep].float()


def logistic_auc(data, fit_seeds, test_seeds, parts, taus):
    """Fits a balanced logistic regression (L-BFGS, a little L2) and returns its AUC on the
    fitting clips and on the test clips."""
    x, y = (torch.cat(v) for v in zip(*(linear_features(data[s], parts, taus) for s in fit_seeds)))
    xt, yt = (torch.cat(v) for v in zip(*(linear_features(data[s], parts, taus) for s in test_seeds)))
    mu, sd = x.mean(0), x.std(0) + 1e-6
    x, xt = (x - mu) / sd, (xt - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300)
    pos_weight = (1 - y).sum() / y.sum().clamp(min=1)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ w + b, y, pos_weight=pos_weight) + 1e-3 * w.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return x.shape[1], actionprobe.auc(x @ w + b, y), actionprobe.auc(xt @ w + b, yt), len(yt), int(yt.sum())


class TemporalFit:
    """The model's temporal stage, final norm and dense head's loiter output, on the cached
    region tokens: the forward of model._temporal for pooled tokens, the readout of _heads."""

    def __init__(self, m, scope, window, decay=(), own_region=False):
        self.m, self.scope, self.window, self.decay = m, scope, window, decay
        self.own_region = own_region
        m.c["temporal_keys"] = "own_region" if own_region and scope != "decay" else "all_regions"
        self.loiter = 5 + m.c["num_classes"] + train.TRACK_ACTIONS.index("loiter")
        m.c["temporal_scope"], m.c["temporal_window"] = scope, window
        self.params = [p for n, p in m.named_parameters() if n.startswith(("temporal.", "norm.", "head.dense"))]
        for n, p in m.named_parameters():
            p.requires_grad_(n.startswith(("temporal.", "norm.", "head.dense")))

    def region_delta(self, d, s, e, times):
        """What the temporal stage adds to each region token of frames [s, e): [n, k, D]."""
        x = d["region"][s:e].float()
        n, k, dim = x.shape
        decay = self.scope == "decay"
        mask = decay_bias(times, k, self.decay, self.m.c["heads"]) if decay else None
        if self.own_region and decay:  # the model's own_region folds regions into heads instead
            mask = mask.masked_fill(~region_mask(n, k)[None], float("-inf"))
        with decay_attention() if decay else contextlib.nullcontext():
            x0, x = self.m.temporal_tokens(x.reshape(n * k, dim), n, k, times, {}, mask)
        return (x - x0).reshape(n, k, dim)

    def logits(self, d, s, e, times, judged_from):
        """Loiter logits and labels of d's cells in frames [judged_from, e) of window [s, e)."""
        m = self.m
        delta = self.region_delta(d, s, e, times)
        f, _, r = d["cells"].T
        sel = (f >= judged_from) & (f < e)
        x = m.norm(d["cellfeat"][sel].float() + delta[f[sel] - s, r[sel]])
        return m.dense_head(x)[:, self.loiter], d["label"][sel].float()

    def auc(self, data, seeds, length):
        """AUC over every judged cell of the clips, each scored once, in windows of `length`
        frames moved by half a window (a cell is judged in the later half, or 60 s in)."""
        self.m.eval()
        scores, labels = [], []
        with torch.no_grad():
            for seed in seeds:
                d = data[seed]
                t, n = d["times"].numpy(), len(d["region"])
                for s in range(0, max(1, n - length + 1), length // 2):
                    e = min(n, s + length)
                    first = int(np.searchsorted(t, t[s] + train.HISTORY_S - 1e-6)) if s == 0 else s + length // 2
                    z, y = self.logits(d, s, e, (t[s:e] - t[s] + 100.0).tolist(), first)
                    scores.append(z)
                    labels.append(y)
        self.m.train()
        return actionprobe.auc(torch.cat(scores), torch.cat(labels))


def region_mask(n, tokens_per_frame):
    """Bool [N, N]: a token sees only the tokens of its own region (TimeSformer's time
    attention), so that a head's plain average over its keys is that region's history."""
    r = torch.arange(n * tokens_per_frame) % tokens_per_frame
    return r[:, None] == r[None, :]


def decay_bias(times, tokens_per_frame, taus, heads):
    """[heads, N, N] additive attention bias: head h < len(taus) sees only earlier keys, each
    weighed down by exp(-age / taus[h]); the other heads see everything."""
    t = torch.as_tensor(times, dtype=torch.float32).repeat_interleave(tokens_per_frame)
    age = t[:, None] - t[None, :]
    bias = torch.zeros(heads, len(t), len(t))
    for h, tau in enumerate(taus[:heads]):
        bias[h] = torch.where(age >= 0, -age / tau, torch.tensor(float("-inf")))
    return bias


class decay_attention:
    """Within the block, model.attention takes a float bias [heads, N, M] instead of a mask."""

    def __enter__(self):
        self.saved = M.attention

        def biased(q, k, v, bias=None):
            s = torch.einsum("nhd,mhd->hnm", q, k) / math.sqrt(q.shape[-1]) + bias
            return torch.einsum("hnm,mhd->nhd", torch.softmax(s, dim=-1), v).reshape(q.shape[0], -1)
        M.attention = biased

    def __exit__(self, *exc):
        M.attention = self.saved


def fit(m, data, fit_seeds, test_seeds, args):
    tf = TemporalFit(m, args.scope, args.window, [float(v) for v in args.decay.split(",")],
                     args.regions == "own")
    opt = torch.optim.AdamW(tf.params, lr=args.lr, weight_decay=0.05)
    rng = random.Random(1)
    print("| steps | s | loss | AUC, fitting clips | AUC, test clips |\n|---|---|---|---|---|")
    print(f"| 0 | 0 | | {tf.auc(data, fit_seeds[:4], 2 * args.length):.3f} | "
          f"{tf.auc(data, test_seeds, 2 * args.length):.3f} |", flush=True)
    start, smooth = time.time(), None
    for step in range(1, args.steps + 1):
        d = data[rng.choice(fit_seeds)]
        t, n = d["times"].numpy(), len(d["region"])
        s = rng.randrange(0, n - args.length + 1)
        first = int(np.searchsorted(t, t[s] + train.HISTORY_S - 1e-6))
        z, y = tf.logits(d, s, s + args.length, (t[s:s + args.length] - t[s] + rng.uniform(0, 3600)).tolist(), first)
        if 0 < y.sum() < len(y):
            loss = F.binary_cross_entropy_with_logits(z, y, pos_weight=(len(y) - y.sum()) / y.sum())
            for g in opt.param_groups:
                g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tf.params, 1.0)
            opt.step()
            smooth = float(loss) if smooth is None else 0.98 * smooth + 0.02 * float(loss)
        if step % args.every == 0 or step == args.steps:
            print(f"| {step} | {time.time() - start:.0f} | {smooth:.3f} | {tf.auc(data, fit_seeds[:4], 2 * args.length):.3f} | "
                  f"{tf.auc(data, test_seeds, 2 * args.length):.3f} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="samples/models/rv-demo.safetensors")
    ap.add_argument("--clips", required=True, help="a train.py --work folder with seed-N/clip.pt caches")
    ap.add_argument("--seeds", default="1201-1216")
    ap.add_argument("--test", type=int, default=4, help="the last N seeds are the test clips")
    ap.add_argument("--cache", help="the extracted inputs (default CLIPS/durationprobe.pt)")
    ap.add_argument("--threads", type=int, default=2)
    sub = ap.add_subparsers(dest="what", required=True)
    lin = sub.add_parser("linear")
    lin.add_argument("--taus", default="10,30,60,120,240", help="decay time constants, seconds")
    fp = sub.add_parser("fit")
    fp.add_argument("--scope", default="global", choices=["global", "causal", "window", "band", "decay"])
    fp.add_argument("--decay", default="30,90", help="--scope decay: the first heads' time constants, seconds")
    fp.add_argument("--window", type=int, default=0, help="frames, for window and band")
    fp.add_argument("--regions", default="all", choices=["all", "own"],
                    help="own: each region token attends only to its own region's tokens")
    fp.add_argument("--steps", type=int, default=600)
    fp.add_argument("--length", type=int, default=240, help="frames per fitting window")
    fp.add_argument("--lr", type=float, default=1e-3)
    fp.add_argument("--every", type=int, default=200, help="measure every N steps")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = train.parse_seeds(args.seeds)
    if args.test >= len(seeds):
        ap.error("--test must leave clips to fit on")
    m = M.from_file(args.model)
    data = load_inputs(m, args.clips, seeds, args.cache or os.path.join(args.clips, "durationprobe.pt"))
    fit_seeds, test_seeds = seeds[:-args.test], seeds[-args.test:]
    if args.what == "fit":
        fit(m, data, fit_seeds, test_seeds, args)
        return
    taus = [float(v) for v in args.taus.split(",")]
    print("| features | dims | AUC, fitting clips | AUC, test clips (n, loitering) |\n|---|---|---|---|")
    for parts in (("cell",), ("cell", "now"), ("cell", "now", "decayed")):
        dims, a_fit, a_test, n, pos = logistic_auc(data, fit_seeds, test_seeds, parts, taus)
        print(f"| {' + '.join(parts)} | {dims} | {a_fit:.3f} | {a_test:.3f} ({n}, {pos}) |", flush=True)


if __name__ == "__main__":
    main()
