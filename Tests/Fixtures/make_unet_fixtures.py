#!/usr/bin/env python3
"""Parity fixtures for the U-Net: random-weight `diffusers.UNet2DConditionModel`s at reduced sizes
that keep the structure of SD 1.x (conv projections, one head count), SD 2.x (linear projections,
per-level heads, weights stored fp16), LCM-distilled U-Nets (guidance embedding), SDXL (deep
transformers, pooled text and size/crop embedding), SSD-1B/Vega (uneven depths) and BK-SDM (one
ResNet per level, no mid block) and SDXS (attention only to the text at the top level).

    python3 Tests/Fixtures/make_unet_fixtures.py      # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/unet/<name>/: config.json + diffusion_pytorch_model.safetensors (what
`save_pretrained` writes), inputs.safetensors (sample, encoder_hidden_states, timestep[,
timestep_cond][, text_embeds, time_ids]) and expected.safetensors (the model output), all fp32 except the fp16 weights.
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
    # SDXL: no attention at the top level, deeper transformers further down (SDXL's 1/2/10), linear
    # projections, and the pooled text + size/crop embedding (`addition_embed_type` "text_time");
    # pooled width 12 + 6 size/crop numbers × 8 features.
    "sdxl-tiny": dict(config=dict(BASE, cross_attention_dim=40, attention_head_dim=(2, 4, 4),
                                  down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                                  up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                                  transformer_layers_per_block=(1, 2, 3), use_linear_projection=True,
                                  addition_embed_type="text_time", addition_time_embed_dim=8,
                                  projection_class_embeddings_input_dim=12 + 6 * 8),
                      latent=(8, 6), timestep=999.0, fp16=True, pooled=12),
    # SSD-1B / Vega: SDXL with transformers removed unevenly, so depths are given per ResNet, down
    # and up separately, a mid block of one ResNet, and (here) ResNets per level that differ.
    "ssd1b-tiny": dict(config=dict(BASE, cross_attention_dim=40, attention_head_dim=(2, 4, 4),
                                   layers_per_block=(2, 1, 2),
                                   down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                                   up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                                   transformer_layers_per_block=[[1, 1], [2], [3, 1]],
                                   reverse_transformer_layers_per_block=[[1, 3, 2], [2, 1], [1, 1, 1]],
                                   use_linear_projection=True, mid_block_type="UNetMidBlock2D",
                                   addition_embed_type="text_time", addition_time_embed_dim=8,
                                   projection_class_embeddings_input_dim=12 + 6 * 8),
                       latent=(8, 8), timestep=500.0, fp16=False, pooled=12),
    # BK-SDM small/tiny: one ResNet (and transformer) per down level, no mid block.
    "bksdm-tiny": dict(config=dict(BASE, cross_attention_dim=24, attention_head_dim=4, layers_per_block=1,
                                   mid_block_type=None),
                       latent=(8, 8), timestep=741.0, fp16=False),
    # SDXS-512: BK-SDM-tiny's shape on SD 2.x's text, whose top level's transformers attend to the
    # text in both attentions (`only_cross_attention`).
    "sdxs-tiny": dict(config=dict(BASE, cross_attention_dim=32, attention_head_dim=(2, 4, 4), layers_per_block=1,
                                  mid_block_type=None, only_cross_attention=(True, False, False),
                                  use_linear_projection=True,
                                  down_block_types=("CrossAttnDownBlock2D",) * 3,
                                  up_block_types=("CrossAttnUpBlock2D",) * 3),
                      latent=(8, 8), timestep=999.0, fp16=False),
}

# diffusers' `add_time_ids` for the two samples: original size, crop top-left, target size.
TIME_IDS = [[64.0, 48.0, 0.0, 0.0, 64.0, 48.0], [1024.0, 768.0, 16.0, 8.0, 512.0, 512.0]]


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
        if "pooled" in case:
            inputs["text_embeds"] = torch.randn((2, case["pooled"]), generator=generator)
            inputs["time_ids"] = torch.tensor(TIME_IDS)
            kwargs["added_cond_kwargs"] = {"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}
        with torch.no_grad():
            out = model(inputs["sample"], case["timestep"], inputs["encoder_hidden_states"], **kwargs).sample
        save_file(inputs, os.path.join(out_dir, "inputs.safetensors"))
        save_file({"sample": out.contiguous()}, os.path.join(out_dir, "expected.safetensors"))
        print(name, tuple(out.shape), f"max |out| {out.abs().max():.3f}",
              f"params {sum(p.numel() for p in model.parameters())}")


if __name__ == "__main__":
    main()
