#!/usr/bin/env python3
"""`ringvit eval` against a second, independent implementation of TrackEval's HOTA, CLEAR
and Identity definitions, on random small sequences. The reference is plain Python written
from the metric definitions (hota.py, clear.py, identity.py): dense matrices, assignments by
trying every permutation (frames hold at most 4 boxes a side), so it shares no code or
shortcut with the C evaluator (sparse id pairs, Jonker-Volgenant, connected parts).
Then action segments: ActivityNet's AP (precision/recall arrays, VOC 2011 interpolation)
and a pooled F1 at tIoU 0.5 (and each class's AP@0.5), on random segments, matched on time alone or (every fourth
case) also on tracks: a per-track prediction only for a GT segment whose object its track's
boxes hold in half the sampled frames of their common time. Every other case is scored with
--min-vis 0.3 (don't care below a GT visibility): hidden GT rows leave with the predictions
an optimal IoU >= 0.5 matching gives them, and a per-track segment whose track shows no
row that visible is VOC's "difficult" (a prediction matching it best leaves the ranking).
Last, --per-class: two classes of GT rows (named by meta.json) against JSON Lines objects
labelled person, bag or a name the GT lacks, each class scored on its own rows.
Usage: eval-reference.py RINGVIT_BINARY [N_SEQUENCES]"""
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile

EPS = 2.220446049250313e-16
MIN_VIS = 0.3  # the odd cases' --min-vis
FPS = 10.0     # the action cases' GT rate
NS = 10 ** 7   # the action cases' time unit: 0.01 s
ALPHAS = [0.05 + 0.05 * a for a in range(19)]


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    union = aw * ah + bw * bh - inter
    return inter / union if union > EPS else 0.0


def best_assignment(score, ng, np_):
    """Maximum total score over assignments of min(ng, np_) pairs: (row, col) list."""
    best, best_pairs = -math.inf, []
    if ng <= np_:
        for cols in itertools.permutations(range(np_), ng):
            s = sum(score[i][c] for i, c in enumerate(cols))
            if s > best:
                best, best_pairs = s, list(enumerate(cols))
    else:
        for rows in itertools.permutations(range(ng), np_):
            s = sum(score[r][j] for j, r in enumerate(rows))
            if s > best:
                best, best_pairs = s, [(r, j) for j, r in enumerate(rows)]
    return best_pairs


def frames_of(seq):
    return sorted({r[0] for r in seq})


def by_frame(seq, f):
    return [r for r in seq if r[0] == f]


def hota(gt, pr, frames):
    n_gt, n_pr = len(gt), len(pr)
    if n_pr == 0 or n_gt == 0:
        return {"HOTA": 0.0, "DetA": 0.0, "AssA": 0.0, "LocA": 1.0}
    gt_ids = sorted({r[1] for r in gt})
    pr_ids = sorted({r[1] for r in pr})
    pot = {(g, p): 0.0 for g in gt_ids for p in pr_ids}
    gcount = {g: 0 for g in gt_ids}
    pcount = {p: 0 for p in pr_ids}
    per_frame = []
    for f in frames:
        G, P = by_frame(gt, f), by_frame(pr, f)
        sim = [[iou(g[2], p[2]) for p in P] for g in G]
        for g in G:
            gcount[g[1]] += 1
        for p in P:
            pcount[p[1]] += 1
        for i, g in enumerate(G):
            for j, p in enumerate(P):
                denom = sum(sim[i]) + sum(sim[k][j] for k in range(len(G))) - sim[i][j]
                if denom > EPS:
                    pot[(g[1], p[1])] += sim[i][j] / denom
        per_frame.append((G, P, sim))
    align = {k: v / (gcount[k[0]] + pcount[k[1]] - v) for k, v in pot.items()}
    res = {"HOTA": 0.0, "DetA": 0.0, "AssA": 0.0, "LocA": 0.0}
    for alpha in ALPHAS:
        tp = fn = fp = 0
        loc = 0.0
        matches = {k: 0 for k in pot}
        for G, P, sim in per_frame:
            if not G or not P:
                fn += len(G)
                fp += len(P)
                continue
            score = [[align[(g[1], p[1])] * sim[i][j] for j, p in enumerate(P)]
                     for i, g in enumerate(G)]
            m = [(i, j) for i, j in best_assignment(score, len(G), len(P))
                 if sim[i][j] >= alpha - EPS]
            tp += len(m)
            fn += len(G) - len(m)
            fp += len(P) - len(m)
            for i, j in m:
                loc += sim[i][j]
                matches[(G[i][1], P[j][1])] += 1
        ass = sum(c * c / max(1, gcount[k[0]] + pcount[k[1]] - c) for k, c in matches.items())
        ass /= max(1, tp)
        det = tp / max(1, tp + fn + fp)
        res["HOTA"] += math.sqrt(det * ass) / 19
        res["DetA"] += det / 19
        res["AssA"] += ass / 19
        res["LocA"] += max(1e-10, loc) / max(1e-10, tp) / 19
    return res


