#!/usr/bin/env python3
"""Parity fixtures for the U-Net: random-weight `diffusers.UNet2DConditionModel`s at reduced sizes
that keep the structure of SD 1.x (conv projections, one head count), SD 2.x (linear projections,
per-level heads, weights stored fp16) and LCM-distilled U-Nets (guidance embedding).

    python3 Tests/Fixtures/make_unet_fixtures.py      # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/unet/<name>/: config.json + diffusion_pytorch_model.safetensors (what
`save_pretrained` writes), inputs.safetensors (sample, encoder_hidden_states, timestep[,
timestep_cond]) and expected.safetensors (the model output), all fp32 except the fp16 weights.
"""
import os
import shutil

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unet")

BASE = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(16, 32, 32), norm_num_groups=4,
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"))

CASES = {
    # SD 1.x: 1×1-conv projections, one head count (diffusers' `attention_head_dim` = heads).
    "sd15-tiny": dict(config=dict(BASE, cross_attention_dim=24, attention_head_dim=4),
                      latent=(8, 8), timestep=981.0, fp16=False),
    # SD 2.x / Turbo: linear projections, per-level heads, upcast attention; weights stored fp16;
    # an odd latent size exercises the up-blocks' `upsample_size`.
    "sd21-tiny": dict(config=dict(BASE, cross_attention_dim=32, attention_head_dim=(2, 4, 4),
                                  use_linear_projection=True, upcast_attention=True),
                      latent=(9, 7), timestep=499.5, fp16=True),
    # LCM-distilled: the guidance scale embedding enters through time_embedding.cond_proj.
    "lcm-tiny": dict(config=dict(BASE, cross_attention_dim=24, attention_head_dim=2, time_cond_proj_dim=8),
                     latent=(8, 8), timestep=259.0, fp16=False),
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
        generator = torch.Generator().manual_seed(4321)
        model = UNet2DConditionModel(**case["config"]).eval()
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

        h, w = case["latent"]
        inputs = {
            "sample": torch.randn((2, 4, h, w), generator=generator),
            "encoder_hidden_states": torch.randn((2, 77, case["config"]["cross_attention_dim"]), generator=generator),
            "timestep": torch.tensor([case["timestep"]]),
        }
        kwargs = {}
        if "time_cond_proj_dim" in case["config"]:
            inputs["timestep_cond"] = torch.randn((2, case["config"]["time_cond_proj_dim"]), generator=generator)
            kwargs["timestep_cond"] = inputs["timestep_cond"]
        with torch.no_grad():
            out = model(inputs["sample"], case["timestep"], inputs["encoder_hidden_states"], **kwargs).sample
        save_file(inputs, os.path.join(out_dir, "inputs.safetensors"))
        save_file({"sample": out.contiguous()}, os.path.join(out_dir, "expected.safetensors"))
        print(name, tuple(out.shape), f"max |out| {out.abs().max():.3f}",
              f"params {sum(p.numel() for p in model.parameters())}")


if __name__ == "__main__":
    main()
