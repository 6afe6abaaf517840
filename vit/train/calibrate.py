"""Calibrates a trained model's detection decoding and tracking on validation scenes (seeds
900..999: neither training nor the held-out test). A focal-loss objectness is under- or
over-confident by a constant, and ByteTrack's thresholds (start a track at >= 0.6, associate
at >= 0.5, keep a lost track 1 s) were tuned for other detectors, so this tries, on a grid:
  - a shift of the objectness logit (the dense head's bias, channel 0),
  - peak extraction (head.dense.peak: a cell counts only where its objectness is the largest
    of its k x k neighbours, as CenterNet decodes; one object seen by two cells is one box),
  - the tracker's scores, association cost limits and memory (the config's "tracking" keys:
    detect_thresh, high_thresh, low_thresh, new_track_thresh, lost_s, match_thresh,
    second_match_thresh, unconfirmed_match_thresh),
scores each with `ringvit analyze` + `ringvit eval`, keeps the best mean HOTA; then, with those,
tries the action segmenter's hysteresis and merge gap (action_on, action_off, action_gap_s:
they change the segments, not the tracks) and keeps the best mean action mAP@0.5. Writes the
model with the chosen settings and both trial tables in its metadata.

    /usr/bin/python3 vit/train/calibrate.py --model /tmp/rv-train/rv-demo.safetensors \\
        -o samples/models/rv-demo.safetensors
"""
import argparse
import itertools
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heldout  # noqa: E402
import safetensors_io  # noqa: E402


TRACKER_KEYS = ("detect_thresh", "high_thresh", "low_thresh", "new_track_thresh", "lost_s",
                "match_thresh", "second_match_thresh", "unconfirmed_match_thresh")
TRACKING_KEYS = TRACKER_KEYS + ("action_on", "action_off", "action_gap_s")


def variant(model, trial):
    """The model with trial's objectness shift, peak rule and tracking keys."""
    tensors, meta = safetensors_io.load(model)
    cfg = json.loads(meta["ringvit"])
    b = tensors["head.dense.out.bias"].clone()
    b[0] += trial["shift"]
    tensors["head.dense.out.bias"] = b
    dense = cfg["head"]["dense"]
    if trial["peak"]:
        dense["peak"] = trial["peak"]
    else:
        dense.pop("peak", None)
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


def action_grid(args, best):
    for pair, gap in itertools.product(args.action_on_off.split(","), [float(x) for x in args.action_gap.split(",")]):
        on, off = (float(x) for x in pair.split("/"))
        t = {k: best[k] for k in ("shift", "peak") + TRACKER_KEYS}
        yield dict(t, action_on=on, action_off=off, action_gap_s=gap)


def run_trials(args, trials_iter, scenes, tag):
    trials = []
    path = os.path.join(args.work, "trial.safetensors")
    for i, trial in enumerate(trials_iter):
        safetensors_io.save(path, *variant(args.model, trial))
        rows = heldout.score(args, path, f"{tag}{i}", scenes, per_label=False, quiet=True)
        for key in ("HOTA", "MOTA", "IDF1", "action_mAP_50"):
            trial[key] = round(sum(r[key] for r in rows) / len(rows), 2)
        trials.append(trial)
        print(json.dumps(trial), flush=True)
    return trials


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
    ap.add_argument("--action-on-off", default="0.6/0.4,0.5/0.3,0.4/0.2,0.7/0.5",
                    help="action_on/action_off pairs (the first is the segmenter's default)")
    ap.add_argument("--action-gap", default="0.5,2,5", help="action_gap_s values (seconds)")
    ap.add_argument("--work", default="/tmp/rv-calibrate")
    args = ap.parse_args(argv)
    args.eval = args.eval or args.ringvit
    scenes = [tuple(int(x) for x in s.split(":")) for s in args.scenes.split(",")]
    if any(not 900 <= seed < 1000 for seed, _ in scenes):
        ap.error("validation seeds are 900..999")
    os.makedirs(args.work, exist_ok=True)
    trials = run_trials(args, grid(args), scenes, "trial")
    best = max(trials, key=lambda t: t["HOTA"])
    action_trials = run_trials(args, action_grid(args, best), scenes, "action")
    best = max(action_trials, key=lambda t: t["action_mAP_50"])
    tensors, meta = variant(args.model, best)
    meta["calibration"] = json.dumps(dict(validation=scenes, chosen=best, trials=trials,
                                          action_trials=action_trials, tool="vit/train/calibrate.py"))
    safetensors_io.save(args.out, tensors, meta)
    print(f"{args.out}: {json.dumps(best)}")


if __name__ == "__main__":
    main()