def clear(gt, pr, frames):
    tp = fn = fp = idsw = 0
    motp = 0.0
    last, prev_step = {}, {}
    for f in frames:
        G, P = by_frame(gt, f), by_frame(pr, f)
        if not G or not P:
            fn += len(G)
            fp += len(P)
            continue
        sim = [[iou(g[2], p[2]) for p in P] for g in G]
        score = [[0.0 if sim[i][j] < 0.5 - EPS else
                  sim[i][j] + (1000.0 if prev_step.get(g[1]) == p[1] else 0.0)
                  for j, p in enumerate(P)] for i, g in enumerate(G)]
        m = [(i, j) for i, j in best_assignment(score, len(G), len(P)) if score[i][j] > EPS]
        prev_step = {}
        for i, j in m:
            g, p = G[i][1], P[j][1]
            if g in last and last[g] != p:
                idsw += 1
            last[g] = p
            prev_step[g] = p
            motp += sim[i][j]
        tp += len(m)
        fn += len(G) - len(m)
        fp += len(P) - len(m)
    return {"MOTA": (tp - fp - idsw) / max(1, tp + fn), "MOTP": motp / max(1, tp), "IDSW": idsw}


def identity(gt, pr, frames):
    if not gt or not pr:
        return {"IDF1": 0.0}
    gt_ids = sorted({r[1] for r in gt})
    pr_ids = sorted({r[1] for r in pr})
    count = [[0] * len(pr_ids) for _ in gt_ids]
    for f in frames:
        for g in by_frame(gt, f):
            for p in by_frame(pr, f):
                if iou(g[2], p[2]) >= 0.5:
                    count[gt_ids.index(g[1])][pr_ids.index(p[1])] += 1
    idtp = sum(count[i][j] for i, j in best_assignment(count, len(gt_ids), len(pr_ids)))
    idfn, idfp = len(gt) - idtp, len(pr) - idtp
    return {"IDF1": idtp / max(1, idtp + 0.5 * idfn + 0.5 * idfp)}


def random_sequence(rng):
    """GT people walking, and a tracker that jitters, misses, swaps ids and hallucinates."""
    n_frames, n_obj = rng.randint(1, 12), rng.randint(0, 4)
    gt, pr = [], []
    objs = [(rng.uniform(0, 200), rng.uniform(0, 100), rng.uniform(-8, 8), rng.uniform(10, 40),
             rng.uniform(20, 80)) for _ in range(n_obj)]
    pid = {k: 10 + k for k in range(n_obj)}
    for f in range(1, n_frames + 1):
        rows = []
        for k, (x, y, vx, w, h) in enumerate(objs):
            if rng.random() < 0.15:
                continue  # not in the GT this frame
            box = (x + vx * f, y, w, h)
            vis = rng.uniform(0, MIN_VIS) if rng.random() < 0.25 else rng.uniform(MIN_VIS, 1)
            gt.append((f, k + 1, box, vis))
            if rng.random() < 0.15:
                continue  # missed
            if rng.random() < 0.1:
                pid[k] = rng.randint(10, 16)  # id switch (maybe onto another's id)
            j = rng.uniform(0, 0.4)
            rows.append((pid[k], (box[0] + j * w * rng.uniform(-1, 1), box[1] + j * h * rng.uniform(-1, 1),
                                  w * rng.uniform(0.8, 1.2), h * rng.uniform(0.8, 1.2))))
        if rng.random() < 0.3 and len(rows) < 4:
            rows.append((rng.randint(20, 22), (rng.uniform(0, 250), rng.uniform(0, 150), 25, 50)))
        seen = set()
        for i, box in rows:
            if i not in seen:  # one box per id and frame, as the MOT format requires
                seen.add(i)
                pr.append((f, i, box))
    return gt, pr


