"""Calibrates a trained model's detection decoding and tracking on validation scenes (seeds
900..999: neither training nor the held-out test). A focal-loss objectness is under- or
over-confident by a constant, and ByteTrack's thresholds (start a track at >= 0.6, associate
at >= 0.5, keep a lost track 1 s) were tuned for other detectors, so this tries, on a grid:
  - a shift of the objectness logit (the dense head's bias, channel 0 of every output cell),
  - peak extraction (head.dense.peak: a cell counts only where its objectness is the largest
    of its k x k neighbours, as CenterNet decodes; one object seen by two cells is one box),
  - the tracker's scores, association cost limits and memory (the config's "tracking" keys:
    detect_thresh, high_thresh, low_thresh, new_track_thresh, lost_s, match_thresh,
    second_match_thresh, unconfirmed_match_thresh),
scores each with `ringvit analyze` + `ringvit eval`, keeps the best mean HOTA; then, with those,
tries objectness offsets for one class (head.dense.class_offset; `object` by default: the
validation scenes hold few objects, and the ones `ringvit synth` draws the model mostly calls
persons or bags, so the shift above is set by persons while the class meant for any other
moving thing stays under-confident) scored by that class's HOTA alone on held-out procedural
shape clips (shapes.py, a seed training never used), keeping the best whose validation-scene
HOTA is within --class-hota-loss of no offset; then, with those, tries snapping person boxes
to the foreground of the fixed camera (foreground_diff: how far from the background a pixel
must be; 0 = no snapping), each with the tracks reporting their Kalman-filtered boxes or
their detections' boxes (detection_boxes), keeping the best mean HOTA; then tries limits of the
tracker's re-identification by appearance alone (reid_thresh: a lost or removed track takes
a new detection anywhere whose embedding is this close) on the validation scenes plus a long
one (--reid-scenes: an embedding that tells people apart badly hands one id to many people,
which a 180-s scene barely shows), keeping the best mean HOTA weighted by each scene's
seconds; then, with those, tries the action segmenter's hysteresis and merge gap
(action_on, action_off, action_gap_s: they change the segments, not the tracks) and keeps
the best mean action mAP@0.5; then tries logit offsets for the track actions
(head.dense.action_offset: a rare action such as run or fall, which the head scores far
below the common ones, never reaches a threshold set for walk and stand) and keeps, per
action, the offset with its best AP@0.5 (mean over the scenes whose GT holds it), scoring
the combination once more. Writes the model with the chosen settings and the six trial
tables in its metadata.

    /usr/bin/python3 vit/train/calibrate.py --model /tmp/rv-train/rv-demo.safetensors \\
        -o samples/models/rv-demo.safetensors
"""
import argparse
import itertools
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heldout  # noqa: E402
import model as M  # noqa: E402
import safetensors_io  # noqa: E402
import shapes  # noqa: E402


TRACKER_KEYS = ("detect_thresh", "high_thresh", "low_thresh", "new_track_thresh", "lost_s",
                "match_thresh", "second_match_thresh", "unconfirmed_match_thresh", "reid_thresh",
                "foreground_diff", "detection_boxes")
TRACKING_KEYS = TRACKER_KEYS + ("action_on", "action_off", "action_gap_s")


def variant(model, trial):
    """The model with trial's objectness shift, peak rule and tracking keys."""
    tensors, meta = safetensors_io.load(model)
    cfg = json.loads(meta["ringvit"])
    dense = cfg["head"]["dense"]
    b = tensors["head.dense.out.bias"].clone()
    M.per_cell(b, M.dense_sub(cfg))[:, 0] += trial["shift"]  # every output cell's objectness
    tensors["head.dense.out.bias"] = b
    if trial["peak"]:
        dense["peak"] = trial["peak"]
    else:
        dense.pop("peak", None)
    for key in ("class_offset", "action_offset"):
        if any(trial.get(key, ())):
            dense[key] = trial[key]
        else:
            dense.pop(key, None)
    cfg["tracking"] = {k: trial[k] for k in TRACKING_KEYS if k in trial}
    meta["ringvit"] = json.dumps(cfg)
    return tensors, meta


