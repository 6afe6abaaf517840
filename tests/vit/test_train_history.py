"""The trainer's history mask (vit/train/train.py judgeable): loiter and left_behind are
60-second rules, so a window's frames less than 60 s into it cannot tell them and their
labels there add nothing to the action loss; later frames, and the other actions at every
frame, train as before. Phase B's loss at sampled frames (--loss-frames): the heads at the
kept frames are those of the whole window's forward, the temporal stage still sees every frame.

    /usr/bin/python3 tests/vit/test_train_history.py
"""

import train_env  # skips the test without numpy, torch

train_env.require("numpy", "torch")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import train  # noqa: E402

GH, GW, P = 11, 20, 16
A = train.TRACK_ACTIONS
N_CLS = len(train.CLASSES)
TIMES = [100.0, 130.0, 159.5, 160.0, 250.0]  # seconds; the window starts at 100 s


def window():
    """A standing, loitering person in every frame of the window."""
    bits = 1 << A.index("stand") | 1 << A.index("loiter")
    rows = [[[5, 100.0, 60.0, 14.0, 40.0, 0, 1.0, bits]] for _ in TIMES]
    t = [train.make_targets(r, (1.0, 1.0, 0, 0), GH, GW, P) for r in rows]
    b = {n: torch.from_numpy(np.stack([x[i] for x in t])) for i, n in enumerate(train.TARGETS)}
    b["known"] = train.judgeable(TIMES)
    return b


def action_grad(b):
    out = torch.zeros(len(TIMES), GH * GW, 1 + N_CLS + 4 + len(A), requires_grad=True)
    train.dense_losses(out, b, N_CLS, len(A), 0)["act"].backward()
    return out.grad[..., 5 + N_CLS:][b["pos"]]  # [frames, actions]: one positive per frame


def main():
    known = train.judgeable(TIMES)
    late = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])
    for name in A:
        want = late if name in ("loiter", "left_behind") else torch.ones(len(TIMES))
        assert torch.equal(known[:, A.index(name)], want), (name, known[:, A.index(name)])
    g = action_grad(window())
    for name in ("loiter", "left_behind"):
        col = g[:, A.index(name)]
        assert torch.all(col[:3] == 0), (name, col)
        assert torch.all(col[3:] != 0), (name, col)
    for name in ("walk", "stand", "run"):
        assert torch.all(g[:, A.index(name)] != 0), name
    print(f"history mask: loiter, left_behind learnt from {train.HISTORY_S:g} s into a window "
          f"({int(late.sum())} of {len(TIMES)} frames), the other actions at every frame")


def loss_frames():
    import random
    import model as M
    cfg = dict(train.CONFIG, image_size=[32, 48], width=32, heads=1, mlp_dim=32, spatial_depth=1,
               temporal_tokens=[2, 3], temporal_keys="own_region", temporal_scope="causal")
    cfg["head"] = {"dense": {"hidden": 32, "emb_dim": 4}, "scene": {"pool": "mean"}}
    torch.manual_seed(1)
    m = M.RvViT(cfg).eval()
    n, seq = 9, 1 + 2 * 3
    x = torch.randn(n * seq, 32)
    times = [0.5 * i for i in range(n)]
    assert train.loss_frames(n, 0, random.Random(1)) is None
    assert train.loss_frames(n, n, random.Random(1)) is None
    keep = train.loss_frames(n, 4, random.Random(1))
    assert len(keep) == 4 and torch.equal(keep, keep.sort().values) and len(set(keep.tolist())) == 4
    with torch.no_grad():
        full = train.tail(m, x, n, seq, times)
        part = train.tail(m, x, n, seq, times, keep)
        y = x.clone().reshape(n, seq, 32)
        y[int(keep[0]) - 1 if keep[0] > 0 else 0] += torch.randn(seq, 32)  # an earlier (or the first) frame
        moved = train.tail(m, y.reshape(n * seq, 32), n, seq, times, keep)
    for k in ("dense", "scene"):
        assert torch.allclose(part[k], full[k][keep], atol=1e-5), k
    assert not torch.allclose(moved["dense"], part["dense"], atol=1e-4)  # a frame not kept still counts
    print(f"loss frames: heads at {len(keep)} of {n} frames equal the whole window's there")
    groups = train.phase_b_groups(m, 0.2)
    names = {id(p): n for n, p in m.named_parameters()}
    temporal, rest = ([names[id(p)] for p in g["params"]] for g in groups)
    assert [g["scale"] for g in groups] == [1.0, 0.2]
    assert temporal and all(n.startswith("temporal.") for n in temporal)
    assert rest and all(n.startswith(("norm.", "head.")) for n in rest)
    assert all(p.requires_grad == n.startswith(("temporal.", "norm.", "head.")) for n, p in m.named_parameters())


