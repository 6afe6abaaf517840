"""The calibrator's per-class objectness stage (vit/train/calibrate.py): one_class keeps
exactly one class's GT rows and predicted objects; pick_class_offset takes the best class
HOTA among the offsets that keep the validation HOTA within the allowed loss, ties to the
smaller offset; variant writes head.dense.class_offset only when an offset is set. The
re-identification stage: its trials carry the chosen keys, variant writes the limit into
"tracking", and run_trials weights scenes by their seconds when asked. The action offsets'
stage: its grid, its per-action pick, the per-label AP means (label_aps) and
head.dense.action_offset in variant.

    /usr/bin/python3 tests/vit/test_calibrate.py
"""
import argparse
import json
import os
import tempfile

import train_env  # skips the test without numpy, torch

train_env.require("numpy", "torch")
import torch  # noqa: E402
import calibrate  # noqa: E402
import safetensors_io  # noqa: E402


def frame(i, labels):
    return {"timestamp": i * 500000000, "frame_index": i,
            "objects": [{"detection": {"label": l, "confidence": 0.9}, "id": k + 1} for k, l in enumerate(labels)]}


def check_one_class(d):
    gt = os.path.join(d, "gt")
    os.makedirs(gt)
    with open(os.path.join(gt, "gt.txt"), "w") as f:
        f.write("1,1,0,0,10,10,1,1,1\n1,2,20,0,10,10,1,4,1\n2,2,25,0,10,10,1,4,0.5\n2,3,40,0,10,10,1,3,1\n")
    with open(os.path.join(gt, "meta.json"), "w") as f:
        json.dump({"fps": 2.0}, f)
    pred = os.path.join(d, "pred.jsonl")
    with open(pred, "w") as f:
        f.write(json.dumps(frame(0, ["person", "object"])) + "\n")
        f.write(json.dumps({"event": "action", "label": "walk"}) + "\n")
        f.write(json.dumps(frame(1, ["bag"])) + "\n")
    g, p = calibrate.one_class(gt, pred, "object", 3, os.path.join(d, "work"))
    rows = open(os.path.join(g, "gt.txt")).read().split()
    assert rows == ["1,2,20,0,10,10,1,4,1", "2,2,25,0,10,10,1,4,0.5"], rows
    assert json.load(open(os.path.join(g, "meta.json")))["fps"] == 2.0
    lines = [json.loads(x) for x in open(p)]
    assert [[o["detection"]["label"] for o in x["objects"]] for x in lines] == [["object"], []], lines


def trial(off, class_hota, hota):
    return {"class_offset": [0.0, 0.0, 0.0, off], "class_HOTA": class_hota, "HOTA": hota}


def check_pick():
    t = [trial(0, 30, 40), trial(0.5, 35, 39.8), trial(1, 38, 39.2), trial(1.5, 38, 39.9)]
    assert calibrate.pick_class_offset(t, 3, 0.5)["class_offset"][3] == 1.5  # 1.0 costs 0.8 HOTA
    t[3]["class_HOTA"] = 35
    assert calibrate.pick_class_offset(t, 3, 0.5)["class_offset"][3] == 0.5  # tie: the smaller
    assert calibrate.pick_class_offset(t, 3, 1.0)["class_offset"][3] == 1.0
    assert calibrate.pick_class_offset([trial(0, 0, 40), trial(1, 0, 40)], 3, 0.5)["class_offset"][3] == 0


def check_action_offsets(d):
    """The offset stage's grid keeps the chosen keys, one offset for every action per trial;
    the pick takes each action's best AP (ties: nearest 0; no AP anywhere or no GT: 0); variant
    writes head.dense.action_offset only when one is set."""
    args = argparse.Namespace(action_offsets="-1,0,2")
    best = dict({k: 0.5 for k in calibrate.TRACKING_KEYS}, shift=-1.0, peak=3, action_mAP_50=5)
    grid = list(calibrate.action_offset_grid(args, best, 3))
    assert [t["action_offset"] for t in grid] == [[-1.0] * 3, [0.0] * 3, [2.0] * 3]
    assert all(t["action_on"] == 0.5 and t["shift"] == -1.0 and "action_mAP_50" not in t for t in grid)
    aps = [{"walk": 9.0, "run": 0.0, "fall": 0.0}, {"walk": 9.5, "run": 0.0, "fall": 0.0},
           {"walk": 9.5, "run": 4.0, "fall": 0.0}]
    trials = [dict(t, label_AP_50=a, action_mAP_50=0) for t, a in zip(grid, aps)]
    chosen = calibrate.pick_action_offsets(trials, ["walk", "run", "fall", "park"])
    assert chosen["action_offset"] == [0.0, 2.0, 0.0, 0.0], chosen
    assert "label_AP_50" not in chosen and "action_mAP_50" not in chosen and chosen["action_on"] == 0.5
    assert calibrate.pick_action_offsets(trials[::2], ["walk", "run", "fall"])["action_offset"] == [2.0, 2.0, 0.0]
    rows = [{"per_label": {"walk": {"ap50": 2.0}, "run": {"ap50": 1.0}}}, {"per_label": {"walk": {"ap50": 4.0}}}]
    assert calibrate.label_aps(rows) == {"run": 1.0, "walk": 3.0}  # each over the scenes that hold it
    cfg = {"name": "t", "head": {"dense": {"hidden": 4, "action_offset": [1, 1]}}}
    path = os.path.join(d, "a.safetensors")
    safetensors_io.save(path, {"head.dense.out.bias": torch.zeros(3)}, {"ringvit": json.dumps(cfg)})
    _, meta = calibrate.variant(path, dict(best, action_offset=[0.0, 0.0]))
    assert "action_offset" not in json.loads(meta["ringvit"])["head"]["dense"]
    _, meta = calibrate.variant(path, dict(best, action_offset=[0.0, 2.0]))
    assert json.loads(meta["ringvit"])["head"]["dense"]["action_offset"] == [0.0, 2.0]


