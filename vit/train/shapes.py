"""Procedural clips of moving balls, blobs and simple shapes, labelled `object`, for the
trainer (train.py --shape-clips): the `object` class should mean any other moving thing,
not only the objects `ringvit synth` draws. Each clip: a source frame size, a background
(plain, gradient, noise, or the static backdrop of a synth training clip), 1..3 shapes of
random kind, size and colour moving (bouncing, drifting, circling) at the model's 2 fps;
boxes are exact (the drawn shape's extent). Nothing here reads any real or test video.
"""
import json
import math
import os

import numpy as np

SIZES = [(320, 240), (640, 360), (640, 480), (352, 288), (480, 270), (320, 180)]
KINDS = ["ball", "shaded", "ring_ball", "ellipse", "blob", "square", "rect", "triangle", "hexagon"]
OBJECT_CLASS = 3  # CLASSES.index("object") in train.py


def hsv(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def colour(rng):
    k = rng.random()
    if k < 0.25:
        g = rng.uniform(0.75, 1.0)
        return np.array([g, g, g]) * 255
    if k < 0.35:
        g = rng.uniform(0.0, 0.25)
        return np.array([g, g, g]) * 255
    return np.array(hsv(rng.random(), rng.uniform(0.4, 1), rng.uniform(0.4, 1))) * 255


def background(rng, w, h, backdrops):
    k = rng.random()
    if k < 0.3:
        bg = np.ones((h, w, 3)) * colour(rng)
    elif k < 0.5:
        a, b = colour(rng), colour(rng)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h)
        ramp = t[None, :, None] if len(t) == w else t[:, None, None]
        bg = np.broadcast_to(a * (1 - ramp) + b * ramp, (h, w, 3)).copy()
    elif k < 0.65:
        base = colour(rng)
        coarse = rng_normal(rng, (h // 16 + 2, w // 16 + 2, 3)) * rng.uniform(10, 60)
        bg = base + np.kron(coarse, np.ones((16, 16, 1)))[:h, :w]
    elif backdrops:
        src = backdrops[rng.randrange(len(backdrops))]
        ys = np.linspace(0, src.shape[0] - 1, h).astype(int)
        xs = np.linspace(0, src.shape[1] - 1, w).astype(int)
        bg = src[ys][:, xs].astype(np.float64)
    else:
        bg = np.ones((h, w, 3)) * colour(rng)
    return bg


def rng_normal(rng, shape):
    return np.random.default_rng(rng.getrandbits(32)).standard_normal(shape)


class Shape:
    def __init__(self, rng, w, h, tid):
        self.kind = rng.choice(KINDS)
        self.r = rng.uniform(0.025, 0.16) * min(w, h) * (1 if rng.random() < 0.8 else 1.6)
        self.aspect = rng.uniform(0.6, 1.6) if self.kind in ("ellipse", "rect", "blob") else 1.0
        self.c, self.c2 = colour(rng), colour(rng)
        self.x, self.y = rng.uniform(self.r, w - self.r), rng.uniform(self.r, h - self.r)
        speed = rng.uniform(0.02, 0.25) * min(w, h)  # per frame at 2 fps
        a = rng.uniform(0, 2 * math.pi)
        self.vx, self.vy = speed * math.cos(a), speed * math.sin(a)
        self.circle = rng.random() < 0.3  # circling instead of bouncing
        self.cx, self.cy = w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h
        self.rad = rng.uniform(0.1, 0.35) * min(w, h)
        self.phase, self.omega = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.5) * (1 if rng.random() < 0.5 else -1)
        self.angle, self.spin = rng.uniform(0, math.pi), rng.uniform(-0.6, 0.6)
        self.lobes = [(rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 0.5)) for _ in range(3)]
        self.tid = tid

    def step(self, w, h):
        if self.circle:
            self.phase += self.omega
            self.x = self.cx + self.rad * math.cos(self.phase)
            self.y = self.cy + self.rad * 0.8 * math.sin(self.phase)
        else:
            self.x += self.vx
            self.y += self.vy
            if not self.r <= self.x <= w - self.r:
                self.vx = -self.vx
                self.x = min(max(self.x, self.r), w - self.r)
            if not self.r <= self.y <= h - self.r:
                self.vy = -self.vy
                self.y = min(max(self.y, self.r), h - self.r)
        self.angle += self.spin

    def coverage(self, X, Y):
        """Anti-aliased coverage in [0, 1] over the pixel grid X, Y (pixel centres)."""
        dx, dy = X - self.x, Y - self.y
        r = self.r
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        u, v = dx * ca + dy * sa, -dx * sa + dy * ca
        if self.kind in ("ball", "shaded", "ring_ball"):
            d = np.hypot(dx, dy) - r
        elif self.kind == "ellipse":
            d = (np.hypot(u / self.aspect, v) - r) * min(1, self.aspect)
        elif self.kind == "blob":
            d = np.hypot(u / self.aspect, v) - 0.7 * r
            for a, k in self.lobes:
                d = np.minimum(d, np.hypot(u - k * r * math.cos(a), v - k * r * math.sin(a)) - 0.5 * r)
        elif self.kind in ("square", "rect"):
            hw, hh = r * self.aspect * 0.8, r * 0.8
            d = np.maximum(np.abs(u) - hw, np.abs(v) - hh)
        else:
            n = 3 if self.kind == "triangle" else 6
            d = None
            for i in range(n):
                t = 2 * math.pi * i / n
                e = u * math.cos(t) + v * math.sin(t) - r * math.cos(math.pi / n)
                d = e if d is None else np.maximum(d, e)
        return np.clip(0.5 - d, 0, 1)

    def paint(self, img, X, Y):
        """Draws the shape on img (only in a window around it: whole-frame maps are slow);
        returns its box (x0, y0, x1, y1) or None."""
        h, w = img.shape[:2]
        e = 1.7 * self.r * max(1.0, self.aspect) + 2
        x0, x1 = int(max(0, self.x - e)), int(min(w, self.x + e + 1))
        y0, y1 = int(max(0, self.y - e)), int(min(h, self.y + e + 1))
        if x0 >= x1 or y0 >= y1:
            return None
        box = self.paint_window(img[y0:y1, x0:x1], X[y0:y1, x0:x1], Y[y0:y1, x0:x1])
        return None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)

    def paint_window(self, img, X, Y):
        m = self.coverage(X, Y)
        ys, xs = np.nonzero(m > 0.02)
        if len(xs) == 0:
            return None
        fill = np.ones_like(img) * self.c
        if self.kind == "shaded":  # lit from the top left
            k = np.clip(1.1 - 0.5 * np.hypot(X - self.x + 0.4 * self.r, Y - self.y + 0.4 * self.r) / self.r, 0.3, 1.1)
            fill = fill * k[..., None]
        elif self.kind == "ring_ball":
            ring = np.abs(np.hypot(X - self.x, Y - self.y) - 0.6 * self.r) < 0.15 * self.r
            fill[ring] = self.c2
        img[:] = img * (1 - m[..., None]) + fill * m[..., None]
        return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def make_clip(rng, n_frames, backdrops):
    """-> (uint8 frames [F, H, W, 3], pts_ns [F], rows per frame as train.read_gt gives)."""
    w, h = rng.choice(SIZES)
    bg = background(rng, w, h, backdrops)
    Y, X = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    shapes = [Shape(rng, w, h, tid) for tid in range(1, 1 + rng.choice([1, 1, 1, 2, 2, 3]))]
    noise = rng.uniform(0, 6)
    nrng = np.random.default_rng(rng.getrandbits(32))
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    rows = []
    for f in range(n_frames):
        img = bg.copy()
        row = []
        for s in shapes:
            box = s.paint(img, X, Y)
            if box is not None:
                x0, y0, x1, y1 = box
                row.append([s.tid, float(x0), float(y0), float(x1 - x0), float(y1 - y0), OBJECT_CLASS, 1.0, 0])
            s.step(w, h)
        if noise > 0.5:
            img += nrng.normal(0, noise, img.shape)
        frames[f] = np.clip(img, 0, 255).round().astype(np.uint8)
        rows.append(row)
    pts = (np.arange(n_frames) * 5e8).astype(np.int64)
    return frames, pts, rows


