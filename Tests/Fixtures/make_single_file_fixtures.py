#!/usr/bin/env python3
"""Fixtures for single-file checkpoints: tiny random-weight SD 1.x and SD 2.x models written twice,
once in the ORIGINAL (CompVis/Stability LDM) single-file layout and once as a diffusers folder, so a
test can check that loading the single file gives exactly what loading the folder gives.

    python3 Tests/Fixtures/make_single_file_fixtures.py      # pinned versions: Tests/Fixtures/requirements.txt

Deterministic: the same versions give byte-identical files. Writes Tests/Fixtures/single-file/:

    sd1-tiny.safetensors   fp16, the layout of v1-5-pruned-emaonly.safetensors:
                           model.diffusion_model.* (1×1-conv projections, 8 heads),
                           first_stage_model.*, cond_stage_model.transformer.text_model.* (OpenAI
                           CLIP, with its int64 position_ids), plus DDPM schedule buffers and
                           model_ema counters that a loader must skip
    sd2-tiny.safetensors   bf16, the layout of v2-1_768-ema-pruned.safetensors / sd_turbo.safetensors:
                           linear projections, cond_stage_model.model.* (OpenCLIP: fused
                           attn.in_proj_*, one more layer than diffusers keeps, text_projection,
                           logit_scale)
    sd1-tiny/, sd2-tiny/   the same weights as diffusers folders (unet/, vae/, text_encoder/: each a
                           config.json and its weights in the single file's dtype, so bitwise equal)
    sdxl-tiny.safetensors  fp16, the layout of sd_xl_base_1.0.safetensors (Stability's "sgm"): the
                           tiny random SDXL of Tests/Fixtures/pipeline-sdxl/tiny-sdxl/ (written by
                           make_sdxl_pipeline_fixtures.py; its fp32 folder is the reference, so a
                           test compares against its tensors rounded to fp16) as
                           model.diffusion_model.* (label_emb = add_embedding, per-level transformer
                           depths), first_stage_model.*, conditioner.embedders.0.transformer.text_model.*
                           (CLIP ViT-L, with position_ids) and conditioner.embedders.1.model.* (OpenCLIP
                           bigG: fused attn.in_proj_*, every layer, text_projection stored [width,
                           projection], logit_scale)

The LDM layout is written by inverting diffusers' key mapping here (diffusers → LDM), and the script
then checks that diffusers' own converters (for SDXL: `StableDiffusionXLPipeline.from_single_file`
with the folder as its config, on an fp32 copy and on the fp16 file) map each file back to exactly
the folder's tensors; for SD 1.x/2.x: (`convert_ldm_unet_checkpoint`,
`convert_ldm_vae_checkpoint`, `convert_ldm_clip_checkpoint`, `convert_open_clip_checkpoint`, and
`from_single_file` for the U-Net and VAE) map each file back to exactly the folder's tensors.

What the weights cannot say, the tiny models cannot match at SD's sizes: GroupNorm groups (SD: 32,
here 4 so 16 channels suffice) and SD 2.x's U-Net heads (SD 2.x: 64-dim heads, here 8-dim). A
loader takes those from the family, so the test compares them separately.
"""
import os
import re
import shutil
import tempfile
from types import SimpleNamespace

import torch
from diffusers import AutoencoderKL, StableDiffusionXLPipeline, UNet2DConditionModel
from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint, convert_ldm_unet_checkpoint,
                                                 convert_ldm_vae_checkpoint, convert_open_clip_checkpoint)
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "single-file")
SDXL_FOLDER = os.path.join(HERE, "pipeline-sdxl", "tiny-sdxl")

# Text towers: width 64 with one 64-dim head (both CLIP towers SD uses have 64-dim heads).
TEXT = dict(vocab_size=500, hidden_size=64, intermediate_size=256, num_attention_heads=1,
            max_position_embeddings=77, layer_norm_eps=1e-5, eos_token_id=2, bos_token_id=0, pad_token_id=1)
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), layers_per_block=1,
           norm_num_groups=4, down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
           sample_size=64)

