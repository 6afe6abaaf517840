"""How well a model's dense head fits its own training targets on a cached clip (train.py's
clip.pt): mean IoU of the decoded person boxes (>= 2 cells tall) against their targets at the
positive cells and, for a model with a reach, at the neighbour cells that carry the box too;
and where the 3x3 objectness maximum around each positive lies. Every `--step`-th frame.

    /usr/bin/python3 vit/train/boxfit.py samples/models/rv-demo.safetensors /tmp/rv-train/seed-1003/clip.pt
"""
import argparse
import collections
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import train  # noqa: E402


def load_targets(path):
    return vars(train.read_clip_cache(path))


def boxes(b, cells, gw, reach):
    """Cell-unit x1, y1, x2, y2 of box parameters b [n, 4] (sigmoid-space centres) at cells."""
    r, q = cells // gw, cells % gw
    span = 2 * reach + 1
    cx, cy = q + 0.5 + span * (b[:, 0] - 0.5), r + 0.5 + span * (b[:, 1] - 0.5)
    return train.cell_boxes(cx, cy, b[:, 2].exp(), b[:, 3].exp())


def iou(a, b):
    lt, rb = torch.max(a[:, :2], b[:, :2]), torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("clip", help="a clip.pt of train.py's work folder")
    ap.add_argument("--step", type=int, default=15)
    args = ap.parse_args(argv)
    m, d = M.from_file(args.model), load_targets(args.clip)
    c, gh, gw = m.c, m.gh0, m.gw0
    reach, n_cls = c["head"]["dense"].get("reach", 0), c["num_classes"]
    idx = list(range(0, len(d["frames"]), args.step))
    tok = M.patchify(torch.from_numpy(d["frames"][idx]).float() / 255, c["mean"], c["std"], c["patch"], c["tubelet"])
    with torch.no_grad():
        out = m(tok, len(idx), [i / c["fps"] for i in idx])[0]["dense"]
    out = M.fine_cells(out, gh, gw, M.dense_sub(c))  # the targets' cell order and grid
    gh, gw = gh * M.dense_sub(c), gw * M.dense_sub(c)
    pos, cls, tb = d["pos"][idx], d["cls"][idx], d["box"][idx]
    boxm = d.get("boxm", d["pos"])[idx]
    tall = (cls == 0) & (tb[..., 3].exp() >= 2.0)
    for name, mask in (("positive cells", pos & tall), ("neighbour cells", boxm & ~pos & tall)):
        f, k = torch.nonzero(mask, as_tuple=True)
        if not len(k):
            continue
        pb = out[f, k, 1 + n_cls:5 + n_cls].clone()
        pb[:, :2] = torch.sigmoid(pb[:, :2])
        v = iou(boxes(pb, k, gw, reach), boxes(tb[f, k], k, gw, reach))
        print(f"persons >= 2 cells tall, {name}: {len(v)}, mean IoU {v.mean():.2f}, IoU >= 0.5 {(v >= 0.5).float().mean():.2f}")
    obj = out[..., 0].reshape(len(idx), gh, gw)
    peaks = collections.Counter()
    for f, k in torch.nonzero(pos & tall).tolist():
        r, q = divmod(k, gw)
        near = [(dr, dq) for dr in (-1, 0, 1) for dq in (-1, 0, 1) if 0 <= r + dr < gh and 0 <= q + dq < gw]
        peaks[max(near, key=lambda o: float(obj[f, r + o[0], q + o[1]]))] += 1
    print("3x3 objectness maximum, (rows, columns) from the positive cell:", dict(peaks.most_common()))


if __name__ == "__main__":
    main()