def dont_care(gt, pr, min_vis):
    """GT rows below min_vis out, with the predictions that the best IoU >= 0.5 matching of
    their frame (over every GT row of it) pairs with one of them."""
    drop = set()
    for f in frames_of(gt):
        G, P = by_frame(gt, f), [r for r in pr if r[0] == f]
        score = [[v if v >= 0.5 - EPS else 0.0 for v in (iou(g[2], p[2]) for p in P)] for g in G]
        for i, j in best_assignment(score, len(G), len(P)):
            if score[i][j] > 0 and G[i][3] < min_vis:
                drop.add(id(P[j]))
    return [g for g in gt if g[3] >= min_vis], [p for p in pr if id(p) not in drop]


def tiou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(gts, preds, thr, same=None):
    """gts: [(start, end, ignored, track)], preds: [(start, end, score, track)] of one class;
    same(GT segment, predicted segment): may they match beyond time (None: time alone).
    Returns AP (None without a GT segment that counts), TPs, predictions left out as
    matching an ignored segment best."""
    order = sorted(range(len(preds)), key=lambda k: (-preds[k][2], k))
    used, tp, skipped = [False] * len(gts), [], 0
    for k in order:
        ious = [(tiou(preds[k], g), i) for i, g in enumerate(gts) if same is None or same(g, preds[k])]
        hidden = max([v for v, i in ious if gts[i][2] and v >= thr], default=-1)
        seen = sorted(((v, i) for v, i in ious if not gts[i][2]), reverse=True)
        hit = next((i for v, i in seen if v >= thr and not used[i]), None)
        if hidden > (tiou(preds[k], gts[hit]) if hit is not None else -1):
            skipped += 1
            continue
        if hit is not None:
            used[hit] = True
        tp.append(hit is not None)
    counted = sum(not g[2] for g in gts)
    if not counted:
        return None, 0, skipped
    prec, rec, cum = [], [], 0
    for r, t in enumerate(tp):
        cum += t
        prec.append(cum / (r + 1))
        rec.append(cum / counted)
    mprec, mrec = [0.0] + prec + [0.0], [0.0] + rec + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec))
               if mrec[i] != mrec[i - 1]), sum(tp), skipped


def segment_seen(s, rows, min_vis):
    """Whether the track shows a row as visible as min_vis from the frame showing the
    segment's start to the first frame at or after its end (times in NS units)."""
    f0 = math.floor(s[2] * NS * FPS / 1e9) + 1
    f1 = math.ceil(s[3] * NS * FPS / 1e9) + 1
    return any(f0 <= f <= f1 and i == s[5] and v >= min_vis for f, i, v in rows)


def follows(g, p, rows, pred_boxes, sampled):
    """Whether predicted track p holds GT track g's box (IoU >= 0.5) in half the sampled
    frames of [start, end] (NS units) where g has a row, or of the samples around the window
    when none falls in it."""
    start, end = max(g[0], p[0]), min(g[1], p[1])
    f0, f1 = math.floor(start * NS * FPS / 1e9) + 1, math.ceil(end * NS * FPS / 1e9) + 1

    def count(lo, hi):
        seen = [f for f, i, _ in rows if i == g[3] and lo <= f <= hi and f in sampled]
        return len(seen), sum(iou(gt_box(g[3]), pred_boxes[f][p[3]]) >= 0.5 - EPS
                              for f in seen if p[3] in pred_boxes.get(f, {}))
    seen, held = count(f0, f1)
    if not seen:
        seen, held = count(max([f for f in sampled if f < f0], default=f0),
                           min([f for f in sampled if f > f1], default=f1))
    return seen > 0 and 2 * held >= seen


