#!/usr/bin/env python3
"""The reference picture for the Swift engine's imagine-mini parity test: diffusers'
StableDiffusionPipeline on Weights/imagine-mini with injected initial noise.

    python Weights/recipe/make_parity_fixture.py

Writes Tests/Fixtures/imagine-mini/red-apple.safetensors with
    noise  fp32 [1, 4, 16, 16]   torch.Generator("cpu").manual_seed(SEED) + randn, before the
                                 pipeline multiplies it by the scheduler's init_noise_sigma
    image  fp32 [1, 3, 128, 128] the decoded picture in [-1, 1] (before rounding to 8 bits), the
                                 layout of Tests/Fixtures/pipeline/expected/*.safetensors
and case.json beside it with the prompt and settings. The model's own scheduler (Euler, trailing
timesteps, v-prediction) is used unchanged.
"""
import json
import os

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "Weights", "imagine-mini")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "imagine-mini")
CASE = dict(prompt="red apple", negative="", steps=4, cfg=2.0, seed=1, sampler="euler", width=128, height=128)


def main() -> None:
    torch.set_num_threads(2)
    # fp32 compute, as the Swift engine computes (the stored weights are fp16).
    pipe = StableDiffusionPipeline.from_pretrained(MODEL, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    noise = torch.randn((1, 4, CASE["height"] // 8, CASE["width"] // 8),
                        generator=torch.Generator("cpu").manual_seed(CASE["seed"]))
    with torch.no_grad():
        image = pipe(CASE["prompt"], num_inference_steps=CASE["steps"], guidance_scale=CASE["cfg"],
                     height=CASE["height"], width=CASE["width"], latents=noise.clone(),
                     output_type="np").images  # [1, 128, 128, 3] in [0, 1]
    # Back to the decoder's [-1, 1] and channels-first, as the other pipeline fixtures store it.
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(0, 3, 1, 2))) * 2 - 1
    os.makedirs(OUT, exist_ok=True)
    save_file({"noise": noise.contiguous(), "image": tensor.float().contiguous()},
              os.path.join(OUT, "red-apple.safetensors"))
    with open(os.path.join(OUT, "case.json"), "w") as f:
        json.dump(dict(CASE, scheduler="the model's scheduler_config.json (EulerDiscreteScheduler)",
                       note="diffusers clamps the decoded image to [-1, 1] before this is stored"), f, indent=1)
    print(f"red-apple: image range {tensor.min():.3f}…{tensor.max():.3f}, mean {tensor.mean():.3f}")


if __name__ == "__main__":
    main()
