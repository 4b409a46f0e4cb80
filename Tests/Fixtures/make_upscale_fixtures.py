#!/usr/bin/env python3
"""Parity fixtures for RGBImage.resized(…, filter: .bicubic) (Sources/ImageIO/Resample.swift), the resampler
behind `imagine generate --upscale`: Pillow's Image.resize(…, Image.BICUBIC) is the reference.

Run from the repository root with the pinned tooling (Tests/Fixtures/requirements.txt):

    python3 Tests/Fixtures/make_upscale_fixtures.py

Writes Tests/Fixtures/upscale/:
    source.png           23×17 RGB: random bytes, a black/white checkerboard corner and flat
                         blocks of pure colours, so that the bicubic's negative lobes overshoot
                         and the clipping to 0…255 is exercised; not square, to catch a
                         swapped axis
    upscaled-N.png       source.resize((23·N, 17·N), Image.BICUBIC) for N = 2, 3, 4, 8
    resized-WxH.png      other sizes: up in one axis and down in the other (both ways), both
                         down, both up by non-integer factors
Deterministic: Pillow's 8-bit resampling is integer arithmetic after double-precision weights.
"""
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upscale")
WIDTH, HEIGHT = 23, 17


def source() -> np.ndarray:
    pixels = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for y in range(6):
        for x in range(6):
            pixels[y, x] = 255 if (x + y) % 2 else 0
    pixels[10:17, 0:8] = (255, 0, 0)
    pixels[10:17, 8:15] = (0, 0, 255)
    pixels[0:8, 16:23] = (255, 255, 255)
    return pixels


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    image = Image.fromarray(source(), "RGB")
    image.save(os.path.join(OUT, "source.png"))
    for factor in (2, 3, 4, 8):
        image.resize((WIDTH * factor, HEIGHT * factor), Image.BICUBIC).save(os.path.join(OUT, f"upscaled-{factor}.png"))
    for width, height in ((50, 9), (24, 8), (7, 40), (11, 8), (40, 20)):
        image.resize((width, height), Image.BICUBIC).save(os.path.join(OUT, f"resized-{width}x{height}.png"))


if __name__ == "__main__":
    main()