def actions_reference(gt, pred, rows=None, min_vis=0.0, tracks=None):
    """tracks: (pred_boxes, sampled frames) to match per-track segments on their object."""
    ignored = [bool(min_vis) and not s[1] and not segment_seen(s, rows, min_vis) for s in gt]
    classes = sorted({(s[0], s[1]) for s in gt})
    res, tp50, skip50 = {}, 0, 0
    for thr, key in ((0.3, "action_mAP_30"), (0.5, "action_mAP_50"), (0.7, "action_mAP_70")):
        aps = []
        for c in classes:
            same = None
            if tracks and not c[1]:
                same = lambda g, p: follows(g, p, rows, *tracks)  # noqa: E731
            ap, tp, skipped = average_precision([(*s[2:4], ig, s[5]) for s, ig in zip(gt, ignored) if s[:2] == c],
                                                [s[2:6] for s in pred if s[:2] == c], thr, same)
            if ap is not None:
                aps.append(ap)
                if thr == 0.5:
                    res.setdefault("per_class", {})[c] = ap
            tp50 += tp if thr == 0.5 else 0
            skip50 += skipped if thr == 0.5 else 0
        if not aps:
            return {}  # nothing left to measure: ringvit eval prints no action figures
        res[key] = sum(aps) / len(aps)
    fp, fn = len(pred) - skip50 - tp50, len(gt) - sum(ignored) - tp50
    res["action_F1_50"] = 2 * tp50 / (2 * tp50 + fp + fn)
    return res


def random_segments(rng, n):
    labels = [("walk", 0), ("run", 0), ("crowd", 1), ("run", 1)]
    return [(*rng.choice(labels), s, s + rng.randint(1, 60), rng.random(), rng.randint(1, 3))
            for s in (rng.randint(0, 200) for _ in range(n))]


def action_line(s):
    line = {"event": "action", "label": s[0], "start": s[2] * NS, "end": s[3] * NS, "score": s[4]}
    if not s[1]:
        line["track_id"] = s[5]
    return json.dumps(line) + "\n"


def visibility_rows(rng):
    """GT rows of tracks 1-3 over the action cases' 2.6 s, a third of them hidden."""
    return [(f, i, rng.uniform(0, MIN_VIS) if rng.random() < 0.35 else 1.0)
            for f in range(1, 28) for i in (1, 2, 3)]


def gt_box(track):
    return (20 * track, 10, 5, 5)


def frame_lines(rng):
    """Every other frame sampled; predicted track t holds GT track t's box, or the next
    track's, or none. Returns the JSON lines, {frame: {track: box}} and the sampled frames."""
    lines, boxes, sampled = [], {}, set(range(1, 28, 2))
    for f in sorted(sampled):
        objs, boxes[f] = [], {}
        for t in (1, 2, 3):
            r = rng.random()
            if r < 0.2:
                continue
            x, y, w, h = gt_box(t if r < 0.75 else t % 3 + 1)
            boxes[f][t] = (x, y, w, h)
            bb = {"x_min": (x - 1) / 640, "y_min": (y - 1) / 360, "x_max": (x - 1 + w) / 640, "y_max": (y - 1 + h) / 360}
            objs.append({"detection": {"bounding_box": bb, "confidence": 1.0, "label": "person"}, "id": t})
        lines.append(json.dumps({"timestamp": round((f - 1) * 1e9 / FPS), "frame_index": f - 1,
                                 "resolution": {"width": 640, "height": 360}, "objects": objs}) + "\n")
    return lines, boxes, sampled


