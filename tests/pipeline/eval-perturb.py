#!/usr/bin/env python3
"""Writes a synth ground-truth folder as `ringvit analyze`-style JSON Lines, for checking
`ringvit eval` (docs/ACCURACY.md): every STEP-th frame (a lower sampling rate), boxes as
gt.txt has them, and the GT's action segments moved by SHIFT seconds with score 0.9.
Usage: eval-perturb.py GT_DIR STEP SHIFT_S OUT.jsonl"""
import json
import sys


def main(gtdir, step, shift_s, out):
    meta = json.load(open(gtdir + "/meta.json"))
    fps, width, height = meta["fps"], meta["width"], meta["height"]
    rows = {}
    for line in open(gtdir + "/gt.txt"):
        f, i, x, y, w, h = [float(v) for v in line.split(",")[:6]]
        rows.setdefault(int(f), []).append((int(i), x - 1, y - 1, w, h))  # 1-based -> 0-based
    with open(out, "w") as o:
        for f in range(1, meta["frames"] + 1, step):
            objs = [{"detection": {"bounding_box": {"x_min": x / width, "y_min": y / height,
                                                    "x_max": (x + w) / width,
                                                    "y_max": (y + h) / height},
                                   "confidence": 1, "label": "object", "label_id": 0},
                     "x": round(x), "y": round(y), "w": round(w), "h": round(h), "id": i,
                     "roi_type": "object"} for i, x, y, w, h in rows.get(f, [])]
            o.write(json.dumps({"timestamp": round((f - 1) * 1e9 / fps), "frame_index": f - 1,
                                "resolution": {"width": width, "height": height},
                                "objects": objs}) + "\n")
        for line in open(gtdir + "/actions.jsonl"):
            a = json.loads(line)
            a["start"] += int(shift_s * 1e9)
            a["end"] += int(shift_s * 1e9)
            a["score"] = 0.9
            o.write(json.dumps(a) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
