#!/usr/bin/env python3
"""LoRA fixtures: random LoRA files in the layouts people download, and the images diffusers'
StableDiffusionPipeline renders after `load_lora_weights` + `fuse_lora` with them, on the tiny
random-weight model of make_pipeline_fixtures.py (run that first).

    python3 Tests/Fixtures/make_lora_fixtures.py   # pinned versions: Tests/Fixtures/requirements.txt

Writes Tests/Fixtures/lora/:
- kohya.safetensors (fp16): kohya-ss/A1111 keys `lora_unet_…`/`lora_te_…` with `.alpha`, attention and
  feed-forward layers, LoCon convolutions (3×3 down, 1×1 up) on the resnets, and the text encoder;
- peft.safetensors (bf16): what diffusers' `save_lora_weights` writes for PEFT adapters
  (`unet.….lora_A.weight`/`lora_B.weight`, rank and alpha in the `lora_adapter_metadata` header);
- diffusers-old.safetensors (fp32): the pre-PEFT diffusers layout (`….processor.to_q_lora.down.weight`,
  `….q_proj.lora_linear_layer.up.weight`);
- expected/<case>.safetensors: the image ([1, 3, 64, 64] in [-1, 1]); cases.json lists the settings.
"""
import json
import os
import re
import shutil

import torch
from diffusers import EulerDiscreteScheduler, LCMScheduler, StableDiffusionPipeline
from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
from peft.utils import get_peft_model_state_dict
from safetensors import safe_open
from safetensors.torch import save_file
import transformers.integrations.peft as transformers_peft

# diffusers loads text-encoder LoRAs through transformers' `load_adapter`, and transformers 5.24's
# asks for PEFT ≥ 0.22 (not released) and then skips kohya's and older diffusers' keys, which still
# carry CLIPTextModel's `text_model.` level that transformers 5 dropped (CLIPTextModelWithProjection,
# SDXL's second encoder, kept it). Load them the way transformers 4 did instead, with PEFT's own
# injection and state-dict loader; every unexpected key is an error, and main() checks that each
# LoRA module changed its layer.
def _load_adapter_with_peft(self, adapter_name=None, peft_config=None, adapter_state_dict=None, **_):
    state_dict, targets = adapter_state_dict, peft_config.target_modules
    if not hasattr(self, "text_model"):
        state_dict = {k.replace("text_model.", "", 1): v for k, v in state_dict.items()}
        targets = {m.replace("text_model.", "", 1) for m in targets}
    peft_config.target_modules = targets
    inject_adapter_in_model(peft_config, self, adapter_name)
    result = set_peft_model_state_dict(self, state_dict, adapter_name)
    unexpected = [k for k in result.unexpected_keys if "lora_" in k]
    assert not unexpected, f"text encoder LoRA keys that match no layer: {unexpected}"
    self.peft_config = {**getattr(self, "peft_config", {}), adapter_name: peft_config}
    self._hf_peft_config_loaded = True


transformers_peft.PeftAdapterMixin.load_adapter = _load_adapter_with_peft
transformers_peft.check_peft_version = lambda min_version: None

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "pipeline", "tiny-sd")
ROOT = os.path.join(HERE, "lora")
PROMPT = "a red apple on a wooden table"

CASES = [
    # name, LoRA files with strengths, sampler, steps, guidance, seed
    dict(name="none", loras=[], sampler="euler", steps=4, cfg=5.0, seed=7),
    dict(name="kohya", loras=[["kohya.safetensors", 0.8]], sampler="euler", steps=4, cfg=5.0, seed=7),
    dict(name="peft", loras=[["peft.safetensors", 1.0]], sampler="euler", steps=4, cfg=5.0, seed=7),
    dict(name="diffusers-old", loras=[["diffusers-old.safetensors", 0.6]], sampler="euler", steps=4, cfg=5.0, seed=7),
    dict(name="kohya-and-peft", loras=[["kohya.safetensors", 0.7], ["peft.safetensors", -0.5]], sampler="euler",
         steps=4, cfg=5.0, seed=7),
    dict(name="lcm", loras=[["kohya.safetensors", 1.0]], sampler="lcm", steps=3, cfg=1.5, seed=11),
]

UNET_LINEAR = re.compile(r"(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)|proj_in|proj_out|time_emb_proj)$")
UNET_CONV = re.compile(r"resnets\.\d+\.(conv1|conv2|conv_shortcut)$")
TE_LINEAR = re.compile(r"(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))$")


def lora_pair(module: torch.nn.Module, rank: int, generator: torch.Generator):
    """Random down/up weights for `module`, sized so the LoRA visibly changes the picture."""
    if isinstance(module, torch.nn.Conv2d):
        k = module.kernel_size[0]
        down = torch.randn((rank, module.in_channels, k, k), generator=generator) / (module.in_channels * k * k) ** 0.5
        up = torch.randn((module.out_channels, rank, 1, 1), generator=generator) * 0.4 / rank ** 0.5
    else:
        down = torch.randn((rank, module.in_features), generator=generator) / module.in_features ** 0.5
        up = torch.randn((module.out_features, rank), generator=generator) * 0.4 / rank ** 0.5
    return down, up


def targets(model: torch.nn.Module, pattern) -> list:
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and pattern.search(name)]