def phase_b_rate():
    import argparse
    assert train.phase_b_lr(argparse.Namespace(lr=2e-4, lr_b=None)) == 1e-4
    assert train.phase_b_lr(argparse.Namespace(lr=2e-4, lr_b=1e-3)) == 1e-3
    print("phase B rate: --lr-b, else half of --lr")
    import os
    import model as M
    shipped = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "models", "rv-demo.safetensors")
    ck = train.read_checkpoint(shipped)
    want = M.from_file(shipped).state_dict()
    assert ck["model"].keys() == want.keys() and all(torch.equal(ck["model"][k], want[k]) for k in want)
    assert ck["state"].get("seeds"), "the training record comes with the weights"
    print("resume: an exported model's weights and training record")
    prev = dict(seeds=[1001, 1144], seconds=180.0, minutes=10.0, minutes_before_resume=5.0,
                finetune=dict(lr=2e-4), phase_ft_steps=70, phase_b=dict(window=480), phase_b_steps=9,
                phase_b_stages=[dict(window=240, steps=3)])
    again = train.resumed_record(dict(seeds=[1201], seconds=600.0), prev, skip_a=True)
    assert again["seeds"] == [1001, 1144] and again["seconds"] == 180.0, again
    assert again["minutes_before_resume"] == 15.0
    assert again["finetune_stages"] == [dict(lr=2e-4, steps=70)]
    assert again["phase_b_stages"] == [dict(window=240, steps=3), dict(window=480, steps=9)]
    assert "phase_b" not in again and "phase_b_steps" not in again
    assert train.resumed_record(dict(seeds=[1201]), prev, skip_a=False)["seeds"] == [1201]
    print("resume: earlier phase-B stages and phase A's seeds stay in the record")
    import platform
    if platform.libc_ver()[0] == "glibc":  # the trainer's allocator settings are taken
        assert train.keep_freed_memory()


def plain_share():
    """Phase B's whole plain clips (--b-plain-share): refused out of range or without long
    clips of its own; the feature cache stops when the budget has less than two minutes."""
    for bad in (["--b-plain-share", "1.5", "--long-seeds", "1201"], ["--b-plain-share", "0.5"]):
        try:
            train.main(bad)
        except SystemExit as e:
            assert e.code == 2, (bad, e.code)
        else:
            raise AssertionError(f"{bad} accepted")

    class Budget:
        def __init__(self, lefts):
            self.lefts = iter(lefts)

        def left(self):
            return next(self.lefts)

    class FakeClip:
        def __init__(self, i):
            self.i = i

    cached = []
    real = train.clip_spatial_features
    train.clip_spatial_features = lambda m, clip: cached.append(clip.i) or torch.full((2, 3, 4), float(clip.i))
    try:
        got = train.cache_features(None, [FakeClip(i) for i in range(4)], Budget([600, 119, 600]))
    finally:
        train.clip_spatial_features = real
    assert cached == [0, 1] and [c.i for c, _ in got] == [0, 1], cached
    assert all(f.dtype == torch.float16 and f[0, 0, 0] == c.i for c, f in got)
    train.clip_spatial_features = lambda m, clip: torch.zeros(1)
    try:
        assert len(train.cache_features(None, [FakeClip(0), FakeClip(1)], Budget([10, 10]))) == 1
    finally:
        train.clip_spatial_features = real
    print("phase B plain share: options checked, feature cache within the budget")
    assert train.parse_factors("emb=1,act=0.5", list(train.WEIGHTS), "--loss-weights") == dict(emb=1.0, act=0.5)
    for bad in ("emb", "emb=x", "nope=1"):
        try:
            train.parse_factors(bad, list(train.WEIGHTS), "--loss-weights")
        except ValueError as e:
            assert "--loss-weights" in str(e) and repr(bad) in str(e), e
        else:
            raise AssertionError(f"{bad} accepted")
    for argv, emb in ((["--loss-weights", "emb=1"], 1.0), ([], 0.2)):  # each run from the defaults
        try:
            train.main(argv + ["--b-plain-share", "2"])  # refused after the weights are read
        except SystemExit:
            pass
        assert train.WEIGHTS["emb"] == emb and train.WEIGHTS["obj"] == 1.0, train.WEIGHTS
    a = train.parse_act_weights("loiter=8")
    assert a[train.TRACK_ACTIONS.index("loiter")] == 8 and a.sum() == 8 + len(train.TRACK_ACTIONS) - 1
    print("loss weights: NAME=FACTOR over the known names only")


if __name__ == "__main__":
    main()
    loss_frames()
    phase_b_rate()
    plain_share()