CASES = {
    # SD 1.x: 8 heads, 1×1-conv projections, two ResNets per level as in SD; fp16 storage.
    "sd1-tiny": dict(
        dtype=torch.float16,
        unet=dict(sample_size=64, block_out_channels=(16, 32, 32), layers_per_block=2, norm_num_groups=4,
                  cross_attention_dim=64, attention_head_dim=8,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")),
        text=dict(TEXT, num_hidden_layers=2, hidden_act="quick_gelu")),
    # SD 2.x / Turbo: linear projections, one ResNet per level (a different layers_per_block to
    # infer), OpenCLIP text with a last layer that SD 2.x skips; bf16 storage.
    "sd2-tiny": dict(
        dtype=torch.bfloat16,
        unet=dict(sample_size=96, block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=4,
                  cross_attention_dim=64, attention_head_dim=(2, 4), use_linear_projection=True,
                  down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")),
        text=dict(TEXT, num_hidden_layers=2, hidden_act="gelu")),
}


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Non-trivial norms and biases, weights scaled by fan-in so activations stay O(1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / p[0].numel() ** 0.5)


# ---------------------------------------------------------------------------------------------
# diffusers → LDM names (the inverse of what a single-file loader does)

RESNET_TO_LDM = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                 "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def unet_to_ldm(state: dict, config) -> dict:
    """diffusers UNet2DConditionModel → `model.diffusion_model.*` of LDM's openaimodel.UNetModel, whose
    input/output blocks are numbered straight through: per level, its ResNets (each with its
    transformer as sub-module 1) then the down/upsampler."""
    n = config.layers_per_block + 1  # LDM blocks per level
    has_attention = [t == "CrossAttnUpBlock2D" for t in config.up_block_types]
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
             "mid_block.resnets.0": "middle_block.0", "mid_block.attentions.0": "middle_block.1",
             "mid_block.resnets.1": "middle_block.2",
             "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2"}

    def block(module: str) -> str | None:
        if module in fixed:
            return fixed[module]
        if m := re.fullmatch(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)", module):
            return f"input_blocks.{1 + int(m[1]) * n + int(m[3])}.{0 if m[2] == 'resnets' else 1}"
        if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv", module):
            return f"input_blocks.{int(m[1]) * n + n}.0.op"
        if m := re.fullmatch(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)", module):
            return f"output_blocks.{int(m[1]) * n + int(m[3])}.{0 if m[2] == 'resnets' else 1}"
        if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv", module):
            level = int(m[1])
            return f"output_blocks.{level * n + n - 1}.{2 if has_attention[level] else 1}.conv"
        return None

    out = {}
    for key, value in state.items():
        # The block is the longest prefix `block` knows; a ResNet's own layers are renamed too.
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            if (name := block(".".join(parts[:cut]))) is None:
                continue
            rest = parts[cut:]
            if ".resnets." in ".".join(parts[:cut]) and rest[0] in RESNET_TO_LDM:
                rest = [RESNET_TO_LDM[rest[0]]] + rest[1:]
            break
        else:
            raise KeyError(key)
        out["model.diffusion_model." + ".".join([name] + rest)] = value
    return out


def vae_to_ldm(state: dict, config) -> dict:
    """diffusers AutoencoderKL → `first_stage_model.*` of LDM's AutoencoderKL (encoder/decoder of
    taming-transformers: up blocks numbered from the lowest resolution, 1×1 convs for attention)."""
    levels = len(config.block_out_channels)
    attention = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out = {}
    for key, value in state.items():
        name = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        name = name.replace("mid_block.resnets.0", "mid.block_1").replace("mid_block.resnets.1", "mid.block_2")
        if ".mid_block.attentions.0." in name:
            side, _, module = name.partition(".mid_block.attentions.0.")
            module, leaf = module.rsplit(".", 1)
            name = f"{side}.mid.attn_1.{attention[module]}.{leaf}"
            if value.dim() == 2:
                value = value[:, :, None, None]
        parts = name.split(".")
        if parts[1] == "down_blocks":
            block = "downsample" if parts[3] == "downsamplers" else f"block.{parts[4]}"
            name = ".".join(["encoder.down", parts[2], block] + parts[5:])
        elif parts[1] == "up_blocks":
            block = "upsample" if parts[3] == "upsamplers" else f"block.{parts[4]}"
            name = ".".join(["decoder.up", str(levels - 1 - int(parts[2])), block] + parts[5:])
        out["first_stage_model." + name] = value.contiguous()
    return out


def clip_to_ldm(state: dict, prefix: str = "cond_stage_model.transformer.text_model.") -> dict:
    """transformers CLIPTextModel (unprefixed, transformers 5) → SD 1.x's
    `cond_stage_model.transformer.text_model.*` (or SDXL's `conditioner.embedders.0.transformer.text_model.*`),
    with the int64 position_ids buffer those files carry."""
    out = {prefix + k: v for k, v in state.items()}
    out[prefix + "embeddings.position_ids"] = torch.arange(77)[None]
    return out


def open_clip_to_ldm(state: dict, layers: int, generator: torch.Generator, dtype,
                     prefix: str = "cond_stage_model.model.", projection: torch.Tensor | None = None) -> dict:
    """transformers CLIPTextModel → SD 2.x's OpenCLIP `cond_stage_model.model.*` (or SDXL's
    `conditioner.embedders.1.model.*`): q/k/v fused into attn.in_proj_*, OpenCLIP module names, plus
    the tower's text_projection ([width, projection], applied as x @ P: the transpose of
    transformers' `text_projection.weight`; random when none is given) and logit_scale."""
    p = prefix
    width = state["embeddings.token_embedding.weight"].shape[1]
    if projection is None:
        projection = (torch.randn((width, width), generator=generator) / width ** 0.5).to(dtype)
    out = {p + "token_embedding.weight": state["embeddings.token_embedding.weight"],
           p + "positional_embedding": state["embeddings.position_embedding.weight"],
           p + "ln_final.weight": state["final_layer_norm.weight"],
           p + "ln_final.bias": state["final_layer_norm.bias"],
           p + "text_projection": projection,
           p + "logit_scale": torch.tensor(4.6052, dtype=dtype)}
    names = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj",
             "self_attn.out_proj": "attn.out_proj"}
    for i in range(layers):
        src, dst = f"encoder.layers.{i}.", f"{p}transformer.resblocks.{i}."
        for new, old in names.items():
            for leaf in ("weight", "bias"):
                out[f"{dst}{old}.{leaf}"] = state[f"{src}{new}.{leaf}"]
        for leaf in ("weight", "bias"):
            out[f"{dst}attn.in_proj_{leaf}"] = torch.cat(
                [state[f"{src}self_attn.{x}_proj.{leaf}"] for x in "qkv"]).contiguous()
    return out


