"""Trains ringvit's demo model (samples/models/rv-demo.safetensors) on `ringvit synth` scenes.

Runs on a CPU with Debian's python3-torch (1.13); nothing to download. Steps:
  1. renders training clips with `ringvit synth` at the model's sampling rate (2 fps) as raw
     .rgb frames and reads them with numpy, letterboxed into the model input exactly as the
     ingest does (bilinear, centred, padded with the mean colour);
  2. turns DIR/gt.txt and DIR/actions.jsonl into dense-head targets in the C decoder's
     parameterisation (vit/detect.c): per output cell (one per patch, or sub x sub with
     --sub) objectness, class logits, box as cx = (col + sigmoid(t0)) * Q, w = exp(t2) * Q
     in model-input pixels (Q = P / sub), per-track action logits, an appearance embedding;
     plus per-frame scene actions;
  3. phase A: the whole model on short clips (a few seconds, global temporal attention);
     phase B: spatial stage frozen, its outputs cached, the temporal stage and heads on
     long clips (minutes), so that loiter and left_behind (60 s rules) can be learnt;
  4. writes the model with its config, labels, training seeds and settings in __metadata__;
     checkpoints (and an exported model) every few minutes, so a cut run still leaves one.

    /usr/bin/python3 vit/train/train.py --ringvit build/ringvit --work /tmp/rv-train \
        -o samples/models/rv-demo.safetensors --minutes 60
"""
import argparse
import concurrent.futures
import ctypes
import json
import math
import os
import random
import subprocess
import sys
import time

# OpenMP's default busy-waiting makes torch ~10x slower on a loaded 2-core box: wait passively
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
import model as M  # noqa: E402
import shapes  # noqa: E402

CLASSES = ["person", "vehicle", "bag", "object"]
TRACK_ACTIONS = ["walk", "run", "stand", "loiter", "fall", "park", "depart", "left_behind"]
SCENE_ACTIONS = ["crowd", "traffic"]  # >= 4 persons in view; a vehicle in view
CROWD_PERSONS = 4
MIN_VIS = 0.2  # objects less visible than this are neither positives nor negatives

CONFIG = dict(
    name="rv-demo", image_size=[176, 320], patch=16, width=96, heads=3, mlp_dim=192,
    spatial_depth=3, temporal_depth=2, temporal_tokens=[3, 5], temporal_scope="global",
    time_embed=True, time_scale=1.0, fps=2.0,
    head={"dense": {"hidden": 96, "emb_dim": 16}, "scene": {"pool": "mean"}},
    labels={"classes": CLASSES, "track_actions": TRACK_ACTIONS, "scene_actions": SCENE_ACTIONS})

# Training clips lean on the rare actions; the held-out evaluation uses the defaults.
RICH_RATES = ["loiter=0.35", "abandon=0.6", "drop=0.6", "bag=0.5", "fall=0.12", "park=0.6", "ret=0.4"]


def letterbox_geom(src_w, src_h, in_w, in_h):
    """The ingest's letterbox (ingest/ingest.c set_geometry): rect size and offset."""
    s = min(in_w / src_w, in_h / src_h)
    rw = int(max(1, min(in_w, round(src_w * s))))
    rh = int(max(1, min(in_h, round(src_h * s))))
    return rw, rh, (in_w - rw) // 2, (in_h - rh) // 2


def letterbox(frames, in_h, in_w, mean):
    """uint8 [F, H, W, 3] -> uint8 [F, in_h, in_w, 3], as the ingest fills a batch slot."""
    f, h, w, _ = frames.shape
    rw, rh, px, py = letterbox_geom(w, h, in_w, in_h)
    pad = np.array([min(255, max(0, round(m * 255))) for m in mean], np.uint8)
    out = np.empty((f, in_h, in_w, 3), np.uint8)
    out[:] = pad
    for i in range(0, f, 32):
        x = torch.from_numpy(frames[i:i + 32]).permute(0, 3, 1, 2).float()
        y = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        out[i:i + 32, py:py + rh, px:px + rw] = y.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    return out


def render_clip(ringvit, work, seed, seconds, fps, rich, density, extra=()):
    """Runs `ringvit synth` into work/seed-N/; returns (clip.rgb path, gt dir)."""
    d = os.path.join(work, f"seed-{seed}")
    os.makedirs(d, exist_ok=True)
    video, gt = os.path.join(d, "clip.rgb"), os.path.join(d, "gt")
    cmd = [ringvit, "synth", "--seconds", str(seconds), "--seed", str(seed), "--fps", str(fps),
           "-o", video, "--gt", gt, "--density", str(density), "-q"] + list(extra)
    for r in RICH_RATES if rich else []:
        cmd += ["--rate", r]
    subprocess.run(cmd, check=True)
    return video, gt


def read_rgb(path):
    with open(path + ".json") as f:
        side = json.load(f)
    raw = np.fromfile(path, np.uint8)
    n = side["frames"]
    return raw.reshape(n, side["height"], side["width"], 3), np.array(side["pts_ns"], np.int64)


def read_gt(gt_dir, n_frames, pts_ns):
    """Per frame: rows [id, x0, y0, w, h, cls, vis, action bits] (0-based pixels, 0-based class)."""
    rows = [[] for _ in range(n_frames)]
    with open(os.path.join(gt_dir, "gt.txt")) as f:
        for line in f:
            fr, tid, x, y, w, h, _, cls, vis = line.strip().split(",")
            rows[int(fr) - 1].append([int(tid), float(x) - 1, float(y) - 1, float(w), float(h),
                                      int(cls) - 1, float(vis), 0])
    segs = []
    with open(os.path.join(gt_dir, "actions.jsonl")) as f:
        for line in f:
            s = json.loads(line)
            if s.get("track_id") and s["label"] in TRACK_ACTIONS:
                segs.append((s["track_id"], TRACK_ACTIONS.index(s["label"]), s["start"], s["end"]))
    by_track = {}
    for tid, a, s, e in segs:
        by_track.setdefault(tid, []).append((a, s, e))
    for i in range(n_frames):
        t = pts_ns[i]
        for r in rows[i]:
            for a, s, e in by_track.get(r[0], ()):
                if s <= t < e:
                    r[7] |= 1 << a
    return rows


