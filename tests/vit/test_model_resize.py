"""RvViT.load_resized (vit/train/model.py), which starts a fine-tune at another input size
from a checkpoint: the model built at the new size with the old weights gives what the old
model gives when run at that size (its position table resampled at run time, as the C engine
does), and a table of the same size loads unchanged.

    /usr/bin/python3 tests/vit/test_model_resize.py
"""

import train_env  # skips the test without torch

train_env.require("torch")
import torch  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402


def build(hw):
    cfg = dict(train.CONFIG, image_size=list(hw))
    return M.RvViT(cfg).eval()


def main():
    torch.manual_seed(0)
    small = build((176, 320))
    with torch.no_grad():
        for p in small.parameters():
            p.normal_(0, 0.2)
    big = build((272, 480))
    big.load_resized(small.state_dict())
    frames = torch.rand(2, 272, 480, 3)
    tok = M.patchify(frames, small.c["mean"], small.c["std"], 16, 1)
    with torch.no_grad():
        want, _ = small(tok, 2, [0.0, 0.5], input_hw=(272, 480))
        got, _ = big(tok, 2, [0.0, 0.5])
    err = (got["dense"] - want["dense"]).abs().max().item()
    assert err < 1e-5, f"resized weights differ from run-time resampling by {err}"
    assert big.pos_embed.shape[0] == 1 + 17 * 30
    same = build((176, 320))
    same.load_resized(small.state_dict())
    assert torch.equal(same.pos_embed, small.pos_embed), "the same size loads unchanged"
    print(f"load_resized: 176x320 -> 272x480 within {err:.1e} of run-time resampling")


if __name__ == "__main__":
    main()
