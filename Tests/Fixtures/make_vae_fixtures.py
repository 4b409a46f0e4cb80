#!/usr/bin/env python3
"""Parity fixtures for the VAEs: random-weight `diffusers.AutoencoderKL`s and an `AutoencoderTiny`
(TAESD) at reduced sizes that keep the real structure (three levels, so latents are 1/4 of the
image instead of SD's 1/8; TAESD keeps its full 4-stage layer layout, `decoder.layers.0…18`).

    python3 Tests/Fixtures/make_vae_fixtures.py      # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/vae/<name>/: config.json + diffusion_pytorch_model.safetensors (what
`save_pretrained` writes), inputs.safetensors and expected.safetensors, all fp32 except the fp16
weights of one case.

inputs:   latents  — *model* latents, what a sampler produces (our `decode` takes these)
          image    — an image in [-1, 1]
expected: image    — `vae.decode(latents / scaling_factor + shift_factor)`, the division a diffusers
                     pipeline does before calling the VAE, which our `decode` does itself
          mean, logvar (AutoencoderKL) — `vae.encode(image).latent_dist` (logvar clamped to [-30, 20])
          latents  — (mode − shift_factor) · scaling_factor, the model latents of `image`
                     (AutoencoderKL: mode = mean; AutoencoderTiny: the encoder's output)
"""
import os
import shutil

import torch
from diffusers import AutoencoderKL, AutoencoderTiny
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vae")

KL_BASE = dict(in_channels=3, out_channels=3, block_out_channels=(16, 32, 32), layers_per_block=1,
               norm_num_groups=4, sample_size=32,
               down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3)

CASES = {
    # SD 1.x/2.x structure: quant convs, mid-block attention, scaling_factor 0.18215, no shift.
    "kl-tiny": dict(cls=AutoencoderKL, config=dict(KL_BASE, latent_channels=4),
                    latents=(1, 4, 8, 8), image=(1, 3, 32, 32), fp16=False),
    # SD3-style options: no quant convs, no mid-block attention, a shift factor, 16 latent
    # channels; weights stored fp16; batch 2 and sizes that are not powers of two.
    "kl-noquant-fp16": dict(cls=AutoencoderKL,
                            config=dict(KL_BASE, latent_channels=16, use_quant_conv=False,
                                        use_post_quant_conv=False, mid_block_add_attention=False,
                                        scaling_factor=1.5305, shift_factor=0.0609),
                            latents=(2, 16, 5, 7), image=(2, 3, 20, 28), fp16=True),
    # TAESD: the default block counts (1,3,3,3)/(3,3,3,1) and layout at 16 channels.
    "taesd-tiny": dict(cls=AutoencoderTiny,
                       config=dict(encoder_block_out_channels=(16, 16, 16, 16),
                                   decoder_block_out_channels=(16, 16, 16, 16)),
                       latents=(1, 4, 8, 8), image=(1, 3, 64, 64), fp16=False),
}


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Non-trivial norms and biases, weights scaled by fan-in so activations stay O(1) throughout."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)


def main() -> None:
    for name, case in CASES.items():
        generator = torch.Generator().manual_seed(8765)
        model = case["cls"](**case["config"]).eval()
        randomize(model, generator)
        if case["fp16"]:
            # The reference computes in fp32 on exactly the values the fp16 file holds.
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.half().float())

        out_dir = os.path.join(ROOT, name)
        shutil.rmtree(out_dir, ignore_errors=True)
        if case["fp16"]:
            model.half().save_pretrained(out_dir, safe_serialization=True)
            model.float()
        else:
            model.save_pretrained(out_dir, safe_serialization=True)

        scale = model.config.scaling_factor
        shift = model.config.shift_factor or 0.0
        inputs = {
            "latents": torch.randn(case["latents"], generator=generator),
            "image": torch.rand(case["image"], generator=generator) * 2 - 1,
        }
        with torch.no_grad():
            expected = {"image": model.decode(inputs["latents"] / scale + shift).sample}
            if isinstance(model, AutoencoderKL):
                dist = model.encode(inputs["image"]).latent_dist
                expected["mean"], expected["logvar"] = dist.mean, dist.logvar
                mode = dist.mode()
            else:
                mode = model.encode(inputs["image"]).latents
            expected["latents"] = (mode - shift) * scale
        save_file(inputs, os.path.join(out_dir, "inputs.safetensors"))
        save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(out_dir, "expected.safetensors"))
        print(name, {k: tuple(v.shape) for k, v in expected.items()},
              f"max |image| {expected['image'].abs().max():.3f}",
              f"params {sum(p.numel() for p in model.parameters())}")


if __name__ == "__main__":
    main()
