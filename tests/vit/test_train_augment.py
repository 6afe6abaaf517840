"""The trainer's augmentation and box loss (vit/train/train.py): a mirrored window moves
every positive cell to its mirror cell with the box centre mirrored in pixels and the same
track id and class, mirroring twice gives the targets back, and the GIoU loss is 0 for
exact boxes and grows with the error.

    /usr/bin/python3 tests/vit/test_train_augment.py
"""

import train_env  # skips the test without numpy, torch

train_env.require("numpy", "torch")
import numpy as np  # noqa: E402, F401
import torch  # noqa: E402
import train  # noqa: E402

GH, GW, P = 11, 20, 16


class Mirror:
    """An rng that always mirrors and leaves the colours alone."""

    def random(self):
        return 0.0

    def uniform(self, a, b):
        return 1.0 if a < 1.0 < b else 0.0


ROWS = [[[7, 40.0, 30.0, 12.0, 40.0, 0, 1.0, 1], [9, 200.0, 100.0, 60.0, 20.0, 1, 1.0, 4]],
        [[7, 47.0, 31.0, 12.0, 40.0, 0, 1.0, 1], [3, 300.0, 150.0, 9.0, 9.0, 2, 1.0, 0]]]


def targets(reach=0):
    t = [train.make_targets(r, (1.0, 1.0, 0, 0), GH, GW, P, reach) for r in ROWS]
    return {n: torch.from_numpy(np.stack([x[i] for x in t])) for i, n in enumerate(train.TARGETS)}


def centres(b, reach):
    """Each box cell's decoded centre (pixels), its track id, and the cell."""
    out = []
    for fi in range(b["boxm"].shape[0]):
        for k in torch.nonzero(b["boxm"][fi]).flatten().tolist():
            r, c = divmod(k, GW)
            t = b["box"][fi, k]
            cx = (c + 0.5 + (2 * reach + 1) * (float(t[0]) - 0.5)) * P
            cy = (r + 0.5 + (2 * reach + 1) * (float(t[1]) - 0.5)) * P
            out.append((fi, int(b["tid"][fi, k]), cx, cy, (r, c)))
    return out


def check_reach():
    """reach 1: the cells around a centre that lie inside the box carry the same box (their
    decoded centres are the object's), the positives stay one per object, and mirroring
    keeps every box cell's centre; reach 0: the box cells are the positives."""
    b0, b1 = targets(0), targets(1)
    assert torch.equal(b0["boxm"], b0["pos"]) and torch.equal(b1["pos"], b0["pos"])
    assert int(b1["boxm"].sum()) > int(b1["pos"].sum())
    want = {(fi, r[0]): (r[1] + r[3] / 2, r[2] + r[4] / 2) for fi, rs in enumerate(ROWS) for r in rs}
    cells = centres(b1, 1)
    for fi, tid, cx, cy, _ in cells:
        assert abs(cx - want[(fi, tid)][0]) < 1e-3 and abs(cy - want[(fi, tid)][1]) < 1e-3, (tid, cx, cy)
    tall = [cell for fi, tid, _, _, cell in cells if fi == 0 and tid == 7]
    # x 40-52, y 30-70: the cells of column 2 whose centres (y 40, 56) lie inside the box
    assert sorted(tall) == [(2, 2), (3, 2)], tall
    frames = torch.rand(2, GH * P, GW * P, 3)
    _, m = train.augment(frames, {k: v.clone() for k, v in b1.items()}, GW, Mirror())
    flipped = {(fi, tid, round(GW * P - cx, 3), round(cy, 3)) for fi, tid, cx, cy, _ in cells}
    assert flipped == {(fi, tid, round(cx, 3), round(cy, 3)) for fi, tid, cx, cy, _ in centres(m, 1)}
    tb = b1["box"][b1["boxm"]]
    bx = torch.cat([torch.logit(tb[:, :2]), tb[:, 2:]], 1)
    assert float(train.giou_loss(bx, tb, 1)) < 1e-5
    return len(cells)


def main():
    b = targets()
    frames = torch.rand(2, GH * P, GW * P, 3)
    f2, m = train.augment(frames.clone(), {k: v.clone() for k, v in b.items()}, GW, Mirror())
    assert torch.equal(f2, frames.flip(2)), "the image is mirrored, colours untouched"
    n = 0
    for fi in range(2):
        for k in torch.nonzero(b["pos"][fi]).flatten().tolist():
            r, c = divmod(k, GW)
            k2 = r * GW + (GW - 1 - c)
            assert m["pos"][fi, k2], "the positive moves to the mirror cell"
            cx = (c + float(b["box"][fi, k, 0])) * P
            cx2 = (GW - 1 - c + float(m["box"][fi, k2, 0])) * P
            assert abs((GW * P - cx) - cx2) < 1e-4, (cx, cx2)
            assert m["tid"][fi, k2] == b["tid"][fi, k] and m["cls"][fi, k2] == b["cls"][fi, k]
            assert torch.equal(m["box"][fi, k2, 1:], b["box"][fi, k, 1:])
            n += 1
    assert n == 4, n
    _, back = train.augment(f2, {k: v.clone() for k, v in m.items()}, GW, Mirror())
    for k, v in b.items():
        assert torch.allclose(back[k].float(), v.float(), atol=1e-6), k
    tb = b["box"][b["pos"]]
    bx = torch.cat([torch.logit(tb[:, :2]), tb[:, 2:]], 1)
    assert float(train.giou_loss(bx, tb)) < 1e-5
    worse = bx.clone()
    worse[:, 2] += 0.3
    much = bx.clone()
    much[:, 2] += 1.0
    assert 0 < float(train.giou_loss(worse, tb)) < float(train.giou_loss(much, tb))
    cells = check_reach()
    print(f"mirror: {n} positives moved and restored; GIoU loss 0 when exact, grows with error; "
          f"reach 1: {cells} box cells, centres exact")


if __name__ == "__main__":
    main()
