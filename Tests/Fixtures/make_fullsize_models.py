#!/usr/bin/env python3
"""Random-weight models at the real Stable Diffusion sizes, for `imagine bench table` and the
full-size checks (tooling, not CI): complete diffusers folders whose every tensor has the shape of
the published checkpoint, stored fp16 as those are.

    python3 Tests/Fixtures/make_fullsize_models.py [--work /tmp/imagine-fullsize] [--models sd-turbo,sd15]
    swift build -c release && .build/release/imagine bench table /tmp/imagine-fullsize/sd-turbo --threads 2
    python3 Tests/Fixtures/check_fullsize_parity.py   # the SDXL-family / SDXS / BK-SDM models against diffusers

Models (--models, comma-separated; default sd-turbo,sd15):
  sd-turbo     SD 2.1 / SD-Turbo: OpenCLIP ViT-H text encoder, 865 M U-Net with linear projections,
               SD VAE, TAESD, Euler with trailing timesteps (~2.3 GB).
  sd15         CLIP ViT-L text encoder, the SD 1.5 U-Net, SD VAE, TAESD, Euler (~2.3 GB).
  sdxl-turbo   stabilityai/sdxl-turbo: CLIP ViT-L + OpenCLIP bigG (with projection) text encoders,
               the 2.57 B SDXL U-Net at sample_size 64, the SDXL VAE (scaling 0.13025), TAESDXL in
               vae_tiny/, EulerAncestral with trailing timesteps (~7 GB).
  sdxl-base    stabilityai/stable-diffusion-xl-base-1.0: the same components as sdxl-turbo, which it
               shares through symlinks (text encoders, tokenizers, VAEs, the U-Net's weights file);
               its own unet/config.json (sample_size 128), Euler leading (~0 GB; builds sdxl-turbo).
  ssd-1b       segmind/SSD-1B: its 1.33 B U-Net (uneven transformer depths, one-ResNet mid block);
               text encoders, tokenizers and VAEs shared with sdxl-turbo (SSD-1B ships SDXL's
               architecture for them); SDXL base's Euler (~2.7 GB).
  sdxs-512     IDKiro/sdxs-512-0.9: SD 2.1 text encoder, its 328 M U-Net (no mid block, only
               cross-attention on the top level), vae/ = AutoencoderTiny as released, vae_large/ =
               the SD VAE; scheduler: see SDXS_SCHEDULER (~1.4 GB).
  bk-sdm-tiny  nota-ai/bk-sdm-tiny: SD 1.x text encoder and VAE, its 323 M U-Net (one ResNet per
               level, no mid block), TAESD, Euler leading (~1.1 GB).

The SDXL-family, SDXS and BK-SDM folders carry the released configuration files as recorded in
released_configs.py (verbatim, or reconstructed where that file says so), so a loader reads the key
sets the real releases have; the weights are random with transformers' and diffusers' own
initialisation (realistic activation magnitudes), one seed per model. Components that exist are
kept, so a rerun only adds what is missing. The tokenizer is the real CLIP vocabulary from
../shared/clip-tokenizer (or --vocab DIR); random weights with a real tokenizer give real ids.
Peak memory: ~11 GB while the SDXL U-Net is initialised in fp32. Needs the pinned tooling of
Tests/Fixtures/requirements.txt.
"""
import argparse
import json
import os
import shutil

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

import released_configs as released

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

# SD's scheduler_config.json with one-step (trailing) timesteps, as stabilityai/sd-turbo ships it.
# IDKiro/sdxs-512-0.9's own file was not found (released_configs.SDXS_512_0_9_SCHEDULER is None):
# SDXS is distilled from SD 2.1-base / SD-Turbo and is run with one step, whose timestep must be 999,
# so this is a documented choice, not the release.
SDXS_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear",
                  "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0,
                  "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "timestep_spacing": "trailing", "trained_betas": None, "use_karras_sigmas": False}

# runwayml/stable-diffusion-v1-5's scheduler settings with EulerDiscreteScheduler (the release ships
# PNDM; our samplers are Euler-family, and BK-SDM keeps SD 1.x's noise schedule).
SD1_EULER_SCHEDULER = dict(SDXS_SCHEDULER, timestep_spacing="leading")