# ---------------------------------------------------------------------------------------------
# Checks against diffusers' own converters

def expect_same(name: str, converted: dict, reference: dict, extra: set = frozenset()) -> None:
    """`converted` holds exactly `reference`'s tensors, bit for bit, plus the keys in `extra`."""
    assert set(converted) == set(reference) | extra, (
        name, sorted(set(reference) - set(converted))[:5], sorted(set(converted) ^ set(reference) ^ extra)[:5])
    for key, value in reference.items():
        got = converted[key]
        assert got.dtype == value.dtype and got.shape == value.shape and torch.equal(got, value), (name, key)


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    for name, case in CASES.items():
        generator = torch.Generator().manual_seed(2024)
        dtype, sd2 = case["dtype"], name.startswith("sd2")
        folder = os.path.join(ROOT, name)

        unet = UNet2DConditionModel(**case["unet"]).eval()
        randomize(unet, generator)
        unet.to(dtype).save_pretrained(os.path.join(folder, "unet"), safe_serialization=True)

        vae = AutoencoderKL(**VAE).eval()
        randomize(vae, generator)
        vae.to(dtype).save_pretrained(os.path.join(folder, "vae"), safe_serialization=True)

        # SD 2.x stores one more OpenCLIP layer than diffusers keeps: build the full tower and
        # save its first layers as the folder's text encoder.
        text_config = case["text"]
        stored_layers = text_config["num_hidden_layers"] + (1 if sd2 else 0)
        tower = CLIPTextModel(CLIPTextConfig(**dict(text_config, num_hidden_layers=stored_layers))).eval()
        randomize(tower, generator)
        tower.to(dtype)
        text = CLIPTextModel(CLIPTextConfig(**text_config)).eval().to(dtype)
        text.load_state_dict({k: v for k, v in tower.state_dict().items()
                              if not k.startswith(f"encoder.layers.{stored_layers - 1}.")} if sd2
                             else tower.state_dict())
        text.save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True)

        unet_state = {k: v.contiguous() for k, v in unet.state_dict().items()}
        vae_state = {k: v.contiguous() for k, v in vae.state_dict().items()}
        text_state = {k: v.contiguous() for k, v in text.state_dict().items()}
        tower_state = {k: v.contiguous() for k, v in tower.state_dict().items()}
        checkpoint = {**unet_to_ldm(unet_state, unet.config), **vae_to_ldm(vae_state, vae.config)}
        checkpoint.update(open_clip_to_ldm(tower_state, stored_layers, generator, dtype) if sd2
                          else clip_to_ldm(tower_state))
        # What real files carry besides the three models: DDPM schedule buffers (fp32) and EMA counters.
        checkpoint["alphas_cumprod"] = torch.cumprod(1 - torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000) ** 2, 0)
        checkpoint["model_ema.num_updates"] = torch.tensor(1000, dtype=torch.int32)
        path = os.path.join(ROOT, f"{name}.safetensors")
        save_file(checkpoint, path, metadata={"format": "pt"})

        # diffusers' converters must give the folder's tensors back.
        expect_same(f"{name} unet", convert_ldm_unet_checkpoint(checkpoint, dict(unet.config)), unet_state)
        expect_same(f"{name} vae", convert_ldm_vae_checkpoint(checkpoint, dict(vae.config)), vae_state)
        if sd2:
            converted = convert_open_clip_checkpoint(text, checkpoint)
            # diffusers drops layer 23 of the real 24-layer tower (and text_projection) by name
            # (SD_2_TEXT_ENCODER_KEYS_TO_IGNORE); here the skipped layer is number
            # `stored_layers - 1`, which it converts and its non-strict load then ignores.
            extra = {f"encoder.layers.{stored_layers - 1}.{k}" for k in
                     [f"{m}.{leaf}" for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                               "self_attn.out_proj", "layer_norm1", "layer_norm2",
                                               "mlp.fc1", "mlp.fc2") for leaf in ("weight", "bias")]}
        else:
            converted = convert_ldm_clip_checkpoint(checkpoint)
            extra = {"embeddings.position_ids"}  # a buffer, not a weight
        # transformers 5's CLIPTextModel has no `text_model.` level; diffusers strips it the same way.
        converted = {k.removeprefix("text_model."): v for k, v in converted.items()}
        expect_same(f"{name} text encoder", converted, text_state, extra)

        # And diffusers' own single-file loading, offline, with the folder's configs.
        for cls, sub, reference in ((UNet2DConditionModel, "unet", unet_state), (AutoencoderKL, "vae", vae_state)):
            loaded = cls.from_single_file(path, config=folder, subfolder=sub, local_files_only=True,
                                          torch_dtype=dtype)
            expect_same(f"{name} {sub} from_single_file", {k: v.contiguous() for k, v in loaded.state_dict().items()},
                        reference)

        folder_size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(folder) for f in fs)
        print(name, f"{os.path.getsize(path) / 1e6:.2f} MB single file,", f"{folder_size / 1e6:.2f} MB folder,",
              len(checkpoint), "tensors")


    make_sdxl()


