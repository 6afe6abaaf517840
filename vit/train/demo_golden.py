"""Makes tests/data/vit/rv-demo.golden.safetensors: the PyTorch mirror (model.py) run on the
shipped demo model (samples/models/rv-demo.safetensors) over three frames of a synthetic
clip, letterboxed as the ingest does. test-vit-parity runs the C engine on the same frames
and compares the heads and the final features (fp32, relative error <= 1e-4). Rerun it
whenever the demo model changes:

    /usr/bin/python3 vit/train/demo_golden.py --ringvit build/ringvit
"""
import argparse
import os
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import goldens  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringvit", default=os.path.join(ROOT, "build", "ringvit"))
    ap.add_argument("--model", default=os.path.join(ROOT, "samples", "models", "rv-demo.safetensors"))
    ap.add_argument("-o", "--out", default=os.path.join(ROOT, "tests", "data", "vit", "rv-demo.golden.safetensors"))
    ap.add_argument("--seed", type=int, default=5, help="synth seed of the clip (not a training seed)")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    m = M.from_file(a.model)
    c = m.c
    ih, iw = c["image_size"]
    with tempfile.TemporaryDirectory() as work:
        video, _ = train.render_clip(a.ringvit, work, a.seed, 30, c["fps"], False, 2.0)
        frames, pts = train.read_rgb(video)
        pick = [20, 40, 59]  # 10 s, 20 s, 29.5 s: agents in view, global attention across them
        boxed = train.letterbox(frames[pick], ih, iw, c["mean"])
    x = torch.from_numpy(boxed).float() / 255.0
    x = x.half().float()  # the values the golden stores (f16) are the values the reference runs on
    times = [float(pts[i]) * 1e-9 for i in pick]
    tokens = M.patchify(x, c["mean"], c["std"], c["patch"], c["tubelet"])
    with torch.no_grad():
        outs, _ = m(tokens, len(pick), times)
    goldens.save_golden(a.out, x, times, {}, outs, dict(input_h=ih, input_w=iw, frames=len(pick)),
                        frames_dtype=torch.float16)
    print(f"{a.out}: {os.path.getsize(a.out)} bytes, {len(pick)} frames of seed {a.seed}")


if __name__ == "__main__":
    main()