# A StableDiffusionPipeline folder without safety checker or feature extractor.
SD_MODEL_INDEX = {"_class_name": "StableDiffusionPipeline", "feature_extractor": [None, None],
                  "requires_safety_checker": False, "safety_checker": [None, None],
                  "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                  "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                  "vae": ["diffusers", "AutoencoderKL"]}

# The tokenizer folders of the releases: (pad token, tokenizer_config.json or None for our plain one,
# special_tokens_map.json or None).
SDXL_TOKENIZERS = {
    "tokenizer": ("<|endoftext|>", None, released.SDXL_BASE_TOKENIZER_SPECIAL_TOKENS),
    "tokenizer_2": ("!", released.SDXL_TURBO_TOKENIZER_2_CONFIG, released.SDXL_BASE_TOKENIZER_2_SPECIAL_TOKENS),
}
SDXL_SHARED = ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "vae", "vae_tiny")

# Models built from released_configs.py. A component is a config dict (built with the model's seed
# plus its position in this order), or comes from another model of this table through `share`
# (folders symlinked) and `unet_weights` (the U-Net's weights file symlinked under this model's own
# unet/config.json, for a U-Net whose config differs only in sample_size).
RELEASED = {
    "sdxl-turbo": dict(
        seed=1024,
        text_encoder=released.SDXL_TURBO_TEXT_ENCODER, text_encoder_2=released.SDXL_TURBO_TEXT_ENCODER_2,
        tokenizers=SDXL_TOKENIZERS, unet=released.SDXL_TURBO_UNET, vae=released.SDXL_TURBO_VAE,
        vae_tiny=released.TAESDXL_CONFIG, scheduler=released.SDXL_TURBO_SCHEDULER,
        model_index=released.SDXL_TURBO_MODEL_INDEX),
    "sdxl-base": dict(
        share=("sdxl-turbo", SDXL_SHARED), unet_weights="sdxl-turbo", unet=released.SDXL_BASE_UNET,
        scheduler=released.SDXL_BASE_SCHEDULER, model_index=released.SDXL_BASE_MODEL_INDEX),
    "ssd-1b": dict(
        # segmind/SSD-1B's scheduler and model_index were not recorded: SDXL base's (Euler, leading).
        seed=1331, share=("sdxl-turbo", SDXL_SHARED), unet=released.SSD_1B_UNET,
        scheduler=released.SDXL_BASE_SCHEDULER, model_index=released.SDXL_BASE_MODEL_INDEX),
    "sdxs-512": dict(
        seed=909, text_encoder=released.SDXS_512_0_9_TEXT_ENCODER,
        tokenizers={"tokenizer": ("!", None, None)},  # SD 2.x pads with "!"
        unet=released.SDXS_512_0_9_UNET, vae=released.SDXS_512_0_9_VAE, vae_large=released.SDXS_VAE_LARGE,
        scheduler=SDXS_SCHEDULER,
        # released.SDXS_512_0_9_MODEL_INDEX with the scheduler chosen above and no feature extractor.
        model_index=dict(SD_MODEL_INDEX, vae=["diffusers", "AutoencoderTiny"])),
    "bk-sdm-tiny": dict(
        # SD 1.x's CLIP ViT-L and kl-f8 VAE: the numbers of runwayml/stable-diffusion-v1-5's files,
        # recorded in released_configs as SDXS-dreamshaper's text encoder and SDXS's vae_large.
        seed=330, text_encoder=released.SDXS_512_DREAMSHAPER_TEXT_ENCODER,
        tokenizers={"tokenizer": ("<|endoftext|>", None, None)},
        # vae_tiny: madebyollin/taesd, the same AutoencoderTiny (its defaults) as TAESDXL.
        unet=released.BK_SDM_TINY_UNET, vae=released.SDXS_VAE_LARGE, vae_tiny=released.TAESDXL_CONFIG,
        scheduler=SD1_EULER_SCHEDULER, model_index=SD_MODEL_INDEX),
}
# The order components are built in; a component's seed is the model's seed plus its position.
COMPONENTS = ("text_encoder", "text_encoder_2", "unet", "vae", "vae_tiny", "vae_large")


def exists(folder: str, name: str) -> bool:
    return os.path.exists(os.path.join(folder, name, "config.json"))


