#!/usr/bin/env python3
"""End-to-end fixtures for SDXL: a tiny random-weight SDXL in diffusers' folder layout (two text
encoders, the second with its projection; a U-Net with SDXL's pooled-text and size embedding) and
images `StableDiffusionXLPipeline` makes with it, compared pixel for pixel by the Swift pipeline.

    python3 Tests/Fixtures/make_sdxl_pipeline_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/pipeline-sdxl/tiny-sdxl/ (model_index.json, tokenizer/, tokenizer_2/ (our own
small vocabulary; tokenizer_2 pads with "!" as SDXL's does), text_encoder/, text_encoder_2/, unet/,
vae/, scheduler/) and Tests/Fixtures/pipeline-sdxl/expected/<case>.safetensors with the image (fp32
[1, 3, h, w] in [-1, 1], before rounding to 8 bits). cases.json lists each case's settings.
"""
import json
import os
import shutil

import torch
from diffusers import (AutoencoderKL, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
                       StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline, UNet2DConditionModel)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "pipeline-sdxl")
MODEL = os.path.join(ROOT, "tiny-sdxl")
VOCAB = os.path.join(HERE, "tokenizer", "small-vocab")

# stable-diffusion-xl-base-1.0's scheduler_config.json (EulerDiscreteScheduler).
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 steps_offset=1, prediction_type="epsilon", timestep_spacing="leading", interpolation_type="linear",
                 use_karras_sigmas=False, set_alpha_to_one=False, clip_sample=False, sample_max_value=1.0,
                 skip_prk_steps=True)

CASES = [
    # SDXL base: guidance with no negative prompt conditions the unguided half on zeros
    # (force_zeros_for_empty_prompt); a non-square size shows in the size/crop numbers.
    dict(name="euler-zero-negative", sampler="euler", spacing="leading", steps=3, cfg=5.0, negative="",
         seed=7, width=64, height=48),
    # An encoded negative prompt.
    dict(name="euler-negative", sampler="euler", spacing="leading", steps=3, cfg=4.0, negative="blurry dark",
         seed=11, width=64, height=64),
    # SDXL-Turbo: ancestral Euler on trailing timesteps, one step, no guidance.
    dict(name="turbo-one-step", sampler="euler_a", spacing="trailing", steps=1, cfg=0.0, negative="",
         seed=3, width=48, height=64),
]
# StableDiffusionXLImg2ImgPipeline on the same model: `pixels` (saved with the image) is the
# picture as the pipeline's preprocessing leaves it, [1, 3, h, w] in [-1, 1].
IMG2IMG_CASES = [
    dict(name="img2img-guided", steps=4, strength=0.6, cfg=5.0, negative="", seed=13, width=64, height=48),
]
PROMPT = "a red apple on a wooden table"


def test_picture(height: int, width: int) -> torch.Tensor:
    """Smooth colour waves in [-1, 1]: a picture with structure at every scale the VAE sees."""
    y = torch.linspace(0, 1, height)[:, None]
    x = torch.linspace(0, 1, width)[None, :]
    channels = [torch.sin(6 * x + 2 * y), torch.cos(4 * y - 3 * x), torch.sin(9 * x * y + 1)]
    return (0.8 * torch.stack(channels))[None].contiguous()


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


