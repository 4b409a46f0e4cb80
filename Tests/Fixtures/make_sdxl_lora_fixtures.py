#!/usr/bin/env python3
"""SDXL LoRA fixtures: random LoRA files for the tiny SDXL of make_sdxl_pipeline_fixtures.py (run that
first) in the two layouts SDXL LoRAs come in, and the images diffusers' StableDiffusionXLPipeline
renders after `load_lora_weights` + `fuse_lora` with them.

    python3 Tests/Fixtures/make_sdxl_lora_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/lora-sdxl/:
- kohya-ldm.safetensors (fp16): what kohya-ss sd-scripts writes for SDXL, which it trains on sgm's
  U-Net: `lora_unet_…` keys in the original LDM layout (`input_blocks_4_1_transformer_blocks_0_attn1_to_q`,
  `middle_block_1_proj_in`, `output_blocks_2_2_conv`, `input_blocks_1_0_in_layers_2`, `…_emb_layers_1`,
  `…_skip_connection`, `input_blocks_3_0_op`, `input_blocks_0_0`, `out_2`, `time_embed_0`,
  `label_emb_0_0`), LoCon convolutions (3×3 down, 1×1 up) on every convolution, and both text
  encoders (`lora_te1_…`, `lora_te2_…`, the second also on its `text_projection`), with `.alpha`;
- peft.safetensors (bf16): what StableDiffusionXLPipeline.save_lora_weights writes for PEFT adapters
  on the U-Net and both text encoders (`unet.…`, `text_encoder.…`, `text_encoder_2.…` with
  `lora_A`/`lora_B`; rank and alpha in the `lora_adapter_metadata` header);
- expected/<case>.safetensors: the image ([1, 3, 64, 64] in [-1, 1]); cases.json lists the settings.

diffusers gives kohya files one alpha per model (`_get_alpha_name` maps a per-module alpha of an
attention or text-encoder layer to a name PEFT never matches), so each model's modules share one
alpha here, different between the three models; ranks differ between modules. To keep the files
small the attention and feed-forward layers are adapted in the first transformer block of each
level's first transformer only, and the ResNets' 3×3 convolutions in each block's first ResNet;
every kind of layer is adapted somewhere, in input, middle and output blocks.
"""
import json
import os
import re
import shutil
import sys

import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors import safe_open
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Imported for its text-encoder loading workaround (installed on import) and its helpers.
from make_lora_fixtures import lora_pair, targets  # noqa: E402

MODEL = os.path.join(HERE, "pipeline-sdxl", "tiny-sdxl")
ROOT = os.path.join(HERE, "lora-sdxl")
PROMPT = "a red apple on a wooden table"

CASES = [
    # name, LoRA files with strengths, steps, guidance, seed (Euler, leading spacing, 64×64)
    dict(name="none", loras=[], steps=3, cfg=5.0, seed=7),
    dict(name="kohya-ldm", loras=[["kohya-ldm.safetensors", 0.8]], steps=3, cfg=5.0, seed=7),
    dict(name="peft", loras=[["peft.safetensors", 1.0]], steps=3, cfg=5.0, seed=7),
    dict(name="kohya-and-peft", loras=[["kohya-ldm.safetensors", 0.7], ["peft.safetensors", -0.5]], steps=3,
         cfg=5.0, seed=7),
]

UNET_LINEAR = re.compile(r"(attentions\.0\.transformer_blocks\.0\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2))"
                         r"|attentions\.\d+\.(proj_in|proj_out)|time_emb_proj"
                         r"|time_embedding\.linear_[12]|add_embedding\.linear_[12])$")
UNET_CONV = re.compile(r"(resnets\.0\.(conv1|conv2)|resnets\.\d+\.conv_shortcut|(down|up)samplers\.0\.conv|^conv_in|^conv_out)$")
TE_LINEAR = re.compile(r"(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2)|^text_projection)$")

RESNET_LAYERS = {"conv1": "in_layers.2", "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1",
                 "conv_shortcut": "skip_connection"}
