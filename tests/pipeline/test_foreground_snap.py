"""The demo model's person boxes snapped to the foreground (`tracking.foreground_diff`,
pipeline/foreground.c) through `ringvit analyze`: on a generated scene the snapped boxes
fit the ground truth better than the same model's unsnapped ones (HOTA's localisation and
detection accuracy), and stream mode with a context as long as the clip gives the offline
file's objects (the same ids and labels, boxes within a pixel: the two modes sum in another
order; the background lives in the decode thread, the masks travel with each frame to its
result in both modes).

    /usr/bin/python3 tests/pipeline/test_foreground_snap.py build/ringvit samples/models/rv-demo.safetensors
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vit"))
import train_env  # noqa: E402  (skips the test without torch)

train_env.require("torch")
import safetensors_io  # noqa: E402


def with_tracking(src, dst, **keys):
    """A copy of the model file src with its config's tracking keys updated."""
    tensors, meta = safetensors_io.load(src)
    cfg = json.loads(meta["ringvit"])
    cfg["tracking"].update(keys)
    meta["ringvit"] = json.dumps(cfg)
    safetensors_io.save(dst, tensors, meta)


def objects(path):
    """Per frame line: (id, label, x, y, w, h) of each object."""
    with open(path) as f:
        return [[(o["id"], o["detection"]["label"], o["x"], o["y"], o["w"], o["h"]) for o in line["objects"]]
                for line in map(json.loads, f) if "objects" in line]


def same_objects(a, b):
    return len(a) == len(b) and all(p[:2] == q[:2] and all(abs(u - v) <= 1 for u, v in zip(p[2:], q[2:]))
                                    for p, q in zip(a, b))


def main():
    ringvit, model = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        clip, gt = os.path.join(d, "clip.mp4"), os.path.join(d, "gt")
        subprocess.run([ringvit, "synth", "--seconds", "60", "--seed", "23", "--density", "2", "-o", clip, "--gt", gt, "-q"], check=True)
        plain = os.path.join(d, "plain.safetensors")
        with_tracking(model, plain, foreground_diff=0)

        def analyze(m, out, *extra):
            subprocess.run([ringvit, "analyze", clip, "--model", m, "-o", out, "-q", *extra], check=True)
            r = subprocess.run([ringvit, "eval", "--gt", gt, "--pred", out, "--json"], check=True,
                               capture_output=True, text=True)
            return json.loads(r.stdout)

        snapped = analyze(model, os.path.join(d, "snapped.jsonl"))
        unsnapped = analyze(plain, os.path.join(d, "plain.jsonl"))
        print(f"snapped LocA {snapped['LocA']:.2f} DetA {snapped['DetA']:.2f} HOTA {snapped['HOTA']:.2f}; "
              f"unsnapped {unsnapped['LocA']:.2f} {unsnapped['DetA']:.2f} {unsnapped['HOTA']:.2f}")
        assert snapped["LocA"] > unsnapped["LocA"] + 3, "snapping did not tighten the boxes"
        assert snapped["DetA"] > unsnapped["DetA"] + 3, "snapping did not raise the detection accuracy"
        analyze(model, os.path.join(d, "stream.jsonl"), "--mode", "stream", "--context", "70")
        off, live = objects(os.path.join(d, "snapped.jsonl")), objects(os.path.join(d, "stream.jsonl"))
        assert len(off) == len(live) and all(map(same_objects, off, live)), "stream mode snapped other boxes"
    print(f"foreground snap: {sum(map(len, off))} objects in {len(off)} frames, stream = offline")


if __name__ == "__main__":
    main()