def grid(args):
    """Every combination of the option lists; high/new pairs keep new >= high."""
    for shift, peak, pair, lost, limits in itertools.product(
            [float(s) for s in args.shifts.split(",")], [int(p) for p in args.peaks.split(",")],
            args.high_new.split(","), [float(x) for x in args.lost.split(",")], args.match.split(",")):
        high, new = (float(x) for x in pair.split("/"))
        first, second, unconfirmed = (float(x) for x in limits.split("/"))
        yield dict(shift=shift, peak=peak, detect_thresh=args.low, high_thresh=high,
                   low_thresh=args.low, new_track_thresh=new, lost_s=lost, match_thresh=first,
                   second_match_thresh=second, unconfirmed_match_thresh=unconfirmed)


def detection_keys(best):
    return {k: best[k] for k in ("shift", "peak", "class_offset") + TRACKER_KEYS if k in best}


def class_grid(args, best, n_classes, index):
    for off in (float(x) for x in args.class_offsets.split(",")):
        yield dict(detection_keys(best), class_offset=[off if i == index else 0.0 for i in range(n_classes)])


def box_grid(args, best):
    """Person boxes snapped to the foreground (0 = not) crossed with the box a track reports."""
    for diff, det_boxes in itertools.product([float(x) for x in args.foreground.split(",")], (0, 1)):
        yield dict(detection_keys(best), foreground_diff=diff, detection_boxes=det_boxes)


def reid_grid(args, best):
    for limit in (float(x) for x in args.reid.split(",")):
        yield dict(detection_keys(best), reid_thresh=limit)


def action_keys(best):
    return dict(detection_keys(best), **{k: best[k] for k in ("action_on", "action_off", "action_gap_s")})


def action_offset_grid(args, best, n_actions):
    """One logit offset for every track action at a time: a label's segments depend only on
    its own probability, so each label's best offset can be read off these trials."""
    for off in (float(x) for x in args.action_offsets.split(",")):
        yield dict(action_keys(best), action_offset=[off] * n_actions)


def pick_action_offsets(trials, labels):
    """Per track action, the offset of the trial with its best AP (ties: the offset nearest
    0; an action the validation GT lacks keeps 0)."""
    best = {k: v for k, v in trials[0].items() if k not in ("label_AP_50", "HOTA", "MOTA", "IDF1", "action_mAP_50")}
    chosen = []
    for i, label in enumerate(labels):
        scored = [t for t in trials if label in t["label_AP_50"]]
        top = max(scored, key=lambda t: (t["label_AP_50"][label], -abs(t["action_offset"][i])), default=None)
        chosen.append(top["action_offset"][i] if top and top["label_AP_50"][label] > 0 else 0.0)
    best["action_offset"] = chosen
    return best


def action_grid(args, best):
    for pair, gap in itertools.product(args.action_on_off.split(","), [float(x) for x in args.action_gap.split(",")]):
        on, off = (float(x) for x in pair.split("/"))
        yield dict(detection_keys(best), action_on=on, action_off=off, action_gap_s=gap)


def label_aps(rows):
    """AP@0.5 per GT action label: the mean over the scenes whose GT holds it."""
    aps = {}
    for r in rows:
        for label, v in r["per_label"].items():
            if v["ap50"] is not None:  # None: every GT segment of the label left out (--min-vis)
                aps.setdefault(label, []).append(v["ap50"])
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(aps.items())}


def run_trials(args, trials_iter, scenes, tag, by_seconds=False, per_label=False):
    """Each trial's mean figures over the scenes (weighted by their seconds if asked), and
    with per_label each action label's AP@0.5 (label_AP_50)."""
    trials = []
    path = os.path.join(args.work, "trial.safetensors")
    for i, trial in enumerate(trials_iter):
        safetensors_io.save(path, *variant(args.model, trial))
        rows = heldout.score(args, path, f"{tag}{i}", scenes, per_label=per_label, quiet=True)
        weights = [r["seconds"] if by_seconds else 1 for r in rows]
        for key in ("HOTA", "MOTA", "IDF1", "action_mAP_50"):
            trial[key] = round(sum(w * r[key] for w, r in zip(weights, rows)) / sum(weights), 2)
        if per_label:
            trial["label_AP_50"] = label_aps(rows)
        trials.append(trial)
        print(json.dumps(trial), flush=True)
    return trials