TOP_LAYERS = {"conv_in": "input_blocks.0.0", "conv_out": "out.2", "time_embedding.linear_1": "time_embed.0",
              "time_embedding.linear_2": "time_embed.2", "add_embedding.linear_1": "label_emb.0.0",
              "add_embedding.linear_2": "label_emb.0.2"}


def ldm_name(name: str, unet) -> str:
    """A diffusers U-Net module path under sgm's name: blocks numbered straight through (conv_in is
    input block 0, each down level's ResNets then its downsampler; each up level one ResNet more, the
    upsampler behind the last ResNet and its transformer)."""
    if name in TOP_LAYERS:
        return TOP_LAYERS[name]
    per_level = unet.config.layers_per_block
    attention_up = [hasattr(block, "attentions") for block in unet.up_blocks]
    parts = name.split(".")
    if parts[0] == "down_blocks":
        level, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
        start = 1 + level * (per_level + 1)
        if kind == "downsamplers":
            return f"input_blocks.{start + per_level}.0.op"
        block = f"input_blocks.{start + index}"
    elif parts[0] == "mid_block":
        kind, index, rest = parts[1], int(parts[2]), parts[3:]
        block = f"middle_block.{ {('resnets', 0): 0, ('attentions', 0): 1, ('resnets', 1): 2}[(kind, index)] }"
        return f"{block}.{RESNET_LAYERS[rest[0]] if kind == 'resnets' else '.'.join(rest)}"
    else:
        level, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
        start = level * (per_level + 1)
        if kind == "upsamplers":
            return f"output_blocks.{start + per_level}.{2 if attention_up[level] else 1}.conv"
        block = f"output_blocks.{start + index}"
    if kind == "resnets":
        return f"{block}.0.{RESNET_LAYERS[rest[0]]}"
    return f"{block}.1.{'.'.join(rest)}"


def write_kohya(pipe, generator) -> dict:
    """Returns each model's adapted module paths, for main()'s check."""
    tensors, adapted = {}, {"unet": [], "text_encoder": [], "text_encoder_2": []}
    unet_modules = targets(pipe.unet, UNET_LINEAR) + targets(pipe.unet, UNET_CONV)
    for index, (name, module) in enumerate(unet_modules):
        rank = 2 if isinstance(module, torch.nn.Conv2d) or index % 3 == 0 else 4
        down, up = lora_pair(module, rank, generator)
        stem = "lora_unet_" + ldm_name(name, pipe.unet).replace(".", "_")
        tensors[stem + ".lora_down.weight"], tensors[stem + ".lora_up.weight"] = down.half(), up.half()
        tensors[stem + ".alpha"] = torch.tensor(1.5).half()
        adapted["unet"].append(name)
    for prefix, model, alpha, rank in (("lora_te1_", pipe.text_encoder, 3.0, 4), ("lora_te2_", pipe.text_encoder_2, 2.0, 2)):
        component = "text_encoder" if prefix == "lora_te1_" else "text_encoder_2"
        for name, module in targets(model, TE_LINEAR):
            down, up = lora_pair(module, rank, generator)
            # kohya names CLIP's layers as transformers 4 did, under `text_model.` (but the projection).
            path = name if name == "text_projection" or name.startswith("text_model.") else "text_model." + name
            stem = prefix + path.replace(".", "_")
            tensors[stem + ".lora_down.weight"], tensors[stem + ".lora_up.weight"] = down.half(), up.half()
            tensors[stem + ".alpha"] = torch.tensor(alpha).half()
            adapted[component].append(name)
    save_file(tensors, os.path.join(ROOT, "kohya-ldm.safetensors"),
              metadata={"ss_network_module": "networks.lora", "ss_base_model_version": "sdxl_base_v1-0"})
    return adapted


