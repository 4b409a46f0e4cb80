#!/usr/bin/env python3
"""Trains imagine-mini from the dataset data.py builds, in four stages, and exports a diffusers
folder (fp16 safetensors) that StableDiffusionPipeline and the Swift engine both load.

    nice -n 19 python Weights/recipe/train.py                 # CPU: the committed model
    python Weights/recipe/train.py --gpu --dataset .gpu-pack/imagine-mini-dataset.npz \
        --budget-seconds 450 --vae-share 0.35 --preflight     # one GPU, ≤ 10 minutes (remote/gpu_run.sh)
    ... --resume                                              # continue a stopped run

--dataset takes a data.py dataset folder or a pack from remote/pack.py (decoded in parallel into the same
uint8 array). --budget-seconds fits the VAE and diffusion schedules to a wall-clock budget: each
stage measures its step rate after a few steps and shortens its cosine schedule to end by its
deadline. --preflight first runs every stage for two steps (same models, same device) into
RUN/preflight, so a device-specific failure costs seconds, not the run.

Stages (each checkpoints under CACHE/run/ and is skipped when already finished):
  1. tokenizer   CLIP-format byte-level BPE trained on the training captions
  2. vae         AutoencoderKL, 128² RGB ↔ 16×16×4 latents; afterwards the latents' per-channel
                 mean and spread are folded into quant_conv / post_quant_conv, so the model
                 latents are ≈ zero-mean, unit-variance with scaling_factor 1
  3. latents     every image encoded once (posterior mean and std, fp16)
  4. diffusion   CLIPTextModel + UNet2DConditionModel trained jointly on the cached latents:
                 v-prediction, cosine (squaredcos_cap_v2) schedule, whose last timestep is
                 almost pure noise so few-step sampling with "trailing" timesteps starts right;
                 10 % caption dropout for classifier-free guidance; EMA of both networks
Then export: the EMA weights in fp16 to --out (default Weights/imagine-mini).

Every random draw comes from a generator seeded by (seed, stage, step), so a resumed run
continues exactly as an uninterrupted one would.
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 128
LATENT_SIZE = 16
MAX_TOKENS = 32  # captions are short; 32 positions instead of CLIP's 77 cut text-encoder cost 2.4×
SCHEDULE = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction",
                timestep_spacing="trailing", steps_offset=0, beta_start=0.0001, beta_end=0.02)

# Model sizes. CPU: measured on this 2-core machine when idle (fwd+bwd, batch 64): U-Net
# (64, 128, 128) with the text encoder ≈ 70 img/s, (64, 128, 192) ≈ 59, (32, 64, 128) ≈ 114; VAE
# (16, 32, 64, 128) on 64² crops ≈ 86 img/s. The machine is shared and this runs at nice 19, so
# the run was paused whenever other work benchmarked: ~1,200 VAE steps and 1,200 diffusion steps
# (≈ 12 epochs of the weighted set) were what fit ~70 minutes.
# GPU: an H100 feasibility run used a 40 M U-Net (128, 256, 256 here would be 26.8 M,
# 54 MB in fp16, and with the text encoder and VAE 71 MB): over the 40 MB the embedded model may
# weigh. (96, 160, 160) is 11.2 M parameters, 22.3 MB, 39.7 MB in all with the 9.6 MB text encoder
# and the 7.8 MB VAE (32, 64, 128, 128). Batch 512; the step counts are upper bounds that
# --budget-seconds cuts to fit the run's wall-clock budget.
CONFIGS = {
    "cpu": dict(vae_channels=(16, 32, 64, 128), unet_channels=(64, 128, 128), text_width=256, text_layers=4,
                vocab_size=6144, vae_batch=16, vae_crop=64, vae_steps=1200, vae_lr=1e-3,
                batch=64, steps=1200, lr=6e-4),
    "gpu": dict(vae_channels=(32, 64, 128, 128), unet_channels=(96, 160, 160), text_width=256, text_layers=4,
                vocab_size=6144, vae_batch=64, vae_crop=128, vae_steps=3000, vae_lr=1e-3,
                batch=512, steps=2500, lr=1e-3),
}


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def generator(seed: int, stage: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + stage * 100_003 + step)


# --- dataset ----------------------------------------------------------------------------------
class Dataset:
    """images.npy + records.jsonl from data.py, or the same decoded from a pack.py pack; only the
    training split is ever trained on."""

    def __init__(self, cache: str, path: str = "", limit: int = 0):
        path = path or os.path.join(cache, "dataset")
        if os.path.isdir(path):
            with open(os.path.join(path, "records.jsonl"), encoding="utf-8") as f:
                self.records = [json.loads(line) for line in f]
            self.images = np.load(os.path.join(path, "images.npy"), mmap_mode="r")  # uint8 [N, 128, 128, 3]
        else:
            sys.path.insert(0, os.path.join(HERE, "remote"))
            from pack import load_pack

            started = time.time()
            self.images, self.records, _, meta = load_pack(path)
            log(f"decoded {len(self.images)} images from {path} in {time.time() - started:.1f} s "
                f"({meta['codec']} quality {meta['quality']}, round-trip PSNR {meta['psnr']['mean']} dB)")
        if limit:
            # Smoke tests: an evenly spread subset of both sources and splits.
            keep = np.unique(np.linspace(0, len(self.records) - 1, limit).astype(int))
            self.records = [self.records[i] for i in keep]
            self.images = np.ascontiguousarray(self.images[keep])
        self.train = np.array([i for i, r in enumerate(self.records) if r["split"] == "train"])
        self.weights = torch.tensor([self.records[i]["weight"] for i in self.train], dtype=torch.float64)
        self.device_images = None

    def to_device(self, device: str) -> None:
        """Keeps a uint8 copy of every image on the accelerator (440 MB), so batches are gathered
        there instead of stacked and copied by the CPU each step."""
        if device != "cpu":
            self.device_images = torch.from_numpy(np.ascontiguousarray(self.images)).to(device)

    def pixels(self, indices, device: str = "cpu") -> torch.Tensor:
        """[B, 3, 128, 128] in [-1, 1] on device, contiguous: a channels-last view would make every
        conv and GroupNorm downstream run channels-last, whose CPU GroupNorm backward is several
        times slower."""
        if self.device_images is not None and self.device_images.device.type == torch.device(device).type:
            index = torch.as_tensor(np.asarray(indices, dtype=np.int64)).to(self.device_images.device)
            batch = self.device_images[index]
        else:
            batch = torch.from_numpy(np.stack([self.images[i] for i in indices]))
        return (batch.permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous().to(device)

    def sample(self, count: int, g: torch.Generator) -> np.ndarray:
        """Training-split indices drawn by sampling weight (skin tones and desktop icons rarer)."""
        return self.train[torch.multinomial(self.weights, count, replacement=True, generator=g).numpy()]

    def caption(self, index: int, g: torch.Generator, dropout: float) -> str:
        """One of the item's captions (the best one most often), with its style word half the
        time so "emoji …" / "clip art …" steer the look; empty for classifier-free guidance."""
        draws = torch.rand(4, generator=g).tolist()
        if draws[0] < dropout:
            return ""
        record = self.records[index]
        captions = record["captions"]
        if draws[1] < 0.6 or len(captions) == 1:
            text = captions[0]
        else:
            text = captions[1 + int(draws[3] * (len(captions) - 1))]
        if draws[2] < 0.5:
            text = f"{record['style']} {text}" if draws[2] < 0.25 else f"{text}, {record['style']}"
        return text


# --- 1. tokenizer -----------------------------------------------------------------------------
def train_tokenizer(dataset: Dataset, folder: str, vocab_size: int) -> None:
    """A CLIP-format BPE (vocab.json + merges.txt, '</w>' word ends, byte-level alphabet,
    lower-cased): the layout of OpenAI CLIP's vocabulary, so CLIPTokenizer reads it unchanged.
    Trained with CLIPTokenizer's own normaliser and pre-tokeniser, so training and use split
    text identically."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import CLIPTokenizer

    texts = [c for i in dataset.train for c in dataset.records[i]["captions"]] + ["emoji", "clip art"]
    reference = CLIPTokenizer().backend_tokenizer
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.normalizer = reference.normalizer
    bpe.pre_tokenizer = reference.pre_tokenizer
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, end_of_word_suffix="</w>",
                                  show_progress=False, min_frequency=2)
    bpe.train_from_iterator(texts, trainer)
    merges = json.loads(bpe.to_str())["model"]["merges"]
    merges = [m.split(" ") if isinstance(m, str) else m for m in merges]
    # CLIP's id layout: the 256 byte symbols, the same with '</w>', one id per merge, then the two
    # specials (so "<|endoftext|>" is the last id, as in OpenAI's vocabulary).
    vocab = alphabet + [a + "</w>" for a in alphabet]
    seen = set(vocab)
    for left, right in merges:
        if left + right not in seen:
            vocab.append(left + right)
            seen.add(left + right)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>"}
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(specials, f, indent=2)
    config = dict(add_prefix_space=False, clean_up_tokenization_spaces=False, do_lower_case=True,
                  errors="replace", model_max_length=MAX_TOKENS, tokenizer_class="CLIPTokenizer", **specials)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    check_tokenizer(folder, texts)
    log(f"tokenizer: {len(vocab)} tokens, {len(merges)} merges")