def one_class(gt_dir, pred, label, index, work):
    """The GT rows (8th column: class index + 1) and predicted objects of one class, as a
    GT folder and a JSON Lines file for `ringvit eval` (tracks only: no actions.jsonl)."""
    d = os.path.join(work, f"only-{label}")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(gt_dir, "meta.json"), os.path.join(d, "meta.json"))
    with open(os.path.join(gt_dir, "gt.txt")) as f, open(os.path.join(d, "gt.txt"), "w") as g:
        g.writelines(row for row in f if row.strip() and int(float(row.split(",")[7])) == index + 1)
    p = os.path.join(work, f"only-{label}.jsonl")
    with open(pred) as f, open(p, "w") as g:
        for line in f:
            obj = json.loads(line)
            if "objects" not in obj:
                continue
            obj["objects"] = [o for o in obj["objects"] if o["detection"]["label"] == label]
            g.write(json.dumps(obj) + "\n")
    return d, p


def shape_clips(args):
    """Held-out procedural clips of the object class (shapes.py, its own seed: training
    used 1..3), written once as Y4M + ground truth."""
    rng, out = random.Random(args.class_seed), []
    for i in range(args.class_clips):
        d = os.path.join(args.work, f"shapes-{args.class_seed}", f"clip-{i}")
        frames, _, rows = shapes.make_clip(rng, args.class_frames, [])  # drawn even when cached
        if not os.path.exists(os.path.join(d, "gt", "meta.json")):
            shapes.write_clip(d, frames, rows)
        out.append(d)
    return out


def run_class_trials(args, trials_iter, scenes, clips, index):
    """Each trial: the offset class's HOTA / IDF1 / MOTA alone on the shape clips (mean
    over clips), and HOTA / MOTA / IDF1 on the validation scenes (every class)."""
    trials, label = [], args.offset_class
    path = os.path.join(args.work, "trial.safetensors")
    for i, trial in enumerate(trials_iter):
        safetensors_io.save(path, *variant(args.model, trial))
        rows = []
        for d in clips:
            out = os.path.join(d, f"class{i}")
            heldout.analyze(args.ringvit, path, os.path.join(d, "clip.y4m"), out)
            rows.append(heldout.evaluate(args.eval, *one_class(os.path.join(d, "gt"), out + ".jsonl", label, index, out)))
        trial["class"] = label
        for key in ("HOTA", "IDF1", "MOTA"):
            trial["class_" + key] = round(sum(r[key] for r in rows) / len(rows), 2)
        rows = heldout.score(args, path, f"class{i}", scenes, per_label=False, quiet=True)
        for key in ("HOTA", "MOTA", "IDF1"):
            trial[key] = round(sum(r[key] for r in rows) / len(rows), 2)
        trials.append(trial)
        print(json.dumps(trial), flush=True)
    return trials