def write_peft(pipe, generator) -> None:
    """PEFT adapters on all three models, randomised (PEFT starts lora_B at zero), saved by diffusers.
    Leaves the adapters in `pipe`, so it runs last."""
    unet_config = LoraConfig(r=2, lora_alpha=3, init_lora_weights=False,
                             target_modules=r".*(attentions\.0\.transformer_blocks\.0\.attn[12]\.(to_q|to_k|to_v|to_out\.0)"
                                            r"|proj_in|proj_out|resnets\.0\.conv1)")
    te_config = LoraConfig(r=3, lora_alpha=6, init_lora_weights=False,
                           target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1"])
    te2_config = LoraConfig(r=2, lora_alpha=1, init_lora_weights=False,
                            target_modules=["q_proj", "v_proj", "fc2", "text_projection"])
    models = {"unet": (pipe.unet, unet_config), "text_encoder": (pipe.text_encoder, te_config),
              "text_encoder_2": (pipe.text_encoder_2, te2_config)}
    layers = {}
    for component, (model, config) in models.items():
        model.add_adapter(config, adapter_name="made")
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_A" in name:
                    p.copy_(torch.randn(p.shape, generator=generator) / p[0].numel() ** 0.5)
                elif "lora_B" in name:
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.3 / p.shape[1] ** 0.5)
        layers[component] = {k: v.to(torch.bfloat16) for k, v in get_peft_model_state_dict(model, adapter_name="made").items()}
    StableDiffusionXLPipeline.save_lora_weights(
        ROOT, unet_lora_layers=layers["unet"], text_encoder_lora_layers=layers["text_encoder"],
        text_encoder_2_lora_layers=layers["text_encoder_2"], weight_name="peft.safetensors",
        unet_lora_adapter_metadata=unet_config.to_dict(), text_encoder_lora_adapter_metadata=te_config.to_dict(),
        text_encoder_2_lora_adapter_metadata=te2_config.to_dict())


def load() -> StableDiffusionXLPipeline:
    pipe = StableDiffusionXLPipeline.from_pretrained(MODEL)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    return pipe


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "expected"))
    pipe = load()
    generator = torch.Generator().manual_seed(5151)
    kohya_modules = write_kohya(pipe, generator)
    write_peft(pipe, generator)
    for case in CASES:
        pipe = load()
        models = {"unet": pipe.unet, "text_encoder": pipe.text_encoder, "text_encoder_2": pipe.text_encoder_2}
        before = {c: {k: v.clone() for k, v in m.state_dict().items()} for c, m in models.items()}
        names = []
        for index, (file, _) in enumerate(case["loras"]):
            pipe.load_lora_weights(ROOT, weight_name=file, adapter_name=f"a{index}")
            names.append(f"a{index}")
        if names:
            pipe.set_adapters(names, adapter_weights=[strength for _, strength in case["loras"]])
            pipe.fuse_lora(components=list(models), adapter_names=names, lora_scale=1.0)
            pipe.unload_lora_weights()  # keeps the fused weights, drops the adapters
            # Each file's modules must have changed exactly their layers: one that diffusers skipped
            # or put elsewhere would make matching it prove nothing.
            expected = {c: set() for c in models}
            for file, _ in case["loras"]:
                with safe_open(os.path.join(ROOT, file), "pt") as f:
                    keys = list(f.keys())
                if file.startswith("kohya"):
                    for c, paths in kohya_modules.items():
                        expected[c] |= {p + ".weight" for p in paths}
                else:
                    for key in keys:
                        c, path = key.split(".", 1)
                        expected[c].add(path.replace(".lora_A.weight", ".weight").replace(".lora_B.weight", ".weight"))
            for c, model in models.items():
                after = model.state_dict()
                changed = {k for k in before[c] if not torch.equal(before[c][k], after[k])}
                assert changed == expected[c], (f"{case['name']} {c}: changed but not adapted "
                                                f"{sorted(changed - expected[c])[:5]}, adapted but unchanged "
                                                f"{sorted(expected[c] - changed)[:5]}")
                print(case["name"], c, len(changed), "layers changed")
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        with torch.no_grad():
            image = pipe(PROMPT, num_inference_steps=case["steps"], guidance_scale=case["cfg"], height=64, width=64,
                         output_type="pt", generator=generator).images
        save_file({"image": (image * 2 - 1).contiguous()}, os.path.join(ROOT, "expected", case["name"] + ".safetensors"))
        print(case["name"], f"range {image.min():.3f}…{image.max():.3f}")
    with open(os.path.join(ROOT, "expected", "cases.json"), "w") as f:
        json.dump({"prompt": PROMPT, "cases": CASES}, f, indent=1)


if __name__ == "__main__":
    main()
