"""Makes the parity goldens under tests/data/vit/ (run with Debian's torch):

    /usr/bin/python3 vit/train/goldens.py [OUT_DIR]

Each case writes CASE.model.safetensors (our format, via export.py) and
CASE.golden.safetensors: the input ("input.frames" [F, H, W, 3] in 0..1, "input.times"),
every stage's output ("tap.embed", "tap.spatial.0", ..., "tap.norm") and the heads'
outputs ("out.dense", ...), with the input size and frame count in its metadata.

  tv-vit         torchvision's own VisionTransformer (the reference implementation itself)
  mirror-st      our mirror: spatial + temporal (pooled 2x2, causal window, time embedding),
                 dense + scene heads, input resized (bicubic position resampling)
  mirror-videomae  tubelet 2, q/v biases, sinusoidal positions, joint attention, clip head
  mirror-sub     the dense head with 2 x 2 output cells per patch (head.dense.sub)
  mirror-yolos   dist + det tokens, mid position tables, set head, bilinear resampling,
                 a frame-causal temporal block over all tokens
  seed-*         the seed's RingAttention model against its PyTorch mirror

Weights are random (seeded), scaled so activations stay O(1) and every path matters, and
rounded to bf16: the model files store bf16 and the references run on those exact values.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
import model as M  # noqa: E402
import safetensors_io  # noqa: E402

torch.set_num_threads(1)


def randomize(module, gen):
    """Every parameter random: weights ~ N(0, 1/fan_in), biases and tokens ~ N(0, 0.1-0.5),
    LayerNorm gains near 1, so no term vanishes and mistakes show."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2 and ("weight" in name.split(".")[-1] or name.endswith("in_proj_weight")):
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            elif any(n in name for n in ("norm", "ln_", "encoder.ln", "layernorm")) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:  # tokens and position tables
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            # the model files store bf16 (half the bytes, and the C loader's conversion is
            # exercised); the reference runs on exactly the values the file holds
            p.copy_(p.bfloat16().float())


def save_golden(path, frames, times, taps, outs, meta, frames_dtype=torch.float32):
    """frames_dtype float16 halves the input's bytes: the reference must then run on
    frames.to(float16).float(), the values the test reads back."""
    t = {"input.frames": frames.to(frames_dtype)}
    if times is not None:
        t["input.times"] = torch.tensor(times, dtype=torch.float32)
    for k, v in taps.items():
        t[f"tap.{k}"] = v.detach().float().reshape(-1, v.shape[-1])
    for k, v in outs.items():
        t[f"out.{k}"] = v.detach().float()
    safetensors_io.save(path, t, {k: str(v) for k, v in meta.items()})


def case_torchvision(out_dir, gen):
    from torchvision.models.vision_transformer import VisionTransformer
    tv = VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32,
                           mlp_dim=64, num_classes=10).eval()
    randomize(tv, gen)
    frames = torch.rand(2, 32, 32, 3, generator=gen)
    x = ((frames - torch.tensor(M.IMAGENET_MEAN)) / torch.tensor(M.IMAGENET_STD)).permute(0, 3, 1, 2)
    taps = {}
    hooks = [tv.encoder.dropout.register_forward_hook(lambda m, i, o: taps.__setitem__("embed", o)),
             tv.encoder.ln.register_forward_hook(lambda m, i, o: taps.__setitem__("norm", o))]
    for i, layer in enumerate(tv.encoder.layers):
        hooks.append(layer.register_forward_hook(lambda m, inp, o, i=i: taps.__setitem__(f"spatial.{i}", o)))
    with torch.no_grad():
        logits = tv(x)
    for h in hooks:
        h.remove()
    taps = {k: taps[k] for k in ["embed"] + [f"spatial.{i}" for i in range(3)] + ["norm"]}
    cfg, tensors = export.from_torchvision(tv.state_dict(), heads=4)
    export.write(os.path.join(out_dir, "tv-vit.model.safetensors"), cfg, tensors, torch.bfloat16)
    save_golden(os.path.join(out_dir, "tv-vit.golden.safetensors"), frames, None, taps,
                {"scene": logits, "features": taps["norm"]}, dict(input_h=32, input_w=32, frames=2))
    return cfg


def run_mirror(name, cfg, out_dir, gen, n_video, hw, times=None):
    m = M.RvViT(cfg).eval()
    randomize(m, gen)
    c = m.c
    frames = torch.rand(n_video, hw[0], hw[1], 3, generator=gen)
    tokens = M.patchify(frames, c["mean"], c["std"], c["patch"], c["tubelet"])
    n = n_video // c["tubelet"]
    with torch.no_grad():
        outs, taps = m(tokens, n, times, hw)
    export.write(os.path.join(out_dir, f"{name}.model.safetensors"), c, m.state_dict(), torch.bfloat16)
    save_golden(os.path.join(out_dir, f"{name}.golden.safetensors"), frames, times, taps, outs,
                dict(input_h=hw[0], input_w=hw[1], frames=n))