def rgb_to_yuv444(frame):
    """uint8 RGB [H, W, 3] -> Y, Cb, Cr planes, BT.601 limited range (what a decoder
    assumes of a stream that does not say)."""
    x = frame.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return [np.clip(p, 0, 255).round().astype(np.uint8) for p in (y, cb, cr)]


def write_clip(d, frames, rows, fps=2.0):
    """A clip as d/clip.y4m (YUV4MPEG2 4:4:4, which libavformat reads; no encoder needed)
    and its ground truth as `ringvit synth --gt` writes it: d/gt/gt.txt (MOTChallenge,
    class 4 = object) and d/gt/meta.json."""
    n, h, w, _ = frames.shape
    os.makedirs(os.path.join(d, "gt"), exist_ok=True)
    with open(os.path.join(d, "clip.y4m"), "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{int(fps * 1000)}:1000 Ip A1:1 C444\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            for plane in rgb_to_yuv444(frame):
                f.write(plane.tobytes())
    with open(os.path.join(d, "gt", "gt.txt"), "w") as f:
        for i, row in enumerate(rows):
            for tid, x, y, bw, bh, cls, vis, _ in row:
                f.write(f"{i + 1},{tid},{x:g},{y:g},{bw:g},{bh:g},1,{cls + 1},{vis:g}\n")
    with open(os.path.join(d, "gt", "meta.json"), "w") as f:
        json.dump(dict(generator="vit/train/shapes.py", width=w, height=h, fps=fps, frames=n,
                       classes=["person", "vehicle", "bag", "object"]), f)
    return os.path.join(d, "clip.y4m"), os.path.join(d, "gt")