def pick_class_offset(trials, index, hota_loss):
    """The best class HOTA among the offsets that cost the validation scenes at most
    hota_loss HOTA against no offset; ties go to the smaller offset."""
    floor = trials[0]["HOTA"] - hota_loss
    ok = [t for t in trials if t["HOTA"] >= floor] or trials[:1]
    return max(ok, key=lambda t: (t["class_HOTA"], -abs(t["class_offset"][index])))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--ringvit", default="build/ringvit")
    ap.add_argument("--eval", default=None)
    ap.add_argument("--scenes", default="901:180,902:180,903:180,904:180", help="validation seed:seconds (900..999)")
    ap.add_argument("--shifts", default="-1,0,1", help="added to the objectness logit")
    ap.add_argument("--peaks", default="0,3", help="peak rule sizes (0 = off)")
    ap.add_argument("--high-new", default="0.3/0.4,0.4/0.5,0.5/0.6", help="high_thresh/new_track_thresh pairs")
    ap.add_argument("--lost", default="1,3,6", help="seconds a lost track is kept")
    ap.add_argument("--match", default="0.8/0.5/0.7",
                    help="match/second/unconfirmed cost-limit triples (ByteTrack's: 0.8/0.5/0.7)")
    ap.add_argument("--low", type=float, default=0.1, help="low_thresh and the decoder's threshold")
    ap.add_argument("--offset-class", default="object", help="the class whose objectness offset is calibrated")
    ap.add_argument("--class-offsets", default="0,0.5,1,1.5,2", help="its offsets tried (logits; the first must be 0)")
    ap.add_argument("--class-clips", type=int, default=40, help="held-out shape clips scoring the offsets")
    ap.add_argument("--class-frames", type=int, default=24, help="frames (at 2 fps) per shape clip")
    ap.add_argument("--class-seed", type=int, default=901, help="shapes.py seed of those clips (training used 1..3)")
    ap.add_argument("--class-hota-loss", type=float, default=0.5,
                    help="validation HOTA an offset may cost against none")
    ap.add_argument("--foreground", default="0,0.03,0.05,0.08",
                    help="foreground differences tried for snapping person boxes (0 = none; each with "
                         "the tracks' boxes from the Kalman filter and from their detections)")
    ap.add_argument("--reid", default="0.15,0.08,0.05,0.03,0.01",
                    help="re-identification limits tried (half cosine distance; 0.15 is the tracker's default)")
    ap.add_argument("--reid-scenes", default="905:1800", help="long validation seed:seconds added for them")
    ap.add_argument("--action-on-off", default="0.6/0.4,0.5/0.3,0.4/0.2,0.7/0.5,0.3/0.15,0.2/0.1,0.1/0.05,0.05/0.025",
                    help="action_on/action_off pairs (the first is the segmenter's default)")
    ap.add_argument("--action-gap", default="0.5,2,5", help="action_gap_s values (seconds)")
    ap.add_argument("--action-offsets", default="-1,0,1,2,3,4,5",
                    help="logit offsets tried per track action (head.dense.action_offset)")
    ap.add_argument("--work", default="/tmp/rv-calibrate")
    args = ap.parse_args(argv)
    args.eval = args.eval or args.ringvit
    scenes = [tuple(int(x) for x in s.split(":")) for s in args.scenes.split(",")]
    reid_scenes = scenes + [tuple(int(x) for x in s.split(":")) for s in filter(None, args.reid_scenes.split(","))]
    if any(not 900 <= seed < 1000 for seed, _ in reid_scenes):
        ap.error("validation seeds are 900..999")
    if float(args.class_offsets.split(",")[0]) != 0:
        ap.error("--class-offsets must start with 0 (the reference the others are held to)")
    labels = json.loads(safetensors_io.load(args.model)[1]["ringvit"])["labels"]
    classes, actions = labels["classes"], labels.get("track_actions", [])
    if args.offset_class not in classes:
        ap.error(f"--offset-class {args.offset_class}: the model's classes are {classes}")
    os.makedirs(args.work, exist_ok=True)
    trials = run_trials(args, grid(args), scenes, "trial")
    best = max(trials, key=lambda t: t["HOTA"])
    index = classes.index(args.offset_class)
    class_trials = run_class_trials(args, class_grid(args, best, len(classes), index), scenes,
                                    shape_clips(args), index)
    best = pick_class_offset(class_trials, index, args.class_hota_loss)
    box_trials = run_trials(args, box_grid(args, best), scenes, "box")
    best = max(box_trials, key=lambda t: t["HOTA"])
    reid_trials = run_trials(args, reid_grid(args, best), reid_scenes, "reid", by_seconds=True)
    best = max(reid_trials, key=lambda t: t["HOTA"])
    action_trials = run_trials(args, action_grid(args, best), scenes, "action")
    best = max(action_trials, key=lambda t: t["action_mAP_50"])
    offset_trials = run_trials(args, action_offset_grid(args, best, len(actions)), scenes, "actoff", per_label=True)
    best = run_trials(args, [pick_action_offsets(offset_trials, actions)], scenes, "actchosen")[0]
    tensors, meta = variant(args.model, best)
    class_validation = dict(clips=args.class_clips, frames=args.class_frames, seed=args.class_seed, tool="vit/train/shapes.py",
                            hota_loss=args.class_hota_loss)
    reid_validation = dict(scenes=reid_scenes, weighting="mean over scenes weighted by their seconds")
    meta["calibration"] = json.dumps(dict(validation=scenes, class_validation=class_validation,
                                          reid_validation=reid_validation, chosen=best, trials=trials,
                                          class_trials=class_trials, box_trials=box_trials,
                                          reid_trials=reid_trials,
                                          action_trials=action_trials, action_offset_trials=offset_trials,
                                          tool="vit/train/calibrate.py"))
    safetensors_io.save(args.out, tensors, meta)
    print(f"{args.out}: {json.dumps(best)}")


if __name__ == "__main__":
    main()
