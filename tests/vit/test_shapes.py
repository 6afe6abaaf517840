"""The trainer's procedural object clips (vit/train/shapes.py): every labelled box is where
the shape's pixels differ from the background (bounded by the box, touching all four edges),
ids stay the same through a clip, and the same seed gives the same clip; a clip written for
calibration (write_clip) is a Y4M whose frames invert to the pixels within rounding, with its
boxes in MOTChallenge rows of class 4 and the frame rate in meta.json.

    /usr/bin/python3 tests/vit/test_shapes.py
"""
import json
import os
import random
import tempfile

import train_env  # skips the test without numpy

train_env.require("numpy")
import numpy as np  # noqa: E402
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


def yuv_to_rgb(y, cb, cr):
    """BT.601 limited range, the inverse of shapes.rgb_to_yuv444."""
    y, cb, cr = (p.astype(np.float64) for p in (y, cb, cr))
    y, cb, cr = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    return np.stack([r, g, b], -1) * 255


def check_written_clip():
    frames, _, rows = shapes.make_clip(random.Random(11), 4, [])
    n, h, w, _ = frames.shape
    with tempfile.TemporaryDirectory() as d:
        video, gt = shapes.write_clip(d, frames, rows)
        raw = open(video, "rb").read()
        head, body = raw.split(b"\n", 1)
        assert head == f"YUV4MPEG2 W{w} H{h} F2000:1000 Ip A1:1 C444".encode(), head
        plane = w * h
        assert len(body) == n * (6 + 3 * plane), len(body)
        for i in range(n):
            chunk = body[i * (6 + 3 * plane):(i + 1) * (6 + 3 * plane)]
            assert chunk[:6] == b"FRAME\n"
            y, cb, cr = (np.frombuffer(chunk[6 + k * plane:6 + (k + 1) * plane], np.uint8).reshape(h, w) for k in range(3))
            err = np.abs(yuv_to_rgb(y, cb, cr) - frames[i]).max()
            assert err < 2.5, (i, err)
        lines = open(os.path.join(gt, "gt.txt")).read().split()
        assert len(lines) == sum(len(r) for r in rows) and lines
        for line in lines:
            f, tid, x, y_, bw, bh, conf, cls, vis = line.split(",")
            assert cls == "4" and 1 <= int(f) <= n and float(bw) > 0 and float(bh) > 0, line
        meta = json.load(open(os.path.join(gt, "meta.json")))
        assert meta["fps"] == 2.0 and meta["frames"] == n and meta["width"] == w, meta


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
    check_written_clip()
    print("shapes: 60 boxes exact, clips deterministic, a written clip inverts within rounding")


if __name__ == "__main__":
    main()