def check_tokenizer(folder: str, texts) -> None:
    """Every caption must round-trip through CLIPTokenizer as loaded from the folder (lower-cased,
    spaces collapsed), with no unknown tokens."""
    import re

    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(folder)
    all_ids = tokenizer(list(texts)).input_ids  # one batched call, not one per caption
    for text, ids, decoded in zip(texts, all_ids, tokenizer.batch_decode(all_ids, skip_special_tokens=True)):
        expected = re.sub(r"\s+", " ", text).strip().lower()
        if tokenizer.unk_token_id in ids[1:-1] or decoded.replace(" ", "") != expected.replace(" ", ""):
            raise SystemExit(f"tokenizer does not round-trip {text!r}: {ids} → {decoded!r}")


def load_tokenizer(folder: str):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(folder)


def tokenize(tokenizer, texts) -> torch.Tensor:
    return tokenizer(texts, padding="max_length", max_length=MAX_TOKENS, truncation=True,
                     return_tensors="pt").input_ids


# --- checkpoints ------------------------------------------------------------------------------
def write_atomically(path: str, write) -> None:
    """write(file) into PATH.tmp, fsync, rename over PATH, fsync the folder: after a kill -9 (or a
    power cut) at any point PATH is either the old file or the new one, never a torn one."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def save_checkpoint(path: str, state: dict) -> None:
    write_atomically(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str):
    # map_location: GPU checkpoints load on any machine; modules and optimisers move them back.
    return torch.load(path, weights_only=False, map_location="cpu") if os.path.exists(path) else None


class Deadline:
    """Fits a stage's step count to a wall-clock deadline: the rate is measured over steps
    PROBE[0]…PROBE[1] of this process (after warm-up and any compilation) and the schedule's
    total is cut to what fits; past the deadline the stage stops at once."""

    PROBE = (10, 30)

    def __init__(self, at, name: str):
        self.at, self.name, self.done = at, name, 0
        self.probe_started = None

    def total(self, step: int, total: int) -> int:
        """Called after each step with the schedule's total; returns the (possibly shortened) total."""
        if self.at is None:
            return total
        self.done += 1
        now = time.time()
        if self.done == self.PROBE[0]:
            self.probe_started = now
        elif self.done == self.PROBE[1] and self.probe_started is not None:
            rate = (self.PROBE[1] - self.PROBE[0]) / max(1e-9, now - self.probe_started)
            fits = step + int(rate * max(0.0, self.at - now))
            log(f"{self.name}: {rate:.2f} steps/s, {self.at - now:.0f} s left: "
                + (f"schedule cut from {total} to {fits} steps" if fits < total else f"all {total} steps fit"))
            total = max(step, min(total, fits))
        if now > self.at and step < total:
            log(f"{self.name}: deadline reached at step {step} of {total}; stopping")
            total = step
        return total


