"""The PyTorch side of bench-vit: builds torchvision's VisionTransformer with the given
config (random weights, seeded), exports it to our safetensors for the C side, writes the
benchmark input and torch's logits for it, and times torch's forward pass.

    bench-vit-torch.py OUT_DIR --threads 2 --batch 8 --reps 5 [--image 224 --patch 16 ...]

Prints one line: "torch_fps <frames per second>" (median over reps, after one warm-up).
"""
import argparse
import os
import statistics
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "vit", "train"))
import export  # noqa: E402
import safetensors_io  # noqa: E402
from model import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--width", type=int, default=384)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--mlp", type=int, default=1536)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    from torchvision.models.vision_transformer import VisionTransformer
    m = VisionTransformer(image_size=a.image, patch_size=a.patch, num_layers=a.depth, num_heads=a.heads,
                          hidden_dim=a.width, mlp_dim=a.mlp, num_classes=1000).eval()
    with torch.no_grad():  # torchvision zero-inits the head and biases: make every term count
        for name, p in m.named_parameters():
            if p.dim() == 1 or name.startswith("heads."):
                p.add_(0.02 * torch.randn(p.shape))
    export.export_module(m, "torchvision", os.path.join(a.out_dir, "model.safetensors"), heads=a.heads)
    frames = torch.rand(a.batch, a.image, a.image, 3)
    x = ((frames - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).permute(0, 3, 1, 2).contiguous()
    times = []
    with torch.inference_mode():
        logits = m(x)
        for _ in range(a.reps):
            t0 = time.perf_counter()
            m(x)
            times.append(time.perf_counter() - t0)
    safetensors_io.save(os.path.join(a.out_dir, "io.safetensors"), {"frames": frames, "logits": logits})
    print(f"torch_fps {a.batch / statistics.median(times):.4f}")
    print(f"torch_version {torch.__version__}")


if __name__ == "__main__":
    main()
