#!/usr/bin/env python3
"""Measures imagine-mini against its quality bars (R-precision relative to real pictures) and draws its contact sheet.

    nice -n 19 python Weights/recipe/evaluate.py [--model Weights/imagine-mini]

1. Trains a small contrastive image–text evaluator (a CNN on 64² images and a hashed
   bag-of-words/character-trigram text tower) on the TRAINING split only; it shares nothing with
   imagine-mini and is never used for generation.
2. R-precision@1 (is the true caption the evaluator's best among 1 true + 99 random captions?) for
   200 held-out and 200 training captions, with images that are: the real images (upper bound),
   the real images through imagine-mini's VAE (what its decoder can show at best), imagine-mini
   at 4 and at 20 steps, and uniform noise (lower bound).
3. A contact sheet of 64 fixed prompts at 4 and 20 steps and the typing strip
   r, ro, roc, rock, rocke, rocket at one seed.

Writes Weights/metrics.json and Weights/imagine-mini/contact-sheet.png. Seeds are fixed.
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.dirname(HERE)
SEED = 0
DISTRACTORS = 99
EVAL_SIZE = 64

SHEET_PROMPTS = [
    # training captions
    "red apple", "rubber duck", "king of hearts", "lightbulb", "sun", "dog face", "penguin", "flag of kenya",
    "grinning face", "red heart", "pizza", "rocket", "cat face", "snowman", "guitar", "bicycle",
    "fire", "banana", "house", "tree", "butterfly", "car", "clock", "umbrella",
    "flag of japan", "ace of spades", "birthday cake", "ghost", "crown", "rainbow", "turtle", "anchor",
    "emoji red apple", "clip art red apple", "emoji cat", "clip art cat", "emoji tree", "clip art tree",
    "emoji house", "clip art house",
    # novel combinations
    "blue apple", "red guitar", "green heart", "yellow car", "purple cat", "cat with a hat",
    "dog with a hat", "red bicycle", "blue sun", "pink penguin", "green rocket", "orange tree",
    "black and white cat", "flag of a cat", "happy pizza", "sad sun", "a duck on a car", "a red apple and a banana",
    "big yellow star", "small blue house", "golden crown", "rainbow cat", "snowman with a hat", "king of apples",
]
TYPING = ["r", "ro", "roc", "rock", "rocke", "rocket"]


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# --- evaluator --------------------------------------------------------------------------------
HASH_BUCKETS = 1 << 15


def text_features(text: str) -> list:
    """Hashed word and character-trigram ids (fastText-style), so unseen and foreign words still
    land near their spelling."""
    ids = []
    for word in text.lower().replace(",", " ").split():
        ids.append(zlib.crc32(f"w:{word}".encode()) % HASH_BUCKETS)
        padded = f"<{word}>"
        ids += [zlib.crc32(f"t:{padded[i:i + 3]}".encode()) % HASH_BUCKETS for i in range(len(padded) - 2)]
    return ids or [0]


class Evaluator(torch.nn.Module):
    def __init__(self, dim: int = 128):
        super().__init__()
        layers, channels = [], 3
        for width in (32, 64, 128, 128):
            layers += [torch.nn.Conv2d(channels, width, 3, stride=2, padding=1), torch.nn.GroupNorm(8, width),
                       torch.nn.SiLU(), torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.SiLU()]
            channels = width
        self.image = torch.nn.Sequential(*layers)
        self.image_head = torch.nn.Linear(channels, dim)
        self.words = torch.nn.EmbeddingBag(HASH_BUCKETS, 256, mode="mean")
        self.text_head = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.SiLU(), torch.nn.Linear(256, dim))
        self.log_temperature = torch.nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))

    def encode_images(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 3, 64, 64] in [-1, 1] → [B, dim], unit length."""
        return F.normalize(self.image_head(self.image(x).mean(dim=(2, 3))), dim=-1)

    def encode_texts(self, texts) -> torch.Tensor:
        features = [text_features(t) for t in texts]
        offsets = torch.tensor([0] + [len(f) for f in features[:-1]]).cumsum(0)
        flat = torch.tensor([i for f in features for i in f])
        return F.normalize(self.text_head(self.words(flat, offsets)), dim=-1)


def to_eval_size(images: torch.Tensor) -> torch.Tensor:
    """[B, 3, 128, 128] in [-1, 1] → [B, 3, 64, 64]."""
    return F.avg_pool2d(images, 2)