def write_json(path: str, value: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def write_tokenizer(folder: str, vocab: str, pad: str, config: dict | None = None,
                    special_tokens: dict | None = None) -> None:
    if os.path.exists(os.path.join(folder, "vocab.json")):
        return
    os.makedirs(folder, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(vocab, f), folder)
    write_json(os.path.join(folder, "tokenizer_config.json"), config or {
        "model_max_length": 77, "pad_token": pad, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer"})
    if special_tokens:
        write_json(os.path.join(folder, "special_tokens_map.json"), special_tokens)


def build(name: str, spec: dict, folder: str, vocab: str) -> None:
    seed = spec["seed"]
    if not exists(folder, "text_encoder"):
        torch.manual_seed(seed)  # transformers' own init gives realistic activation magnitudes
        config = CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, eos_token_id=2, bos_token_id=0,
                                pad_token_id=1, projection_dim=spec["text"]["hidden_size"], **spec["text"])
        CLIPTextModel(config).half().save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True)
    write_tokenizer(os.path.join(folder, "tokenizer"), vocab, spec["pad"])
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
    write_json(os.path.join(folder, "model_index.json"), SD_MODEL_INDEX)
    print(f"{name}: {folder}")


# --- models from released_configs.py ---------------------------------------------------------------

def build_component(component: str, config: dict, path: str) -> None:
    """Random fp16 weights for `config` (a released config.json as a dict), then that config.json
    itself in place of the one save_pretrained wrote, so the folder reads as the release does."""
    if component.startswith("text_encoder"):
        keys = {k: v for k, v in config.items()
                if k not in ("architectures", "model_type", "transformers_version", "torch_dtype")}
        model_class = {"CLIPTextModel": CLIPTextModel,
                       "CLIPTextModelWithProjection": CLIPTextModelWithProjection}[config["architectures"][0]]
        model = model_class(CLIPTextConfig(**keys))
    else:
        model_class = {"UNet2DConditionModel": UNet2DConditionModel, "AutoencoderKL": AutoencoderKL,
                       "AutoencoderTiny": AutoencoderTiny}[config["_class_name"]]
        model = model_class.from_config(config)
    model.half().save_pretrained(path, safe_serialization=True)
    del model
    write_json(os.path.join(path, "config.json"), config)


def link(target: str, path: str) -> None:
    """A relative symlink, so the work folder can move as a whole."""
    if not os.path.lexists(path):
        os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


def build_released(name: str, work: str, vocab: str, built: set) -> None:
    if name in built:
        return
    spec = RELEASED[name]
    folder = os.path.join(work, name)
    os.makedirs(folder, exist_ok=True)
    if "share" in spec:
        source, components = spec["share"]
        build_released(source, work, vocab, built)
        for component in components:
            if os.path.exists(os.path.join(work, source, component)):
                link(os.path.join(work, source, component), os.path.join(folder, component))
    if "unet_weights" in spec:
        build_released(spec["unet_weights"], work, vocab, built)
        unet = os.path.join(folder, "unet")
        os.makedirs(unet, exist_ok=True)
        weights = "diffusion_pytorch_model.safetensors"
        link(os.path.join(work, spec["unet_weights"], "unet", weights), os.path.join(unet, weights))
        write_json(os.path.join(unet, "config.json"), spec["unet"])
    for position, component in enumerate(COMPONENTS):
        if component in spec and not exists(folder, component):
            torch.manual_seed(spec["seed"] + position)
            build_component(component, spec[component], os.path.join(folder, component))
    for tokenizer, (pad, config, special_tokens) in spec.get("tokenizers", {}).items():
        write_tokenizer(os.path.join(folder, tokenizer), vocab, pad, config, special_tokens)
    write_json(os.path.join(folder, "scheduler", "scheduler_config.json"), spec["scheduler"])
    write_json(os.path.join(folder, "model_index.json"), spec["model_index"])
    built.add(name)
    print(f"{name}: {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/imagine-fullsize")
    parser.add_argument("--models", default="sd-turbo,sd15")
    parser.add_argument("--vocab", default=os.path.join(REPO, "..", "shared", "clip-tokenizer"))
    args = parser.parse_args()
    built: set = set()
    for name in args.models.split(","):
        if name in MODELS:
            build(name, MODELS[name], os.path.join(args.work, name), args.vocab)
        elif name in RELEASED:
            build_released(name, args.work, args.vocab, built)
        else:
            parser.error(f"unknown model '{name}' (known: {', '.join([*MODELS, *RELEASED])})")


if __name__ == "__main__":
    main()