TARGETS = ["heat", "pos", "ign", "cls", "box", "act", "tid", "scene", "boxm"]
# targets held in RAM in narrower types (a clip's cells are 4x as many with head.dense.sub 2)
COMPACT = {"cls": torch.int8, "act": torch.uint8, "tid": torch.int32}
WIDE = {"cls": torch.int64, "act": torch.float32, "tid": torch.int64}


def centre_target(c, cell, reach):
    """A box centre (in cells) as the decoder's sigmoid target for `cell` (vit/detect.c):
    c = cell + 1/2 + (2 reach + 1)(sigmoid - 1/2); reach 0 gives c - cell."""
    return (c - cell - 0.5) / (2 * reach + 1) + 0.5


def make_targets(rows, geom, grid_h, grid_w, patch, reach=0):
    """Dense targets of one frame in the decoder's parameterisation (vit/detect.c). The cell
    holding an object's centre is its objectness positive (pos); with a reach, the cells
    around it whose centres lie inside its box (up to `reach` cells away) also learn its box,
    class, actions and identity (boxm), since decoding may pick any of them."""
    sx, sy, px, py = geom
    n = grid_h * grid_w
    heat = np.zeros(n, np.float32)  # Gaussian around each centre: eases the negatives nearby
    pos = np.zeros(n, bool)
    ign = np.zeros(n, bool)
    cls = np.full(n, -1, np.int64)
    box = np.zeros((n, 4), np.float32)
    act = np.zeros((n, len(TRACK_ACTIONS)), np.float32)
    tid = np.zeros(n, np.int64)
    best = np.full(n, np.inf, np.float32)  # distance of the owner to its cell centre
    boxm = np.zeros(n, bool)
    kept = []  # (row, col, object) of each positive, for the reach pass

    def own(k, r, q, obj):  # cell k = (r, q) carries obj's box, class, actions and id
        cx, cy, wc, hc, c, bits, t = obj
        boxm[k] = True
        cls[k] = c
        box[k] = [centre_target(cx, q, reach), centre_target(cy, r, reach),
                  math.log(max(wc, 1e-3)), math.log(max(hc, 1e-3))]
        act[k] = [(bits >> a) & 1 for a in range(len(TRACK_ACTIONS))]
        tid[k] = t

    rr, cc = np.mgrid[0:grid_h, 0:grid_w]
    rr, cc = rr.reshape(-1) + 0.5, cc.reshape(-1) + 0.5
    persons, vehicles = 0, 0
    for t, x, y, w, h, c, vis, bits in rows:
        cx, cy = ((x + w / 2) * sx + px) / patch, ((y + h / 2) * sy + py) / patch
        wc, hc = w * sx / patch, h * sy / patch
        col, row = int(math.floor(cx)), int(math.floor(cy))
        inside = 0 <= col < grid_w and 0 <= row < grid_h
        if vis < MIN_VIS or not inside:
            if vis > 0:  # partly seen: neither reward nor punish the cells it covers
                c0, c1 = int(max(0, (x * sx + px) / patch)), int(min(grid_w, math.ceil(((x + w) * sx + px) / patch)))
                r0, r1 = int(max(0, (y * sy + py) / patch)), int(min(grid_h, math.ceil(((y + h) * sy + py) / patch)))
                for r in range(r0, r1):
                    ign[r * grid_w + c0:r * grid_w + c1] = True
            continue
        persons += c == 0
        vehicles += c == 1
        g = np.exp(-((cc - cx) ** 2 / (2 * max(0.5, wc / 4) ** 2) + (rr - cy) ** 2 / (2 * max(0.5, hc / 4) ** 2)))
        heat = np.maximum(heat, g.astype(np.float32))
        k = row * grid_w + col
        dist = (cx - col - 0.5) ** 2 + (cy - row - 0.5) ** 2
        if dist >= best[k]:
            continue
        best[k] = dist
        pos[k] = True
        obj = (cx, cy, wc, hc, c, bits, t)
        own(k, row, col, obj)
        kept.append((row, col, obj))
    for row, col, obj in kept if reach else ():
        cx, cy, wc, hc = obj[:4]
        for r in range(max(0, row - reach), min(grid_h, row + reach + 1)):
            for q in range(max(0, col - reach), min(grid_w, col + reach + 1)):
                k = r * grid_w + q
                dist = (cx - q - 0.5) ** 2 + (cy - r - 0.5) ** 2
                inside = abs(q + 0.5 - cx) <= wc / 2 and abs(r + 0.5 - cy) <= hc / 2
                if pos[k] or not inside or dist >= best[k]:
                    continue
                best[k] = dist
                own(k, r, q, obj)
    ign &= ~pos
    scene = np.array([persons >= CROWD_PERSONS, vehicles > 0], np.float32)
    return heat, pos, ign, cls, box, act, tid, scene, boxm