MIRROR_ST = dict(
    name="mirror-st", image_size=32, patch=8, width=32, heads=4, mlp_dim=64, spatial_depth=2,
    temporal_depth=2, temporal_tokens=[2, 2], temporal_scope="window", temporal_window=2,
    time_embed=True, time_scale=2.0, gelu="tanh", fps=2.0,
    head={"dense": {"hidden": 16, "emb_dim": 4}, "scene": {"pool": "mean"}},
    labels={"classes": ["person", "vehicle"], "track_actions": ["walk", "run"],
            "scene_actions": ["crowd", "empty", "traffic"]})

# each temporal token attends only to its own region's history (heads folded per region),
# q and v biases (sliced per part), a causal window of 3 frames
MIRROR_OWN = dict(MIRROR_ST, name="mirror-own", temporal_keys="own_region", temporal_window=3,
                  qkv_bias="qv", temporal_tokens=[2, 3], image_size=[32, 48])

# the dense head split into 2 x 2 output cells per patch, box centres reaching a cell out
MIRROR_SUB = dict(MIRROR_ST, name="mirror-sub", temporal_depth=1,
                  head={"dense": {"hidden": 16, "emb_dim": 4, "sub": 2, "reach": 1}, "scene": {"pool": "mean"}})

MIRROR_VIDEOMAE = dict(
    name="mirror-videomae", image_size=32, patch=8, tubelet=2, width=32, heads=4, mlp_dim=48,
    spatial_depth=0, temporal_depth=2, cls_token=False, pos_embed="sinusoidal", qkv_bias="qv",
    final_norm=False, ln_eps=1e-12, num_frames=8, mean=[0.45, 0.45, 0.45], std=[0.225, 0.225, 0.225],
    head={"scene": {"pool": "mean", "fc_norm": True, "over": "clip", "activation": "softmax"}},
    num_scene_actions=5)

MIRROR_YOLOS = dict(
    name="mirror-yolos", image_size=32, patch=8, width=32, heads=2, mlp_dim=64, spatial_depth=3,
    temporal_depth=1, temporal_scope="causal", dist_token=True, det_tokens=3, mid_pos_embed=True,
    pos_resample="bilinear", ln_eps=1e-12, head={"set": {}}, labels={"classes": ["person", "bag", "object"]})


def case_seed(out_dir, gen, name, embed, hidden, heads, chunks, layers, window, batch, seq):
    s = M.RvSeed(embed, hidden, heads, chunks, layers, 0.1, window).eval()
    randomize(s, gen)
    # the mirror's chunked ring loop must be causal attention over the whole sequence
    q, k, v = (torch.randn(seq, heads, hidden // heads, generator=gen) for _ in range(3))
    full = M.attention(q, k, v, torch.arange(seq)[:, None] >= torch.arange(seq)[None, :])
    assert torch.allclose(s._ring(q, k, v), full, atol=1e-5), "seed mirror ring loop"
    x = torch.randn(batch, seq, embed, generator=gen)
    with torch.no_grad():
        y = s(x)
    export.write(os.path.join(out_dir, f"{name}.model.safetensors"), s.cfg, s.state_dict(), torch.bfloat16)
    safetensors_io.save(os.path.join(out_dir, f"{name}.golden.safetensors"),
                        {"input.x": x, "out.y": y}, {"batch": str(batch), "seq": str(seq)})


def main():
    root = os.path.dirname(os.path.dirname(HERE))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "vit")
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261203)
    case_torchvision(out_dir, gen)
    run_mirror("mirror-st", MIRROR_ST, out_dir, gen, 5, (40, 48), [0.0, 0.4, 1.1, 1.5, 2.0])
    run_mirror("mirror-videomae", MIRROR_VIDEOMAE, out_dir, gen, 8, (32, 32))
    run_mirror("mirror-yolos", MIRROR_YOLOS, out_dir, gen, 3, (24, 40))
    case_seed(out_dir, gen, "seed-proj", 12, 32, 4, 4, 2, 16, 2, 16)
    case_seed(out_dir, gen, "seed-short", 16, 16, 2, 2, 1, 8, 3, 4)
    run_mirror("mirror-own", MIRROR_OWN, out_dir, gen, 7, (40, 48), [0.0, 0.4, 1.1, 1.5, 2.0, 2.2, 3.0])
    run_mirror("mirror-sub", MIRROR_SUB, out_dir, gen, 3, (32, 48), [0.0, 0.5, 1.0])
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{out_dir}: {len(os.listdir(out_dir))} files, {total} bytes")


if __name__ == "__main__":
    main()