def write_kohya(pipe, generator) -> None:
    tensors = {}
    for index, (name, module) in enumerate(targets(pipe.unet, UNET_LINEAR) + targets(pipe.unet, UNET_CONV)):
        rank = 4 if index % 3 else 2
        down, up = lora_pair(module, rank, generator)
        # One alpha for the whole U-Net, as kohya-ss writes it (its --network_alpha): diffusers maps
        # per-module alphas of attention layers to names PEFT never matches, so a file whose alphas
        # differ between modules would test that slip instead of the LoRA.
        alpha = torch.tensor(1.5)
        stem = "lora_unet_" + name.replace(".", "_")
        tensors[stem + ".lora_down.weight"] = down.half()
        tensors[stem + ".lora_up.weight"] = up.half()
        tensors[stem + ".alpha"] = alpha.half()
    for name, module in targets(pipe.text_encoder, TE_LINEAR):
        down, up = lora_pair(module, 4, generator)
        stem = "lora_te_" + name.replace(".", "_")
        tensors[stem + ".lora_down.weight"] = down.half()
        tensors[stem + ".lora_up.weight"] = up.half()
        tensors[stem + ".alpha"] = torch.tensor(3.0).half()
    save_file(tensors, os.path.join(ROOT, "kohya.safetensors"), metadata={"ss_network_module": "networks.lora"})


def write_peft(pipe, generator) -> None:
    """PEFT adapters on both models, randomised (PEFT starts lora_B at zero), saved by diffusers. Leaves
    the adapters in `pipe`, so it runs last."""
    unet_config = LoraConfig(r=2, lora_alpha=3, init_lora_weights=False,
                             target_modules=["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out"])
    te_config = LoraConfig(r=3, lora_alpha=6, init_lora_weights=False,
                           target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1"])
    pipe.unet.add_adapter(unet_config, adapter_name="made")
    pipe.text_encoder.add_adapter(te_config, adapter_name="made")
    with torch.no_grad():
        for model in (pipe.unet, pipe.text_encoder):
            for name, p in model.named_parameters():
                if "lora_A" in name:
                    p.copy_(torch.randn(p.shape, generator=generator) / p.shape[1] ** 0.5)
                elif "lora_B" in name:
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.3 / p.shape[1] ** 0.5)
    unet_layers = {k: v.to(torch.bfloat16) for k, v in get_peft_model_state_dict(pipe.unet, adapter_name="made").items()}
    te_layers = {k: v.to(torch.bfloat16)
                 for k, v in get_peft_model_state_dict(pipe.text_encoder, adapter_name="made").items()}
    StableDiffusionPipeline.save_lora_weights(
        ROOT, unet_lora_layers=unet_layers, text_encoder_lora_layers=te_layers, weight_name="peft.safetensors",
        unet_lora_adapter_metadata=unet_config.to_dict(), text_encoder_lora_adapter_metadata=te_config.to_dict())


def write_diffusers_old(pipe, generator) -> None:
    tensors = {}
    attention = re.compile(r"^(.*)\.(attn[12])\.(to_q|to_k|to_v|to_out\.0)$")
    for name, module in targets(pipe.unet, UNET_LINEAR):
        match = attention.match(name)
        if not match:
            continue
        down, up = lora_pair(module, 2, generator)
        projection = "to_out" if match.group(3) == "to_out.0" else match.group(3)
        stem = f"unet.{match.group(1)}.{match.group(2)}.processor.{projection}_lora"
        tensors[stem + ".down.weight"], tensors[stem + ".up.weight"] = down, up
    for name, module in targets(pipe.text_encoder, TE_LINEAR):
        down, up = lora_pair(module, 2, generator)
        stem = f"text_encoder.{name}.lora_linear_layer"
        tensors[stem + ".down.weight"], tensors[stem + ".up.weight"] = down, up
    save_file(tensors, os.path.join(ROOT, "diffusers-old.safetensors"))


def scheduler_for(name: str, config):
    return {"euler": EulerDiscreteScheduler, "lcm": LCMScheduler}[name].from_config(config)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "expected"))
    pipe = StableDiffusionPipeline.from_pretrained(MODEL, safety_checker=None, requires_safety_checker=False)
    generator = torch.Generator().manual_seed(4242)
    write_kohya(pipe, generator)
    write_diffusers_old(pipe, generator)
    write_peft(pipe, generator)
    config = pipe.scheduler.config
    for case in CASES:
        pipe = StableDiffusionPipeline.from_pretrained(MODEL, safety_checker=None, requires_safety_checker=False)
        pipe.scheduler = scheduler_for(case["sampler"], config)
        before = {k: v.clone() for m in (pipe.unet, pipe.text_encoder) for k, v in m.state_dict().items()}
        names, modules = [], 0
        for index, (file, _) in enumerate(case["loras"]):
            pipe.load_lora_weights(ROOT, weight_name=file, adapter_name=f"a{index}")
            names.append(f"a{index}")
            with safe_open(os.path.join(ROOT, file), "pt") as f:
                modules = max(modules, sum(k.endswith(("lora_down.weight", ".down.weight", "lora_A.weight"))
                                           for k in f.keys()))
        if names:
            pipe.set_adapters(names, adapter_weights=[strength for _, strength in case["loras"]])
            pipe.fuse_lora(adapter_names=names, lora_scale=1.0)
            pipe.unload_lora_weights()  # keeps the fused weights, drops the adapters
            after = {k: v for m in (pipe.unet, pipe.text_encoder) for k, v in m.state_dict().items()}
            changed = sum(not torch.equal(before[k], after[k]) for k in before)
            assert changed >= modules, f"{case['name']}: only {changed} of {modules} LoRA layers were applied"
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
