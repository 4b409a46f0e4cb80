#!/usr/bin/env python3
"""End-to-end fixtures: a tiny random-weight Stable Diffusion in diffusers' folder layout and
images `StableDiffusionPipeline` makes with it, so the Swift pipeline (tokenizer → CLIP → sampler
loop with the U-Net and guidance → VAE) can be compared pixel for pixel.

    python3 Tests/Fixtures/make_pipeline_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/pipeline/tiny-sd/ (model_index.json, tokenizer/ (our own small vocabulary from
Tests/Fixtures/tokenizer/small-vocab), text_encoder/, unet/, vae/, scheduler/) and
Tests/Fixtures/pipeline/expected/<case>.safetensors with the image (fp32 [1, 3, 64, 64] in [-1, 1],
before any rounding to 8 bits) and, where the case injects it, the initial noise. cases.json lists
the settings of each case.
"""
import json
import os
import shutil

import torch
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "pipeline")
MODEL = os.path.join(ROOT, "tiny-sd")

# SD 1.5's scheduler_config.json fields (it names PNDMScheduler; stored here as DDIMScheduler, which
# takes them all; every sampler reads the fields it knows).
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 steps_offset=1, set_alpha_to_one=False, clip_sample=False, prediction_type="epsilon",
                 timestep_spacing="leading")

CASES = [
    # name, sampler class, extra scheduler args, steps, guidance, negative, seed, inject noise
    dict(name="euler-seeded", sampler="euler", steps=4, cfg=5.0, negative="", seed=7, inject=False),
    dict(name="euler-a-seeded", sampler="euler_a", steps=3, cfg=3.0, negative="blurry", seed=11, inject=False),
    dict(name="dpmpp2m-karras-injected", sampler="dpm++2m-karras", steps=5, cfg=4.0, negative="dark",
         seed=3, inject=True),
    dict(name="ddim-no-guidance", sampler="ddim", steps=4, cfg=1.0, negative="", seed=5, inject=True),
]
PROMPT = "a red apple on a wooden table"


def scheduler_for(name: str, config: dict):
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    if name == "dpm++2m-karras":
        return DPMSolverMultistepScheduler.from_config(config, use_karras_sigmas=True)
    raise ValueError(name)


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / p[0].numel() ** 0.5)


def build() -> StableDiffusionPipeline:
    generator = torch.Generator().manual_seed(2024)
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(HERE, "tokenizer", "small-vocab"))
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer.get_vocab()), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu", eos_token_id=2)).eval()
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        norm_num_groups=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, attention_head_dim=2).eval()
    # Four levels, so the VAE scales by 8 as SD's does: 64² images from 8² latents.
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
        norm_num_groups=4, sample_size=64,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4).eval()
    for model in (text_encoder, unet, vae):
        randomize(model, generator)
    with torch.no_grad():
        # Keep the decoded image mostly inside [-1, 1] so the comparison sees real pixels, not clamping.
        vae.decoder.conv_out.weight.mul_(0.3)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=DDIMScheduler(**SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    pipe = build()
    pipe.save_pretrained(MODEL, safe_serialization=True)
    # transformers 5 saves only tokenizer.json; hub SD repositories ship vocab.json + merges.txt,
    # which is what our tokenizer reads: lay the folder out the hub's way.
    tokenizer_dir = os.path.join(MODEL, "tokenizer")
    os.remove(os.path.join(tokenizer_dir, "tokenizer.json"))
    for name in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(HERE, "tokenizer", "small-vocab", name), tokenizer_dir)
    os.makedirs(os.path.join(ROOT, "expected"))
    with open(os.path.join(MODEL, "scheduler", "scheduler_config.json")) as f:
        scheduler_config = json.load(f)
    for case in CASES:
        pipe.scheduler = scheduler_for(case["sampler"], scheduler_config)
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        tensors = {}
        kwargs = {}
        if case["inject"]:
            noise = torch.randn((1, 4, 8, 8), generator=generator)
            tensors["noise"] = noise
            kwargs["latents"] = noise * 1.0  # the pipeline multiplies by init_noise_sigma itself
        else:
            kwargs["generator"] = generator
        with torch.no_grad():
            image = pipe(PROMPT, negative_prompt=case["negative"] or None, num_inference_steps=case["steps"],
                         guidance_scale=case["cfg"], height=64, width=64, output_type="pt",
                         **kwargs).images  # [1, 3, 64, 64] in [0, 1] after postprocess
        # Undo postprocess's affine map (x/2 + 0.5, clamped) to compare in the decoder's [-1, 1] range.
        tensors["image"] = (image * 2 - 1).contiguous()
        save_file(tensors, os.path.join(ROOT, "expected", case["name"] + ".safetensors"))
        print(case["name"], tuple(image.shape), f"range {image.min():.3f}…{image.max():.3f}")
    with open(os.path.join(ROOT, "expected", "cases.json"), "w") as f:
        json.dump({"prompt": PROMPT, "cases": CASES}, f, indent=1)


if __name__ == "__main__":
    main()
