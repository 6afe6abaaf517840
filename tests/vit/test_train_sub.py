"""A dense head split into 2 x 2 output cells per patch (head.dense.sub, vit/train/train.py
--sub): two objects in one patch each get a positive cell whose target decodes to the
object's centre and size on the (GH 2) x (GW 2) grid of 8-pixel cells; the mirror's output
rows put output cell (r, c) where the C decoder reads it (vit/detect.c's cell_at: patch
after patch, each patch's cells row-major); and a checkpoint's head split with with_sub
decodes every output cell to the box of the patch cell it lies in.

    /usr/bin/python3 tests/vit/test_train_sub.py
"""
import math

import train_env  # skips the test without numpy, torch

train_env.require("numpy", "torch")
import torch  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402

GH, GW, P, S = 11, 20, 16, 2
# two people 8 px apart in one 16-px patch (x 36-44 and 44-52, centres in patch column 2)
ROWS = [[7, 34.0, 30.0, 6.0, 20.0, 0, 1.0, 1], [9, 43.0, 32.0, 6.0, 20.0, 0, 1.0, 0]]


def decoder_row(r, c, gw, s):
    """The row of the head's output holding output cell (r, c): vit/detect.c's cell_at."""
    return ((r // s) * gw + c // s) * s * s + (r % s) * s + c % s


def check_targets():
    coarse = train.make_targets(ROWS, (1.0, 1.0, 0, 0), GH, GW, P)
    fine = train.make_targets(ROWS, (1.0, 1.0, 0, 0), GH * S, GW * S, P / S)
    assert int(coarse[1].sum()) == 1, "one patch cell: the nearer centre takes it"
    pos = fine[1].nonzero()[0].tolist()
    assert len(pos) == 2, pos
    Q = P / S
    for k in pos:
        r, c = divmod(k, GW * S)
        t = ROWS[0] if fine[6][k] == 7 else ROWS[1]
        cx, cy = (c + fine[4][k][0]) * Q, (r + fine[4][k][1]) * Q
        assert abs(cx - (t[1] + t[3] / 2)) < 1e-4 and abs(cy - (t[2] + t[4] / 2)) < 1e-4, (k, cx, cy)
        assert abs(math.exp(fine[4][k][3]) * Q - t[4]) < 1e-3
    return pos


def check_layout():
    gh, gw, ch = 3, 4, 5
    rows = torch.arange(gh * gw * S * S, dtype=torch.float32)
    dense = rows[None, :, None].expand(1, -1, ch)  # each row holds its own index
    fine = M.fine_cells(dense, gh, gw, S)
    for r in range(gh * S):
        for c in range(gw * S):
            assert int(fine[0, r * gw * S + c, 0]) == decoder_row(r, c, gw, S), (r, c)


def check_split_head():
    cfg = dict(train.CONFIG, head={"dense": {"hidden": 8, "emb_dim": 2}}, width=32, heads=1,
               mlp_dim=32, spatial_depth=1, temporal_depth=0, image_size=[32, 48])
    torch.manual_seed(3)
    m1 = M.RvViT(cfg).eval()
    m2 = M.RvViT(dict(cfg, head={"dense": {"hidden": 8, "emb_dim": 2, "sub": S}})).eval()
    m2.load_state_dict(train.with_sub(m1.state_dict(), 1, S, m1.c["num_classes"]))
    tok = M.patchify(torch.rand(2, 32, 48, 3), m1.c["mean"], m1.c["std"], P, 1)
    with torch.no_grad():
        a = m1(tok, 2)[0]["dense"]
        b = M.fine_cells(m2(tok, 2)[0]["dense"], 2, 3, S)
    n = 1 + m1.c["num_classes"]
    a = a.reshape(2, 2, 3, -1).repeat_interleave(S, 1).repeat_interleave(S, 2).reshape(b.shape)
    keep = [i for i in range(b.shape[-1]) if i not in (n + 2, n + 3)]
    assert torch.allclose(a[..., keep], b[..., keep], atol=1e-5)
    # sizes: exp(tw) cells of P / S pixels are the same pixels as before
    assert torch.allclose(a[..., n + 2:n + 4] + math.log(S), b[..., n + 2:n + 4], atol=1e-5)
    # a split head moved to reach 1 scales the centre rows of every one of its cells
    sd = m2.state_dict()
    moved = train.with_reach(sd, 0, 1, n - 1, S)
    w, w1 = sd["head.dense.out.weight"].view(S * S, -1, 8), moved["head.dense.out.weight"].view(S * S, -1, 8)
    assert torch.allclose(w1[:, n:n + 2], w[:, n:n + 2] / 3) and torch.equal(w1[:, :n], w[:, :n])
    assert torch.equal(w1[:, n + 2:], w[:, n + 2:])


def main():
    pos = check_targets()
    check_layout()
    check_split_head()
    print(f"sub 2: two people in one patch -> positives {pos}, centres exact; "
          f"mirror rows match the decoder's; a split head decodes as the patch cell did")


if __name__ == "__main__":
    main()
