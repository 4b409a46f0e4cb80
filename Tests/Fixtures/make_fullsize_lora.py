#!/usr/bin/env python3
"""A random LoRA shaped like the LCM-LoRA for a full-size model of make_fullsize_models.py (tooling,
not CI): kohya layout, fp16, rank 64 on every layer LCM-LoRA adapts (attention projections,
feed-forward, transformer in/out projections, ResNet convolutions and time projections, down- and
upsamplers), for timing what merging a real-sized LoRA costs.

    python3 Tests/Fixtures/make_fullsize_lora.py [--work /tmp/imagine-fullsize] [--model sd-turbo]

Writes <work>/loras/<model>-lcm-shaped.safetensors.
"""
import argparse
import os
import re

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

TARGETS = re.compile(r"(to_q|to_k|to_v|to_out\.0|proj_in|proj_out|ff\.net\.0\.proj|ff\.net\.2|conv1|conv2|conv_shortcut"
                     r"|time_emb_proj|downsamplers\.0\.conv|upsamplers\.0\.conv)$")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/imagine-fullsize")
    parser.add_argument("--model", default="sd-turbo")
    parser.add_argument("--rank", type=int, default=64)
    args = parser.parse_args()
    config = UNet2DConditionModel.load_config(os.path.join(args.work, args.model, "unet"))
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
    generator = torch.Generator().manual_seed(64)
    tensors = {}
    for name, module in unet.named_modules():
        if not TARGETS.search(name) or not isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            continue
        rank = args.rank
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0]
            down = torch.randn((rank, module.in_channels, k, k), generator=generator) / (module.in_channels * k * k) ** 0.5
            up = torch.randn((module.out_channels, rank, 1, 1), generator=generator) * 0.01
        else:
            down = torch.randn((rank, module.in_features), generator=generator) / module.in_features ** 0.5
            up = torch.randn((module.out_features, rank), generator=generator) * 0.01
        stem = "lora_unet_" + name.replace(".", "_")
        tensors[stem + ".lora_down.weight"] = down.half()
        tensors[stem + ".lora_up.weight"] = up.half()
        tensors[stem + ".alpha"] = torch.tensor(float(rank)).half()
    os.makedirs(os.path.join(args.work, "loras"), exist_ok=True)
    path = os.path.join(args.work, "loras", f"{args.model}-lcm-shaped.safetensors")
    save_file(tensors, path)
    print(path, len(tensors) // 3, "modules", f"{os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