class EMA:
    """Exponential moving average of a module's parameters, with the usual warm-up so early
    averages are not dominated by the random initialisation."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def to(self, device) -> "EMA":
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self

    @torch.no_grad()
    def update(self, module: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        floats, targets = [], []
        for k, v in module.state_dict().items():
            if v.dtype.is_floating_point:
                floats.append(self.shadow[k])
                targets.append(v.detach())
            else:
                self.shadow[k].copy_(v)
        # One fused kernel per group instead of one per tensor (hundreds per step on a GPU).
        torch._foreach_lerp_(floats, targets, 1 - decay)


def cosine_lr(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


# --- 2. VAE ------------------------------------------------------------------------------------
def make_vae(channels, latent_channels: int = 4):
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=latent_channels, block_out_channels=channels,
                         down_block_types=("DownEncoderBlock2D",) * len(channels),
                         up_block_types=("UpDecoderBlock2D",) * len(channels), layers_per_block=1,
                         norm_num_groups=16, sample_size=SIZE, scaling_factor=1.0)


def make_optimizer(parameters, lr: float, weight_decay: float, device: str):
    # The fused CUDA kernel updates all tensors at once; the CPU keeps the default implementation.
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay, fused=device == "cuda" or None)


def vae_batch(dataset: Dataset, g: torch.Generator, batch: int, crop: int, device: str = "cpu") -> torch.Tensor:
    """A training batch [B, 3, crop, crop]: pictures drawn by sampling weight, one random crop
    position for the batch (fully convolutional: crops teach the same local code at a fraction of
    the cost)."""
    x = dataset.pixels(np.sort(dataset.sample(batch, g)), device)
    if crop < SIZE:
        top, left = torch.randint(0, SIZE - crop + 1, (2,), generator=g).tolist()
        x = x[:, :, top:top + crop, left:left + crop].contiguous()
    return x


def optimise(optimizer, loss: torch.Tensor, parameters) -> None:
    """One optimiser step on loss, gradients clipped to norm 1."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimizer.step()


