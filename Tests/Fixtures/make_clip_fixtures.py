#!/usr/bin/env python3
"""Parity fixtures for the CLIP text encoder: random-weight `transformers.CLIPTextModel`s (and one
`CLIPTextModelWithProjection`) at reduced sizes, their safetensors and config, input ids and the
expected outputs.

Run from the repository root with the pinned tooling (Tests/Fixtures/requirements.txt):

    python3 Tests/Fixtures/make_clip_fixtures.py

Deterministic: the same versions give byte-identical files. Writes Tests/Fixtures/clip/<name>/:
    config.json, model.safetensors   what `save_pretrained` writes (unprefixed keys, transformers 5;
                                     a CLIPTextModelWithProjection keeps `text_model.` on the tower
                                     and writes `text_projection.weight` beside it, as the hub does)
    prefixed/model.safetensors       (sd15-tiny) the same weights under `text_model.` (hub SD repos)
    inputs.json                      {"ids": [[...77 ids], ...]}
    expected.safetensors             hidden_state_<i> (embeddings, then after each layer),
                                     last_hidden_state — fp32, [batch, 77, width]; pooled [batch, width];
                                     text_embeds [batch, projection_dim] (with a projection only)
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clip")

# Reduced copies of the three text towers Stable Diffusion uses. Heads, activations and the pooling
# rule follow the real configs; widths and depths are cut to keep the files small.
CASES = {
    # SD 1.x: OpenAI CLIP ViT-L/14 text (quick-GELU, eos_token_id 2 → pools at argmax(ids)).
    "sd15-tiny": dict(vocab_size=500, hidden_size=64, intermediate_size=256, num_hidden_layers=3,
                      num_attention_heads=4, hidden_act="quick_gelu", eos_token_id=2),
    # SD 2.x / SD-Turbo: OpenCLIP ViT-H text as diffusers stores it (GELU, 23 of 24 layers).
    "sd21-tiny": dict(vocab_size=500, hidden_size=96, intermediate_size=384, num_hidden_layers=4,
                      num_attention_heads=6, hidden_act="gelu", eos_token_id=2),
    # A newer config that names a real EOS id (pools at the first EOS, not argmax).
    "eos-id-tiny": dict(vocab_size=500, hidden_size=48, intermediate_size=192, num_hidden_layers=2,
                        num_attention_heads=3, hidden_act="gelu", eos_token_id=499,
                        bos_token_id=498, pad_token_id=499),
    # SDXL's text_encoder_2: OpenCLIP ViT-bigG text with its projection (GELU, argmax pooling), the
    # projection narrower than the tower so that a transposed weight cannot pass.
    "sdxl2-tiny": dict(vocab_size=500, hidden_size=80, intermediate_size=320, num_hidden_layers=3,
                       num_attention_heads=5, hidden_act="gelu", eos_token_id=2, projection_dim=56),
}
WITH_PROJECTION = {"sdxl2-tiny"}

BOS, EOS = 498, 499  # this reduced vocabulary's start/end ids (the real ones are 49406/49407)


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """transformers' init (std 0.02, unit LayerNorms) makes nearly linear, tiny activations that
    would hide mistakes; use larger weights and non-trivial norms so every op matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = p.shape[1]
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)


def prompts(generator: torch.Generator, pad: int) -> list[list[int]]:
    """Three prompts of 77 ids: short, medium and full length (no padding), padded with `pad`."""
    rows = []
    for length in (3, 20, 75):
        body = torch.randint(0, 498, (length,), generator=generator).tolist()
        row = [BOS] + body + [EOS]
        rows.append(row + [pad] * (77 - len(row)))
    return rows


def main() -> None:
    torch.manual_seed(0)
    for name, overrides in CASES.items():
        generator = torch.Generator().manual_seed(1234)
        config = CLIPTextConfig(max_position_embeddings=77, layer_norm_eps=1e-5, **overrides)
        model = (CLIPTextModelWithProjection if name in WITH_PROJECTION else CLIPTextModel)(config).eval()
        randomize(model, generator)

        out_dir = os.path.join(ROOT, name)
        shutil.rmtree(out_dir, ignore_errors=True)
        model.save_pretrained(out_dir, safe_serialization=True)

        if name == "sd15-tiny":
            state = {k: v.contiguous() for k, v in model.state_dict().items()}
            os.makedirs(os.path.join(out_dir, "prefixed"))
            save_file({"text_model." + k: v for k, v in state.items()},
                      os.path.join(out_dir, "prefixed", "model.safetensors"))

        pad = 0 if name in ("sd21-tiny", "sdxl2-tiny") else EOS  # SD 2.x and SDXL's tokenizer_2 pad with "!" (id 0)
        ids = prompts(generator, pad)
        with torch.no_grad():
            # CLIPTextModelWithProjection's output has no pooler_output: take it from its tower.
            tower = model.text_model if name in WITH_PROJECTION else model
            out = tower(torch.tensor(ids), output_hidden_states=True)
            projected = model(torch.tensor(ids)).text_embeds if name in WITH_PROJECTION else None
        expected = {f"hidden_state_{i}": h.contiguous() for i, h in enumerate(out.hidden_states)}
        expected["last_hidden_state"] = out.last_hidden_state.contiguous()
        expected["pooled"] = out.pooler_output.contiguous()
        if projected is not None:
            # text_projection(pooler_output): pooled after the final LayerNorm, as transformers does.
            assert torch.equal(projected, out.pooler_output @ model.text_projection.weight.T)
            expected["text_embeds"] = projected.contiguous()
        save_file(expected, os.path.join(out_dir, "expected.safetensors"))
        with open(os.path.join(out_dir, "inputs.json"), "w") as f:
            json.dump({"ids": ids}, f)
        print(name, {k: tuple(v.shape) for k, v in expected.items() if not k.startswith("hidden_state_")},
              "layers", config.num_hidden_layers)


if __name__ == "__main__":
    main()