def check_variant(d):
    cfg = {"name": "t", "head": {"dense": {"hidden": 4, "peak": 3, "class_offset": [1, 1]}}}
    path = os.path.join(d, "m.safetensors")
    safetensors_io.save(path, {"head.dense.out.bias": torch.zeros(3)}, {"ringvit": json.dumps(cfg)})
    keys = {k: 0.5 for k in calibrate.TRACKING_KEYS}
    _, meta = calibrate.variant(path, dict(keys, shift=0.0, peak=3, class_offset=[0.0, 0.0]))
    assert "class_offset" not in json.loads(meta["ringvit"])["head"]["dense"]
    tensors, meta = calibrate.variant(path, dict(keys, shift=-1.0, peak=3, class_offset=[0.0, 1.5]))
    assert json.loads(meta["ringvit"])["head"]["dense"]["class_offset"] == [0.0, 1.5]
    assert float(tensors["head.dense.out.bias"][0]) == -1.0


def check_box_grid():
    args = argparse.Namespace(foreground="0,0.05")
    best = dict({k: 0.5 for k in calibrate.TRACKER_KEYS}, shift=-1.0, peak=3, HOTA=40)
    trials = list(calibrate.box_grid(args, best))
    assert [(t["foreground_diff"], t["detection_boxes"]) for t in trials] == [(0, 0), (0, 1), (0.05, 0), (0.05, 1)]
    assert all(t["shift"] == -1.0 and t["reid_thresh"] == 0.5 and "HOTA" not in t for t in trials)


def check_reid(d):
    args = argparse.Namespace(reid="0.15,0.03", work=d, model=os.path.join(d, "m.safetensors"))
    best = dict({k: 0.5 for k in calibrate.TRACKER_KEYS if k != "reid_thresh"}, shift=-1.0, peak=3, HOTA=40)
    trials = list(calibrate.reid_grid(args, best))
    assert [t["reid_thresh"] for t in trials] == [0.15, 0.03] and all(t["shift"] == -1.0 for t in trials)
    assert all("HOTA" not in t for t in trials)
    _, meta = calibrate.variant(args.model, trials[1])
    assert json.loads(meta["ringvit"])["tracking"]["reid_thresh"] == 0.03
    seen = []

    def score(_args, path, tag, scenes, per_label, quiet):  # a 180-s scene at 40, an 1800-s one at 20
        seen.append(json.loads(safetensors_io.load(path)[1]["ringvit"])["tracking"]["reid_thresh"])
        return [dict(seconds=s, HOTA=h, MOTA=0, IDF1=0, action_mAP_50=0) for (_, s), h in zip(scenes, (40, 20))]
    real, calibrate.heldout.score = calibrate.heldout.score, score
    try:
        scenes = [(901, 180), (905, 1800)]
        plain = calibrate.run_trials(args, iter([dict(trials[0])]), scenes, "t")
        weighted = calibrate.run_trials(args, iter([dict(trials[1])]), scenes, "t", by_seconds=True)
    finally:
        calibrate.heldout.score = real
    assert seen == [0.15, 0.03], seen
    assert plain[0]["HOTA"] == 30.0 and weighted[0]["HOTA"] == round((40 * 180 + 20 * 1800) / 1980, 2), weighted


def main():
    with tempfile.TemporaryDirectory() as d:
        check_one_class(d)
        check_variant(d)
        check_reid(d)
        check_action_offsets(d)
    check_pick()
    check_box_grid()
    print("calibrate: one_class, pick_class_offset, variant's class_offset and reid_thresh, box_grid, "
          "run_trials' weighting, the action offsets' grid, pick and variant as specified")


if __name__ == "__main__":
    main()