def vae_losses(vae, x: torch.Tensor, g: torch.Generator, args, colour_weight: float = 0.0):
    """(total, reconstruction, KL) for a batch x [B, 3, H, W] in [-1, 1]. L1 keeps flat colours
    flat and edges sharper than MSE alone; the KL term is SD's tiny one, enough to keep the latent
    smooth for diffusion. colour_weight adds an L1 on the mean colour of 8×8 patches (one latent
    pixel's footprint), which the plain pixel loss lets drift when edges dominate the error. All
    in fp32 (autocast leaves the encoder's outputs in bf16)."""
    with torch.autocast(args.autocast, dtype=torch.bfloat16, enabled=args.bf16):
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=g).to(x.device)
        reconstruction = vae.decode(z).sample.float()
    reconstruction_loss = F.l1_loss(reconstruction, x) + F.mse_loss(reconstruction, x)
    if colour_weight:
        reconstruction_loss = reconstruction_loss + colour_weight * F.l1_loss(
            F.avg_pool2d(reconstruction, 8), F.avg_pool2d(x, 8))
    mean, logvar = posterior.mean.float(), posterior.logvar.float()
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)).mean() / z[0].numel()
    return reconstruction_loss + 1e-4 * kl, reconstruction_loss, kl


def train_vae(dataset: Dataset, run: str, cfg: dict, args, deadline=None) -> None:
    path = os.path.join(run, "vae.pt")
    vae = make_vae(cfg["vae_channels"], cfg.get("latent_channels", 4)).to(args.device)
    optimizer = make_optimizer(vae.parameters(), cfg["vae_lr"], 0.0, args.device)
    state, step = load_checkpoint(path), 0
    if state:
        vae.load_state_dict(state["vae"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    total, crop = cfg["vae_steps"], cfg["vae_crop"]
    log(f"vae: {sum(p.numel() for p in vae.parameters()) / 1e6:.2f} M parameters, step {step}/{total}")
    clock = Deadline(deadline, "vae")
    last_save, started = time.time(), time.time()
    while step < total:
        g = generator(args.seed, 2, step)
        x = vae_batch(dataset, g, cfg["vae_batch"], crop, args.device)
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, total, cfg["vae_lr"], 100)
        loss, reconstruction_loss, kl = vae_losses(vae, x, g, args)
        optimise(optimizer, loss, vae.parameters())
        step += 1
        total = clock.total(step, total)
        if step % 50 == 0 or step == total:
            rate = cfg["vae_batch"] * 50 / max(1e-9, time.time() - started)
            started = time.time()
            log(f"vae step {step}/{total} loss {reconstruction_loss.item():.4f} kl {kl.item():.3f} ({rate:.1f} img/s)")
        if time.time() - last_save > args.checkpoint_minutes * 60 or step == total:
            save_checkpoint(path, dict(vae=vae.state_dict(), optimizer=optimizer.state_dict(), step=step))
            last_save = time.time()


@torch.no_grad()
def normalise_vae_latents(vae, dataset: Dataset, device: str) -> dict:
    """Folds per-channel latent statistics into the VAE so that model latents are ≈ N(0, 1) per
    channel with scaling_factor 1 (AutoencoderKL configs hold only one scalar; a GPU
    feasibility run found channel spreads 0.55…1.06). quant_conv's mean rows are shifted and
    scaled, its log-variance rows shifted by 2·ln(scale), and post_quant_conv undoes both, so
    decode(encode(x)) is unchanged."""
    means, batch = [], 64 if device == "cpu" else 512
    for start in range(0, len(dataset.train), batch):
        x = dataset.pixels(dataset.train[start:start + batch], device)
        means.append(vae.encode(x).latent_dist.mean.float().cpu())
    latents = torch.cat(means)
    mean = latents.mean(dim=(0, 2, 3))
    std = latents.std(dim=(0, 2, 3))
    scale = 1 / std
    quant, post = vae.quant_conv, vae.post_quant_conv
    channels = mean.numel()
    quant.weight[:channels] *= scale.view(-1, 1, 1, 1).to(device)
    quant.bias[:channels] = (quant.bias[:channels] - mean.to(device)) * scale.to(device)
    quant.bias[channels:] += (2 * torch.log(scale)).to(device)
    # post_quant_conv(z') must equal the old post_quant_conv(z) with z = z'·std + mean.
    weight = post.weight.clone()
    post.bias += (weight.sum(dim=(2, 3)) @ mean.to(device))
    post.weight.copy_(weight * std.view(1, -1, 1, 1).to(device))
    return dict(mean=mean.tolist(), std=std.tolist())


@torch.no_grad()
def encode_latents(dataset: Dataset, run: str, cfg: dict, args) -> None:
    """Stage 3: every image (both splits, for the evaluator and the preview fit) encoded once."""
    path = os.path.join(run, "latents.pt")
    if os.path.exists(path):
        return
    vae = make_vae(cfg["vae_channels"], cfg.get("latent_channels", 4)).to(args.device).eval()
    vae.load_state_dict(load_checkpoint(os.path.join(run, "vae.pt"))["vae"])
    stats = normalise_vae_latents(vae, dataset, args.device)
    log(f"latent channel means {np.round(stats['mean'], 3)} stds {np.round(stats['std'], 3)} folded into the VAE")
    means, stds, errors = [], [], []
    batch = 64 if args.device == "cpu" else 512
    for start in range(0, len(dataset.records), batch):
        x = dataset.pixels(range(start, min(start + batch, len(dataset.records))), args.device)
        posterior = vae.encode(x).latent_dist
        means.append(posterior.mean.half().cpu())
        stds.append(posterior.std.half().cpu())
        decoded = vae.decode(posterior.mean).sample.clamp(-1, 1)
        errors.append(((decoded - x) ** 2).mean(dim=(1, 2, 3)).cpu())
    mse = torch.cat(errors)
    heldout = torch.tensor([r["split"] == "heldout" for r in dataset.records])
    psnr = {split: float(10 * torch.log10(4 / mse[mask]).mean())
            for split, mask in (("train", ~heldout), ("heldout", heldout))}
    log(f"vae PSNR train {psnr['train']:.2f} dB, held-out {psnr['heldout']:.2f} dB")
    save_checkpoint(path, dict(mean=torch.cat(means), std=torch.cat(stds), vae=vae.state_dict(),
                               latent_stats=stats, psnr=psnr))


# --- 4. diffusion -------------------------------------------------------------------------------
def make_text_encoder(cfg: dict, vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    width = cfg["text_width"]
    return CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=width, intermediate_size=4 * width, num_hidden_layers=cfg["text_layers"],
        num_attention_heads=width // 64, max_position_embeddings=MAX_TOKENS, hidden_act="gelu",
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1))


