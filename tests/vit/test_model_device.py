"""The PyTorch mirror (vit/train/model.py) keeps every tensor it makes on its input's device,
so train.py --device cuda runs on the GPU machine: the forward pass, run on PyTorch's "meta"
device (shapes only, no data), fails if any step makes a tensor on the CPU (masks, pooling
matrices, the time embedding), and gives the shapes the CPU run gives.

    /usr/bin/python3 tests/vit/test_model_device.py
"""

import train_env  # skips the test without torch

train_env.require("torch")
import torch  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402


def forward(m, device, scope):
    m.c["temporal_scope"], m.c["temporal_window"] = scope, 2
    frames = torch.rand(3, 176, 320, 3).to(device)
    tok = M.patchify(frames, m.c["mean"], m.c["std"], 16, 1)
    out, _ = m(tok, 3, [0.0, 0.5, 1.0])
    return {k: (tuple(v.shape), v.device.type) for k, v in out.items()}


def main():
    cpu = M.RvViT(train.CONFIG).eval()
    meta = M.RvViT(train.CONFIG).eval().to("meta")
    for scope in ("global", "causal", "band"):
        with torch.no_grad():
            want, got = forward(cpu, "cpu", scope), forward(meta, "meta", scope)
        assert {k: s for k, (s, _) in want.items()} == {k: s for k, (s, _) in got.items()}, (want, got)
        assert all(d == "meta" for _, d in got.values()), got
    print(f"forward on the meta device: {sorted(got)} shaped as on the CPU, nothing made on the CPU")


if __name__ == "__main__":
    main()
