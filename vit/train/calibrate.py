"""Calibrates a trained model's detection scores for the tracker, on validation scenes
(seeds 900..999: neither training nor the held-out test): ByteTrack only starts tracks from
detections scoring >= 0.6, and a focal-loss objectness is under-confident, so a constant is
added to the objectness logit (the bias of the dense head's channel 0). Tries each shift,
scores the validation scenes with `ringvit analyze` + `ringvit eval`, keeps the one with
the best mean HOTA, and writes the model with the shift and the trial table in its metadata.

    /usr/bin/python3 vit/train/calibrate.py --model /tmp/rv-train/rv-demo.safetensors \
        --eval build-eval/ringvit -o samples/models/rv-demo.safetensors
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heldout  # noqa: E402
import safetensors_io  # noqa: E402


def shifted(model, shift, emb):
    """The model with `shift` added to the objectness logit; without the embedding
    channels when `emb` is false."""
    tensors, meta = safetensors_io.load(model)
    cfg = json.loads(meta["ringvit"])
    b = tensors["head.dense.out.bias"].clone()
    b[0] += shift
    tensors["head.dense.out.bias"] = b
    k = cfg["head"]["dense"].get("emb_dim", 0)
    if not emb and k:
        tensors["head.dense.out.bias"] = b[:-k].clone()
        tensors["head.dense.out.weight"] = tensors["head.dense.out.weight"][:-k].clone()
        cfg["head"]["dense"]["emb_dim"] = 0
    meta["ringvit"] = json.dumps(cfg)
    return tensors, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--ringvit", default="build/ringvit")
    ap.add_argument("--eval", default=None)
    ap.add_argument("--scenes", default="901:180,902:180", help="validation seed:seconds (900..999)")
    ap.add_argument("--shifts", default="0,0.5,1,1.5,2")
    ap.add_argument("--emb", default="1,0", help="try with (1) and without (0) the appearance embedding")
    ap.add_argument("--work", default="/tmp/rv-calibrate")
    args = ap.parse_args(argv)
    args.eval = args.eval or args.ringvit
    scenes = [tuple(int(x) for x in s.split(":")) for s in args.scenes.split(",")]
    if any(not 900 <= seed < 1000 for seed, _ in scenes):
        ap.error("validation seeds are 900..999")
    os.makedirs(args.work, exist_ok=True)
    trials = []
    for emb in (int(e) for e in args.emb.split(",")):
        for shift in (float(s) for s in args.shifts.split(",")):
            tag = f"shift{shift:g}-emb{emb}"
            path = os.path.join(args.work, tag + ".safetensors")
            safetensors_io.save(path, *shifted(args.model, shift, emb))
            rows = heldout.score(args, path, tag, scenes)
            hota = sum(r["HOTA"] for r in rows) / len(rows)
            trials.append(dict(shift=shift, emb=emb, HOTA=round(hota, 2),
                               MOTA=round(sum(r["MOTA"] for r in rows) / len(rows), 2),
                               IDF1=round(sum(r["IDF1"] for r in rows) / len(rows), 2)))
            print(json.dumps(trials[-1]), flush=True)
    best = max(trials, key=lambda t: t["HOTA"])
    tensors, meta = shifted(args.model, best["shift"], best["emb"])
    meta["calibration"] = json.dumps(dict(validation=scenes, chosen=best, trials=trials,
                                          tool="vit/train/calibrate.py"))
    safetensors_io.save(args.out, tensors, meta)
    print(f"{args.out}: objectness shift {best['shift']}, embedding {'kept' if best['emb'] else 'dropped'} "
          f"(validation HOTA {best['HOTA']})")


if __name__ == "__main__":
    main()
