"""vit/train/durationprobe.py: the causal decayed average is the weighted mean it claims
(no look ahead), the decay scope's bias, and on made-up clips where loitering and merely standing people look the
same at every frame (only how long they have been there differs) the linear probe separates
them with the decayed averages and not without; actionprobe.auc against pairwise counting;
the mirror's own-region temporal keys; heldout.py's long-context cut per scope.

    /usr/bin/python3 tests/vit/test_durationprobe.py
"""
import math
import random

import train_env  # skips the test without numpy, torch

train_env.require("numpy", "torch")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import actionprobe  # noqa: E402
import durationprobe  # noqa: E402

REGIONS, DIM, FRAMES, FPS = 15, 6, 480, 2.0


def test_decayed():
    rng = np.random.default_rng(1)
    v = torch.from_numpy(rng.normal(size=(40, 3)))
    t = np.cumsum(rng.uniform(0.2, 2.0, size=40)).tolist()
    got = durationprobe.decayed(v, t, 7.0)
    for f in (0, 1, 17, 39):
        w = torch.tensor([math.exp(-(t[f] - t[g]) / 7.0) for g in range(f + 1)], dtype=v.dtype)
        want = (w[:, None] * v[:f + 1]).sum(0) / w.sum()
        assert torch.allclose(got[f], want, atol=1e-9), (f, got[f], want)


def fake_clip(rng):
    """One person per region arrives at a random time and stays: the region token is the
    same 'person here' vector from then on (with noise), the cell feature too; the label is
    loiter once the person has been there 60 s."""
    times = torch.arange(FRAMES, dtype=torch.float64) / FPS
    person = torch.ones(DIM)
    region = torch.randn(FRAMES, REGIONS, DIM) * 0.1
    cells, labels = [], []
    for r in range(REGIONS):
        arrive = rng.randrange(0, FRAMES - 40)
        region[arrive:, r] += person
        for f in range(arrive, FRAMES):
            cells.append((f, r, r))
            labels.append(int(times[f] - times[arrive] >= 60.0))
    n = len(cells)
    return dict(region=region.half(), times=times, cells=torch.tensor(cells), label=torch.tensor(labels),
                cellfeat=(person + 0.1 * torch.randn(n, DIM)).half())


def test_linear_probe_needs_history():
    rng = random.Random(3)
    torch.manual_seed(3)
    data = {s: fake_clip(rng) for s in range(8)}
    fit, test = list(range(6)), [6, 7]
    _, _, now_auc, _, _ = durationprobe.logistic_auc(data, fit, test, ("cell", "now"), [30.0, 120.0])
    _, _, hist_auc, n, pos = durationprobe.logistic_auc(data, fit, test, ("cell", "now", "decayed"), [30.0, 120.0])
    assert 0 < pos < n
    assert now_auc < 0.65, now_auc
    assert hist_auc > 0.9, hist_auc


def test_decay_bias():
    """Heads with a time constant: causal, -age/tau; the rest global; a zero bias is global
    attention, and the patched attention is put back."""
    import model as M
    times, k = [0.0, 0.5, 2.0], 2
    b = durationprobe.decay_bias(times, k, [30.0], 3)
    assert b.shape == (3, 6, 6)
    assert b[0, 5, 0] == -2.0 / 30.0 and b[0, 2, 3] == -0.0 and math.isinf(b[0, 0, 2])
    assert (b[1:] == 0).all()
    q, kk, v = (torch.randn(6, 3, 4, dtype=torch.float32) for _ in range(3))
    want = M.attention(q, kk, v, torch.ones(6, 6, dtype=torch.bool))
    saved = M.attention
    with durationprobe.decay_attention():
        got = M.attention(q, kk, v, torch.zeros(3, 6, 6))
    assert M.attention is saved
    assert torch.allclose(got, want, atol=1e-6)


def tiny_model(**kw):
    import model as M
    cfg = dict(name="t", image_size=[32, 48], patch=16, width=32, heads=2, mlp_dim=32, spatial_depth=1,
               temporal_depth=2, temporal_tokens=[2, 3], time_embed=True, fps=2.0, **kw)
    torch.manual_seed(5)
    return M.RvViT(cfg).eval()


def test_own_region_keys():
    """temporal_keys "own_region" (heads folded per region) is the dense mask that lets a
    token see only its own region, for every scope; a region's output ignores the others."""
    import model as M
    n, k = 6, 6
    times = [0.5 * i for i in range(n)]
    for scope, window in (("global", 0), ("causal", 0), ("window", 2), ("band", 2)):
        m = tiny_model(temporal_scope=scope, temporal_window=window, temporal_keys="own_region")
        x = torch.randn(n * k, 32)
        with torch.no_grad():
            _, got = m.temporal_tokens(x, n, k, times, {})
            m.c["temporal_keys"] = "all_regions"
            mask = durationprobe.region_mask(n, k) & M.frame_mask(n * k, n * k, k, scope, window)
            _, want = m.temporal_tokens(x, n, k, times, {}, mask)
            _, joint = m.temporal_tokens(x, n, k, times, {})
            m.c["temporal_keys"] = "own_region"
            y = x.clone().reshape(n, k, 32)
            y[:, 1:] += torch.randn(n, k - 1, 32)  # every region but 0 changed
            _, other = m.temporal_tokens(y.reshape(n * k, 32), n, k, times, {})
        assert torch.allclose(got, want, atol=1e-5), scope
        assert not torch.allclose(got, joint, atol=1e-3), scope
        assert torch.allclose(got.reshape(n, k, 32)[:, 0], other.reshape(n, k, 32)[:, 0], atol=1e-5), scope


def test_ablation_cut():
    """heldout.py's long-context cut: a band of +-W/2 frames for a bidirectional model, the
    last W frames for a causal one; rows named by scope."""
    import heldout
    assert heldout.band_config({"temporal_scope": "global"}, 16) == {"temporal_scope": "band", "temporal_window": 8}
    assert heldout.band_config({}, 15)["temporal_window"] == 8
    assert heldout.band_config({"temporal_scope": "causal"}, 16) == {"temporal_scope": "window", "temporal_window": 16}
    assert heldout.band_config({"temporal_scope": "window", "temporal_window": 120}, 16)["temporal_window"] == 16
    assert heldout.scope_name({"temporal_scope": "causal"}) == "causal"
    assert heldout.scope_name({"temporal_scope": "window", "temporal_window": 120}) == "window120"
    assert heldout.scope_name({}) == "global"


def test_auc():
    rng = np.random.default_rng(2)
    s, y = np.round(rng.normal(size=300), 1), rng.random(300) < 0.3  # with ties
    pairs = (s[y][:, None] > s[~y][None, :]).mean() + 0.5 * (s[y][:, None] == s[~y][None, :]).mean()
    assert abs(actionprobe.auc(s, y) - pairs) < 1e-12
    assert actionprobe.auc([0.1, 0.9], [0, 1]) == 1.0
    assert math.isnan(actionprobe.auc([0.1, 0.9], [1, 1]))


if __name__ == "__main__":
    test_decayed()
    test_auc()
    test_decay_bias()
    test_linear_probe_needs_history()
    test_own_region_keys()
    test_ablation_cut()
    print("durationprobe: decayed average, AUC, the probe needs history, own-region keys, the ablation's cut: ok")
