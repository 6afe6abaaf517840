"""Scores a model on held-out synthetic scenes (seeds never used in training, all < 1000):
renders each scene with `ringvit synth` (640x360, 10 fps, H.264, default rates), runs
`ringvit analyze` on the video, scores it with `ringvit eval`, and prints one Markdown table
with the tracking figures (HOTA also per object class: `ringvit eval --per-class`), action
mAP@0.5 and AP@0.5 per action class (eval's per-class action figures) and
the speed of analyze.

    /usr/bin/python3 vit/train/heldout.py --ringvit build/ringvit --eval build-eval/ringvit \
        --model samples/models/rv-demo.safetensors --scenes 7:120,11:600 [--window 16]

--window W also scores the same model with its temporal stage cut to a band of W frames
(each frame attends to the frames less than W/2 away; a frame-causal model to its last W
frames: the long-context ablation).
--min-vis V scores with `ringvit eval --min-vis V`: GT rows less visible than V, the
predictions on them and the action segments of tracks nowhere that visible are left out.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402

LONG = ("loiter", "left_behind")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def render(rv, work, seed, seconds):
    d = os.path.join(work, f"scene-{seed}-{seconds}")
    video = os.path.join(d, "scene.mp4")
    if not os.path.exists(video):
        os.makedirs(d, exist_ok=True)
        run([rv, "synth", "--seconds", str(seconds), "--seed", str(seed), "-o", video, "--gt", os.path.join(d, "gt"), "-q"])
    return d, video


def analyze(rv, model, video, out):
    t0 = time.time()
    r = run([rv, "analyze", video, "--model", model, "-o", out + ".jsonl", "--mot", out + ".txt", "--quiet"])
    return time.time() - t0, r.stderr.strip().splitlines()[-1:] if r.stderr else []


def evaluate(ev, gt, pred, min_vis=0.0):
    extra = ["--min-vis", str(min_vis)] if min_vis > 0 else []
    return json.loads(run([ev, "eval", "--gt", gt, "--pred", pred, "--json", "--per-class"] + extra).stdout)


def per_label_ap(m, gt_dir, pred):
    """AP@0.5 of each GT label from eval's per-class figures (m: its JSON); a label whose GT
    segments --min-vis left out entirely has ap50 None."""
    out = {c["label"] + (" (scene)" if c["scene"] else ""): dict(ap50=c["AP_50"], gt=c["GT_segments"], pred=c["segments"])
           for c in m.get("action_per_class", [])}
    with open(os.path.join(gt_dir, "actions.jsonl")) as f:
        gt_labels = {json.loads(line)["label"] for line in f if line.strip()}
    with open(pred) as f:
        events = [json.loads(line) for line in f if '"event"' in line]
    for label in gt_labels - {k.replace(" (scene)", "") for k in out}:
        out[label] = dict(ap50=None, gt=0, pred=sum(e.get("label") == label for e in events))
    return out


def band_config(cfg, window):
    """cfg with the temporal attention cut to W frames: a band of +-W/2 frames for a
    bidirectional model, the last W frames for a frame-causal one (which sees no future)."""
    if cfg.get("temporal_scope", "global") in ("causal", "window"):
        cfg["temporal_scope"], cfg["temporal_window"] = "window", window
    else:
        cfg["temporal_scope"], cfg["temporal_window"] = "band", (window + 1) // 2
    return cfg


def scope_name(cfg):
    """A model's rows are named by its temporal scope: global, causal, window120, band16."""
    scope = cfg.get("temporal_scope", "global")
    return scope + (str(cfg.get("temporal_window", 0)) if scope in ("window", "band") else "")


def window_model(model, work, window):
    """The model cut to `window` frames, written under work; returns (path, row name)."""
    tensors, meta = safetensors_io.load(model)
    cfg = band_config(json.loads(meta["ringvit"]), window)
    name = f"{'band' if cfg['temporal_scope'] == 'band' else 'window'}{window}"
    cfg["name"] = cfg.get("name", "model") + "-" + name
    meta["ringvit"] = json.dumps(cfg)
    out = os.path.join(work, name + ".safetensors")
    safetensors_io.save(out, tensors, meta)
    return out, name


