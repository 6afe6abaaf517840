"""The trainer's history mask (vit/train/train.py judgeable): loiter and left_behind are
60-second rules, so a window's frames less than 60 s into it cannot tell them and their
labels there add nothing to the action loss; later frames, and the other actions at every
frame, train as before.

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


if __name__ == "__main__":
    main()
