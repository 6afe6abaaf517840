"""PyTorch mirror of ringvit's C encoder (vit/encoder.c, vit/heads.c) and seed model
(vit/seed.c): the same config JSON, the same tensor names, the same arithmetic, so a
model trained here runs in C and the C code is tested against this.

A "frame" is one tubelet group. Input tokens are what rv_patchify makes (see patchify()).
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _pair(v):
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def normalize_config(cfg):
    """Fills the defaults the C parser (vit/config.c) applies; returns a new dict."""
    c = dict(cfg)
    c.setdefault("arch", "vit")
    c.setdefault("tubelet", 1)
    c.setdefault("mlp_dim", int(round(c.pop("mlp_ratio", 4.0) * c["width"])))
    c.setdefault("temporal_depth", 0)
    c.setdefault("temporal_tokens", "all")
    c.setdefault("temporal_scope", "global")
    c.setdefault("temporal_window", 0)
    c.setdefault("temporal_keys", "all_regions")
    c.setdefault("pos_embed", "learned")
    c.setdefault("pos_resample", "bicubic")
    c.setdefault("time_embed", False)
    c.setdefault("time_scale", 1.0)
    c.setdefault("cls_token", True)
    c.setdefault("dist_token", False)
    c.setdefault("det_tokens", 0)
    c.setdefault("mid_pos_embed", False)
    c.setdefault("ln_eps", 1e-6)
    c.setdefault("gelu", "erf")
    c.setdefault("qkv_bias", "qkv")
    c.setdefault("final_norm", True)
    c.setdefault("mean", IMAGENET_MEAN)
    c.setdefault("std", IMAGENET_STD)
    c.setdefault("fps", 0.0)
    c.setdefault("num_frames", 0)
    labels = c.get("labels", {})
    for key, kind in (("num_classes", "classes"), ("num_track_actions", "track_actions"),
                      ("num_scene_actions", "scene_actions")):
        c.setdefault(key, len(labels.get(kind, [])))
    return c


def patchify(frames, mean, std, patch, tubelet):
    """frames [F, H, W, 3] floats in 0..1 -> tokens [(F/T)(H/P)(W/P), 3 T P P] ordered
    (frame group, patch row, patch col) with features (channel, t, y, x): rv_patchify."""
    f, h, w, _ = frames.shape
    x = (frames - torch.tensor(mean, device=frames.device)) / torch.tensor(std, device=frames.device)
    x = x.reshape(f // tubelet, tubelet, h // patch, patch, w // patch, patch, 3)
    x = x.permute(0, 2, 4, 6, 1, 3, 5)  # g, gy, gx, c, t, y, x
    return x.reshape(-1, 3 * tubelet * patch * patch)


def sincos(pos, dim):
    """[len(pos), dim] with sin at even and cos at odd columns (VideoMAE's table)."""
    pos = torch.as_tensor(pos, dtype=torch.float64).reshape(-1, 1)
    i = torch.arange(dim, dtype=torch.float64)
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), 2 * torch.div(i, 2, rounding_mode="floor") / dim)
    out = torch.where(i.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return out.float()


def resample_grid(table, gh, gw, oh, ow, mode):
    """[gh*gw, D] -> [oh*ow, D] as timm's resample_abs_pos_embed (no antialias)."""
    if (gh, gw) == (oh, ow):
        return table
    g = table.reshape(1, gh, gw, -1).permute(0, 3, 1, 2)
    g = F.interpolate(g, size=(oh, ow), mode=mode, align_corners=False)
    return g.permute(0, 2, 3, 1).reshape(oh * ow, -1)


def frame_mask(nq, nk, tpf, scope, window, device=None):
    """Bool [nq, nk]: which keys a query may see, by frame distance."""
    qf = torch.arange(nq, device=device) // tpf
    kf = torch.arange(nk, device=device) // tpf
    d = qf[:, None] - kf[None, :]
    if scope == "global":
        return torch.ones(nq, nk, dtype=torch.bool, device=device)
    if scope == "causal":
        return d >= 0
    if scope == "window":
        return (d >= 0) & (d < window)
    if scope == "band":
        return d.abs() < window
    raise ValueError(scope)


def attention(q, k, v, mask=None):
    """q [N, H, hd], k/v [M, H, hd] -> [N, H * hd]."""
    s = torch.einsum("nhd,mhd->hnm", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~mask[None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.einsum("hnm,mhd->nhd", p, v).reshape(q.shape[0], -1)


class Attn(nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d, bias=bias == "qkv")
        if bias == "qv":
            self.q_bias = nn.Parameter(torch.zeros(d))
            self.v_bias = nn.Parameter(torch.zeros(d))
        self.proj = nn.Linear(d, d)
        self.bias_kind = bias

    def qkv_bias(self):
        if self.bias_kind == "qv":
            return torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
        return self.qkv.bias


class Mlp(nn.Module):
    def __init__(self, d, m):
        super().__init__()
        self.fc1 = nn.Linear(d, m)
        self.fc2 = nn.Linear(m, d)


class Block(nn.Module):
    """x += proj(attn(ln1 x)); x += fc2(gelu(fc1(ln2 x)))"""

    def __init__(self, c):
        super().__init__()
        d = c["width"]
        self.heads = c["heads"]
        self.norm1 = nn.LayerNorm(d, eps=c["ln_eps"])
        self.attn = Attn(d, c["qkv_bias"])
        self.norm2 = nn.LayerNorm(d, eps=c["ln_eps"])
        self.mlp = Mlp(d, c["mlp_dim"])
        self.gelu = "tanh" if c["gelu"] == "tanh" else "none"

    def forward(self, x, seq, mask=None, fold=1):
        """x [rows, D]; attention within consecutive groups of `seq` rows (mask [seq, seq]).
        fold > 1: each run of `fold` rows (a frame's regions) is one key position with fold x
        heads, so a row attends only to the rows at its own place in the other runs (mask
        [seq / fold, seq / fold]): each region's history, as the C engine's "own_region"."""
        h = self.norm1(x)
        qkv = F.linear(h, self.attn.qkv.weight, self.attn.qkv_bias())
        d = x.shape[1]
        hd = d // self.heads
        outs = []
        for r0 in range(0, x.shape[0], seq):
            part = qkv[r0:r0 + seq]
            q, k, v = (part[:, i * d:(i + 1) * d].reshape(-1, fold * self.heads, hd) for i in range(3))
            outs.append(attention(q, k, v, mask).reshape(-1, d))
        x = x + self.attn.proj(torch.cat(outs))
        h = F.gelu(self.mlp.fc1(self.norm2(x)), approximate=self.gelu)
        return x + self.mlp.fc2(h)


class Mlp3(nn.Module):
    def __init__(self, d, out):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, out)])

    def forward(self, x):
        x = F.relu(self.layers[0](x))
        x = F.relu(self.layers[1](x))
        return self.layers[2](x)