def score(args, model, tag, scenes, per_label=True, quiet=False):
    rows = []
    for seed, seconds in scenes:
        d, video = render(args.ringvit, args.work, seed, seconds)
        out = os.path.join(d, tag)
        wall, last = analyze(args.ringvit, model, video, out)
        min_vis = getattr(args, "min_vis", 0.0)  # calibrate.py's arguments have none
        m = evaluate(args.eval, os.path.join(d, "gt"), out + ".jsonl", min_vis)
        if per_label:
            m["per_label"] = per_label_ap(m, os.path.join(d, "gt"), out + ".jsonl")
        m.update(seed=seed, seconds=seconds, model=tag, analyze_s=round(wall, 2), x_real_time=round(seconds / wall, 1),
                 analyze_summary=last)
        rows.append(m)
        if not quiet:
            print(json.dumps(m), flush=True)
    return rows


def reentry_cell(r):
    """`ringvit eval`'s re-entry counts (ids back after >= 10 s away), "-" when it has none."""
    if "reentries" not in r:
        return "-"
    return f"{r['reentry_same_id']} / {r['reentry_IDSW']} ({r['reentries']})"


def class_hota_cell(r):
    """HOTA of each object class on its own (`ringvit eval --per-class`)."""
    return ", ".join(f"{c['label']} {c['HOTA']:.1f}" for c in r.get("per_class", [])) or "-"


def table(rows):
    labels = sorted({k for r in rows for k in r["per_label"]})
    head = ["model", "seed", "s", "HOTA", "HOTA per class", "IDF1", "MOTA", "IDSW", "re-entries: same id / switched (of)", "mAP@0.5"] + [f"AP {l}" for l in labels] + ["x real time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], str(r["seed"]), str(r["seconds"]), f"{r['HOTA']:.1f}", class_hota_cell(r),
                 f"{r['IDF1']:.1f}", f"{r['MOTA']:.1f}",
                 str(r["IDSW"]), reentry_cell(r), f"{r['action_mAP_50'] / 100:.3f}"]
        for l in labels:
            p = r["per_label"].get(l)
            if not p or p["ap50"] is None:
                cells.append("-" if not p else f"unseen ({p['pred']} pred)")
            else:
                cells.append(f"{p['ap50'] / 100:.3f} ({p['gt']} GT, {p['pred']} pred)")
        cells.append(f"{r['x_real_time']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringvit", default="build/ringvit")
    ap.add_argument("--eval", default=None, help="the ringvit binary with `eval` (default: --ringvit)")
    ap.add_argument("--model", default="samples/models/rv-demo.safetensors")
    ap.add_argument("--scenes", default="7:120,11:600", help="seed:seconds,...; seeds must be < 1000")
    ap.add_argument("--window", type=int, default=0, help="also score the model cut to a W-frame band")
    ap.add_argument("--min-vis", type=float, default=0.0,
                    help="ringvit eval --min-vis: leave out what is less visible than this (default 0: all counts)")
    ap.add_argument("--work", default="/tmp/rv-heldout")
    ap.add_argument("--json", help="write every row here too")
    ap.add_argument("--store", action="store_true",
                    help="write the figures into the model's metadata (\"accuracy\"), as shipped models carry them")
    args = ap.parse_args(argv)
    args.eval = args.eval or args.ringvit
    scenes = [tuple(int(x) for x in s.split(":")) for s in args.scenes.split(",")]
    if any(seed >= 1000 for seed, _ in scenes):
        ap.error("held-out seeds are < 1000 (the trainer uses >= 1000)")
    os.makedirs(args.work, exist_ok=True)
    cfg = json.loads(safetensors_io.load(args.model)[1]["ringvit"])
    rows = score(args, args.model, scope_name(cfg), scenes)
    if args.window:
        wm, name = window_model(args.model, args.work, args.window)
        rows += score(args, wm, name, scenes)
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.store:
        store(args.model, rows)


def store(model, rows):
    """The held-out figures into the model file's __metadata__["accuracy"]."""
    keep = ("model", "seed", "seconds", "HOTA", "IDF1", "MOTA", "IDSW", "action_mAP_50", "reentries",
            "reentry_same_id", "reentry_IDSW")
    heldout = [dict({k: r[k] for k in keep if k in r}, AP50={l: p["ap50"] for l, p in r["per_label"].items()}) for r in rows]
    tensors, meta = safetensors_io.load(model)
    meta["accuracy"] = json.dumps(dict(heldout=heldout, tool="vit/train/heldout.py", measured=time.strftime("%Y-%m-%d")))
    safetensors_io.save(model, tensors, meta)


if __name__ == "__main__":
    main()
