"""Parity goldens from timm and Hugging Face transformers themselves (not installed on the
development machine; they are on the lent GPU machine, whose CPU runs this fine):

    python3 vit/train/goldens_gpu.py [OUT_DIR]     # default tests/data/vit

Writes, in the format of goldens.py (CASE.model.safetensors via export.py, and
CASE.golden.safetensors with the input, every block's output and the heads' outputs):

  timm-vit     timm VisionTransformer, cls token + head
  timm-avg     timm VisionTransformer, global average pool + fc_norm
  hf-vit       transformers ViTForImageClassification
  hf-videomae  transformers VideoMAEForVideoClassification (tubelet 2, q/v bias, mean pool)
  hf-yolos     transformers YolosForObjectDetection (mid position tables), run at 40x48 so
               the position tables are resampled by YOLOS's own bicubic interpolation

tests/vit/test-vit-parity.c runs every case whose files exist and reports the others skipped.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
import model as M  # noqa: E402
from goldens import randomize, save_golden  # noqa: E402

torch.set_num_threads(2)


def imagenet(frames):
    return ((frames - torch.tensor(M.IMAGENET_MEAN)) / torch.tensor(M.IMAGENET_STD)).permute(0, 3, 1, 2)


def hook_all(named_modules, taps):
    hs = []
    for name, mod in named_modules:
        hs.append(mod.register_forward_hook(lambda m, i, o, name=name: taps.__setitem__(name, o[0] if isinstance(o, tuple) else o)))
    return hs


def timm_cases(out, gen):
    from timm.models.vision_transformer import VisionTransformer
    for name, kw in (("timm-vit", {}), ("timm-avg", dict(global_pool="avg", fc_norm=True))):
        m = VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=4, mlp_ratio=2.0,
                              num_classes=10, **kw).eval()
        randomize(m, gen)
        frames = torch.rand(2, 32, 32, 3, generator=gen)
        taps = {}
        mods = [("embed", m.pos_drop)] + [(f"spatial.{i}", b) for i, b in enumerate(m.blocks)]
        if not kw:
            mods.append(("norm", m.norm))
        hs = hook_all(mods, taps)
        with torch.no_grad():
            logits = m(imagenet(frames))
        for h in hs:
            h.remove()
        cfg, tensors = export.from_timm(m.state_dict(), heads=4)
        export.write(os.path.join(out, f"{name}.model.safetensors"), cfg, tensors, torch.bfloat16)
        outs = {"scene": logits}
        if not kw:
            outs["features"] = taps["norm"]
        save_golden(os.path.join(out, f"{name}.golden.safetensors"), frames, None, taps, outs,
                    dict(input_h=32, input_w=32, frames=2))


def hf_taps(hidden_states, stage):
    taps = {"embed": hidden_states[0]}
    for i, h in enumerate(hidden_states[1:]):
        taps[f"{stage}.{i}"] = h
    return taps


def hf_vit(out, gen):
    from transformers import ViTConfig, ViTForImageClassification
    hf = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64, image_size=32,
              patch_size=8, num_labels=5)
    m = ViTForImageClassification(ViTConfig(**hf)).eval()
    randomize(m, gen)
    frames = torch.rand(2, 32, 32, 3, generator=gen)
    with torch.no_grad():
        r = m(pixel_values=((frames - 0.5) / 0.5).permute(0, 3, 1, 2), output_hidden_states=True)
        norm = m.vit.layernorm(r.hidden_states[-1])
    taps = hf_taps(r.hidden_states, "spatial")
    taps["norm"] = norm
    cfg, tensors = export.from_hf_vit(m.state_dict(), m.config.to_dict())
    export.write(os.path.join(out, "hf-vit.model.safetensors"), cfg, tensors, torch.bfloat16)
    save_golden(os.path.join(out, "hf-vit.golden.safetensors"), frames, None, taps,
                {"scene": r.logits, "features": norm}, dict(input_h=32, input_w=32, frames=2))


def hf_videomae(out, gen):
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification
    hf = dict(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=4, intermediate_size=64, num_labels=6, use_mean_pooling=True, qkv_bias=True)
    m = VideoMAEForVideoClassification(VideoMAEConfig(**hf)).eval()
    randomize(m, gen)
    frames = torch.rand(4, 32, 32, 3, generator=gen)
    with torch.no_grad():
        r = m(pixel_values=imagenet(frames)[None], output_hidden_states=True)
    cfg, tensors = export.from_videomae(m.state_dict(), m.config.to_dict())
    export.write(os.path.join(out, "hf-videomae.model.safetensors"), cfg, tensors, torch.bfloat16)
    taps = hf_taps(r.hidden_states, "temporal")
    save_golden(os.path.join(out, "hf-videomae.golden.safetensors"), frames, None, taps,
                {"scene": r.logits, "features": r.hidden_states[-1]}, dict(input_h=32, input_w=32, frames=2))


def hf_yolos(out, gen):
    from transformers import YolosConfig, YolosForObjectDetection
    hf = dict(image_size=[32, 32], patch_size=8, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
              intermediate_size=64, num_detection_tokens=5, use_mid_position_embeddings=True, num_labels=3)
    m = YolosForObjectDetection(YolosConfig(**hf)).eval()
    randomize(m, gen)
    frames = torch.rand(2, 40, 48, 3, generator=gen)
    with torch.no_grad():
        r = m(pixel_values=imagenet(frames), output_hidden_states=True)
        norm = m.vit.layernorm(r.hidden_states[-1])
    taps = hf_taps(r.hidden_states, "spatial")
    taps["norm"] = norm
    cfg, tensors = export.from_yolos(m.state_dict(), m.config.to_dict())
    export.write(os.path.join(out, "hf-yolos.model.safetensors"), cfg, tensors, torch.bfloat16)
    save_golden(os.path.join(out, "hf-yolos.golden.safetensors"), frames, None, taps,
                {"set_logits": r.logits, "set_boxes": r.pred_boxes, "features": norm},
                dict(input_h=40, input_w=48, frames=2))


def main():
    root = os.path.dirname(os.path.dirname(HERE))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "vit")
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(20261204)
    timm_cases(out, gen)
    hf_vit(out, gen)
    hf_videomae(out, gen)
    hf_yolos(out, gen)
    print(f"wrote the timm and transformers goldens to {out}")


if __name__ == "__main__":
    main()
