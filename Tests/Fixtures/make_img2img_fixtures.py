#!/usr/bin/env python3
"""Image-to-image fixtures: diffusers' StableDiffusionImg2ImgPipeline on the tiny random-weight model
of make_pipeline_fixtures.py (Tests/Fixtures/pipeline/tiny-sd, run that first), and the image
files and Pillow results `imagine generate --init-image` is held to.

    python3 Tests/Fixtures/make_img2img_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/img2img/:
    photo.png            64×64 RGB: a smooth synthetic picture (gradients, a disc, a bar, mild noise)
    photo-80x72.jpg      the same kind of picture at 80×72, JPEG quality 90, 4:2:0 (Pillow's defaults)
    photo-80x72.jpg.png  Pillow's decoding of it (RGB), which ours must equal byte for byte
    grey-40x24.jpg       a greyscale JPEG, and .png: Pillow's `.convert("RGB")` of it
    cmyk.jpg             a CMYK JPEG (refused: we do not guess at its colours)
    alpha-70x52.png      RGBA with varying alpha, and .png: Pillow's `.convert("RGB")` of it
                         (alpha dropped, colours kept, as diffusers' load_image does)
    grey-64.png          an 8-bit greyscale PNG
    exif-N.jpg           24×16 JPEGs with EXIF orientation N = 2…8, and .png: them turned upright as
                         load_image turns them (ImageOps.exif_transpose, then .convert("RGB"))
    lanczos-WxH.png      Tests/Fixtures/upscale/source.png resized by Pillow with Image.LANCZOS, the
                         filter diffusers' VaeImageProcessor resizes init images with
    expected/<case>.safetensors
                         `pixels`: the preprocessed init image [1, 3, H, W] in [-1, 1] as the
                         pipeline feeds it to the VAE; `image`: the pipeline's output [1, 3, H, W]
                         in [-1, 1] (before rounding to 8 bits)
    expected/<case>.png  the output as the 8-bit PNG a diffusers script would save
    expected/cases.json  each case's settings

Every case loads its init image as diffusers' `load_image` does (`Image.open(...).convert("RGB")`,
after `exif_transpose`, which leaves these pictures as they are);
a case with a `width`/`height` resizes it first with the image processor's own `resize` (Lanczos,
stretched to exactly that size), which is what the pipeline does with a picture of that size, and
one without lets the pipeline round the picture's size down to a multiple of 8 itself.
"""
import json
import os
import shutil

import numpy as np
import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, LCMScheduler, StableDiffusionImg2ImgPipeline)
from PIL import Image, ImageOps
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "pipeline", "tiny-sd")
OUT = os.path.join(HERE, "img2img")
PROMPT = "a red apple on a wooden table"

CASES = [
    dict(name="euler-0.75", image="photo.png", sampler="euler", steps=4, strength=0.75, cfg=5.0, negative="",
         seed=7),
    dict(name="euler-a-0.3", image="photo.png", sampler="euler_a", steps=10, strength=0.3, cfg=3.0,
         negative="blurry", seed=11),
    dict(name="ddim-1.0-no-guidance", image="photo.png", sampler="ddim", steps=4, strength=1.0, cfg=1.0,
         negative="", seed=5),
    # 10 × 0.7 is 7.000000000000001 in doubles: 7 steps run (6 if strength were a float32).
    dict(name="dpmpp2m-karras-0.7-jpeg-resized", image="photo-80x72.jpg", width=64, height=64,
         sampler="dpm++2m-karras", steps=10, strength=0.7, cfg=4.0, negative="dark", seed=3),
    dict(name="dpmpp2m-0.5-alpha-default-size", image="alpha-70x52.png", sampler="dpm++2m", steps=6,
         strength=0.5, cfg=4.0, negative="", seed=9),
    dict(name="lcm-0.6-grey", image="grey-64.png", sampler="lcm", steps=4, strength=0.6, cfg=1.0, negative="",
         seed=13),
    # SD-Turbo's settings: trailing timesteps, no guidance, 1–2 steps.
    dict(name="turbo-2-steps-0.5", image="photo.png", sampler="euler", spacing="trailing", steps=2, strength=0.5,
         cfg=0.0, negative="", seed=21),
    dict(name="turbo-1-step-1.0", image="photo.png", sampler="euler", spacing="trailing", steps=1, strength=1.0,
         cfg=0.0, negative="", seed=22),
]


