"""What the per-track action head says where the ground truth has an action: the PyTorch
mirror (model.py) run over a whole held-out scene rendered at the model's rate, once with
the model's temporal attention and once cut to a W-frame band, and each GT box (visibility
>= --min-vis) read at the cell under its centre. For each action, the head's probability
there is summarised for boxes inside one of that action's GT segments, for the same tracks
outside them, and for every other track: whether the head separates the action at all, and
whether the long context changes it (the question of issue 8's long-context ablation).

    /usr/bin/python3 vit/train/actionprobe.py --seed 11 --seconds 600 --window 16

--train-clip asks the same of a training clip (is it fitted at all?): loiter's probability
for loitering people against standing people who do not loiter yet, and the AUC between.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heldout  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402


def load(path, window):
    m = M.from_file(path)
    if window:
        heldout.band_config(m.c, window)  # the scope is read at each forward
    return m


def head_action_probs(m, boxed, times):
    """sigmoid of the dense head's action logits [frames, cells, actions] for frames already
    letterboxed into the model input (uint8 [F, H, W, 3]) at `times` (seconds)."""
    c = m.c
    x = torch.from_numpy(boxed).float() / 255.0
    tokens = M.patchify(x, c["mean"], c["std"], c["patch"], c["tubelet"])
    with torch.no_grad():
        outs, _ = m(tokens, len(boxed), list(times))
    first = 5 + c["num_classes"]
    dense = M.fine_cells(outs["dense"], m.gh0, m.gw0, M.dense_sub(c))  # the targets' cell order
    return torch.sigmoid(dense[..., first:first + c["num_track_actions"]])


def action_probs(m, frames, pts):
    """head_action_probs of source frames with their pts (ns), as a numpy array."""
    ih, iw = m.c["image_size"]
    boxed = train.letterbox(frames, ih, iw, m.c["mean"])
    return head_action_probs(m, boxed, [float(t) * 1e-9 for t in pts]).numpy()


def centre_cell(row, geom, grid_w, patch, grid_h):
    sx, sy, px, py = geom
    cx, cy = row[1] + row[3] / 2, row[2] + row[4] / 2
    r = min(max(int((cy * sy + py) // patch), 0), grid_h - 1)
    c = min(max(int((cx * sx + px) // patch), 0), grid_w - 1)
    return r * grid_w + c


def split(probs, rows, geom, grid, patch, a, min_vis):
    """Probabilities of action a at GT boxes: in its segments / same tracks outside / others."""
    gh, gw = grid
    tracks = {r[0] for fr in rows for r in fr if r[7] >> a & 1}
    inside, outside, others = [], [], []
    for f, fr in enumerate(rows):
        for r in fr:
            if r[6] < min_vis:
                continue
            p = float(probs[f, centre_cell(r, geom, gw, patch, gh), a])
            (inside if r[7] >> a & 1 else outside if r[0] in tracks else others).append(p)
    return inside, outside, others


def fit_on_training_clip(m, clip, window):
    """loiter against standing-but-not-loitering at a training clip's judged positive cells
    (train.judgeable: 60 s into the clip): does the head fit what it was trained on?"""
    labels = m.c["labels"]["track_actions"]
    lo, st = labels.index("loiter"), labels.index("stand")
    cells = clip.pos & (train.judgeable(clip.times)[:, lo] > 0)[:, None]
    p = head_action_probs(m, clip.frames, clip.times.tolist())[..., lo][cells]
    is_lo = clip.act[..., lo][cells] > 0
    is_st = (clip.act[..., st][cells] > 0) & ~is_lo
    a, b = p[is_lo], p[is_st]
    print(f"| {heldout.scope_name(m.c)} | {summary(a.tolist())} | "
          f"{summary(b.tolist())} | {auc(p[is_lo | is_st], is_lo[is_lo | is_st]):.3f} |", flush=True)


def auc(scores, labels):
    """The probability that a positive scores above a negative (ties count half): the
    Mann-Whitney statistic from average ranks. nan without both kinds."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1) > 0.5
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    _, first, counts = np.unique(s[order], return_index=True, return_counts=True)
    for f, c in zip(first[counts > 1], counts[counts > 1]):  # ties share their mean rank
        ranks[order[f:f + c]] = f + (c + 1) / 2
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def summary(v):
    if not v:
        return "-"
    return f"{np.mean(v):.3f} / {np.median(v):.3f} / {np.percentile(v, 90):.3f} / {np.max(v):.3f} (n {len(v)})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringvit", default="build/ringvit")
    ap.add_argument("--model", default="samples/models/rv-demo.safetensors")
    ap.add_argument("--seed", type=int, default=11, help="a held-out seed (< 1000)")
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--window", type=int, default=16, help="the band the ablation cuts to, frames")
    ap.add_argument("--actions", default="loiter,left_behind,stand,walk")
    ap.add_argument("--min-vis", type=float, default=0.3)
    ap.add_argument("--work", default="/tmp/rv-actionprobe")
    ap.add_argument("--train-clip", help="instead: a training clip's cache (WORK/seed-N/clip.pt of "
                                         "train.py), loiter against standing people there")
    args = ap.parse_args(argv)
    if args.seed >= 1000:
        ap.error("held-out seeds are < 1000")
    torch.set_num_threads(2)
    if args.train_clip:
        print("| attention | p(loiter), loitering | p(loiter), standing, not loitering | AUC |\n|---|---|---|---|")
        clip = train.read_clip_cache(args.train_clip)
        for window in (0, args.window):
            fit_on_training_clip(load(args.model, window), clip, window)
        return
    m = load(args.model, 0)
    c = m.c
    video, gt = train.render_clip(args.ringvit, args.work, args.seed, args.seconds, c["fps"], False, 1.0)
    frames, pts = train.read_rgb(video)
    rows = train.read_gt(gt, len(frames), pts)
    ih, iw = c["image_size"]
    rw, rh, px, py = train.letterbox_geom(frames.shape[2], frames.shape[1], iw, ih)
    geom = (rw / frames.shape[2], rh / frames.shape[1], px, py)
    grid = (ih // c["patch"], iw // c["patch"])
    labels = c["labels"]["track_actions"]
    print(f"seed {args.seed}, {args.seconds} s at {c['fps']:g} fps, {len(frames)} frames; "
          f"p(action) at GT box centres, mean / median / p90 / max (n boxes)\n")
    print("| action | temporal attention | in its GT segments | same tracks, outside | other tracks |")
    print("|---|---|---|---|---|")
    for window in (0, args.window):
        mw = m if not window else load(args.model, window)
        name = heldout.scope_name(mw.c)
        probs = action_probs(mw, frames, pts)
        for a_name in args.actions.split(","):
            a = labels.index(a_name)
            cols = [summary(v) for v in split(probs, rows, geom, grid, c["patch"], a, args.min_vis)]
            print(f"| {a_name} | {name} | " + " | ".join(cols) + " |", flush=True)


if __name__ == "__main__":
    main()