def build() -> StableDiffusionXLPipeline:
    generator = torch.Generator().manual_seed(2025)
    tokenizer = CLIPTokenizer.from_pretrained(VOCAB)
    tokenizer_2 = CLIPTokenizer.from_pretrained(VOCAB, pad_token="!")
    vocab = len(tokenizer.get_vocab())
    # CLIP ViT-L's shape (quick-GELU, pooled at argmax) and OpenCLIP bigG's (GELU, projected pool).
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
        max_position_embeddings=77, hidden_act="quick_gelu", eos_token_id=2)).eval()
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=vocab, hidden_size=48, intermediate_size=96, num_hidden_layers=3, num_attention_heads=3,
        max_position_embeddings=77, hidden_act="gelu", eos_token_id=2, projection_dim=24)).eval()
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(16, 32),
        norm_num_groups=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32 + 48,
        attention_head_dim=(2, 4), transformer_layers_per_block=(1, 2), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24 + 6 * 8).eval()
    # Four levels, so the VAE scales by 8 as SDXL's does; SDXL's latent scaling factor.
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
        norm_num_groups=4, sample_size=64, scaling_factor=0.13025,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4).eval()
    for model in (text_encoder, text_encoder_2, unet, vae):
        randomize(model, generator)
    with torch.no_grad():
        # Keep the decoded image mostly inside [-1, 1] so the comparison sees real pixels, not clamping.
        vae.decoder.conv_out.weight.mul_(0.3)
    return StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet,
                                     scheduler=EulerDiscreteScheduler.from_config(SCHEDULER),
                                     force_zeros_for_empty_prompt=True, add_watermarker=False)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    pipe = build()
    pipe.save_pretrained(MODEL, safe_serialization=True)
    # transformers 5 saves only tokenizer.json; hub repositories ship vocab.json + merges.txt, which is
    # what our tokenizer reads: lay both folders out the hub's way, tokenizer_2 padding with "!".
    for folder, pad in (("tokenizer", "<|endoftext|>"), ("tokenizer_2", "!")):
        directory = os.path.join(MODEL, folder)
        shutil.rmtree(directory)
        os.makedirs(directory)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(VOCAB, name), directory)
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            with open(os.path.join(VOCAB, name)) as f:
                settings = json.load(f)
            settings["pad_token"] = pad
            with open(os.path.join(directory, name), "w") as f:
                json.dump(settings, f, indent=2)
    os.makedirs(os.path.join(ROOT, "expected"))
    with open(os.path.join(MODEL, "scheduler", "scheduler_config.json")) as f:
        scheduler_config = json.load(f)
    for case in CASES:
        config = dict(scheduler_config, timestep_spacing=case["spacing"])
        scheduler = EulerDiscreteScheduler if case["sampler"] == "euler" else EulerAncestralDiscreteScheduler
        pipe.scheduler = scheduler.from_config(config)
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        with torch.no_grad():
            image = pipe(PROMPT, negative_prompt=case["negative"] or None, num_inference_steps=case["steps"],
                         guidance_scale=case["cfg"], height=case["height"], width=case["width"],
                         generator=generator, output_type="pt").images  # [0, 1] after postprocess
        tensors = {"image": (image * 2 - 1).contiguous()}
        save_file(tensors, os.path.join(ROOT, "expected", case["name"] + ".safetensors"))
        print(case["name"], tuple(image.shape), f"range {image.min():.3f}…{image.max():.3f}")
    img2img = StableDiffusionXLImg2ImgPipeline(**pipe.components)
    img2img.scheduler = EulerDiscreteScheduler.from_config(scheduler_config)
    for case in IMG2IMG_CASES:
        picture = (test_picture(case["height"], case["width"]) + 1) / 2  # [0, 1], as the pipeline takes it
        pixels = 2 * picture - 1  # what its preprocessing makes of it
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        with torch.no_grad():
            image = img2img(PROMPT, image=picture, strength=case["strength"], negative_prompt=case["negative"] or None,
                            num_inference_steps=case["steps"], guidance_scale=case["cfg"], generator=generator,
                            output_type="pt").images
        tensors = {"image": (image * 2 - 1).contiguous(), "pixels": pixels}
        save_file(tensors, os.path.join(ROOT, "expected", case["name"] + ".safetensors"))
        print(case["name"], tuple(image.shape), f"range {image.min():.3f}…{image.max():.3f}")
    with open(os.path.join(ROOT, "expected", "cases.json"), "w") as f:
        json.dump({"prompt": PROMPT, "cases": CASES, "img2img": IMG2IMG_CASES}, f, indent=1)


if __name__ == "__main__":
    main()