def picture(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth picture with edges, so the VAE and the resampling see structure: RGB uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 40 + 180 * x / max(width - 1, 1)
    g = 60 + 150 * y / max(height - 1, 1)
    b = 120 + 80 * np.sin(x / 5.0) * np.cos(y / 7.0)
    disc = (x - 0.6 * width) ** 2 + (y - 0.4 * height) ** 2 < (0.22 * min(width, height)) ** 2
    r[disc], g[disc], b[disc] = 230, 30, 40
    bar = (y > 0.7 * height) & (y < 0.8 * height)
    r[bar], g[bar], b[bar] = 20, 20, 20
    pixels = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(pixels.round(), 0, 255).astype(np.uint8)


def write_images() -> None:
    Image.fromarray(picture(64, 64, 1), "RGB").save(os.path.join(OUT, "photo.png"))

    jpeg = os.path.join(OUT, "photo-80x72.jpg")
    Image.fromarray(picture(80, 72, 2), "RGB").save(jpeg, quality=90)
    Image.open(jpeg).convert("RGB").save(jpeg + ".png")

    grey_jpeg = os.path.join(OUT, "grey-40x24.jpg")
    Image.fromarray(picture(40, 24, 3)[:, :, 1], "L").save(grey_jpeg, quality=85)
    Image.open(grey_jpeg).convert("RGB").save(grey_jpeg + ".png")

    Image.fromarray(picture(16, 16, 4), "RGB").convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"))

    rgba = np.concatenate([picture(70, 52, 5), np.random.default_rng(6).integers(0, 256, (52, 70, 1),
                                                                                 dtype=np.uint8)], axis=-1)
    alpha = os.path.join(OUT, "alpha-70x52.png")
    Image.fromarray(rgba, "RGBA").save(alpha)
    Image.open(alpha).convert("RGB").save(alpha + ".png")

    Image.fromarray(picture(64, 64, 7)[:, :, 0], "L").save(os.path.join(OUT, "grey-64.png"))

    # Phone photos store pixels sideways and say how to turn them: load_image turns them upright.
    for tag in range(2, 9):
        name = os.path.join(OUT, f"exif-{tag}.jpg")
        exif = Image.Exif()
        exif[0x0112] = tag
        Image.fromarray(picture(24, 16, 8), "RGB").save(name, quality=90, exif=exif)
        ImageOps.exif_transpose(Image.open(name)).convert("RGB").save(name + ".png")

    source = Image.open(os.path.join(HERE, "upscale", "source.png"))
    for width, height in ((50, 9), (24, 8), (7, 40), (11, 8), (40, 20), (64, 48)):
        source.resize((width, height), Image.LANCZOS).save(os.path.join(OUT, f"lanczos-{width}x{height}.png"))


def scheduler_for(case: dict, config: dict):
    if case.get("spacing"):
        config = {**config, "timestep_spacing": case["spacing"]}
    name = case["sampler"]
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    if name == "lcm":
        return LCMScheduler.from_config(config)
    if name == "dpm++2m":
        return DPMSolverMultistepScheduler.from_config(config)
    if name == "dpm++2m-karras":
        return DPMSolverMultistepScheduler.from_config(config, use_karras_sigmas=True)
    raise ValueError(name)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "expected"))
    write_images()
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(MODEL, safety_checker=None, feature_extractor=None,
                                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    config = dict(pipe.scheduler.config)
    for case in CASES:
        pipe.scheduler = scheduler_for(case, config)
        image = Image.open(os.path.join(OUT, case["image"])).convert("RGB")  # diffusers' load_image
        if "width" in case:
            image = pipe.image_processor.resize(image, height=case["height"], width=case["width"])
        pixels = pipe.image_processor.preprocess(image)
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        with torch.no_grad():
            out = pipe(PROMPT, image=image, strength=case["strength"], negative_prompt=case["negative"] or None,
                       num_inference_steps=case["steps"], guidance_scale=case["cfg"], generator=generator,
                       output_type="pt").images  # [1, 3, H, W] in [0, 1]
        save_file({"pixels": pixels.contiguous(), "image": (out * 2 - 1).contiguous()},
                  os.path.join(OUT, "expected", case["name"] + ".safetensors"))
        # The 8-bit picture a diffusers script would save (numpy_to_pil's rounding), for the CLI tests.
        Image.fromarray((out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
            os.path.join(OUT, "expected", case["name"] + ".png"))
        print(case["name"], tuple(out.shape), f"range {out.min():.3f}…{out.max():.3f}")
    with open(os.path.join(OUT, "expected", "cases.json"), "w") as f:
        json.dump({"prompt": PROMPT, "cases": CASES}, f, indent=1)


if __name__ == "__main__":
    main()