def make_unet(cfg: dict):
    from diffusers import UNet2DConditionModel

    channels = cfg["unet_channels"]
    # Attention only at the 8² and 4² levels (and the mid block): at 16² it would cost more than
    # the convolutions and the layout there is mostly local.
    latent_channels = cfg.get("latent_channels", 4)
    return UNet2DConditionModel(
        sample_size=LATENT_SIZE, in_channels=latent_channels, out_channels=latent_channels, layers_per_block=1,
        block_out_channels=channels, norm_num_groups=32,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cfg["text_width"], attention_head_dim=[c // 32 for c in channels])


def alphas_cumprod() -> torch.Tensor:
    from diffusers import DDPMScheduler

    return DDPMScheduler(**{k: v for k, v in SCHEDULE.items() if k != "timestep_spacing"}).alphas_cumprod


def diffusion_loss(text_encoder, unet, tokenizer, captions, latent_mean, latent_std, index, ab, g, args,
                   t=None) -> torch.Tensor:
    """v-prediction MSE for one batch: latents sampled from each image's cached posterior, a
    timestep per sample (uniform unless t is given), the noise drawn from g."""
    ids = tokenize(tokenizer, captions).to(args.device)
    index = index.to(latent_mean.device)
    x0 = latent_mean[index].float()
    x0 = (x0 + latent_std[index].float() * torch.randn(x0.shape, generator=g).to(x0.device)).to(args.device)
    if t is None:
        t = torch.randint(0, SCHEDULE["num_train_timesteps"], (len(captions),), generator=g)
    noise = torch.randn(x0.shape, generator=g).to(args.device)
    a = ab[t].sqrt().view(-1, 1, 1, 1).to(args.device)
    s = (1 - ab[t]).sqrt().view(-1, 1, 1, 1).to(args.device)
    noisy, target = a * x0 + s * noise, a * noise - s * x0
    with torch.autocast(args.autocast, dtype=torch.bfloat16, enabled=args.bf16):
        context = text_encoder(ids)[0]
        prediction = unet(noisy, t.to(args.device), encoder_hidden_states=context).sample
    return F.mse_loss(prediction.float(), target)


def diffusion_batch_loss(dataset: Dataset, g: torch.Generator, batch: int, caption_dropout: float, text_encoder,
                         unet, tokenizer, latent_mean, latent_std, ab, args) -> torch.Tensor:
    """diffusion_loss on a training batch: pictures drawn by sampling weight, one caption each."""
    indices = dataset.sample(batch, g)
    captions = [dataset.caption(i, g, caption_dropout) for i in indices]
    return diffusion_loss(text_encoder, unet, tokenizer, captions, latent_mean, latent_std,
                          torch.from_numpy(indices), ab, g, args)


def train_diffusion(dataset: Dataset, run: str, cfg: dict, args, deadline=None) -> None:
    path = os.path.join(run, "diffusion.pt")
    tokenizer = load_tokenizer(os.path.join(run, "tokenizer"))
    cache = load_checkpoint(os.path.join(run, "latents.pt"))
    latent_mean, latent_std = cache["mean"].to(args.device), cache["std"].to(args.device)
    text_encoder = make_text_encoder(cfg, len(tokenizer)).to(args.device)
    unet = make_unet(cfg).to(args.device)
    if args.gpu:
        unet = unet.to(memory_format=torch.channels_last)
    parameters = list(text_encoder.parameters()) + list(unet.parameters())
    optimizer = make_optimizer(parameters, cfg["lr"], 0.01, args.device)
    ema_text, ema_unet = EMA(text_encoder, args.ema), EMA(unet, args.ema)
    state, step = load_checkpoint(path), 0
    if state:
        text_encoder.load_state_dict(state["text_encoder"])
        unet.load_state_dict(state["unet"])
        optimizer.load_state_dict(state["optimizer"])
        ema_text.shadow, ema_unet.shadow = state["ema_text"], state["ema_unet"]
        ema_text.to(args.device), ema_unet.to(args.device)
        step = state["step"]
    total = cfg["steps"]
    log(f"text encoder {sum(p.numel() for p in text_encoder.parameters()) / 1e6:.2f} M, "
        f"U-Net {sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M parameters, step {step}/{total}")
    ab = alphas_cumprod()
    forward_unet = torch.compile(unet) if args.compile else unet
    clock = Deadline(deadline, "diffusion")
    last_save, started, running = time.time(), time.time(), []
    while step < total:
        g = generator(args.seed, 4, step)
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, total, cfg["lr"], 200)
        loss = diffusion_batch_loss(dataset, g, cfg["batch"], args.caption_dropout, text_encoder, forward_unet,
                                    tokenizer, latent_mean, latent_std, ab, args)
        optimise(optimizer, loss, parameters)
        ema_text.update(text_encoder, step)
        ema_unet.update(unet, step)
        step += 1
        total = clock.total(step, total)
        running.append(loss.detach())  # no .item(): a GPU would wait for every step
        if step % 50 == 0 or step == total:
            rate = cfg["batch"] * len(running) / max(1e-9, time.time() - started)
            log(f"diffusion step {step}/{total} loss {torch.stack(running).mean().item():.4f} ({rate:.0f} img/s)")
            started, running = time.time(), []
        if time.time() - last_save > args.checkpoint_minutes * 60 or step == total:
            save_checkpoint(path, dict(text_encoder=text_encoder.state_dict(), unet=unet.state_dict(),
                                       optimizer=optimizer.state_dict(), ema_text=ema_text.shadow,
                                       ema_unet=ema_unet.shadow, step=step))
            last_save = time.time()


# --- export ----------------------------------------------------------------------------------
def fit_latent_preview(cache: dict, dataset: Dataset) -> tuple:
    """Least squares latent pixel → mean RGB of its 8×8 patch, for the engine's instant preview
    (`latent_rgb_factors` in vae/config.json, which diffusers ignores)."""
    index = torch.from_numpy(dataset.train[::4])
    channels = cache["mean"].shape[1]
    z = cache["mean"][index].float().permute(0, 2, 3, 1).reshape(-1, channels)
    rgb = F.avg_pool2d(dataset.pixels(dataset.train[::4]), 8).permute(0, 2, 3, 1).reshape(-1, 3)
    design = torch.cat([z, torch.ones(len(z), 1)], dim=1)
    solution = torch.linalg.lstsq(design, rgb).solution  # [channels + 1, 3]
    return solution[:channels].tolist(), solution[channels].tolist()


def export(dataset: Dataset, run: str, cfg: dict, out: str) -> None:
    tokenizer_folder = os.path.join(run, "tokenizer")
    tokenizer = load_tokenizer(tokenizer_folder)
    cache = load_checkpoint(os.path.join(run, "latents.pt"))
    state = load_checkpoint(os.path.join(run, "diffusion.pt"))
    text_encoder = make_text_encoder(cfg, len(tokenizer))
    text_encoder.load_state_dict(state["ema_text"])
    unet = make_unet(cfg)
    unet.load_state_dict(state["ema_unet"])
    vae = make_vae(cfg["vae_channels"], cfg.get("latent_channels", 4))
    vae.load_state_dict(cache["vae"])
    save_model_folder(out, tokenizer_folder, text_encoder, unet, vae, fit_latent_preview(cache, dataset))
    log(f"exported to {out} (diffusion step {state['step']}, VAE PSNR held-out {cache['psnr']['heldout']:.2f} dB)")


def save_model_folder(out: str, tokenizer_folder: str, text_encoder, unet, vae, preview: tuple) -> None:
    """The diffusers folder both StableDiffusionPipeline and the Swift engine load: fp16 weights,
    the tokenizer, the scheduler config, and the VAE's latent → RGB preview factors."""
    from diffusers import EulerDiscreteScheduler

    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    unet.half().save_pretrained(os.path.join(out, "unet"), safe_serialization=True)
    vae.half().save_pretrained(os.path.join(out, "vae"), safe_serialization=True)
    text_encoder.half().save_pretrained(os.path.join(out, "text_encoder"), safe_serialization=True)
    shutil.copytree(tokenizer_folder, os.path.join(out, "tokenizer"))
    EulerDiscreteScheduler(**SCHEDULE).save_pretrained(os.path.join(out, "scheduler"))
    factors, bias = preview
    vae_config_path = os.path.join(out, "vae", "config.json")
    with open(vae_config_path) as f:
        vae_config = json.load(f)
    vae_config["latent_rgb_factors"] = [[round(v, 5) for v in row] for row in factors]
    vae_config["latent_rgb_factors_bias"] = [round(v, 5) for v in bias]
    with open(vae_config_path, "w") as f:
        json.dump(vae_config, f, indent=2)
    model_index = {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": __import__("diffusers").__version__,
        "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
        "safety_checker": [None, None], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(model_index, f, indent=2)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs
               if f.endswith(".safetensors"))
    log(f"{out}: {size / 2**20:.1f} MiB of weights")


def preflight(dataset: Dataset, run: str, cfg: dict, args) -> None:
    """Every stage for two steps with the real models on the real device, into RUN/preflight
    (deleted afterwards): a failure specific to the device shows in seconds."""
    started = time.time()
    folder = os.path.join(run, "preflight")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(os.path.join(run, "tokenizer"), os.path.join(folder, "tokenizer"))
    small = dict(cfg, vae_steps=2, steps=2)
    train_vae(dataset, folder, small, args)
    encode_latents(dataset, folder, small, args)
    train_diffusion(dataset, folder, small, args)
    export(dataset, folder, small, os.path.join(folder, "export"))
    shutil.rmtree(folder)
    if args.device == "cuda":
        log(f"preflight: peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    log(f"preflight passed in {time.time() - started:.0f} s")


def main() -> None:
    started = time.time()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--run", default="", help="checkpoint folder (default CACHE/run)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "imagine-mini"))
    parser.add_argument("--dataset", default="", help="a dataset folder or a pack.py pack (default CACHE/dataset)")
    parser.add_argument("--limit", type=int, default=0, help="train on about this many images (smoke tests)")
    parser.add_argument("--gpu", action="store_true", help="CUDA, bf16 autocast, the GPU model size and batch")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 autocast on the CPU too (always on with --gpu): 1.6x the fp32 rate on AVX512-BF16")
    parser.add_argument("--device", help="override the device (e.g. --gpu --device cpu tests the GPU path's logic)")
    parser.add_argument("--budget-seconds", type=float,
                        help="fit VAE + diffusion into this many seconds from start (export comes after)")
    parser.add_argument("--vae-share", type=float, default=0.3, help="part of --budget-seconds the VAE ends by")
    parser.add_argument("--preflight", action="store_true", help="run every stage for 2 steps first")
    parser.add_argument("--compile", action="store_true", help="torch.compile the U-Net (GPU runs)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in --run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vae-steps", type=int, help="override the size preset")
    parser.add_argument("--steps", type=int, help="diffusion steps; override the size preset")
    parser.add_argument("--batch", type=int, help="diffusion batch; override the size preset")
    parser.add_argument("--lr", type=float, help="diffusion peak learning rate; override the size preset")
    parser.add_argument("--vae-batch", type=int, help="override the size preset")
    parser.add_argument("--vae-channels", type=lambda s: tuple(int(c) for c in s.split(",")))
    parser.add_argument("--unet-channels", type=lambda s: tuple(int(c) for c in s.split(",")))
    parser.add_argument("--ema", type=float, default=0.998)
    parser.add_argument("--caption-dropout", type=float, default=0.1)
    parser.add_argument("--checkpoint-minutes", type=float, default=3)
    parser.add_argument("--stop-after", choices=["tokenizer", "vae", "latents", "diffusion"],
                        help="stop after this stage (smoke tests)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # Trained weights and Adam's moments drift into subnormal floats, which made CPU steps here
    # 5-10× slower; flushing them to zero changes nothing measurable.
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    args.device = args.device or ("cuda" if args.gpu else "cpu")
    args.bf16 = args.bf16 or args.gpu
    args.autocast = torch.device(args.device).type  # torch.autocast takes a device type
    if args.device.startswith("cuda"):
        # TF32 for the fp32 parts (latent encoding, optimiser-side maths); bf16 autocast elsewhere.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    cfg = dict(CONFIGS["gpu" if args.gpu else "cpu"])
    for key in ("vae_steps", "steps", "batch", "lr", "unet_channels", "vae_batch", "vae_channels"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    run = args.run or os.path.join(args.cache, "run")
    if os.path.exists(run) and not args.resume:
        raise SystemExit(f"{run} exists: pass --resume to continue it, or remove it to start over")
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, "settings.json"), "w") as f:
        json.dump(dict(cfg=cfg, args={k: v for k, v in vars(args).items()}), f, indent=1, default=str)
    # Decoded before CUDA is touched: the pack decoder forks worker processes.
    dataset = Dataset(args.cache, args.dataset, args.limit)
    dataset.to_device(args.device)
    log(f"{len(dataset.records)} images, {len(dataset.train)} for training")
    if not os.path.exists(os.path.join(run, "tokenizer", "merges.txt")):
        train_tokenizer(dataset, os.path.join(run, "tokenizer"), cfg["vocab_size"])
    if args.stop_after == "tokenizer":
        return
    if args.preflight:
        preflight(dataset, run, cfg, args)
    budget = args.budget_seconds
    train_vae(dataset, run, cfg, args, deadline=started + args.vae_share * budget if budget else None)
    if args.stop_after == "vae":
        return
    encode_latents(dataset, run, cfg, args)
    if args.stop_after == "latents":
        return
    train_diffusion(dataset, run, cfg, args, deadline=started + budget if budget else None)
    if args.stop_after == "diffusion":
        return
    export(dataset, run, cfg, args.out)


if __name__ == "__main__":
    main()