def train_evaluator(dataset, steps: int) -> Evaluator:
    torch.manual_seed(SEED)
    model = Evaluator()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    rng = np.random.default_rng(SEED)
    for step in range(steps):
        # Distinct first captions within a batch, so no "negative" is secretly a positive.
        indices, seen = [], set()
        for i in rng.permutation(dataset.train)[:400]:
            if dataset.records[i]["captions"][0] not in seen:
                seen.add(dataset.records[i]["captions"][0])
                indices.append(i)
            if len(indices) == 128:
                break
        texts = [dataset.records[i]["captions"][0] if rng.random() < 0.7
                 else dataset.records[i]["captions"][rng.integers(len(dataset.records[i]["captions"]))]
                 for i in indices]
        images = to_eval_size(dataset.pixels(indices))
        # Small shifts so the evaluator looks at content, not exact pixel positions.
        shift = rng.integers(-4, 5, size=2)
        images = torch.roll(images, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
        for group in optimizer.param_groups:
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 100) * (0.5 + 0.5 * np.cos(np.pi * step / steps))
        logits = model.log_temperature.exp().clamp(max=100) * model.encode_images(images) @ model.encode_texts(texts).T
        labels = torch.arange(len(indices))
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % 100 == 0:
            log(f"evaluator step {step + 1}/{steps} loss {loss.item():.3f}")
    return model.eval()


def load_evaluator(dataset, cache: str, steps: int) -> Evaluator:
    """The evaluator depends only on the training split and the seed: trained once, then reused
    from CACHE/evaluator-STEPS.pt."""
    path = os.path.join(cache, f"evaluator-{steps}.pt")
    if os.path.exists(path):
        evaluator = Evaluator()
        evaluator.load_state_dict(torch.load(path))
        return evaluator.eval()
    evaluator = train_evaluator(dataset, steps)
    torch.save(evaluator.state_dict(), path)
    return evaluator


def pick_queries(dataset, split: str, count: int, rng) -> list:
    """`count` items of the split with distinct first captions, in a fixed random order."""
    pool = [i for i, r in enumerate(dataset.records) if r["split"] == split]
    chosen, seen = [], set()
    for i in rng.permutation(pool):
        caption = dataset.records[i]["captions"][0]
        if caption not in seen:
            seen.add(caption)
            chosen.append(int(i))
        if len(chosen) == count:
            break
    return chosen


@torch.no_grad()
def r_precision(model: Evaluator, images: torch.Tensor, captions: list, distractor_pool: list, rng) -> float:
    """Share of images whose own caption scores above all 99 distractors drawn from the pool."""
    image_features = model.encode_images(to_eval_size(images))
    hits = 0
    for k, caption in enumerate(captions):
        others = [c for c in distractor_pool if c != caption]
        choice = [others[j] for j in rng.choice(len(others), DISTRACTORS, replace=False)]
        scores = image_features[k] @ model.encode_texts([caption] + choice).T
        hits += int(scores.argmax() == 0)
    return hits / len(captions)


# --- generation ------------------------------------------------------------------------------
def load_pipeline(model_path: str):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(model_path, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def generate(pipe, prompts: list, steps: int, guidance: float, seeds: list) -> torch.Tensor:
    """[B, 3, 128, 128] in [-1, 1]; image k starts from torch.Generator("cpu").manual_seed(seeds[k])."""
    out = []
    for start in range(0, len(prompts), 50):
        chunk = prompts[start:start + 50]
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds[start:start + 50]]
        images = pipe(chunk, num_inference_steps=steps, guidance_scale=guidance, generator=generators,
                      height=128, width=128, output_type="pt").images
        out.append(images * 2 - 1)
    return torch.cat(out)


@torch.no_grad()
def vae_round_trip(pipe, images: torch.Tensor) -> torch.Tensor:
    """The real images through the model's VAE (decode of the posterior mean): what the decoder
    can show at best, so the gap between this and "real" is the VAE's and the rest the diffusion's."""
    out = []
    for start in range(0, len(images), 50):
        latents = pipe.vae.encode(images[start:start + 50]).latent_dist.mean
        out.append(pipe.vae.decode(latents).sample.clamp(-1, 1))
    return torch.cat(out)


