#!/usr/bin/env python3
"""Do colour words steer the picture? Renders "COLOUR OBJECT" for 7 colours × 8 objects at fixed
seeds and classifies each picture's dominant foreground hue; reports the share whose hue is the
one asked for (chance: 1 in 7), per colour, and a confusion table.

    nice -n 19 ~/.venvs/imagine/bin/python Weights/recipe/colour_check.py [--model Weights/imagine-mini]

The classifier is checked first on the real pictures whose caption starts with a colour word
(how often it agrees with the caption there is the ceiling for the model's figure). Writes
--out (default: beside the model, colour-check.json) and a sheet of the pictures, labelled with
what the classifier saw (--sheet, default CACHE/colour-check.png: 2 MB, so not committed).
"""
import argparse
import colorsys
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.dirname(HERE)
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink"]
OBJECTS = ["car", "apple", "heart", "star", "house", "balloon", "flower", "umbrella"]
SEEDS = [4242, 4243]
# Hue (degrees) → colour word; pink is a light or magenta red.
HUE_BINS = [(15, "red"), (45, "orange"), (70, "yellow"), (170, "green"), (255, "blue"), (305, "purple"),
            (335, "pink"), (360, "red")]


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def colour_name(h: float, s: float, v: float) -> str:
    degrees = h * 360
    for limit, name in HUE_BINS:
        if degrees < limit:
            break
    # A red of low saturation and high value reads as pink.
    if name == "red" and s < 0.55 and v > 0.75:
        return "pink"
    return name


def dominant_colour(pixels: np.ndarray) -> str:
    """pixels uint8 [H, W, 3]. The foreground is what is not near-white; of it, pixels with a
    colour (saturation ≥ 0.3, value ≥ 0.25) vote for their colour word, weighted by saturation.
    "none" when under 3 % of the picture is coloured foreground."""
    rgb = pixels.reshape(-1, 3).astype(np.float32) / 255
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in rgb])
    coloured = (hsv[:, 1] >= 0.3) & (hsv[:, 2] >= 0.25) & ~((rgb > 0.92).all(axis=1))
    if coloured.mean() < 0.03:
        return "none"
    votes = {}
    for h, s, v in hsv[coloured]:
        name = colour_name(h, s, v)
        votes[name] = votes.get(name, 0.0) + s
    return max(votes, key=votes.get)


def check_classifier(cache: str) -> dict:
    """Agreement of the classifier with captions of real pictures that start with a colour word."""
    sys.path.insert(0, HERE)
    from train import Dataset

    dataset = Dataset(cache)
    hits, total = 0, 0
    for i, record in enumerate(dataset.records):
        first = record["captions"][0].split(" ")[0]
        if first in COLOURS:
            total += 1
            hits += dominant_colour(np.asarray(dataset.images[i][::2, ::2])) == first
    return dict(pictures=total, agreement=round(hits / max(1, total), 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(WEIGHTS, "imagine-mini"))
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=2.0)
    parser.add_argument("--out", default="")
    parser.add_argument("--sheet", default="")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    sys.path.insert(0, HERE)
    from evaluate import generate, load_pipeline

    ceiling = check_classifier(args.cache) if os.path.isdir(os.path.join(args.cache, "dataset")) else None
    if ceiling:
        log(f"classifier agrees with {ceiling['agreement']:.0%} of {ceiling['pictures']} real captioned colours")
    pipe = load_pipeline(args.model)
    prompts = [(c, o, s) for c in COLOURS for o in OBJECTS for s in SEEDS]
    images = generate(pipe, [f"{c} {o}" for c, o, _ in prompts], args.steps, args.guidance, [s for _, _, s in prompts])
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    found = [dominant_colour(p[::2, ::2]) for p in pixels]
    confusion = {c: {} for c in COLOURS}
    for (colour, _, _), got in zip(prompts, found):
        confusion[colour][got] = confusion[colour].get(got, 0) + 1
    share = sum(got == c for (c, _, _), got in zip(prompts, found)) / len(prompts)
    report = dict(model=os.path.relpath(args.model, os.path.dirname(WEIGHTS)), steps=args.steps, guidance=args.guidance,
                  prompts=len(prompts), colours=COLOURS, objects=OBJECTS, seeds=SEEDS, share_matching=round(share, 3),
                  chance=round(1 / len(COLOURS), 3),
                  per_colour={c: round(confusion[c].get(c, 0) / (len(OBJECTS) * len(SEEDS)), 3) for c in COLOURS},
                  confusion=confusion, classifier_on_real=ceiling)
    out = args.out or os.path.join(args.model, "colour-check.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    # The pictures, one row per colour, labelled with what the classifier saw.
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 10)
    per_row, tile = len(OBJECTS) * len(SEEDS), 128
    sheet = Image.new("RGB", (per_row * tile, len(COLOURS) * (tile + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, ((colour, obj, _), got) in enumerate(zip(prompts, found)):
        x, y = (k % per_row) * tile, (k // per_row) * (tile + 14)
        sheet.paste(Image.fromarray(pixels[k]), (x, y))
        draw.text((x + 2, y + tile), f"{colour} {obj}: {got}", fill="black" if got == colour else "red", font=font)
    sheet.save(args.sheet or os.path.join(args.cache, "colour-check.png"), optimize=True)


if __name__ == "__main__":
    main()