def check_actions(ringvit, rng, n, tmp, worst):
    os.makedirs(os.path.join(tmp, "agt"), exist_ok=True)
    open(os.path.join(tmp, "agt", "gt.txt"), "w").close()
    for case in range(n):
        gt = random_segments(rng, rng.randint(1, 8))
        pred = [(l, k, s + rng.randint(-15, 15), e + rng.randint(-15, 15), sc, t)
                for l, k, s, e, sc, t in gt if rng.random() < 0.8]
        pred = [p for p in pred if p[3] >= p[2]] + random_segments(rng, rng.randint(0, 4))
        min_vis = MIN_VIS if case % 2 else 0.0
        on_tracks = case % 4 == 2  # the other cases match on time alone
        rows = visibility_rows(rng)
        frames, boxes, sampled = frame_lines(rng) if on_tracks else ([], None, None)
        with open(os.path.join(tmp, "agt", "gt.txt"), "w") as o:
            o.writelines("%d,%d,%d,%d,%d,%d,1,1,%.17g\n" % (f, i, *gt_box(i), v) for f, i, v in rows)
        with open(os.path.join(tmp, "agt", "actions.jsonl"), "w") as o:
            o.writelines(action_line(s) for s in gt)
        with open(os.path.join(tmp, "apred.jsonl"), "w") as o:
            o.writelines(frames + [action_line(s) for s in pred])
        out = subprocess.run([ringvit, "eval", "--gt", os.path.join(tmp, "agt"), "--pred",
                              os.path.join(tmp, "apred.jsonl"), "--json", "--fps", str(FPS),
                              "--min-vis", str(min_vis), "--action-match", "track" if on_tracks else "time"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("actions case %d: ringvit eval failed: %s" % (case, out.stderr))
        got = json.loads(out.stdout)
        ref = actions_reference(gt, pred, rows, min_vis, (boxes, sampled) if on_tracks else None)
        if ("action_mAP_50" in got) != bool(ref):
            sys.exit("actions case %d: ringvit eval %s action figures, the reference %s"
                     % (case, "prints" if "action_mAP_50" in got else "prints no", ref))
        per_class = ref.pop("per_class", {})
        got_classes = {(c["label"], int(c["scene"])): c["AP_50"] for c in got.get("action_per_class", [])}
        if set(got_classes) != set(per_class):
            sys.exit("actions case %d: classes %s, the reference %s" % (case, sorted(got_classes), sorted(per_class)))
        for c, want in per_class.items():
            diff = abs(got_classes[c] - 100 * want)
            worst["action_AP_50 per class"] = max(worst.get("action_AP_50 per class", 0.0), diff)
            if diff > 6e-4:
                sys.exit("actions case %d: %s AP@0.5 is %s, the reference says %.6f" % (case, c, got_classes[c], 100 * want))
        for key, want in ref.items():
            diff = abs(got[key] - 100 * want)
            worst[key] = max(worst.get(key, 0.0), diff)
            if diff > 6e-4:
                sys.exit("actions case %d: %s is %s, the reference says %.6f\nGT %s\npred %s"
                         % (case, key, got[key], 100 * want, gt, pred))


def write_mot(path, seq):
    """Rows frame,id,x,y,w,h,conf, then a GT row's class and visibility, a prediction's -1s."""
    with open(path, "w") as o:
        for f, i, (x, y, w, h), *vis in seq:
            tail = "1,%.17g" % vis[0] if vis else "-1,-1,-1"
            o.write("%d,%d,%.17g,%.17g,%.17g,%.17g,1,%s\n" % (f, i, x, y, w, h, tail))


CLASSES = ["person", "vehicle", "bag"]  # meta.json's; vehicle never appears


def labelled_case(rng):
    """Two sequences as persons (ids < 100) and bags (ids >= 100); a third of the predicted
    persons of some cases labelled "ghost", a name the GT lacks. Returns GT rows
    (frame, id, box, vis, class) and predictions (frame, id, box, label)."""
    ghost = rng.random() < 0.5
    gt, pr = [], []
    for cls, off in ((0, 0), (2, 100)):
        g, p = random_sequence(rng)
        gt += [(f, i + off, box, vis, cls) for f, i, box, vis in g]
        pr += [(f, i + off, box, "ghost" if ghost and cls == 0 and rng.random() < 0.33 else CLASSES[cls])
               for f, i, box in p]
    return sorted(gt, key=lambda r: r[0]), sorted(pr, key=lambda r: r[0])


def write_labelled(tmp, gt, pr):
    """GT folder (gt.txt with the class column, meta.json) and a JSON Lines prediction with
    a frame line for every frame up to the last one either side has."""
    os.makedirs(os.path.join(tmp, "cgt"), exist_ok=True)
    with open(os.path.join(tmp, "cgt", "meta.json"), "w") as o:
        json.dump({"fps": FPS, "classes": CLASSES}, o)
    with open(os.path.join(tmp, "cgt", "gt.txt"), "w") as o:
        o.writelines("%d,%d,%.17g,%.17g,%.17g,%.17g,1,%d,%.17g\n" % (f, i, *box, c + 1, v)
                     for f, i, box, v, c in gt)
    last = max([r[0] for r in gt + pr] + [1])
    with open(os.path.join(tmp, "cpred.jsonl"), "w") as o:
        for f in range(1, last + 1):
            objs = [{"detection": {"bounding_box": {"x_min": (x - 1) / 640, "y_min": (y - 1) / 360,
                                                    "x_max": (x - 1 + w) / 640, "y_max": (y - 1 + h) / 360},
                                   "confidence": 1.0, "label": label}, "id": i}
                    for g, i, (x, y, w, h), label in pr if g == f]
            o.write(json.dumps({"timestamp": round((f - 1) * 1e9 / FPS), "frame_index": f - 1,
                                "resolution": {"width": 640, "height": 360}, "objects": objs}) + "\n")
    return list(range(1, last + 1))


def check_per_class(ringvit, rng, n, tmp, worst):
    for case in range(n):
        gt, pr = labelled_case(rng)
        frames = write_labelled(tmp, gt, pr)
        out = subprocess.run([ringvit, "eval", "--gt", os.path.join(tmp, "cgt"), "--pred",
                              os.path.join(tmp, "cpred.jsonl"), "--json", "--per-class"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("per-class case %d: ringvit eval failed: %s" % (case, out.stderr))
        got = {r["label"]: r for r in json.loads(out.stdout)["per_class"]}
        labels = [c for c in CLASSES if any(g[4] == CLASSES.index(c) for g in gt) or any(p[3] == c for p in pr)]
        labels += ["ghost"] * any(p[3] == "ghost" for p in pr)
        if list(got) != labels:
            sys.exit("per-class case %d: rows %s, the reference %s" % (case, list(got), labels))
        for label in labels:
            g = [r[:4] for r in gt if CLASSES[r[4]] == label]
            p = [r[:3] for r in pr if r[3] == label]
            ref = {**hota(g, p, frames), **clear(g, p, frames), **identity(g, p, frames)}
            for key, want in ref.items():
                want = want if key == "IDSW" else 100 * want
                diff = abs(got[label][key] - want)
                worst[key + " per class"] = max(worst.get(key + " per class", 0.0), diff)
                if diff > (0 if key == "IDSW" else 6e-4):
                    sys.exit("per-class case %d: %s's %s is %s, the reference says %.6f\nGT %s\nprediction %s"
                             % (case, label, key, got[label][key], want, gt, pr))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ringvit, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(7)
    worst = {}
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, pr_path = os.path.join(tmp, "gt.txt"), os.path.join(tmp, "pred.txt")
        for case in range(n):
            gt, pr = random_sequence(rng)
            write_mot(gt_path, gt)
            write_mot(pr_path, pr)
            min_vis = MIN_VIS if case % 2 else 0.0
            out = subprocess.run([ringvit, "eval", "--gt", gt_path, "--pred", pr_path, "--json",
                                  "--min-vis", str(min_vis)], capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit("case %d: ringvit eval failed: %s" % (case, out.stderr))
            got = json.loads(out.stdout)
            if min_vis:
                gt, pr = dont_care(gt, pr, min_vis)
            frames = sorted(set(frames_of(gt)) | set(frames_of(pr)))
            ref = {**hota(gt, pr, frames), **clear(gt, pr, frames), **identity(gt, pr, frames)}
            for key, want in ref.items():
                want = want if key == "IDSW" else 100 * want
                diff = abs(got[key] - want)
                worst[key] = max(worst.get(key, 0.0), diff)
                if diff > (0 if key == "IDSW" else 6e-4):  # the JSON rounds to 3 decimals
                    sys.exit("case %d: %s is %s, the reference says %.6f\nGT %s\nprediction %s"
                             % (case, key, got[key], want, gt, pr))
        check_actions(ringvit, rng, n, tmp, worst)
        check_per_class(ringvit, rng, n // 3, tmp, worst)
    print("%d random sequences and action sets; largest difference per figure (percent points): %s"
          % (n, ", ".join("%s %.1e" % kv for kv in sorted(worst.items()))))


if __name__ == "__main__":
    main()