def contact_sheet(pipe, guidance: float, path: str) -> None:
    """Rows of 8 prompts, each as a 4-step | 20-step pair under its caption, then the typing strip."""
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
    tile, label, per_row = 128, 16, 8
    entries = [(p, 1000 + k) for k, p in enumerate(SHEET_PROMPTS)] + [(p, 7) for p in TYPING]
    prompts, seeds = [p for p, _ in entries], [s for _, s in entries]
    fast, slow = generate(pipe, prompts, 4, guidance, seeds), generate(pipe, prompts, 20, guidance, seeds)
    rows = (len(SHEET_PROMPTS) + per_row - 1) // per_row + 1
    header = 24
    sheet = Image.new("RGB", (per_row * 2 * tile + (per_row - 1) * 6, header + rows * (tile + label + 6)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"imagine-mini, each pair: 4 steps | 20 steps, Euler, guidance {guidance}; "
                      f"last row: typing strip at seed 7", fill="black", font=font)
    for k, prompt in enumerate(prompts):
        row, column = (k // per_row, k % per_row) if k < len(SHEET_PROMPTS) else (rows - 1, k - len(SHEET_PROMPTS))
        x, y = column * (2 * tile + 6), header + row * (tile + label + 6)
        for j, images in enumerate((fast, slow)):
            pixels = ((images[k].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
            sheet.paste(Image.fromarray(pixels), (x + j * tile, y))
        draw.text((x + 2, y + tile + 1), prompt[:40], fill="black", font=font)
    sheet.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--model", default=os.path.join(WEIGHTS, "imagine-mini"))
    parser.add_argument("--guidance", type=float, nargs="+", default=[2.0],
                        help="guidance scales to measure; the first draws the contact sheet")
    parser.add_argument("--evaluator-steps", type=int, default=600)
    parser.add_argument("--queries", type=int, default=200, help="captions per split")
    parser.add_argument("--evaluator-only", action="store_true",
                        help="train and save the evaluator (CACHE/evaluator.pt), nothing else")
    parser.add_argument("--metrics", default=os.path.join(WEIGHTS, "metrics.json"))
    parser.add_argument("--sheet", default="", help="default: MODEL/contact-sheet.png")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as in train.py: subnormals slow CPU kernels several-fold
    sys.path.insert(0, HERE)
    from train import Dataset

    dataset = Dataset(args.cache)
    evaluator = load_evaluator(dataset, args.cache, args.evaluator_steps)
    if args.evaluator_only:
        return
    pipe = load_pipeline(args.model)
    rng = np.random.default_rng(SEED)
    all_captions = sorted({r["captions"][0] for r in dataset.records})
    results = {}
    for split in ("heldout", "train"):
        queries = pick_queries(dataset, split, args.queries, rng)
        captions = [dataset.records[i]["captions"][0] for i in queries]
        seeds = list(range(len(queries)))
        sources = {"real": dataset.pixels(queries),
                   "noise": torch.rand((len(queries), 3, 128, 128), generator=torch.Generator().manual_seed(SEED)) * 2 - 1}
        sources["vae round trip"] = vae_round_trip(pipe, sources["real"])
        for guidance in args.guidance:
            for steps in (4, 20):
                log(f"generating {len(queries)} {split} captions, {steps} steps, guidance {guidance}")
                sources[f"mini {steps} steps, guidance {guidance}"] = generate(pipe, captions, steps, guidance, seeds)
        results[split] = {}
        for name, images in sources.items():
            # The same distractors for every image source: one generator state per split.
            score = r_precision(evaluator, images, captions, all_captions, np.random.default_rng(SEED + 1))
            results[split][name] = score
            log(f"{split}: R-precision@1 {name}: {score:.3f}")
        results[split]["queries"] = len(queries)
    ratios = {split: {name: round(v / results[split]["real"], 3) if results[split]["real"] else None
                      for name, v in results[split].items() if name not in ("real", "noise", "queries")}
              for split in results}
    report = dict(r_precision_at_1=results, ratio_to_real=ratios, distractors=DISTRACTORS,
                  bar={"20 steps": 0.75, "4 steps": 0.60})
    with open(args.metrics, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    contact_sheet(pipe, args.guidance[0], args.sheet or os.path.join(args.model, "contact-sheet.png"))


if __name__ == "__main__":
    main()
