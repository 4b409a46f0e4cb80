#!/usr/bin/env python3
"""Random-weight models at the real Stable Diffusion sizes, for `imagine bench table` and the
full-size checks (tooling, not CI): complete diffusers folders whose every tensor has the shape of
the published checkpoint, stored fp16 as those are.

    python3 Tests/Fixtures/make_fullsize_models.py [--work /tmp/imagine-fullsize] [--models sd-turbo,sd15]
    swift build -c release && .build/release/imagine bench table /tmp/imagine-fullsize/sd-turbo --threads 2

Writes <work>/sd-turbo (SD 2.1 / SD-Turbo: OpenCLIP ViT-H text encoder, 865 M U-Net with linear
projections, SD VAE, TAESD, Euler with trailing timesteps) and <work>/sd15 (CLIP ViT-L text
encoder, the SD 1.5 U-Net, SD VAE, TAESD, Euler), ~2.3 GB each. Components that exist are kept, so
a rerun only adds what is missing. The tokenizer is the real CLIP vocabulary from
../shared/clip-tokenizer (or --vocab DIR); random weights with a real tokenizer give real ids.
Needs the pinned tooling of Tests/Fixtures/requirements.txt.
"""
import argparse
import json
import os
import shutil

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The published configs (stabilityai/sd-turbo = stable-diffusion-2-1 at 512 px; stable-diffusion-v1-5).
MODELS = {
    "sd-turbo": dict(
        text=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
                  hidden_act="gelu"),
        pad="!",
        unet=dict(sample_size=64, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                  use_linear_projection=True, upcast_attention=False),
        scheduler=dict(timestep_spacing="trailing"),
        seed=21),
    "sd15": dict(
        text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                  hidden_act="quick_gelu"),
        pad="<|endoftext|>",
        unet=dict(sample_size=64, cross_attention_dim=768, attention_head_dim=8),
        scheduler=dict(timestep_spacing="leading", steps_offset=1),
        seed=15),
}


def exists(folder: str, name: str) -> bool:
    return os.path.exists(os.path.join(folder, name, "config.json"))


def build(name: str, spec: dict, folder: str, vocab: str) -> None:
    seed = spec["seed"]
    if not exists(folder, "text_encoder"):
        torch.manual_seed(seed)  # transformers' own init gives realistic activation magnitudes
        config = CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, eos_token_id=2, bos_token_id=0,
                                pad_token_id=1, projection_dim=spec["text"]["hidden_size"], **spec["text"])
        CLIPTextModel(config).half().save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True)
    tokenizer = os.path.join(folder, "tokenizer")
    if not os.path.exists(os.path.join(tokenizer, "vocab.json")):
        os.makedirs(tokenizer, exist_ok=True)
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(vocab, f), tokenizer)
        with open(os.path.join(tokenizer, "tokenizer_config.json"), "w") as f:
            json.dump({"model_max_length": 77, "pad_token": spec["pad"], "bos_token": "<|startoftext|>",
                       "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                       "tokenizer_class": "CLIPTokenizer"}, f)
    if not exists(folder, "unet"):
        torch.manual_seed(seed + 1)
        UNet2DConditionModel(**spec["unet"]).half().save_pretrained(os.path.join(folder, "unet"), safe_serialization=True)
    if not exists(folder, "vae"):
        torch.manual_seed(seed + 2)  # the SD VAE: AutoencoderKL's defaults plus these
        AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                      down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                      sample_size=512).half().save_pretrained(os.path.join(folder, "vae"), safe_serialization=True)
    if not exists(folder, "vae_tiny"):
        torch.manual_seed(seed + 3)  # madebyollin/taesd: AutoencoderTiny's defaults
        AutoencoderTiny().half().save_pretrained(os.path.join(folder, "vae_tiny"), safe_serialization=True)
    if not os.path.exists(os.path.join(folder, "scheduler", "scheduler_config.json")):
        EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                               **spec["scheduler"]).save_pretrained(os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                   "safety_checker": [None, None], "feature_extractor": [None, None],
                   "requires_safety_checker": False}, f, indent=2)
    print(f"{name}: {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/imagine-fullsize")
    parser.add_argument("--models", default="sd-turbo,sd15")
    parser.add_argument("--vocab", default=os.path.join(REPO, "..", "shared", "clip-tokenizer"))
    args = parser.parse_args()
    for name in args.models.split(","):
        build(name, MODELS[name], os.path.join(args.work, name), args.vocab)


if __name__ == "__main__":
    main()
