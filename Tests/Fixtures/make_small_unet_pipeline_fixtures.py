#!/usr/bin/env python3
"""End-to-end fixtures for the small distilled SD U-Nets: tiny random-weight models shaped like
SDXS-512 (its vae/ is an AutoencoderTiny, the top level's transformers attend only to the text, no
mid block) and BK-SDM-tiny (one ResNet per level, no mid block), in diffusers' folder layout, and
the images `StableDiffusionPipeline` makes with them.

    python3 Tests/Fixtures/make_small_unet_pipeline_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/pipeline-small/<model>/ and Tests/Fixtures/pipeline-small/expected/<case>.safetensors
(the image, fp32 [1, 3, 64, 64] in [-1, 1] before rounding to 8 bits); cases.json lists the settings.
"""
import json
import os
import shutil

import torch
from diffusers import (AutoencoderKL, AutoencoderTiny, EulerDiscreteScheduler, StableDiffusionPipeline,
                       UNet2DConditionModel)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "pipeline-small")
VOCAB = os.path.join(HERE, "tokenizer", "small-vocab")
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 steps_offset=1, prediction_type="epsilon")

CASES = [
    # SDXS: one step, no guidance, decoded by the tiny VAE it ships as its VAE.
    dict(name="sdxs-one-step", model="tiny-sdxs", spacing="trailing", steps=1, cfg=0.0, seed=5),
    # BK-SDM: a few guided steps.
    dict(name="bksdm-guided", model="tiny-bksdm", spacing="leading", steps=3, cfg=6.0, seed=9),
]
PROMPT = "a red apple on a wooden table"


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


def text_encoder(tokenizer: CLIPTokenizer, width: int, act: str) -> CLIPTextModel:
    return CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer.get_vocab()), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, hidden_act=act, eos_token_id=2)).eval()


def build(name: str) -> StableDiffusionPipeline:
    generator = torch.Generator().manual_seed(2026 if name == "tiny-sdxs" else 2027)
    if name == "tiny-sdxs":
        tokenizer = CLIPTokenizer.from_pretrained(VOCAB, pad_token="!")
        encoder = text_encoder(tokenizer, 32, "gelu")
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32, 32),
            norm_num_groups=4, down_block_types=("CrossAttnDownBlock2D",) * 3, up_block_types=("CrossAttnUpBlock2D",) * 3,
            mid_block_type=None, only_cross_attention=(True, False, False), cross_attention_dim=32,
            attention_head_dim=(2, 4, 4), use_linear_projection=True).eval()
        # TAESD's layout, narrowed: three upsamplings make SD's factor of 8.
        vae = AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                              num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1)).eval()
    else:
        tokenizer = CLIPTokenizer.from_pretrained(VOCAB)
        encoder = text_encoder(tokenizer, 32, "quick_gelu")
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32, 32),
            norm_num_groups=4, down_block_types=("CrossAttnDownBlock2D",) * 3, up_block_types=("CrossAttnUpBlock2D",) * 3,
            mid_block_type=None, cross_attention_dim=32, attention_head_dim=2).eval()
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
            norm_num_groups=4, sample_size=64,
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4).eval()
    for model in (encoder, unet, vae):
        randomize(model, generator)
    with torch.no_grad():
        # Mostly inside the output range: the comparison sees real pixels, not clamping.
        last = vae.decoder.layers[-1] if name == "tiny-sdxs" else vae.decoder.conv_out
        last.weight.mul_(0.3)
        if name == "tiny-sdxs":
            last.bias.fill_(0.5)  # TAESD works in [0, 1]
    return StableDiffusionPipeline(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=EulerDiscreteScheduler.from_config(SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "expected"))
    for case in CASES:
        folder = os.path.join(ROOT, case["model"])
        pipe = build(case["model"])
        pipe.save_pretrained(folder, safe_serialization=True)
        # Hub repositories ship vocab.json + merges.txt, which our tokenizer reads.
        directory = os.path.join(folder, "tokenizer")
        shutil.rmtree(directory)
        os.makedirs(directory)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(VOCAB, name), directory)
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            with open(os.path.join(VOCAB, name)) as f:
                settings = json.load(f)
            settings["pad_token"] = pipe.tokenizer.pad_token
            with open(os.path.join(directory, name), "w") as f:
                json.dump(settings, f, indent=2)
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, timestep_spacing=case["spacing"])
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        with torch.no_grad():
            image = pipe(PROMPT, num_inference_steps=case["steps"], guidance_scale=case["cfg"], height=64, width=64,
                         generator=generator, output_type="pt").images
        save_file({"image": (image * 2 - 1).contiguous()}, os.path.join(ROOT, "expected", case["name"] + ".safetensors"))
        print(case["name"], tuple(image.shape), f"range {image.min():.3f}…{image.max():.3f}")
    with open(os.path.join(ROOT, "expected", "cases.json"), "w") as f:
        json.dump({"prompt": PROMPT, "cases": CASES}, f, indent=1)


if __name__ == "__main__":
    main()
