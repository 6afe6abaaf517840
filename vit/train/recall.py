"""Where a detector's misses are: recall of ground-truth boxes per class, height and
visibility, at one IoU, from the JSON Lines of `ringvit analyze` or `rvjsonsink` (raw
detections: `rvencoder threshold=0.1 ! rvjsonsink`, no tracker). Each sampled frame is
matched greedily, tallest GT box first, to the unused box of highest IoU (>= --iou) among
those scoring >= --score. --pairs also prints how much one object's GT boxes overlap from one
sampled frame to the next (what an IoU association can follow at that sampling rate).
--cells HxW says, for persons of 50 px and more, whether each predicted box came from the
model-input cell (of --patch pixels, the source letterboxed into HxW) that holds the GT
centre or from another cell, with the boxes' overlap and size in each case (it takes the
letterbox geometry from train.py, so it needs torch). --crowding HxW splits the recall of
the visible boxes by whether another object's centre lies within one cell of theirs.

    /usr/bin/python3 vit/train/recall.py --gt DIR/gt.txt --pred raw.jsonl --score 0.4 --iou 0.5
"""
import argparse
import collections
import json
import math

CLASSES = {1: "person", 2: "vehicle", 3: "bag", 4: "object"}  # ringvit synth's gt.txt classes


def iou(a, b):
    """a, b: x1, y1, x2, y2."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def read_gt(path):
    """frame -> [(box, class, visibility, id)], MOTChallenge rows of `ringvit synth`."""
    gt = collections.defaultdict(list)
    for line in open(path):
        f = line.strip().split(",")
        x, y, w, h = map(float, f[2:6])
        gt[int(f[0])].append(((x, y, x + w, y + h), int(f[7]), float(f[8]), int(f[1])))
    return gt


def read_pred(path, gt_fps, min_score):
    """frame (GT numbering: 1 + round(t * gt_fps)) -> [box] scoring >= min_score."""
    pred = {}
    for line in open(path):
        j = json.loads(line)
        if "objects" not in j:
            continue
        w, h = j["resolution"]["width"], j["resolution"]["height"]
        boxes = []
        for o in j["objects"]:
            d = o["detection"]
            if d["confidence"] < min_score:
                continue
            b = d["bounding_box"]
            boxes.append((b["x_min"] * w, b["y_min"] * h, b["x_max"] * w, b["y_max"] * h))
        pred[1 + round(j["timestamp"] / 1e9 * gt_fps)] = boxes
    return pred


def bin_of(cls, box, vis):
    h = box[3] - box[1]
    size = "< 25 px" if h < 25 else "25-50 px" if h < 50 else ">= 50 px"
    return CLASSES.get(cls, str(cls)), size, "visibility >= 0.5" if vis >= 0.5 else "visibility < 0.5"


def recall(gt, pred, min_iou, key_of=lambda g, rows: bin_of(g[1], g[0], g[2])):
    """Greedy matching per sampled frame; counts by key_of(GT row, the frame's GT rows)
    (a key of None leaves the row out)."""
    total, hits, false_pos = collections.Counter(), collections.Counter(), 0
    for frame, boxes in pred.items():
        used = set()
        rows = gt.get(frame, [])
        for g in sorted(rows, key=lambda g: g[0][1] - g[0][3]):
            box = g[0]
            best, pick = min_iou, -1
            for j, p in enumerate(boxes):
                if j not in used and iou(box, p) >= best:
                    best, pick = iou(box, p), j
            key = key_of(g, rows)
            if key is None:
                continue
            total[key] += 1
            if pick >= 0:
                used.add(pick)
                hits[key] += 1
        false_pos += len(boxes) - len(used)
    return total, hits, false_pos


def pair_overlaps(gt, frames):
    """class -> IoUs of one object's boxes in consecutive sampled frames."""
    out = collections.defaultdict(list)
    for a, b in zip(frames, frames[1:]):
        later = {g[3]: g for g in gt.get(b, [])}
        for box, cls, _, tid in gt.get(a, []):
            if tid in later:
                out[CLASSES.get(cls, str(cls))].append(iou(box, later[tid][0]))
    return out


def cell_of(x, y, src_wh, geom, patch):
    """The model-input cell (row, col) of source pixel (x, y); geom = letterbox_geom's (rw, rh,
    px, py) for the source in the model input."""
    rw, rh, px, py = geom
    return math.floor((y * rh / src_wh[1] + py) / patch), math.floor((x * rw / src_wh[0] + px) / patch)


def cell_report(gt, pred, src_wh, in_hw, patch):
    """Persons >= 50 px, visibility >= 0.5, and the predicted boxes overlapping them most
    (IoU > 0.1): from the GT centre's cell or another, with IoU and height ratio."""
    from train import letterbox_geom  # the trainer's copy of the ingest's geometry (needs torch)
    geom = letterbox_geom(src_wh[0], src_wh[1], in_hw[1], in_hw[0])
    groups = collections.defaultdict(list)
    offsets = collections.Counter()
    centre = lambda b: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)  # noqa: E731
    for frame, boxes in pred.items():
        persons = [g for g in gt.get(frame, []) if g[1] == 1 and g[2] >= 0.5 and g[0][3] - g[0][1] >= 50]
        for p in boxes:
            best = max(persons, key=lambda g: iou(g[0], p), default=None)
            if best is None or iou(best[0], p) <= 0.1:
                continue
            pc, gc = cell_of(*centre(p), src_wh, geom, patch), cell_of(*centre(best[0]), src_wh, geom, patch)
            key = "the GT centre's cell" if pc == gc else "another cell"
            groups[key].append((iou(best[0], p), (p[3] - p[1]) / (best[0][3] - best[0][1])))
            if pc != gc:
                offsets[(pc[0] - gc[0], pc[1] - gc[1])] += 1
    n = sum(len(v) for v in groups.values())
    print("| persons >= 50 px: box from | share | mean IoU | IoU >= 0.5 | mean height ratio |\n|---|---|---|---|---|")
    for key, v in sorted(groups.items()):
        print(f"| {key} | {len(v) / n:.2f} ({len(v)}) | {sum(a for a, _ in v) / len(v):.2f} | "
              f"{sum(a >= 0.5 for a, _ in v) / len(v):.2f} | {sum(h for _, h in v) / len(v):.2f} |")
    print("\nother cells, (rows, columns) from the GT centre's:", dict(offsets.most_common(6)))