def make_sdxl() -> None:
    """sdxl-tiny.safetensors from the tiny SDXL folder, checked with diffusers' SDXL single-file loader."""
    def folder_state(component: str) -> dict:
        name = "model.safetensors" if component.startswith("text_encoder") else "diffusion_pytorch_model.safetensors"
        return load_file(os.path.join(SDXL_FOLDER, component, name))

    states = {c: folder_state(c) for c in ("unet", "vae", "text_encoder", "text_encoder_2")}
    unet_config = UNet2DConditionModel.load_config(SDXL_FOLDER, subfolder="unet")
    vae_config = AutoencoderKL.load_config(SDXL_FOLDER, subfolder="vae")
    # transformers saves CLIPTextModelWithProjection under text_model. beside text_projection.weight.
    big_g = {k.removeprefix("text_model."): v for k, v in states["text_encoder_2"].items()
             if k != "text_projection.weight"}
    layers = 1 + max(int(k.split(".")[2]) for k in big_g if k.startswith("encoder.layers."))
    checkpoint = {**unet_to_ldm(states["unet"], SimpleNamespace(**unet_config)),
                  **vae_to_ldm(states["vae"], SimpleNamespace(**vae_config)),
                  **clip_to_ldm(states["text_encoder"], prefix="conditioner.embedders.0.transformer.text_model."),
                  **open_clip_to_ldm(big_g, layers, None, torch.float32, prefix="conditioner.embedders.1.model.",
                                     projection=states["text_encoder_2"]["text_projection.weight"].T.contiguous())}

    reference = StableDiffusionXLPipeline.from_pretrained(SDXL_FOLDER, local_files_only=True)
    components = ("unet", "vae", "text_encoder", "text_encoder_2")
    with tempfile.TemporaryDirectory() as scratch:
        full = os.path.join(scratch, "sdxl-tiny-fp32.safetensors")
        save_file(checkpoint, full, metadata={"format": "pt"})
        for path, dtype in ((full, torch.float32), (os.path.join(ROOT, "sdxl-tiny.safetensors"), torch.float16)):
            if dtype != torch.float32:
                save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in checkpoint.items()}, path,
                          metadata={"format": "pt"})
            pipe = StableDiffusionXLPipeline.from_single_file(path, config=SDXL_FOLDER, local_files_only=True,
                                                              torch_dtype=dtype)
            for component in components:
                loaded = {k: v.contiguous() for k, v in getattr(pipe, component).state_dict().items()}
                expected = {k: v.to(dtype) for k, v in getattr(reference, component).state_dict().items()}
                expect_same(f"sdxl-tiny {dtype} {component} from_single_file", loaded, expected)
    # The folder's files hold what the pipeline holds, under the names a test compares.
    for component in components:
        expect_same(f"tiny-sdxl {component} files", states[component],
                    {k: v.contiguous() for k, v in getattr(reference, component).state_dict().items()})
    print("sdxl-tiny", f"{os.path.getsize(os.path.join(ROOT, 'sdxl-tiny.safetensors')) / 1e6:.2f} MB single file,",
          len(checkpoint), "tensors")


if __name__ == "__main__":
    main()