class Heads(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h = c["width"], c.get("head", {})
        if "dense" in h:
            dh = h["dense"].get("hidden", 0)
            ch = 1 + c["num_classes"] + 4 + c["num_track_actions"] + h["dense"].get("emb_dim", 0)
            ch *= dense_sub(c) ** 2  # a patch's sub x sub cells, one after another
            self.dense = nn.Module()
            if dh:
                self.dense.hidden = nn.Linear(d, dh)
            self.dense.out = nn.Linear(dh or d, ch)
        if "scene" in h:
            self.scene = nn.Linear(d, c["num_scene_actions"])
        if "set" in h:
            self.set = nn.Module()
            # state-dict names head.set.class.{0,1,2} / head.set.box.{0,1,2}
            self.set.add_module("class", nn.ModuleList(Mlp3(d, c["num_classes"] + 1).layers))
            self.set.box = nn.ModuleList(Mlp3(d, 4).layers)


def dense_sub(c):
    """head.dense.sub: each patch cell split into sub x sub output cells (1: none)."""
    return c.get("head", {}).get("dense", {}).get("sub", 1)


def per_cell(t, sub):
    """The dense head's output-layer weight or bias [sub^2 ch, ...] as [sub^2, ch, ...]: each
    output cell's rows (a view: writing it writes t)."""
    return t.view(sub * sub, -1, *t.shape[1:])


def fine_cells(dense, gh, gw, sub):
    """The dense head's output as the C engine emits it, [F, gh * gw * sub^2, ch] (each
    patch's sub x sub cells row-major, patch after patch), in the row-major order of the
    (gh sub) x (gw sub) grid of output cells (the trainer's targets)."""
    if sub == 1:
        return dense
    f, ch = dense.shape[0], dense.shape[-1]
    return dense.reshape(f, gh, gw, sub, sub, ch).permute(0, 1, 3, 2, 4, 5).reshape(f, gh * sub * gw * sub, ch)


def _mlp3(layers, x):
    x = F.relu(layers[0](x))
    x = F.relu(layers[1](x))
    return layers[2](x)


def from_file(path):
    """The model a safetensors file of ours holds (its config from the metadata), in eval mode."""
    import safetensors_io  # beside this file
    tensors, meta = safetensors_io.load(path)
    m = RvViT(json.loads(meta["ringvit"])).eval()
    m.load_state_dict({k: v.float() for k, v in tensors.items()})
    return m


class RvViT(nn.Module):
    """Our encoder. forward(tokens, n_frames, times, input_hw) -> (outputs, taps)."""

    def __init__(self, cfg):
        super().__init__()
        c = self.c = normalize_config(cfg)
        d = c["width"]
        self.ih, self.iw = _pair(c["image_size"])
        p, t = c["patch"], c["tubelet"]
        self.gh0, self.gw0 = self.ih // p, self.iw // p
        self.npre = int(c["cls_token"]) + int(c["dist_token"])
        self.ndet = c["det_tokens"]
        n_pos = self.npre + self.gh0 * self.gw0 + self.ndet
        self.patch_embed = nn.Linear(3 * t * p * p, d)
        if c["cls_token"]:
            self.cls_token = nn.Parameter(torch.zeros(1, d))
        if c["dist_token"]:
            self.dist_token = nn.Parameter(torch.zeros(1, d))
        if self.ndet:
            self.det_tokens = nn.Parameter(torch.zeros(self.ndet, d))
        if c["pos_embed"] == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(n_pos, d))
        if c["mid_pos_embed"]:
            self.mid_pos_embed = nn.Parameter(torch.zeros(c["spatial_depth"] - 1, n_pos, d))
        self.spatial = nn.ModuleList(Block(c) for _ in range(c["spatial_depth"]))
        self.temporal = nn.ModuleList(Block(c) for _ in range(c["temporal_depth"]))
        if c["final_norm"]:
            self.norm = nn.LayerNorm(d, eps=c["ln_eps"])
        scene = c.get("head", {}).get("scene")
        if scene and scene.get("fc_norm"):
            self.fc_norm = nn.LayerNorm(d, eps=c["ln_eps"])
        self.head = Heads(c)

    def config_json(self):
        return json.dumps(self.c)

    def load_resized(self, sd):
        """load_state_dict from a model of another input size with the same patch: its learned
        position table is resampled to this grid (its grid is the factorisation of its row
        count closest to this one's aspect), as the C engine resamples at run time."""
        pe = sd.get("pos_embed")
        n_grid = self.gh0 * self.gw0
        if pe is not None and pe.shape[0] != self.pos_embed.shape[0]:
            rows = pe.shape[0] - self.npre - self.ndet
            gh, gw = min(((h, rows // h) for h in range(1, rows + 1) if rows % h == 0),
                         key=lambda g: abs(math.log(g[1] / g[0] * self.gh0 / self.gw0)))
            grid = resample_grid(pe[self.npre:self.npre + rows], gh, gw, self.gh0, self.gw0, self.c["pos_resample"])
            sd = dict(sd, pos_embed=torch.cat([pe[:self.npre], grid, pe[self.npre + rows:]]))
            assert sd["pos_embed"].shape[0] == self.npre + n_grid + self.ndet
        self.load_state_dict(sd)

    def _fit_pos(self, table, gh, gw):
        pre, grid, det = table[:self.npre], table[self.npre:self.npre + self.gh0 * self.gw0], table[self.npre + self.gh0 * self.gw0:]
        grid = resample_grid(grid, self.gh0, self.gw0, gh, gw, self.c["pos_resample"])
        return torch.cat([pre, grid, det])

    def _embed(self, tokens, n, gh, gw):
        d, npch = self.c["width"], gh * gw
        patches = self.patch_embed(tokens).reshape(n, npch, d)
        parts = []
        if self.c["cls_token"]:
            parts.append(self.cls_token.expand(n, 1, d))
        if self.c["dist_token"]:
            parts.append(self.dist_token.expand(n, 1, d))
        parts.append(patches)
        if self.ndet:
            parts.append(self.det_tokens.expand(n, self.ndet, d))
        x = torch.cat(parts, dim=1)
        seq = x.shape[1]
        if self.c["pos_embed"] == "learned":
            x = x + self._fit_pos(self.pos_embed, gh, gw)
        elif self.c["pos_embed"] == "sinusoidal":
            x = x + sincos(torch.arange(n * seq), d).to(x.device).reshape(n, seq, d)
        return x.reshape(n * seq, d), seq

    def _pool_mats(self, gh, gw):
        kh, kw = _pair(self.c["temporal_tokens"])
        pool = torch.zeros(kh * kw, gh * gw)
        for i in range(kh):
            for j in range(kw):
                r0, r1 = i * gh // kh, -(-(i + 1) * gh // kh)
                c0, c1 = j * gw // kw, -(-(j + 1) * gw // kw)
                m = torch.zeros(gh, gw)
                m[r0:r1, c0:c1] = 1.0 / ((r1 - r0) * (c1 - c0))
                pool[i * kw + j] = m.reshape(-1)
        region = (torch.arange(gh)[:, None] * kh // gh) * kw + torch.arange(gw)[None, :] * kw // gw
        unpool = F.one_hot(region.reshape(-1), kh * kw).float()
        return pool, unpool

    def _temporal(self, x, n, seq, gh, gw, times, taps):
        c, d = self.c, self.c["width"]
        pooled = c["temporal_tokens"] != "all"
        if pooled:
            pool, unpool = (m.to(x.device) for m in self._pool_mats(gh, gw))
            xf = x.reshape(n, seq, d)
            t = torch.einsum("kn,fnd->fkd", pool, xf[:, self.npre:self.npre + gh * gw])
            tpf = t.shape[1]
            s = t.reshape(n * tpf, d)
        else:
            tpf, s = seq, x
        t0, s = self.temporal_tokens(s, n, tpf, times, taps)
        if not pooled:
            return s
        delta = torch.einsum("nk,fkd->fnd", unpool, (s - t0).reshape(n, tpf, d))
        xf = x.reshape(n, seq, d).clone()
        xf[:, self.npre:self.npre + gh * gw] += delta
        return xf.reshape(n * seq, d)

    def temporal_tokens(self, s, n, tpf, times, taps, mask=None):
        """The temporal blocks over s [n * tpf, D] (tpf tokens per frame, frames at `times`
        seconds): returns (their input with the timestamp embedding, their output). mask:
        the model's scope when None, else what each block's attention takes."""
        c, d = self.c, self.c["width"]
        if c["time_embed"]:
            te = sincos(torch.as_tensor(times, dtype=torch.float64) * c["time_scale"], d).to(s.device)
            s = (s.reshape(n, tpf, d) + te[:, None, :]).reshape(n * tpf, d)
        fold = tpf if c["temporal_keys"] == "own_region" else 1
        if mask is None:
            nk = n * tpf // fold
            mask = frame_mask(nk, nk, tpf // fold, c["temporal_scope"], c["temporal_window"], s.device)
        s0 = s
        for i, blk in enumerate(self.temporal):
            s = blk(s, n * tpf, mask, fold)
            taps[f"temporal.{i}"] = s
        return s0, s

    def dense_head(self, z):
        """The dense head's outputs for features z [..., D] (after the final norm)."""
        if self.c["head"]["dense"].get("hidden", 0):
            z = F.gelu(self.head.dense.hidden(z), approximate="tanh" if self.c["gelu"] == "tanh" else "none")
        return self.head.dense.out(z)

    def forward(self, tokens, n, times=None, input_hw=None):
        c, d = self.c, self.c["width"]
        ih, iw = input_hw or (self.ih, self.iw)
        gh, gw = ih // c["patch"], iw // c["patch"]
        if times is None:
            fps = c["fps"] if c["fps"] > 0 else 1.0
            times = [f * c["tubelet"] / fps for f in range(n)]
        taps = {}
        x, seq = self._embed(tokens, n, gh, gw)
        taps["embed"] = x
        for i, blk in enumerate(self.spatial):
            x = blk(x, seq)
            if c["mid_pos_embed"] and i + 1 < len(self.spatial):
                x = x + self._fit_pos(self.mid_pos_embed[i], gh, gw).repeat(n, 1)
            taps[f"spatial.{i}"] = x
        if self.temporal:
            x = self._temporal(x, n, seq, gh, gw, times, taps)
        if c["final_norm"]:
            x = self.norm(x)
            taps["norm"] = x
        return self._heads(x.reshape(n, seq, d), gh, gw), taps

    def _heads(self, x, gh, gw):
        c, out = self.c, {"features": x}
        h = c.get("head", {})
        patches = x[:, self.npre:self.npre + gh * gw]
        if "dense" in h:
            out["dense"] = self.dense_head(patches).reshape(x.shape[0], gh * gw * dense_sub(c) ** 2, -1)
        if "scene" in h:
            s = h["scene"]
            if s.get("pool", "cls") == "cls":
                pooled = x[:, 0]
            else:
                pooled = patches.mean(dim=1)
            if s.get("over", "frame") == "clip":
                pooled = pooled.mean(dim=0, keepdim=True)
            if s.get("fc_norm"):
                pooled = self.fc_norm(pooled)
            out["scene"] = self.head.scene(pooled)
        if "set" in h:
            det = x[:, self.npre + gh * gw:]
            out["set_logits"] = _mlp3(getattr(self.head.set, "class"), det)
            out["set_boxes"] = torch.sigmoid(_mlp3(self.head.set.box, det))
        return out


class RvSeed(nn.Module):
    """The seed's RingAttention sequence model (vit/include/ringvit/seed.h): same names."""

    def __init__(self, embed_dim, hidden_size=256, num_heads=4, num_chunks=4, num_layers=4,
                 dropout=0.1, window_size=60):
        super().__init__()
        self.cfg = dict(arch="seed", embed_dim=embed_dim, hidden_size=hidden_size, num_heads=num_heads,
                        num_chunks=num_chunks, num_layers=num_layers, dropout=dropout, window_size=window_size)
        h = hidden_size
        if embed_dim != h:
            self.add_module("input_projection", nn.Linear(embed_dim, h))
        for l in range(1, num_layers + 1):
            self.add_module(f"ring_{l}_attn_norm", nn.LayerNorm(h, eps=1e-5))
            self.add_module(f"ring_{l}_qkv", nn.Linear(h, 3 * h))
            self.add_module(f"ring_{l}_out_proj", nn.Linear(h, h))
            self.add_module(f"ring_{l}_ffn_norm", nn.LayerNorm(h, eps=1e-5))
            self.add_module(f"ring_{l}_ffn_up", nn.Linear(h, 4 * h))
            self.add_module(f"ring_{l}_ffn_down", nn.Linear(4 * h, h))
        self.final_norm = nn.LayerNorm(h, eps=1e-5)

    @staticmethod
    def output_size(hidden_size=256, **_):
        return hidden_size

    def _ring(self, q, k, v):
        """Query chunks visit key chunks in ring order with an online softmax (the seed's loop)."""
        n = self.cfg["num_chunks"]
        seq = q.shape[0]
        ch = seq // n
        scale = math.sqrt(q.shape[-1])
        outs = []
        for qi in range(n):
            qc = q[qi * ch:(qi + 1) * ch]
            acc = torch.zeros_like(qc)
            mx = torch.full(qc.shape[:2], float("-inf"))
            tot = torch.zeros(qc.shape[:2])
            for step in range(n):
                kv = (qi + step) % n
                kc, vc = k[kv * ch:(kv + 1) * ch], v[kv * ch:(kv + 1) * ch]
                s = torch.einsum("nhd,mhd->nhm", qc, kc) / scale
                allowed = (torch.arange(ch)[:, None] + qi * ch) >= (torch.arange(ch)[None, :] + kv * ch)
                s = s.masked_fill(~allowed[:, None, :], float("-inf"))
                new = torch.maximum(mx, s.max(dim=-1).values)
                old_scale = torch.exp(mx - new).nan_to_num(0.0)
                e = torch.exp(s - new[..., None]).nan_to_num(0.0)
                tot = tot * old_scale + e.sum(-1)
                acc = acc * old_scale[..., None] + torch.einsum("nhm,mhd->nhd", e, vc)
                mx = new
            outs.append(acc / tot[..., None])
        return torch.cat(outs).reshape(seq, -1)

    def forward(self, x):
        """x [batch, seq, embed_dim] -> [batch, hidden_size] of the last timestep."""
        c = self.cfg
        h, heads = c["hidden_size"], c["num_heads"]
        if c["embed_dim"] != h:
            x = self.input_projection(x)
        rows = []
        for b in range(x.shape[0]):
            z = x[b]
            for l in range(1, c["num_layers"] + 1):
                qkv = getattr(self, f"ring_{l}_qkv")(getattr(self, f"ring_{l}_attn_norm")(z))
                q, k, v = (qkv[:, i * h:(i + 1) * h].reshape(-1, heads, h // heads) for i in range(3))
                z = z + getattr(self, f"ring_{l}_out_proj")(self._ring(q, k, v))
                f = getattr(self, f"ring_{l}_ffn_up")(getattr(self, f"ring_{l}_ffn_norm")(z))
                z = z + getattr(self, f"ring_{l}_ffn_down")(F.gelu(f))
            rows.append(self.final_norm(z[-1]))
        return torch.stack(rows)