def crowding_report(gt, pred, src_wh, in_hw, patch, min_iou):
    """Recall of the GT boxes of visibility >= 0.5 per class, alone or with another object
    (visibility > 0.3) whose centre lies within one model-input cell of theirs: the dense
    head gives one box per cell and the 3x3 peak rule one per neighbourhood."""
    from train import letterbox_geom  # the trainer's copy of the ingest's geometry (needs torch)
    geom = letterbox_geom(src_wh[0], src_wh[1], in_hw[1], in_hw[0])
    cell = lambda g: cell_of((g[0][0] + g[0][2]) / 2, (g[0][1] + g[0][3]) / 2, src_wh, geom, patch)  # noqa: E731

    def key_of(g, rows):
        if g[2] < 0.5:
            return None
        c = cell(g)
        near = [CLASSES.get(o[1], str(o[1])) for o in rows
                if o is not g and o[2] > 0.3 and max(abs(cell(o)[0] - c[0]), abs(cell(o)[1] - c[1])) <= 1]
        return CLASSES.get(g[1], str(g[1])), "near " + "+".join(sorted(set(near))) if near else "alone"
    total, hits, _ = recall(gt, pred, min_iou, key_of)
    print(f"| GT (visibility >= 0.5) | another object within a cell | boxes | recall at IoU {min_iou} |")
    print("|---|---|---|---|")
    for key in sorted(total):
        print(f"| {key[0]} | {key[1]} | {total[key]} | {hits[key] / total[key]:.2f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gt", required=True, help="gt.txt of `ringvit synth`")
    ap.add_argument("--pred", required=True, help="JSON Lines of analyze or rvjsonsink")
    ap.add_argument("--gt-fps", type=float, default=10.0, help="the scene's frame rate")
    ap.add_argument("--score", type=float, default=0.0)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--pairs", action="store_true")
    ap.add_argument("--cells", help="HxW model input: which cell each person box came from")
    ap.add_argument("--crowding", help="HxW model input: recall alone or near another object")
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--src", default="640x360", help="WxH of the scene")
    args = ap.parse_args(argv)
    gt, pred = read_gt(args.gt), read_pred(args.pred, args.gt_fps, args.score)
    total, hits, false_pos = recall(gt, pred, args.iou)
    print(f"| GT (class, height, visibility) | boxes | recall at IoU {args.iou} |")
    print("|---|---|---|")
    for key in sorted(total):
        print(f"| {', '.join(key)} | {total[key]} | {hits[key] / total[key]:.2f} |")
    n = sum(total.values())
    print(f"| all | {n} | {sum(hits.values()) / max(n, 1):.2f} |")
    print(f"\n{sum(len(b) for b in pred.values())} predicted boxes, {false_pos} unmatched")
    if args.pairs:
        print("\n| class | pairs | IoU < 0.3 | IoU < 0.5 |\n|---|---|---|---|")
        for cls, v in sorted(pair_overlaps(gt, sorted(pred)).items()):
            print(f"| {cls} | {len(v)} | {sum(x < 0.3 for x in v) / len(v):.2f} | {sum(x < 0.5 for x in v) / len(v):.2f} |")
    if args.cells:
        print()
        in_hw = tuple(int(v) for v in args.cells.lower().split("x"))
        src_wh = tuple(int(v) for v in args.src.lower().split("x"))
        cell_report(gt, pred, src_wh, in_hw, args.patch)
    if args.crowding:
        print()
        in_hw = tuple(int(v) for v in args.crowding.lower().split("x"))
        src_wh = tuple(int(v) for v in args.src.lower().split("x"))
        crowding_report(gt, pred, src_wh, in_hw, args.patch, args.iou)


if __name__ == "__main__":
    main()
