"""Converts checkpoints people already have into ringvit's safetensors (config JSON in
__metadata__["ringvit"], our tensor names; see vit/include/ringvit/vit.h).

Name maps: torchvision ViT (vit_b_16 layout), timm ViT / DeiT, HF ViT, HF VideoMAE, HF YOLOS,
and our own PyTorch mirror (vit/train/model.py). Each converter takes a state dict (and,
for Hugging Face models, their config.json as a dict) and returns (config, tensors).

    /usr/bin/python3 vit/train/export.py --from timm --state-dict deit_s.pth --heads 6 -o deit_s.safetensors
    /usr/bin/python3 vit/train/export.py --from hf-vit --state-dict model.safetensors --hf-config config.json -o vit.safetensors
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from model import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402

HALF = [0.5, 0.5, 0.5]


def _count(sd, pattern):
    idx = {int(m.group(1)) for k in sd for m in [re.match(pattern, k)] if m}
    return max(idx) + 1 if idx else 0


def _grid(n_patches):
    g = int(round(n_patches ** 0.5))
    if g * g != n_patches:
        raise ValueError(f"{n_patches} position rows do not form a square grid: give --image-size")
    return g


def _block(out, i, stage, n1, qkv_w, qkv_b, proj, n2, fc1, fc2, sd):
    """Copies one transformer block: each argument names the source prefix or tensors."""
    p = f"{stage}.{i}"
    for dst, src in (("norm1", n1), ("attn.proj", proj), ("norm2", n2), ("mlp.fc1", fc1), ("mlp.fc2", fc2)):
        out[f"{p}.{dst}.weight"] = sd[f"{src}.weight"]
        out[f"{p}.{dst}.bias"] = sd[f"{src}.bias"]
    out[f"{p}.attn.qkv.weight"] = qkv_w
    if qkv_b is not None:
        out[f"{p}.attn.qkv.bias"] = qkv_b


def _scene(out, cfg, w, b, pool, labels=None, **extra):
    out["head.scene.weight"], out["head.scene.bias"] = w, b
    cfg["head"] = {"scene": dict(pool=pool, **extra)}
    cfg["num_scene_actions"] = int(w.shape[0])
    if labels:
        cfg.setdefault("labels", {})["scene_actions"] = labels


def _check_unused(sd, used, known_extra=()):
    left = [k for k in sd if k not in used and not any(re.fullmatch(e, k) for e in known_extra)]
    if left:
        raise ValueError(f"tensors this converter does not understand: {left[:6]}"
                         f"{' ...' if len(left) > 6 else ''}")


class _Tracker(dict):
    """A state dict that records which keys were read."""

    def __init__(self, sd):
        super().__init__(sd)
        self.used = set()

    def __getitem__(self, k):
        self.used.add(k)
        return super().__getitem__(k)


def from_torchvision(sd, heads=None, image_size=None):
    """torchvision.models.VisionTransformer (vit_b_16 and friends)."""
    sd = _Tracker(sd)
    w = sd["conv_proj.weight"]
    d, p = w.shape[0], w.shape[2]
    pos = sd["encoder.pos_embedding"][0]
    g = _grid(pos.shape[0] - 1)
    depth = _count(sd, r"encoder\.layers\.encoder_layer_(\d+)\.")
    fc = "mlp.0" if "encoder.layers.encoder_layer_0.mlp.0.weight" in sd else "mlp.linear_1"
    fc2 = "mlp.3" if fc == "mlp.0" else "mlp.linear_2"
    cfg = dict(name="torchvision-vit", image_size=image_size or g * p, patch=p, width=d, heads=heads or d // 64,
               mlp_dim=sd[f"encoder.layers.encoder_layer_0.{fc}.weight"].shape[0], spatial_depth=depth,
               ln_eps=1e-6, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    out = {"patch_embed.weight": w.reshape(d, -1), "patch_embed.bias": sd["conv_proj.bias"],
           "cls_token": sd["class_token"].reshape(1, d), "pos_embed": pos,
           "norm.weight": sd["encoder.ln.weight"], "norm.bias": sd["encoder.ln.bias"]}
    for i in range(depth):
        s = f"encoder.layers.encoder_layer_{i}"
        _block(out, i, "spatial", f"{s}.ln_1", sd[f"{s}.self_attention.in_proj_weight"],
               sd[f"{s}.self_attention.in_proj_bias"], f"{s}.self_attention.out_proj", f"{s}.ln_2",
               f"{s}.{fc}", f"{s}.{fc2}", sd)
    if "heads.head.weight" in sd:
        if "heads.pre_logits.weight" in sd:
            raise ValueError("heads.pre_logits (representation_size) is not supported")
        _scene(out, cfg, sd["heads.head.weight"], sd["heads.head.bias"], "cls", activation="softmax")
    _check_unused(sd, sd.used)
    return cfg, out


def from_timm(sd, heads=None, image_size=None):
    """timm VisionTransformer / DeiT (cls token, optional dist token, optional fc_norm)."""
    sd = _Tracker(sd)
    w = sd["patch_embed.proj.weight"]
    d, p = w.shape[0], w.shape[2]
    for bad in ("reg_token", "blocks.0.ls1.gamma", "norm_pre.weight", "attn_pool.latent"):
        if bad in sd:
            raise ValueError(f"timm feature {bad!r} is not supported by ringvit's encoder")
    dist = "dist_token" in sd
    npre = 1 + int(dist)
    pos = sd["pos_embed"][0]
    g = _grid(pos.shape[0] - npre)
    depth = _count(sd, r"blocks\.(\d+)\.")
    avg = "fc_norm.weight" in sd
    cfg = dict(name="timm-vit", image_size=image_size or g * p, patch=p, width=d, heads=heads or d // 64,
               mlp_dim=sd["blocks.0.mlp.fc1.weight"].shape[0], spatial_depth=depth, ln_eps=1e-6,
               dist_token=dist, final_norm=not avg, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    out = {"patch_embed.weight": w.reshape(d, -1), "patch_embed.bias": sd["patch_embed.proj.bias"],
           "cls_token": sd["cls_token"].reshape(1, d), "pos_embed": pos}
    if dist:
        out["dist_token"] = sd["dist_token"].reshape(1, d)
    if not avg:
        out["norm.weight"], out["norm.bias"] = sd["norm.weight"], sd["norm.bias"]
    for i in range(depth):
        s = f"blocks.{i}"
        _block(out, i, "spatial", f"{s}.norm1", sd[f"{s}.attn.qkv.weight"], sd.get(f"{s}.attn.qkv.bias"),
               f"{s}.attn.proj", f"{s}.norm2", f"{s}.mlp.fc1", f"{s}.mlp.fc2", sd)
        sd.used.add(f"{s}.attn.qkv.bias")
    if "blocks.0.attn.qkv.bias" not in sd:
        cfg["qkv_bias"] = "none"
    if "head.weight" in sd and sd["head.weight"].numel():
        _scene(out, cfg, sd["head.weight"], sd["head.bias"], "mean" if avg else "cls", activation="softmax",
               fc_norm=avg)
        if avg:
            out["fc_norm.weight"], out["fc_norm.bias"] = sd["fc_norm.weight"], sd["fc_norm.bias"]
    # DeiT's distillation head averages with the cls head at inference; ours keeps the cls head
    _check_unused(sd, sd.used, known_extra=(r"head_dist\.(weight|bias)", r"norm\.(weight|bias)",
                                            r"fc_norm\.(weight|bias)", r"head\.(weight|bias)"))
    return cfg, out


def _hf_blocks(sd, out, pre, depth, stage, qv):
    for i in range(depth):
        s = f"{pre}encoder.layer.{i}"
        a = f"{s}.attention.attention"
        qkv_w = torch.cat([sd[f"{a}.query.weight"], sd[f"{a}.key.weight"], sd[f"{a}.value.weight"]])
        if qv:
            out[f"{stage}.{i}.attn.q_bias"], out[f"{stage}.{i}.attn.v_bias"] = sd[f"{a}.q_bias"], sd[f"{a}.v_bias"]
            qkv_b = None
        elif f"{a}.query.bias" in sd:
            qkv_b = torch.cat([sd[f"{a}.query.bias"], sd[f"{a}.key.bias"], sd[f"{a}.value.bias"]])
        else:
            qkv_b = None
        _block(out, i, stage, f"{s}.layernorm_before", qkv_w, qkv_b, f"{s}.attention.output.dense",
               f"{s}.layernorm_after", f"{s}.intermediate.dense", f"{s}.output.dense", sd)


def _hf_common(hf, name):
    act = hf.get("hidden_act", "gelu")
    if act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"hidden_act {act!r} is not supported")
    img = hf.get("image_size", 224)
    p = hf.get("patch_size", 16)
    ih, iw = (img, img) if isinstance(img, int) else img
    return dict(name=name, image_size=[ih // p * p, iw // p * p], patch=p, width=hf["hidden_size"],
                heads=hf["num_attention_heads"], mlp_dim=hf["intermediate_size"],
                ln_eps=hf.get("layer_norm_eps", 1e-12), gelu="erf" if act == "gelu" else "tanh")


def _id2label(hf, n):
    m = hf.get("id2label")
    if not m or len(m) != n:
        return None
    return [m[str(i)] if str(i) in m else m[i] for i in range(n)]


def _prefix(sd, pre):
    return pre if any(k.startswith(pre) for k in sd) else ""


def from_hf_vit(sd, hf):
    """transformers ViTModel / ViTForImageClassification."""
    sd = _Tracker(sd)
    pre = _prefix(sd, "vit.")
    e = f"{pre}embeddings"
    cfg = _hf_common(hf, "hf-vit")
    d = cfg["width"]
    depth = hf["num_hidden_layers"]
    cfg.update(spatial_depth=depth, qkv_bias="qkv" if hf.get("qkv_bias", True) else "none",
               mean=hf.get("image_mean", HALF), std=hf.get("image_std", HALF))
    w = sd[f"{e}.patch_embeddings.projection.weight"]
    out = {"patch_embed.weight": w.reshape(d, -1), "patch_embed.bias": sd[f"{e}.patch_embeddings.projection.bias"],
           "cls_token": sd[f"{e}.cls_token"].reshape(1, d), "pos_embed": sd[f"{e}.position_embeddings"][0],
           "norm.weight": sd[f"{pre}layernorm.weight"], "norm.bias": sd[f"{pre}layernorm.bias"]}
    _hf_blocks(sd, out, pre, depth, "spatial", qv=False)
    if "classifier.weight" in sd:
        n = sd["classifier.weight"].shape[0]
        _scene(out, cfg, sd["classifier.weight"], sd["classifier.bias"], "cls", _id2label(hf, n), activation="softmax")
    _check_unused(sd, sd.used, known_extra=(rf"{pre}pooler\..*", rf"{e}\.mask_token"))
    return cfg, out


def from_videomae(sd, hf):
    """transformers VideoMAEModel / VideoMAEForVideoClassification: tubelet patches, q/v
    biases, fixed sinusoidal positions, joint space-time attention (our temporal stage over
    every token of the clip), mean pooling + fc_norm."""
    sd = _Tracker(sd)
    pre = _prefix(sd, "videomae.")
    cfg = _hf_common(hf, "hf-videomae")
    d = cfg["width"]
    depth = hf["num_hidden_layers"]
    t = hf.get("tubelet_size", 2)
    mean_pool = hf.get("use_mean_pooling", True)
    cfg.update(tubelet=t, spatial_depth=0, temporal_depth=depth, temporal_scope="global", cls_token=False,
               pos_embed="sinusoidal", qkv_bias="qv" if hf.get("qkv_bias", True) else "none",
               final_norm=not mean_pool, num_frames=hf.get("num_frames", 16),
               mean=hf.get("image_mean", IMAGENET_MEAN), std=hf.get("image_std", IMAGENET_STD))
    w = sd[f"{pre}embeddings.patch_embeddings.projection.weight"]
    out = {"patch_embed.weight": w.reshape(d, -1),
           "patch_embed.bias": sd[f"{pre}embeddings.patch_embeddings.projection.bias"]}
    if not mean_pool:
        out["norm.weight"], out["norm.bias"] = sd[f"{pre}layernorm.weight"], sd[f"{pre}layernorm.bias"]
    _hf_blocks(sd, out, pre, depth, "temporal", qv=cfg["qkv_bias"] == "qv")
    if "classifier.weight" in sd:
        n = sd["classifier.weight"].shape[0]
        if not mean_pool:
            raise ValueError("VideoMAE classification without mean pooling reads a cls token it does not have")
        _scene(out, cfg, sd["classifier.weight"], sd["classifier.bias"], "mean", _id2label(hf, n),
               fc_norm=True, over="clip", activation="softmax")
        out["fc_norm.weight"], out["fc_norm.bias"] = sd["fc_norm.weight"], sd["fc_norm.bias"]
    _check_unused(sd, sd.used)
    return cfg, out


def from_yolos(sd, hf):
    """transformers YolosForObjectDetection: detection tokens, (mid) position tables, the
    class and box MLP heads (boxes decoded by the tracking code)."""
    sd = _Tracker(sd)
    pre = _prefix(sd, "vit.")
    e = f"{pre}embeddings"
    cfg = _hf_common(hf, "hf-yolos")
    d = cfg["width"]
    depth = hf["num_hidden_layers"]
    det = sd[f"{e}.detection_tokens"][0]
    mid = f"{pre}encoder.mid_position_embeddings"
    cfg.update(spatial_depth=depth, det_tokens=det.shape[0], mid_pos_embed=mid in sd,
               qkv_bias="qkv" if hf.get("qkv_bias", True) else "none",
               mean=hf.get("image_mean", IMAGENET_MEAN), std=hf.get("image_std", IMAGENET_STD))
    w = sd[f"{e}.patch_embeddings.projection.weight"]
    out = {"patch_embed.weight": w.reshape(d, -1), "patch_embed.bias": sd[f"{e}.patch_embeddings.projection.bias"],
           "cls_token": sd[f"{e}.cls_token"].reshape(1, d), "det_tokens": det,
           "pos_embed": sd[f"{e}.position_embeddings"][0],
           "norm.weight": sd[f"{pre}layernorm.weight"], "norm.bias": sd[f"{pre}layernorm.bias"]}
    if mid in sd:
        out["mid_pos_embed"] = sd[mid][:, 0]
    _hf_blocks(sd, out, pre, depth, "spatial", qv=False)
    n_cls = sd["class_labels_classifier.layers.2.weight"].shape[0] - 1
    for l in range(3):
        for part in ("weight", "bias"):
            out[f"head.set.class.{l}.{part}"] = sd[f"class_labels_classifier.layers.{l}.{part}"]
            out[f"head.set.box.{l}.{part}"] = sd[f"bbox_predictor.layers.{l}.{part}"]
    cfg["head"] = {"set": {}}
    cfg["num_classes"] = n_cls
    names = _id2label(hf, n_cls)
    if names:
        cfg["labels"] = {"classes": names}
    _check_unused(sd, sd.used, known_extra=(rf"{pre}pooler\..*",))
    return cfg, out


def from_mirror(module):
    """Our own PyTorch mirror (model.RvViT or model.RvSeed): names are ours already."""
    cfg = module.cfg if hasattr(module, "cfg") else module.c
    return dict(cfg), dict(module.state_dict())


CONVERTERS = {"torchvision": from_torchvision, "timm": from_timm, "hf-vit": from_hf_vit,
              "videomae": from_videomae, "yolos": from_yolos}


def write(path, cfg, tensors, dtype=torch.float32):
    """Writes our safetensors; dtype float16/bfloat16 stores halves (the C loader converts)."""
    meta = {"ringvit": json.dumps(cfg), "format": "pt"}
    safetensors_io.save(path, {k: v.detach().to(dtype).contiguous() for k, v in tensors.items()}, meta)


def export_module(module, kind, path, hf_config=None, **kw):
    """Converts a model built in Python (its state_dict) and writes it."""
    sd = module.state_dict()
    cfg, tensors = from_mirror(module) if kind == "mirror" else (
        CONVERTERS[kind](sd, hf_config, **kw) if kind in ("hf-vit", "videomae", "yolos") else CONVERTERS[kind](sd, **kw))
    write(path, cfg, tensors)
    return cfg


def load_state_dict(path):
    if path.endswith(".safetensors"):
        return safetensors_io.load(path)[0]
    obj = torch.load(path, map_location="cpu")
    for key in ("model", "state_dict", "module"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    return obj


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="kind", required=True, choices=sorted(CONVERTERS))
    ap.add_argument("--state-dict", required=True, help=".pth/.pt/.bin (torch.load) or .safetensors")
    ap.add_argument("--hf-config", help="the model's config.json (Hugging Face models)")
    ap.add_argument("--heads", type=int, help="attention heads (torchvision, timm; default width / 64)")
    ap.add_argument("--image-size", type=int, help="trained input size, when the grid is not square")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    sd = load_state_dict(a.state_dict)
    if a.kind in ("hf-vit", "videomae", "yolos"):
        if not a.hf_config:
            ap.error(f"--from {a.kind} needs --hf-config")
        with open(a.hf_config) as f:
            cfg, tensors = CONVERTERS[a.kind](sd, json.load(f))
    else:
        cfg, tensors = CONVERTERS[a.kind](sd, heads=a.heads, image_size=a.image_size)
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    write(a.out, cfg, tensors, dt)
    n = sum(t.numel() for t in tensors.values())
    print(f"{a.out}: {cfg['name']}, {len(tensors)} tensors, {n} parameters")


if __name__ == "__main__":
    main()