class Clip:
    """One rendered clip: letterboxed frames and stacked targets."""

    def __init__(self, seed, frames, pts_ns, rows, cfg):
        c = M.normalize_config(cfg)
        ih, iw = c["image_size"]
        self.seed = seed
        self.frames = letterbox(frames, ih, iw, c["mean"])
        self.times = pts_ns.astype(np.float64) * 1e-9
        self.set_targets(rows, (frames.shape[2], frames.shape[1]), c)
        self.n = len(rows)

    def set_targets(self, rows, src_wh, c):
        """Targets from per-frame GT rows of a src_wh source letterboxed into c's input."""
        ih, iw = c["image_size"]
        p, sub = c["patch"], M.dense_sub(c)
        rw, rh, px, py = letterbox_geom(src_wh[0], src_wh[1], iw, ih)
        geom = (rw / src_wh[0], rh / src_wh[1], px, py)
        reach = c.get("head", {}).get("dense", {}).get("reach", 0)
        t = [make_targets(r, geom, ih // p * sub, iw // p * sub, p / sub, reach) for r in rows]
        for i, name in enumerate(TARGETS):
            v = torch.from_numpy(np.stack([x[i] for x in t]))
            setattr(self, name, v.to(COMPACT[name]) if name in COMPACT else v)
        self.reach, self.sub = reach, sub


def retarget(clip, gt_dir):
    """A cached clip's targets made again from its GT (another reach, or an older cache)."""
    with open(os.path.join(gt_dir, "meta.json")) as f:
        meta = json.load(f)
    pts = np.round(clip.times * 1e9).astype(np.int64)
    clip.set_targets(read_gt(gt_dir, clip.n, pts), (meta["width"], meta["height"]), M.normalize_config(CONFIG))


def clip_cache(args, seed):
    return os.path.join(args.work, f"seed-{seed}", "clip.pt")


def read_clip_cache(path):
    """The Clip a cache file holds (a plain dict of its fields; an older cache pickled the
    Clip itself, which unpickles only where __main__ has a Clip)."""
    import __main__
    if not hasattr(__main__, "Clip"):
        __main__.Clip = Clip
    saved = torch.load(path)
    if not isinstance(saved, dict):
        return saved
    clip = Clip.__new__(Clip)
    clip.__dict__.update(saved)
    return clip


def load_clip(args, seed, rich, density, extra=(), seconds=None):
    cache = clip_cache(args, seed)
    if os.path.exists(cache):
        clip = read_clip_cache(cache)
        reach, sub = CONFIG["head"]["dense"].get("reach", 0), M.dense_sub(CONFIG)
        if getattr(clip, "reach", 0) != reach or getattr(clip, "sub", 1) != sub or not hasattr(clip, "boxm"):
            retarget(clip, os.path.join(args.work, f"seed-{seed}", "gt"))
            tmp = cache + ".tmp"
            torch.save(vars(clip), tmp)
            os.replace(tmp, cache)  # replaces a link to another run's cache, not its target
        return clip
    video, gt = render_clip(args.ringvit, args.work, seed, seconds or args.seconds, CONFIG["fps"], rich, density, extra)
    frames, pts = read_rgb(video)
    clip = Clip(seed, frames, pts, read_gt(gt, len(frames), pts), CONFIG)
    os.remove(video)
    torch.save(vars(clip), cache)  # a plain dict: readable by any script that imports this one
    return clip


def _cache_clip(job):
    args, spec = job
    torch.set_num_threads(1)
    load_clip(args, *spec)  # renders and caches; the parent loads the cache


def prepare_clips(args, specs):
    """Renders and caches the clips that have no cache yet, --jobs at a time (a many-core
    machine: the GPU machine has 16)."""
    todo = [s for s in specs if not os.path.exists(clip_cache(args, s[0]))]
    if not todo:
        return
    log(f"rendering {len(todo)} clips, {args.jobs} at a time")
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(_cache_clip, [(args, s) for s in todo]))


# ---- losses ----

def focal_obj(logit, heat, pos, ign):
    """CenterNet's focal loss on objectness: centres 1, negatives eased near centres."""
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    lp = -((1 - p) ** 2) * torch.log(p) * pos
    ln = -((1 - heat) ** 4) * p ** 2 * torch.log(1 - p) * (~pos & ~ign)
    return (lp.sum() + ln.sum()) / pos.sum().clamp(min=1)


# per track action: a factor on its positives' weight (--act-weights), 1 = as the others
ACT_WEIGHTS = torch.ones(len(TRACK_ACTIONS))


def parse_factors(text, names, option):
    """NAME=FACTOR,... -> {name: factor}, every name one of `names`."""
    out = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        try:
            if name not in names:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"{option} {part!r}: expected NAME=FACTOR with NAME one of {list(names)}") from None
    return out


def parse_act_weights(text):
    w = torch.ones(len(TRACK_ACTIONS))
    for name, value in parse_factors(text, TRACK_ACTIONS, "--act-weights").items():
        w[TRACK_ACTIONS.index(name)] = value
    return w


def dense_losses(out, b, n_cls, n_act, emb_dim, reach=0):
    """out [F, cells, ch] against the batch's targets; returns a dict of scalar losses."""
    L = {}
    L["obj"] = focal_obj(out[..., 0], b["heat"], b["pos"], b["ign"])
    pos = b["boxm"]  # the cells that carry a box: the positives, and with a reach their neighbours
    if pos.any():
        o = out[pos]
        L["cls"] = F.binary_cross_entropy_with_logits(o[:, 1:1 + n_cls], F.one_hot(b["cls"][pos], n_cls).float())
        bx, tb = o[:, 1 + n_cls:5 + n_cls], b["box"][pos]
        L["xy"] = F.binary_cross_entropy_with_logits(bx[:, :2], tb[:, :2].clamp(0, 1)) - 0.5  # ~0 when right
        L["wh"] = F.smooth_l1_loss(bx[:, 2:], tb[:, 2:], beta=0.1)
        if IOU_LOSS:
            L["iou"] = giou_loss(bx, tb, reach)
        a = o[:, 5 + n_cls:5 + n_cls + n_act]
        ta = b["act"][pos]
        known = b["known"][:, None, :n_act].expand(-1, pos.shape[1], -1)[pos]
        bce = F.binary_cross_entropy_with_logits(a, ta, pos_weight=3.0 * ACT_WEIGHTS[:n_act].to(a.device),
                                                 reduction="none")
        L["act"] = (bce * known).sum() / known.sum().clamp(min=1)
        if emb_dim:
            L["emb"] = emb_loss(o[:, 5 + n_cls + n_act:], b["tid"][pos])
    return L


