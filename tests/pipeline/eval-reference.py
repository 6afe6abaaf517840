#!/usr/bin/env python3
"""`ringvit eval` against a second, independent implementation of TrackEval's HOTA, CLEAR
and Identity definitions, on random small sequences. The reference is plain Python written
from the metric definitions (hota.py, clear.py, identity.py): dense matrices, assignments by
trying every permutation (frames hold at most 4 boxes a side), so it shares no code or
shortcut with the C evaluator (sparse id pairs, Jonker-Volgenant, connected parts).
Then action segments: ActivityNet's AP (precision/recall arrays, VOC 2011 interpolation)
and a pooled F1 at tIoU 0.5, on random segments.
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
            gt.append((f, k + 1, box))
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


def tiou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(gts, preds, thr):
    """gts: [(start, end)], preds: [(start, end, score)] of one class."""
    order = sorted(range(len(preds)), key=lambda k: (-preds[k][2], k))
    used, tp = [False] * len(gts), []
    for k in order:
        ious = sorted(((tiou(preds[k], g), i) for i, g in enumerate(gts)), reverse=True)
        hit = next((i for v, i in ious if v >= thr and not used[i]), None)
        if hit is not None:
            used[hit] = True
        tp.append(hit is not None)
    prec, rec, cum = [], [], 0
    for r, t in enumerate(tp):
        cum += t
        prec.append(cum / (r + 1))
        rec.append(cum / len(gts))
    mprec, mrec = [0.0] + prec + [0.0], [0.0] + rec + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec))
               if mrec[i] != mrec[i - 1]), sum(tp)


def actions_reference(gt, pred):
    classes = sorted({(s[0], s[1]) for s in gt})
    res, tp50 = {}, 0
    for thr, key in ((0.3, "action_mAP_30"), (0.5, "action_mAP_50"), (0.7, "action_mAP_70")):
        aps = []
        for c in classes:
            ap, tp = average_precision([s[2:4] for s in gt if s[:2] == c],
                                       [s[2:5] for s in pred if s[:2] == c], thr)
            aps.append(ap)
            tp50 += tp if thr == 0.5 else 0
        res[key] = sum(aps) / len(aps)
    res["action_F1_50"] = 2 * tp50 / (2 * tp50 + (len(pred) - tp50) + (len(gt) - tp50))
    return res


def random_segments(rng, n):
    labels = [("walk", 0), ("run", 0), ("crowd", 1), ("run", 1)]
    return [(*rng.choice(labels), s, s + rng.randint(1, 60), rng.random())
            for s in (rng.randint(0, 200) for _ in range(n))]


def action_line(s):
    line = {"event": "action", "label": s[0], "start": s[2], "end": s[3], "score": s[4]}
    if not s[1]:
        line["track_id"] = 1
    return json.dumps(line) + "\n"


def check_actions(ringvit, rng, n, tmp, worst):
    os.makedirs(os.path.join(tmp, "agt"), exist_ok=True)
    open(os.path.join(tmp, "agt", "gt.txt"), "w").close()
    for case in range(n):
        gt = random_segments(rng, rng.randint(1, 8))
        pred = [(l, k, s + rng.randint(-15, 15), e + rng.randint(-15, 15), sc)
                for l, k, s, e, sc in gt if rng.random() < 0.8]
        pred = [p for p in pred if p[3] >= p[2]] + random_segments(rng, rng.randint(0, 4))
        with open(os.path.join(tmp, "agt", "actions.jsonl"), "w") as o:
            o.writelines(action_line(s) for s in gt)
        with open(os.path.join(tmp, "apred.jsonl"), "w") as o:
            o.writelines(action_line(s) for s in pred)
        out = subprocess.run([ringvit, "eval", "--gt", os.path.join(tmp, "agt"), "--pred",
                              os.path.join(tmp, "apred.jsonl"), "--json", "--fps", "10"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("actions case %d: ringvit eval failed: %s" % (case, out.stderr))
        got = json.loads(out.stdout)
        for key, want in actions_reference(gt, pred).items():
            diff = abs(got[key] - 100 * want)
            worst[key] = max(worst.get(key, 0.0), diff)
            if diff > 6e-4:
                sys.exit("actions case %d: %s is %s, the reference says %.6f\nGT %s\npred %s"
                         % (case, key, got[key], 100 * want, gt, pred))


def write_mot(path, seq):
    with open(path, "w") as o:
        for f, i, (x, y, w, h) in seq:
            o.write("%d,%d,%.17g,%.17g,%.17g,%.17g,1,-1,-1,-1\n" % (f, i, x, y, w, h))


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
            out = subprocess.run([ringvit, "eval", "--gt", gt_path, "--pred", pr_path, "--json"],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit("case %d: ringvit eval failed: %s" % (case, out.stderr))
            got = json.loads(out.stdout)
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
    print("%d random sequences and action sets; largest difference per figure (percent points): %s"
          % (n, ", ".join("%s %.1e" % kv for kv in sorted(worst.items()))))


if __name__ == "__main__":
    main()
