"""Name maps of vit/train/export.py for checkpoints of libraries not installed here (timm,
Hugging Face transformers): state dicts are built with those libraries' exact key names
and shapes, converted, loaded strictly into our PyTorch mirror, and its outputs compared
with a tiny reference forward pass of each library written against the library's own key
names. The reference functions below (ref_*) are OURS, written from those libraries'
published model code for this test; they are not the libraries. The real libraries' goldens
come from vit/train/goldens_gpu.py on a machine that has them.

Each converted file is also loaded by the C loader (`ringvit info`, argv[1]).

    /usr/bin/python3 tests/vit/test_export.py build/ringvit
"""
import math
import os
import subprocess
import sys
import tempfile

import train_env  # skips the test without torch

train_env.require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import export  # noqa: E402
import model as M  # noqa: E402

G = torch.Generator().manual_seed(7)
D, HEADS, MLP, P, IMG, DEPTH = 32, 4, 64, 8, 32, 2
N = (IMG // P) ** 2


def rnd(*shape, scale=None):
    fan = shape[-1] if len(shape) > 1 else 1
    return torch.randn(shape, generator=G) * (scale if scale is not None else 1 / math.sqrt(fan))


def lin(sd, name, out, inp, bias=True):
    sd[f"{name}.weight"] = rnd(out, inp)
    if bias:
        sd[f"{name}.bias"] = rnd(out, scale=0.1)


def ln(sd, name, d=D):
    sd[f"{name}.weight"] = 1 + rnd(d, scale=0.1)
    sd[f"{name}.bias"] = rnd(d, scale=0.1)


def ref_attn(x, q, k, v, heads):
    b, n, d = x.shape
    q, k, v = (t.reshape(b, n, heads, d // heads).transpose(1, 2) for t in (q, k, v))
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), dim=-1)
    return (a @ v).transpose(1, 2).reshape(b, n, d)


def pixels(b, t=None):
    shape = (b, IMG, IMG, 3) if t is None else (b * t, IMG, IMG, 3)
    return torch.rand(shape, generator=G)


def run_mirror(cfg, tensors, frames, n):
    m = M.RvViT(cfg).eval()
    missing = m.load_state_dict(tensors, strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    c = m.c
    tok = M.patchify(frames, c["mean"], c["std"], c["patch"], c["tubelet"])
    with torch.no_grad():
        return m(tok, n, None, (IMG, IMG))[0]


def close(name, got, want):
    err = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
    status = "ok" if err < 1e-5 else "FAIL"
    print(f"  {name:36s} rel err {err:.2e} {status}")
    return err < 1e-5


# ---- timm VisionTransformer / DeiT ----

def timm_sd(dist=False, avg=False):
    sd = {"patch_embed.proj.weight": rnd(D, 3, P, P, scale=0.1), "patch_embed.proj.bias": rnd(D, scale=0.1),
          "cls_token": rnd(1, 1, D, scale=0.5), "pos_embed": rnd(1, N + 1 + int(dist), D, scale=0.5)}
    if dist:
        sd["dist_token"] = rnd(1, 1, D, scale=0.5)
    for i in range(DEPTH):
        b = f"blocks.{i}"
        ln(sd, f"{b}.norm1")
        lin(sd, f"{b}.attn.qkv", 3 * D, D)
        lin(sd, f"{b}.attn.proj", D, D)
        ln(sd, f"{b}.norm2")
        lin(sd, f"{b}.mlp.fc1", MLP, D)
        lin(sd, f"{b}.mlp.fc2", D, MLP)
    ln(sd, "fc_norm" if avg else "norm")
    lin(sd, "head", 10, D)
    if dist:
        lin(sd, "head_dist", 10, D)
    return sd


def ref_timm(sd, x, dist=False, avg=False):
    """timm's VisionTransformer.forward_features + forward_head (our transcription)."""
    b = x.shape[0]
    t = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=P).flatten(2).transpose(1, 2)
    pre = [sd["cls_token"].expand(b, -1, -1)] + ([sd["dist_token"].expand(b, -1, -1)] if dist else [])
    t = torch.cat(pre + [t], dim=1) + sd["pos_embed"]
    for i in range(DEPTH):
        p = f"blocks.{i}"
        h = F.layer_norm(t, (D,), sd[f"{p}.norm1.weight"], sd[f"{p}.norm1.bias"], 1e-6)
        qkv = F.linear(h, sd[f"{p}.attn.qkv.weight"], sd[f"{p}.attn.qkv.bias"])
        t = t + F.linear(ref_attn(h, *qkv.chunk(3, dim=-1), HEADS), sd[f"{p}.attn.proj.weight"], sd[f"{p}.attn.proj.bias"])
        h = F.layer_norm(t, (D,), sd[f"{p}.norm2.weight"], sd[f"{p}.norm2.bias"], 1e-6)
        h = F.linear(F.gelu(F.linear(h, sd[f"{p}.mlp.fc1.weight"], sd[f"{p}.mlp.fc1.bias"])), sd[f"{p}.mlp.fc2.weight"], sd[f"{p}.mlp.fc2.bias"])
        t = t + h
    if avg:
        pooled = F.layer_norm(t[:, 1 + int(dist):].mean(1), (D,), sd["fc_norm.weight"], sd["fc_norm.bias"], 1e-6)
        return t, F.linear(pooled, sd["head.weight"], sd["head.bias"])
    t = F.layer_norm(t, (D,), sd["norm.weight"], sd["norm.bias"], 1e-6)
    return t, F.linear(t[:, 0], sd["head.weight"], sd["head.bias"])


def imagenet(frames):
    return ((frames - torch.tensor(M.IMAGENET_MEAN)) / torch.tensor(M.IMAGENET_STD)).permute(0, 3, 1, 2)


def check_timm(tmp, cli):
    ok = True
    for dist, avg in ((False, False), (True, False), (False, True)):
        sd = timm_sd(dist, avg)
        cfg, tensors = export.from_timm(sd, heads=HEADS)
        frames = pixels(2)
        feats, logits = ref_timm(sd, imagenet(frames), dist, avg)
        out = run_mirror(cfg, tensors, frames, 2)
        tag = "timm" + (" deit-distilled" if dist else "") + (" avg-pool" if avg else "")
        if not avg:
            ok &= close(f"{tag} features", out["features"], feats)
        ok &= close(f"{tag} logits", out["scene"], logits)
        ok &= c_loads(tmp, cli, cfg, tensors, tag)
    return ok


# ---- Hugging Face ViT, VideoMAE, YOLOS ----

def hf_layers(sd, pre, qv=False):
    for i in range(DEPTH):
        s = f"{pre}encoder.layer.{i}"
        a = f"{s}.attention.attention"
        for part in ("query", "key", "value"):
            lin(sd, f"{a}.{part}", D, D, bias=not qv)
        if qv:
            sd[f"{a}.q_bias"], sd[f"{a}.v_bias"] = rnd(D, scale=0.1), rnd(D, scale=0.1)
        lin(sd, f"{s}.attention.output.dense", D, D)
        ln(sd, f"{s}.layernorm_before")
        ln(sd, f"{s}.layernorm_after")
        lin(sd, f"{s}.intermediate.dense", MLP, D)
        lin(sd, f"{s}.output.dense", D, MLP)


def ref_hf_layer(sd, s, t, eps, qv=False):
    """transformers' ViTLayer / VideoMAELayer (our transcription): pre-norm, separate q/k/v."""
    a = f"{s}.attention.attention"
    h = F.layer_norm(t, (D,), sd[f"{s}.layernorm_before.weight"], sd[f"{s}.layernorm_before.bias"], eps)
    if qv:
        q = F.linear(h, sd[f"{a}.query.weight"], sd[f"{a}.q_bias"])
        k = F.linear(h, sd[f"{a}.key.weight"], torch.zeros(D))
        v = F.linear(h, sd[f"{a}.value.weight"], sd[f"{a}.v_bias"])
    else:
        q, k, v = (F.linear(h, sd[f"{a}.{n}.weight"], sd[f"{a}.{n}.bias"]) for n in ("query", "key", "value"))
    t = t + F.linear(ref_attn(h, q, k, v, HEADS), sd[f"{s}.attention.output.dense.weight"], sd[f"{s}.attention.output.dense.bias"])
    h = F.layer_norm(t, (D,), sd[f"{s}.layernorm_after.weight"], sd[f"{s}.layernorm_after.bias"], eps)
    h = F.gelu(F.linear(h, sd[f"{s}.intermediate.dense.weight"], sd[f"{s}.intermediate.dense.bias"]))
    return t + F.linear(h, sd[f"{s}.output.dense.weight"], sd[f"{s}.output.dense.bias"])


HF = dict(hidden_size=D, num_attention_heads=HEADS, intermediate_size=MLP, num_hidden_layers=DEPTH,
          image_size=IMG, patch_size=P, layer_norm_eps=1e-12, hidden_act="gelu")


def check_hf_vit(tmp, cli):
    sd = {"vit.embeddings.cls_token": rnd(1, 1, D, scale=0.5), "vit.embeddings.position_embeddings": rnd(1, N + 1, D, scale=0.5),
          "vit.embeddings.patch_embeddings.projection.weight": rnd(D, 3, P, P, scale=0.1),
          "vit.embeddings.patch_embeddings.projection.bias": rnd(D, scale=0.1)}
    hf_layers(sd, "vit.")
    ln(sd, "vit.layernorm")
    lin(sd, "classifier", 5, D)
    hf = dict(HF, id2label={str(i): f"class{i}" for i in range(5)})
    cfg, tensors = export.from_hf_vit(sd, hf)
    frames = pixels(2)
    x = ((frames - 0.5) / 0.5).permute(0, 3, 1, 2)
    e = "vit.embeddings"
    t = F.conv2d(x, sd[f"{e}.patch_embeddings.projection.weight"], sd[f"{e}.patch_embeddings.projection.bias"], stride=P)
    t = torch.cat([sd[f"{e}.cls_token"].expand(2, -1, -1), t.flatten(2).transpose(1, 2)], 1) + sd[f"{e}.position_embeddings"]
    for i in range(DEPTH):
        t = ref_hf_layer(sd, f"vit.encoder.layer.{i}", t, 1e-12)
    t = F.layer_norm(t, (D,), sd["vit.layernorm.weight"], sd["vit.layernorm.bias"], 1e-12)
    out = run_mirror(cfg, tensors, frames, 2)
    assert cfg["labels"]["scene_actions"][4] == "class4"
    return (close("hf-vit features", out["features"], t)
            & close("hf-vit logits", out["scene"], F.linear(t[:, 0], sd["classifier.weight"], sd["classifier.bias"]))
            & c_loads(tmp, cli, cfg, tensors, "hf-vit"))


def check_videomae(tmp, cli):
    T, FR = 2, 4
    sd = {"videomae.embeddings.patch_embeddings.projection.weight": rnd(D, 3, T, P, P, scale=0.1),
          "videomae.embeddings.patch_embeddings.projection.bias": rnd(D, scale=0.1)}
    hf_layers(sd, "videomae.", qv=True)
    ln(sd, "fc_norm")
    lin(sd, "classifier", 6, D)
    hf = dict(HF, tubelet_size=T, num_frames=FR, use_mean_pooling=True, qkv_bias=True)
    cfg, tensors = export.from_videomae(sd, hf)
    frames = pixels(1, FR)
    x = imagenet(frames).permute(1, 0, 2, 3)[None]  # [1, C, T, H, W]
    pe = "videomae.embeddings.patch_embeddings.projection"
    t = F.conv3d(x, sd[f"{pe}.weight"], sd[f"{pe}.bias"], stride=(T, P, P)).flatten(2).transpose(1, 2)
    n_tok = t.shape[1]
    pos = torch.tensor([[p / 10000 ** (2 * (j // 2) / D) for j in range(D)] for p in range(n_tok)], dtype=torch.float64)
    pos[:, 0::2], pos[:, 1::2] = torch.sin(pos[:, 0::2]), torch.cos(pos[:, 1::2])
    t = t + pos.float()[None]
    for i in range(DEPTH):
        t = ref_hf_layer(sd, f"videomae.encoder.layer.{i}", t, 1e-12, qv=True)
    pooled = F.layer_norm(t.mean(1), (D,), sd["fc_norm.weight"], sd["fc_norm.bias"], 1e-12)
    out = run_mirror(cfg, tensors, frames, FR // T)
    return (close("videomae tokens", out["features"].reshape(1, -1, D), t)
            & close("videomae logits", out["scene"], F.linear(pooled, sd["classifier.weight"], sd["classifier.bias"]))
            & c_loads(tmp, cli, cfg, tensors, "videomae"))


def check_yolos(tmp, cli):
    NDET, NCLS = 5, 3
    e = "vit.embeddings"
    sd = {f"{e}.cls_token": rnd(1, 1, D, scale=0.5), f"{e}.detection_tokens": rnd(1, NDET, D, scale=0.5),
          f"{e}.position_embeddings": rnd(1, 1 + N + NDET, D, scale=0.5),
          f"{e}.patch_embeddings.projection.weight": rnd(D, 3, P, P, scale=0.1),
          f"{e}.patch_embeddings.projection.bias": rnd(D, scale=0.1),
          "vit.encoder.mid_position_embeddings": rnd(DEPTH - 1, 1, 1 + N + NDET, D, scale=0.5)}
    hf_layers(sd, "vit.")
    ln(sd, "vit.layernorm")
    for l, o in enumerate((D, D, NCLS + 1)):
        lin(sd, f"class_labels_classifier.layers.{l}", o, D)
    for l, o in enumerate((D, D, 4)):
        lin(sd, f"bbox_predictor.layers.{l}", o, D)
    hf = dict(HF, num_detection_tokens=NDET, use_mid_position_embeddings=True,
              id2label={str(i): n for i, n in enumerate(("person", "car", "bag"))})
    cfg, tensors = export.from_yolos(sd, hf)
    frames = pixels(2)
    x = imagenet(frames)
    t = F.conv2d(x, sd[f"{e}.patch_embeddings.projection.weight"], sd[f"{e}.patch_embeddings.projection.bias"], stride=P)
    t = torch.cat([sd[f"{e}.cls_token"].expand(2, -1, -1), t.flatten(2).transpose(1, 2),
                   sd[f"{e}.detection_tokens"].expand(2, -1, -1)], 1) + sd[f"{e}.position_embeddings"]
    for i in range(DEPTH):
        t = ref_hf_layer(sd, f"vit.encoder.layer.{i}", t, 1e-12)
        if i < DEPTH - 1:
            t = t + sd["vit.encoder.mid_position_embeddings"][i]
    t = F.layer_norm(t, (D,), sd["vit.layernorm.weight"], sd["vit.layernorm.bias"], 1e-12)
    det = t[:, -NDET:]

    def mlp(prefix, z):
        for l in range(3):
            z = F.linear(z, sd[f"{prefix}.layers.{l}.weight"], sd[f"{prefix}.layers.{l}.bias"])
            z = F.relu(z) if l < 2 else z
        return z
    out = run_mirror(cfg, tensors, frames, 2)
    return (close("yolos logits", out["set_logits"], mlp("class_labels_classifier", det))
            & close("yolos boxes", out["set_boxes"], mlp("bbox_predictor", det).sigmoid())
            & c_loads(tmp, cli, cfg, tensors, "yolos"))


def c_loads(tmp, cli, cfg, tensors, tag):
    """The C loader accepts the converted file (bf16 storage, converted on load)."""
    if not cli:
        return True
    path = os.path.join(tmp, tag.replace(" ", "-") + ".safetensors")
    export.write(path, cfg, tensors, torch.bfloat16)
    r = subprocess.run([cli, "info", "--no-tensors", path], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  {tag}: the C loader refused it: {r.stderr.strip()}")
    return r.returncode == 0


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else None
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        results = [check_timm(tmp, cli), check_hf_vit(tmp, cli), check_videomae(tmp, cli), check_yolos(tmp, cli)]
    passed = sum(bool(r) for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