def cell_boxes(cx, cy, w, h):
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def giou_loss(bx, tb, reach=0):
    """1 - GIoU of the decoded boxes (cell units, the decoder's formula) against the
    targets: the tracker and HOTA score overlap, which the log-size loss alone does not
    weigh by the object's size."""
    span = 2 * reach + 1
    centre = lambda s: 0.5 + span * (s - 0.5)  # noqa: E731  (detect.c's centre_offset)
    p = cell_boxes(centre(torch.sigmoid(bx[:, 0])), centre(torch.sigmoid(bx[:, 1])), bx[:, 2].clamp(max=6).exp(),
                   bx[:, 3].clamp(max=6).exp())
    t = cell_boxes(centre(tb[:, 0]), centre(tb[:, 1]), tb[:, 2].exp(), tb[:, 3].exp())
    lt, rb = torch.max(p[:, :2], t[:, :2]), torch.min(p[:, 2:], t[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    union = area(p) + area(t) - inter
    hull = (torch.max(p[:, 2:], t[:, 2:]) - torch.min(p[:, :2], t[:, :2])).prod(1)
    giou = inter / union - (hull - union) / hull
    return (1 - giou).mean()


def emb_loss(e, ids, temp=0.1):
    """Supervised contrastive: a cell's embedding is nearest those of the same track."""
    if len(ids) < 2:
        return e.sum() * 0
    e = F.normalize(e, dim=1)
    s = e @ e.t() / temp
    eye = torch.eye(len(ids), dtype=torch.bool, device=e.device)
    same = (ids[:, None] == ids[None, :]) & ~eye
    has = same.any(1)
    if not has.any():
        return e.sum() * 0
    s = s.masked_fill(eye, -1e9)
    logp = s - torch.logsumexp(s, dim=1, keepdim=True)
    return -((logp * same).sum(1)[has] / same.sum(1)[has]).mean()


DEFAULT_WEIGHTS = dict(obj=1.0, cls=1.0, xy=2.0, wh=2.0, iou=2.0, act=1.0, emb=0.2, scene=0.5)
WEIGHTS = dict(DEFAULT_WEIGHTS)  # with --loss-weights
IOU_LOSS = False  # --iou-loss


def device_of(model):
    return next(model.parameters()).device


# loiter and left_behind hold after 60 s of history (pipeline/synth.c: RV_SYNTH_LOITER_S,
# RV_SYNTH_LEFT_BEHIND_S): in a window's first 60 s its frames cannot tell them either way
HISTORY_ACTIONS = ("loiter", "left_behind")
HISTORY_S = 60.0


def judgeable(times):
    """[F, actions] floats: 1 where a window with these frame times shows enough history to
    tell the action's label, 0 where the label rests on what happened before the window.
    Training those labels anyway taught "a person who stays around", not the 60 s."""
    t = torch.as_tensor(times, dtype=torch.float64)
    seen = (t - t[0] >= HISTORY_S - 1e-6).float()
    known = torch.ones(len(t), len(TRACK_ACTIONS))
    for name in HISTORY_ACTIONS:
        known[:, TRACK_ACTIONS.index(name)] = seen
    return known


def batch_of(clip, idx, device="cpu"):
    b = {k: getattr(clip, k)[idx].to(device) for k in TARGETS}
    b.update({k: b[k].to(t) for k, t in WIDE.items()})
    b["known"] = judgeable(clip.times[idx.numpy()]).to(device)
    return b


def clip_frames(clip, idx, device="cpu"):
    """The window's frames, floats in 0..1 on the device (converted there: a quarter of the copy)."""
    return torch.from_numpy(clip.frames[idx]).to(device).float() / 255.0


def clip_tokens(model, clip, idx, frames=None):
    c = model.c
    if frames is None:
        frames = clip_frames(clip, idx, device_of(model))
    return M.patchify(frames, c["mean"], c["std"], c["patch"], c["tubelet"])


def augment(frames, b, grid_w, rng):
    """Mirror image (half of the windows) and a per-window colour jitter: 24 scenes' fixed
    sceneries and palettes are otherwise learnt by heart. frames [F, H, W, 3] in [0, 1]."""
    if rng.random() < 0.5:
        frames = frames.flip(2)
        for k in ("heat", "pos", "ign", "cls", "act", "tid", "box", "boxm"):
            t = b[k]
            shape = t.shape
            t = t.reshape(shape[0], -1, grid_w, *shape[2:]).flip(2).reshape(shape)
            b[k] = t
        bx = b["box"].clone()
        bx[..., 0] = torch.where(b["boxm"], 1.0 - bx[..., 0], bx[..., 0])
        b["box"] = bx
    gain = torch.tensor([rng.uniform(0.8, 1.2) for _ in range(3)], device=frames.device) * rng.uniform(0.75, 1.25)
    bias = rng.uniform(-0.08, 0.08)
    frames = (frames * gain + bias).clamp(0, 1)
    return frames, b


def total(L):
    return sum(WEIGHTS[k] * v for k, v in L.items())


def heads_loss(model, outs, b):
    c = model.c
    d = c["head"]["dense"]
    dense = M.fine_cells(outs["dense"], model.gh0, model.gw0, M.dense_sub(c))
    L = dense_losses(dense, b, c["num_classes"], c["num_track_actions"], d.get("emb_dim", 0), d.get("reach", 0))
    L["scene"] = F.binary_cross_entropy_with_logits(outs["scene"], b["scene"])
    return L


# ---- the tail of the forward pass from cached spatial features (phase B) ----

def spatial_features(model, tokens, n):
    gh, gw = model.gh0, model.gw0
    x, seq = model._embed(tokens, n, gh, gw)
    for blk in model.spatial:
        x = blk(x, seq)
    return x, seq


def clip_spatial_features(model, clip, chunk=32):
    """The spatial stage over a whole clip, [frames, seq, D] floats (no gradient)."""
    xs = []
    with torch.no_grad():
        for s in range(0, clip.n, chunk):
            idx = torch.arange(s, min(clip.n, s + chunk))
            x, seq = spatial_features(model, clip_tokens(model, clip, idx), len(idx))
            xs.append(x.reshape(len(idx), seq, -1))
    return torch.cat(xs)


def tail(model, x, n, seq, times, keep=None):
    """The temporal stage over all n frames, the final norm and heads at frames `keep`
    (all when None)."""
    gh, gw = model.gh0, model.gw0
    x = model._temporal(x, n, seq, gh, gw, times, {}).reshape(n, seq, -1)
    if keep is not None:
        x = x[keep]
    return model._heads(model.norm(x), gh, gw)


def loss_frames(n, count, rng):
    """Sorted indices of `count` of a window's n frames (all of them when count is 0 or
    >= n): the heads' losses at a sample of frames cost a fraction of all of them, while
    the temporal stage still attends over the whole window."""
    if not count or count >= n:
        return None
    return torch.tensor(sorted(rng.sample(range(n), count)))


# ---- training ----

class Budget:
    def __init__(self, minutes):
        self.t0 = time.time()
        self.end = self.t0 + 60 * minutes

    def left(self):
        return self.end - time.time()

    def elapsed_min(self):
        return (time.time() - self.t0) / 60


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Progress:
    """Running loss averages, a log line every 10 steps, a checkpoint every few minutes;
    the step count goes to the training record as phase_<name>_steps."""

    def __init__(self, name, args, state, save):
        self.name, self.every, self.state, self.save = name, 60 * args.save_every, state, save
        self.step, self.run, self.last_save = 0, {}, time.time()

    def tick(self, losses, note):
        for k, v in losses.items():
            self.run[k] = 0.95 * self.run.get(k, v) + 0.05 * v
        self.step += 1
        self.state[f"phase_{self.name.lower()}_steps"] = self.step
        if self.step % 10 == 0:
            log(f"{self.name} step {self.step} {note} " + " ".join(f"{k} {v:.3f}" for k, v in self.run.items()))
        if time.time() - self.last_save > self.every:
            self.save()
            self.last_save = time.time()


def cosine(start, end):
    """Cosine decay to a tenth over the phase's wall time (steps vary with the machine's load)."""
    f = min(1.0, (time.time() - start) / max(1.0, end - start))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * f))


