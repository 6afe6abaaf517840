"""The trainer's procedural object clips (vit/train/shapes.py): every labelled box is where
the shape's pixels differ from the background (bounded by the box, touching all four edges),
ids stay the same through a clip, and the same seed gives the same clip.

    /usr/bin/python3 tests/vit/test_shapes.py
"""
import os
import random
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed for this python: skipped")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "vit", "train"))
import shapes  # noqa: E402


def check_boxes(rng):
    """One shape on a plain background without noise: its box is its changed pixels' extent."""
    w, h = 320, 240
    bg = np.zeros((h, w, 3)) + 128.0
    s = shapes.Shape(rng, w, h, 1)
    s.c = np.array([250.0, 20.0, 20.0])
    img = bg.copy()
    Y, X = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    x0, y0, x1, y1 = s.paint(img, X, Y)
    ys, xs = np.nonzero(np.abs(img - bg).max(axis=2) > 0.02 * 122 * 0.99)
    assert len(xs) > 0, s.kind
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1), (s.kind, x0, y0, x1, y1)


def main():
    rng = random.Random(7)
    for _ in range(60):
        check_boxes(rng)
    a = shapes.make_clip(random.Random(3), 6, [])
    b = shapes.make_clip(random.Random(3), 6, [])
    assert np.array_equal(a[0], b[0]) and a[2] == b[2]
    ids = [{r[0] for r in rows} for rows in a[2]]
    assert all(i == ids[0] for i in ids) and ids[0], ids
    assert all(r[5] == shapes.OBJECT_CLASS for rows in a[2] for r in rows)
    print("shapes: 60 boxes exact, clips deterministic")


if __name__ == "__main__":
    main()