def window_times(clip, idx, rng, horizon=3600.0):
    """Timestamps of a window: as rendered half of the time, else moved to start anywhere in
    the first hour, so the timestamp embedding is not tied to the clips' length."""
    t = clip.times[idx.numpy()]
    if rng.random() < 0.5:
        t = t - t[0] + rng.uniform(0.0, horizon)
    return t.tolist()


def sample_window(clip, length, rng):
    """A window of `length` frames, preferring ones with objects in view."""
    length = min(length, clip.n)
    for _ in range(10):
        s = rng.randrange(0, clip.n - length + 1)
        idx = torch.arange(s, s + length)
        if clip.pos[idx].any():
            break
    return idx


def object_synth_extra(i, rate):
    """Synth options of the i-th object-rich clip: many moving objects, every other one on
    a plain backdrop (one flat colour, nothing occludes)."""
    extra = ["--rate", f"objects_per_min={rate}"]
    return extra + (["--backdrop", "plain"] if i % 2 else [])


def backdrop_of(clip):
    """The static scene of a synth clip (per-pixel median over time): a shape clip background."""
    return np.median(clip.frames[::max(1, clip.n // 24)], axis=0).astype(np.uint8)


def shape_clips(args, backdrops):
    rng = random.Random(args.shape_seed)
    out = []
    for i in range(args.shape_clips):
        frames, pts, rows = shapes.make_clip(rng, args.shape_frames, backdrops)
        out.append(Clip(-1 - i, frames, pts, rows, CONFIG))
    return out


class Mixture:
    """Picks a training clip: first a group (weights), then a clip of the group."""

    def __init__(self, groups, weights):
        self.groups = [g for g, w in zip(groups, weights) if g and w > 0]
        self.weights = [w for g, w in zip(groups, weights) if g and w > 0]

    def pick(self, rng):
        g = rng.choices(self.groups, weights=self.weights)[0]
        return g[rng.randrange(len(g))]


def phase_a(model, clips, args, budget, state, save):
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    rng = random.Random(1)
    start = time.time()
    end = start + 60 * args.minutes * args.phase_a_share
    prog = Progress("FT" if args.resume else "A", args, state, save)  # keeps the first run's step count
    model.train()
    while time.time() < end:
        lr = args.lr * min(1.0, (prog.step + 1) / 50) * cosine(start, end)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss_sum = {}
        for _ in range(args.clips_per_step):
            clip = clips.pick(rng)
            stride = rng.choice([1, 1, 2])
            idx = sample_window(clip, args.short * stride, rng)[::stride]
            b = batch_of(clip, idx, args.device)
            frames = clip_frames(clip, idx, args.device)
            if args.augment:
                frames, b = augment(frames, b, model.gw0 * M.dense_sub(model.c), rng)
            tok = clip_tokens(model, clip, idx, frames)
            # streaming (rvencoder's default) attends causally: train that scope too
            scope = model.c["temporal_scope"]
            if rng.random() < args.causal_share:
                model.c["temporal_scope"] = "causal"
            outs, _ = model(tok, len(idx), window_times(clip, idx, rng))
            model.c["temporal_scope"] = scope
            L = heads_loss(model, outs, b)
            (total(L) / args.clips_per_step).backward()
            for k, v in L.items():
                loss_sum[k] = loss_sum.get(k, 0.0) + float(v) / args.clips_per_step
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        prog.tick(loss_sum, f"lr {lr:.2e}")


def phase_b_groups(model, head_scale):
    """Phase B's parameter groups, each with the factor on the rate ("scale"): the temporal
    stage at 1, the final norm and heads at head_scale (a stage learnt anew then leaves in
    place what the detector learnt on many more scenes than phase B's clips). The spatial
    stage is frozen."""
    trained = ("temporal.", "norm.", "head.")
    named = [(n, p) for n, p in model.named_parameters() if n.startswith(trained)]
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith(trained))
    return [{"params": [p for n, p in named if n.startswith("temporal.")], "scale": 1.0},
            {"params": [p for n, p in named if not n.startswith("temporal.")], "scale": head_scale}]


def phase_b_lr(args):
    return args.lr_b if args.lr_b is not None else args.lr * 0.5


def cache_features(model, clips, budget):
    """(clip, its spatial features in f16) for each clip, as many as the budget allows (at
    least one: phase B needs a clip to draw from)."""
    out = []
    for clip in clips:
        if out and budget.left() < 120:
            break
        out.append((clip, clip_spatial_features(model, clip).half()))
    return out


def phase_b(model, clips, args, budget, state, save, plain=()):
    """Spatial stage frozen; temporal stage and heads on long windows of cached features.
    A share (--b-plain-share) of the windows are whole clips of `plain` (phase A's scenes):
    with only phase B's few long clips, the heads drift toward those scenes' few people."""
    model.eval()
    # the clips with the long-memory actions first; the cache of every clip would cost minutes
    def rich(clip):
        return int(clip.act[..., TRACK_ACTIONS.index("loiter")].any()) + int(clip.act[..., TRACK_ACTIONS.index("left_behind")].any())
    long_feats = cache_features(model, sorted(clips, key=rich, reverse=True)[:args.long_clips], budget)
    plain_feats = cache_features(model, plain, budget) if args.b_plain_share > 0 else []
    log(f"B: cached spatial features of {len(long_feats)} long and {len(plain_feats)} plain clips")
    groups = phase_b_groups(model, args.head_lr_scale)
    train_params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=phase_b_lr(args), weight_decay=0.05)
    rng = random.Random(2)
    prog = Progress("B", args, state, save)
    model.train()
    start, end = time.time(), budget.end - 30
    while time.time() < end:
        lr = phase_b_lr(args) * cosine(start, end)
        for g in opt.param_groups:
            g["lr"] = lr * g["scale"]
        pool = plain_feats if plain_feats and rng.random() < args.b_plain_share else long_feats
        clip, fx = pool[rng.randrange(len(pool))]
        length = rng.choice([args.long // 2, args.long, args.long])
        idx = sample_window(clip, length, rng)
        n, seq, d = len(idx), fx.shape[1], fx.shape[2]
        keep = loss_frames(n, args.loss_frames, rng)
        outs = tail(model, fx[idx].float().reshape(n * seq, d), n, seq, window_times(clip, idx, rng), keep)
        b = batch_of(clip, idx, args.device)  # the whole window's: its history mask counts from its start
        L = heads_loss(model, outs, b if keep is None else {k: v[keep] for k, v in b.items()})
        opt.zero_grad()
        total(L).backward()
        torch.nn.utils.clip_grad_norm_(train_params, 1.0)
        opt.step()
        prog.tick({k: float(v) for k, v in L.items()}, f"len {n} lr {lr:.2e}")
    for p in model.parameters():
        p.requires_grad_(True)


def write_model(model, path, state):
    """Our safetensors with the config, and the training record as extra metadata keys."""
    cfg = dict(model.c)
    sd = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"ringvit": json.dumps(cfg), "format": "pt", "training": json.dumps(state)}
    if state.get("accuracy"):
        meta["accuracy"] = json.dumps(state["accuracy"])
    tmp = path + ".tmp"
    export.safetensors_io.save(tmp, sd, meta)
    os.replace(tmp, path)


def with_reach(sd, old, new, n_cls, sub=1):
    """A checkpoint's dense head moved to another reach: the centre channels' weights scaled
    (in each of its sub x sub cells) so that near the cell centre (sigmoid's linear part) the
    decoded centres stay put."""
    if old == new:
        return sd
    sd = dict(sd)
    f = (2 * old + 1) / (2 * new + 1)
    for name in ("head.dense.out.weight", "head.dense.out.bias"):
        t = sd[name].clone()
        M.per_cell(t, sub)[:, 1 + n_cls:3 + n_cls] *= f
        sd[name] = t
    return sd


def with_sub(sd, old, new, n_cls):
    """A checkpoint's dense head split into new x new cells per patch (from old x old): each
    new cell starts as a copy of the old cell it lies in, with its box size logits raised by
    log(new / old), since the decoder counts sizes in cells."""
    if old == new:
        return sd
    if new % old:
        raise ValueError(f"head.dense.sub {old} cannot become {new}: not a multiple")
    sd, f = dict(sd), new // old
    for name in ("head.dense.out.weight", "head.dense.out.bias"):
        rows = sd[name].shape[0] // (old * old)
        t = sd[name].reshape(old, old, rows, *sd[name].shape[1:])
        t = t.repeat_interleave(f, 0).repeat_interleave(f, 1).clone()
        if name.endswith("bias"):
            t[..., 3 + n_cls:5 + n_cls] += math.log(f)
        sd[name] = t.reshape(new * new * rows, *sd[name].shape[1:])
    return sd


def parse_seeds(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def read_checkpoint(path):
    """A checkpoint to resume from: a trainer's .pt, or one of our exported models (its
    weights, and its training record from the metadata)."""
    if not path.endswith(".safetensors"):
        return torch.load(path)
    _, meta = export.safetensors_io.load(path)
    return {"model": M.from_file(path).state_dict(), "state": json.loads(meta.get("training", "{}"))}


def resumed_record(state, prev, skip_a):
    """The training record of a run resumed from one whose record is prev: earlier
    fine-tune and phase-B stages keep theirs (with their steps), and a run without phase A
    keeps the seeds and clip length the model's phase A saw."""
    b_record = ("phase_b", "phase_b_steps", "phase_b_stages")  # this run's, if it has a phase B
    state.update({k: v for k, v in prev.items() if k.startswith("phase_") and k not in b_record})
    state["minutes_before_resume"] = prev.get("minutes", 0) + prev.get("minutes_before_resume", 0)
    for stages, record, steps in (("finetune_stages", "finetune", "phase_ft_steps"),
                                  ("phase_b_stages", "phase_b", "phase_b_steps")):
        earlier = prev.get(stages, []) + ([dict(prev[record], steps=prev.get(steps))] if prev.get(record) else [])
        if earlier:
            state[stages] = earlier
    if skip_a:
        state.update({k: prev[k] for k in ("seeds", "seconds") if k in prev})
    return state


def keep_freed_memory():
    """glibc hands every block above its mmap threshold back to the kernel when it is freed,
    so each training step faults the pages of its large tensors (a long window's attention)
    in again: on this CPU most of a 960-frame phase-B step (tests/bench/bench-train-step.py).
    Keeping freed memory in the heap for the next step's tensors of the same sizes avoids
    it; the process keeps its peak size. Returns whether the allocator took the settings."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringvit", default="build/ringvit", help="the ringvit CLI (for `synth`)")
    ap.add_argument("--work", default="/tmp/rv-train", help="clips, caches and checkpoints")
    ap.add_argument("-o", "--out", default="samples/models/rv-demo.safetensors")
    ap.add_argument("--seeds", default="1001-1024", help="training seeds (held-out seeds are < 1000)")
    ap.add_argument("--seconds", type=float, default=180.0, help="length of each training clip")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-time budget of the training")
    ap.add_argument("--phase-a-share", type=float, default=0.75, help="share of the budget for phase A")
    ap.add_argument("--short", type=int, default=12, help="phase A window, frames")
    ap.add_argument("--clips-per-step", type=int, default=2)
    ap.add_argument("--long", type=int, default=240, help="phase B window, frames")
    ap.add_argument("--head-lr-scale", type=float, default=1.0,
                    help="phase B: the final norm's and heads' learning rate, times the temporal stage's")
    ap.add_argument("--loss-frames", type=int, default=0,
                    help="phase B: the heads' losses at this many random frames of each window (0: all)")
    ap.add_argument("--long-clips", type=int, default=12, help="phase B clips (spatial features cached)")
    ap.add_argument("--long-seeds", default="",
                    help="phase B's clips from these seeds, --long-seconds long (default: phase A's clips)")
    ap.add_argument("--long-seconds", type=float, default=600.0)
    ap.add_argument("--b-plain-share", type=float, default=0.0,
                    help="phase B: share of the windows that are whole --seeds clips (with --long-seeds)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-b", type=float, help="phase B's rate (default: half of --lr)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1, help="clips rendered and cached in parallel")
    ap.add_argument("--device", default="cpu", help="torch device to train on (cuda on the GPU machine)")
    ap.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    ap.add_argument("--resume", help="a checkpoint (.pt) or an exported model (.safetensors) to start from")
    ap.add_argument("--skip-a", action="store_true", help="only phase B (with --resume)")
    ap.add_argument("--skip-b", action="store_true", help="only phase A (a fine-tune with --resume)")
    ap.add_argument("--object-seeds", default="", help="object-rich synth clips (seeds >= 1000)")
    ap.add_argument("--object-rate", type=float, default=12.0, help="their objects_per_min")
    ap.add_argument("--object-seconds", type=float, default=120.0)
    ap.add_argument("--shape-clips", type=int, default=0, help="procedural clips of moving shapes (shapes.py)")
    ap.add_argument("--shape-frames", type=int, default=24)
    ap.add_argument("--shape-seed", type=int, default=1)
    ap.add_argument("--causal-share", type=float, default=0.0,
                    help="phase A: share of windows run with causal temporal attention (stream mode)")
    ap.add_argument("--mix", default="1,0,0", help="phase A weights of synth, object-rich synth, shape clips")
    ap.add_argument("--augment", action="store_true", help="phase A: mirror and colour jitter")
    ap.add_argument("--iou-loss", action="store_true", help="add a GIoU loss on the decoded boxes")
    ap.add_argument("--reach", type=int, default=0,
                    help="cells beyond its own a cell's box centre may lie (head.dense.reach, 0-3): "
                         "the cells around an object's centre learn its box too")
    ap.add_argument("--sub", type=int, default=1,
                    help="output cells per patch side (head.dense.sub: 1, 2 or 4): objects a "
                         "few pixels apart get cells of their own; --resume splits its cells")
    ap.add_argument("--image-size", help="HxW model input (a multiple of the patch); --resume resamples its positions")
    ap.add_argument("--width", type=int, help="a new model's width (a multiple of 32: heads of 32, MLP and dense "
                                              "head hidden scaled with it); the shipped one is 96")
    ap.add_argument("--temporal-scope", choices=["global", "causal", "window", "band"],
                    help="the temporal stage's scope (default global; window and band take --temporal-window)")
    ap.add_argument("--temporal-window", type=int, default=0, help="frames, for --temporal-scope window or band")
    ap.add_argument("--temporal-keys", choices=["all_regions", "own_region"],
                    help="what a temporal token attends to: every region of the frames in scope (the "
                         "shipped model), or its own region's history only (a resumed model switches)")
    ap.add_argument("--spatial-depth", type=int, help="a new model's spatial blocks (the shipped one has 3)")
    ap.add_argument("--loss-weights", default="",
                    help="loss=weight,... over the defaults " + ",".join(f"{k}={v:g}" for k, v in DEFAULT_WEIGHTS.items()))
    ap.add_argument("--act-weights", default="",
                    help="ACTION=FACTOR,...: weight those actions' positives more (e.g. loiter=8)")
    args = ap.parse_args(argv)
    global IOU_LOSS, ACT_WEIGHTS, WEIGHTS
    IOU_LOSS = args.iou_loss
    try:
        ACT_WEIGHTS = parse_act_weights(args.act_weights)
        WEIGHTS = dict(DEFAULT_WEIGHTS, **parse_factors(args.loss_weights, DEFAULT_WEIGHTS, "--loss-weights"))
    except ValueError as e:
        ap.error(str(e))
    if args.image_size:
        try:
            CONFIG["image_size"] = [int(v) for v in args.image_size.lower().split("x")]
        except ValueError:
            ap.error(f"--image-size {args.image_size}: expected HxW")
    if args.width:
        if args.width % 32 or args.width < 32:
            ap.error("--width must be a positive multiple of 32")
        CONFIG.update(width=args.width, heads=args.width // 32, mlp_dim=2 * args.width)
        CONFIG["head"]["dense"]["hidden"] = args.width
    if args.spatial_depth:
        CONFIG["spatial_depth"] = args.spatial_depth
    if args.temporal_keys:
        CONFIG["temporal_keys"] = args.temporal_keys
    if args.temporal_scope:
        if args.temporal_scope in ("window", "band") and args.temporal_window < 1:
            ap.error(f"--temporal-scope {args.temporal_scope} needs --temporal-window >= 1")
        CONFIG.update(temporal_scope=args.temporal_scope, temporal_window=args.temporal_window)
    if not 0 <= args.reach <= 3:
        ap.error("--reach must be 0 to 3")
    if args.reach:
        CONFIG["head"]["dense"]["reach"] = args.reach
    if args.sub not in (1, 2, 4) or CONFIG["patch"] % args.sub:
        ap.error("--sub must be 1, 2 or 4")
    if args.sub > 1:
        CONFIG["head"]["dense"]["sub"] = args.sub
    if not 0 <= args.b_plain_share <= 1:
        ap.error("--b-plain-share must be 0 to 1")
    if args.b_plain_share and not args.long_seeds:
        ap.error("--b-plain-share needs --long-seeds: without them phase B's clips are --seeds' own")
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    seeds = parse_seeds(args.seeds)
    object_seeds = parse_seeds(args.object_seeds) if args.object_seeds else []
    long_seeds = parse_seeds(args.long_seeds) if args.long_seeds else []
    if any(s < 1000 for s in seeds + object_seeds + long_seeds):
        ap.error("training seeds must be >= 1000: seeds below are kept for evaluation")
    if len(set(seeds + object_seeds + long_seeds)) < len(seeds) + len(object_seeds) + len(long_seeds):
        ap.error("--seeds, --object-seeds and --long-seeds overlap: a seed's clip is cached once")
    budget = Budget(args.minutes)
    densities = [1.0, 1.5, 2.0, 1.0]

    def plain_specs(seeds, seconds):  # every other clip with raised action rates
        return [(s, i % 2 == 0, densities[i % len(densities)], (), seconds) for i, s in enumerate(seeds)]

    specs = plain_specs(seeds, None)
    long_specs = plain_specs(long_seeds, args.long_seconds)
    obj_specs = [(s, False, 1.0, object_synth_extra(i, args.object_rate), args.object_seconds)
                 for i, s in enumerate(object_seeds)]
    if args.jobs > 1:
        prepare_clips(args, specs + obj_specs + long_specs)
    clips = [load_clip(args, *spec) for spec in specs]
    obj_clips = [load_clip(args, *spec) for spec in obj_specs]
    long_clips = [load_clip(args, *spec) for spec in long_specs] or clips
    shp_clips = shape_clips(args, [backdrop_of(c) for c in clips[:8]]) if args.shape_clips else []
    groups = [("synth", clips), ("object-rich synth", obj_clips), ("shape", shp_clips)]
    for name, group in groups + ([("phase B synth", long_clips)] if long_specs else []):
        log(f"{len(group)} {name} clips, {sum(c.n for c in group)} frames, "
            f"{int(sum(c.pos.sum() for c in group))} positive cells")
    log(f"loaded in {budget.elapsed_min():.1f} min")
    mixture = Mixture([clips, obj_clips, shp_clips], [float(w) for w in args.mix.split(",")])
    model = M.RvViT(CONFIG)
    with torch.no_grad():
        # objectness prior 0.01 in every output cell: the focal loss starts calm
        M.per_cell(model.head.dense.out.bias, M.dense_sub(model.c))[:, 0] = -4.6
    state = dict(seeds=seeds, seconds=args.seconds, synth_fps=CONFIG["fps"], density=densities,
                 rich_rates=RICH_RATES, rich_every_other=True, min_visibility=MIN_VIS,
                 scene_actions={"crowd": f">= {CROWD_PERSONS} persons in view", "traffic": "a vehicle in view"},
                 trainer="vit/train/train.py", torch=torch.__version__)
    if args.act_weights:
        state["act_weights"] = args.act_weights
    if args.loss_weights:
        state["loss_weights"] = dict(WEIGHTS)
    state["history_actions"] = f"{', '.join(HISTORY_ACTIONS)} trained only from {HISTORY_S:g} s into a window"
    state["reach"] = args.reach
    state["sub"] = args.sub
    if object_seeds or shp_clips:
        state["finetune"] = dict(
            object_seeds=object_seeds, object_seconds=args.object_seconds,
            object_synth=f"--rate objects_per_min={args.object_rate:g}, every other clip --backdrop plain",
            shape_clips=len(shp_clips), shape_frames=args.shape_frames, shape_seed=args.shape_seed,
            shapes="vit/train/shapes.py: " + ", ".join(shapes.KINDS) + " over plain, gradient, noise, synth backdrops",
            mix=args.mix, causal_share=args.causal_share, lr=args.lr, minutes=args.minutes,
            augment="mirror, colour jitter" if args.augment else "none", seeds=args.seeds,
            iou_loss=args.iou_loss)
    if args.resume:
        ck = read_checkpoint(args.resume)
        old_sub = ck["state"].get("sub", 1)
        if args.sub % old_sub:
            ap.error(f"--resume {args.resume} has {old_sub}x{old_sub} cells per patch: --sub must be a multiple")
        sd = with_reach(ck["model"], ck["state"].get("reach", 0), args.reach, len(CLASSES), old_sub)
        model.load_resized(with_sub(sd, old_sub, args.sub, len(CLASSES)))
        resumed_record(state, ck["state"], args.skip_a)
    model.to(args.device)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # f32 weights (the exported model), TF32 products
        state["device"] = torch.cuda.get_device_name(torch.device(args.device))
    ckpt = os.path.join(args.work, "checkpoint.pt")

    def save():
        state["minutes"] = round(budget.elapsed_min(), 1)
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "state": state}, ckpt)
        write_model(model, args.out, state)
        log(f"saved {ckpt} and {args.out}")

    if not args.skip_a:
        phase_a(model, mixture, args, budget, state, save)
        save()
    if not args.skip_b:
        state["phase_b"] = dict(seeds=long_seeds or seeds, seconds=args.long_seconds if long_seeds else args.seconds,
                                clips=args.long_clips, window=args.long, lr=phase_b_lr(args),
                                loss_frames=args.loss_frames, head_lr_scale=args.head_lr_scale,
                                plain_share=args.b_plain_share, plain_seeds=seeds if args.b_plain_share else [])
        phase_b(model, long_clips, args, budget, state, save, clips)
        save()


if __name__ == "__main__":
    main()
