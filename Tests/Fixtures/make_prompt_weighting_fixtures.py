#!/usr/bin/env python3
"""Parity fixtures for prompt syntax and long prompts, made by running AUTOMATIC1111's own code.

Imagine reads prompts the way AUTOMATIC1111's web UI does: its emphasis syntax ((word), [word],
(word:1.3), escapes, BREAK), its layout of long prompts in 75-token chunks (with the comma back-off)
and its "Original" emphasis (states times weights, then the chunk's mean restored). The ground
truth here is A1111's own source, never a re-implementation: its files are not ours to commit, so
this script takes them from a folder you give it, saved from GitHub
(AUTOMATIC1111/stable-diffusion-webui, folder modules/):

    prompt_parser.py    parse_prompt_attention (the full file, or only that function with its
                        regular expressions and imports)
    sd_hijack_clip.py   the chunking (tokenize_line) and process_tokens
    sd_emphasis.py      EmphasisOriginal

Run from the repository root with the pinned tooling (Tests/Fixtures/requirements.txt):

    python3 Tests/Fixtures/make_prompt_weighting_fixtures.py --a1111 DIR [--clip-vocab ../shared/clip-tokenizer]

The web UI's settings module (`modules.shared`), its device helpers and its model hijack are
replaced by stand-ins holding A1111's defaults (emphasis "Original", comma_padding_backtrack 20,
CLIP skip 1, no textual-inversion embeddings); `lark` (needed only by A1111's prompt-editing
grammar, which is not exercised) by an empty stand-in. The text encoder is a random-weight
`transformers.CLIPTextModel` with CLIP's full vocabulary (the real tokenizer's ids) and a tiny
width, its weights rounded to fp16 and saved in fp16 to keep the file small; A1111's code runs on
the same rounded weights in fp32. SD 1.x pads with EOS; SD 2.x (OpenCLIP) pads with id 0 after the
first EOS: A1111's base class does that when `id_pad` is 0, as its OpenCLIP subclass sets it, so
the "sd2" cases run the same class with the SD 2 tokenizer configuration and `id_pad = 0`.

Deterministic: the same versions give the same files. Writes Tests/Fixtures/prompt-weighting/:
    text_encoder/config.json, model.safetensors   the random CLIPTextModel (fp16)
    parse.json        {"cases": [[prompt, [[text, weight], ...]], ...], "invalid": [prompt, ...]}:
                      parse_prompt_attention's output, weights as repr() of the Python float
                      (BREAK is ["BREAK", "-1.0"]); "invalid" prompts make it raise ValueError
    cases.json        {"cases": [{"name", "prompt", "tokenizer": "sd1"|"sd2",
                      "chunks": [[77 ids], ...], "multipliers": [[77 weights], ...]}]}
    expected.safetensors   <name>: the conditioning A1111's forward([prompt]) returns, fp32
                      [1, 77 · chunks, width]
"""
import argparse
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
import types

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prompt-weighting")
TOKENIZER_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer", "configs")

# ---------------------------------------------------------------------------------------------------
# A1111's modules, loaded from the folder given, with stand-ins for the web UI around them
# ---------------------------------------------------------------------------------------------------


def load_a1111(folder):
    package = types.ModuleType("modules")
    package.__path__ = []
    sys.modules["modules"] = package

    lark = types.ModuleType("lark")
    lark.Lark = lambda *args, **kwargs: None
    lark.Visitor = lark.Transformer = object
    lark.exceptions = types.SimpleNamespace(LarkError=Exception)
    sys.modules.setdefault("lark", lark)

    shared = types.ModuleType("modules.shared")
    shared.opts = types.SimpleNamespace(
        emphasis="Original", comma_padding_backtrack=20, use_old_emphasis_implementation=False,
        CLIP_stop_at_last_layers=1, textual_inversion_add_hashes_to_infotext=False)
    devices = types.ModuleType("modules.devices")
    devices.device = torch.device("cpu")
    devices.torch_npu_set_device = lambda: None
    hijack = types.ModuleType("modules.sd_hijack")
    hijack.model_hijack = make_hijack()
    for name, module in [("shared", shared), ("devices", devices), ("sd_hijack", hijack)]:
        sys.modules["modules." + name] = module
        setattr(package, name, module)

    loaded = {}
    for name in ["prompt_parser", "sd_emphasis", "sd_hijack_clip"]:
        path = os.path.join(folder, name + ".py")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: save modules/{name}.py of AUTOMATIC1111/stable-diffusion-webui there")
        spec = importlib.util.spec_from_file_location("modules." + name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["modules." + name] = module
        setattr(package, name, module)
        spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


def make_hijack():
    """What A1111's model hijack offers the text encoder wrapper: no textual-inversion embeddings."""
    embeddings = types.SimpleNamespace(find_embedding_at_position=lambda tokens, position: (None, None))
    return types.SimpleNamespace(embedding_db=embeddings, fixes=None, extra_generation_params={})


# ---------------------------------------------------------------------------------------------------
# The text encoder
# ---------------------------------------------------------------------------------------------------

CONFIG = dict(vocab_size=49408, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
              max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, eos_token_id=2)


def random_text_encoder():
    generator = torch.Generator().manual_seed(4321)
    model = CLIPTextModel(CLIPTextConfig(**CONFIG)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name and name.endswith("weight"):
                value = 1 + 0.2 * torch.randn(p.shape, generator=generator)
            elif name.endswith("bias"):
                value = 0.1 * torch.randn(p.shape, generator=generator)
                # A chunk's mean is divided by after weighting: keep it well away from zero, as
                # CLIP's states' means are, so the test measures the code and not a tiny divisor.
                if name.endswith("final_layer_norm.bias"):
                    value += 0.5
            elif "embedding" in name:
                value = 0.5 * torch.randn(p.shape, generator=generator)
            else:
                value = torch.randn(p.shape, generator=generator) / p.shape[1] ** 0.5
            p.copy_(value.half().float())  # exactly what the fp16 file holds
    return model


def tokenizer_folder(vocab, config, scratch):
    folder = os.path.join(scratch, config)
    os.makedirs(folder)
    for name in ["vocab.json", "merges.txt"]:
        shutil.copy(os.path.join(vocab, name), folder)
    for name in ["tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(TOKENIZER_CONFIGS, config, name), folder)
    return folder


# ---------------------------------------------------------------------------------------------------
# The prompts
# ---------------------------------------------------------------------------------------------------

PARSE_ONLY = [
    "", "normal text", "an (important) word", "(unbalanced", "\\(literal\\]", "(unnecessary)(parens)",
    "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", "((a))", "(((a)))", "[[a]]", "([a])", "[(a)]",
    "(a:1.21) ((a))", "(a:1.3)", "(a: 1.3)", "(a :1.3 )", "(a:+1.5)", "(a:-1)", "(a:.5)", "(a:5.)", "(a:0)",
    "(a:1e3)", "(a:1.3", "a:1.3)", "a:b", "(a:b)", "(a:b:1.2)", "[a:b:0.5]", "[a|b]", "a ) b ] c",
    "((a) b", "[a (b] c)", "(a [b) c]", "a\\b", "a\\\\b", "a\\", "\\", "\\\\(a\\\\)", "\\((a)\\)",
    "a BREAK b", "a BREAK", "BREAK a", "BREAK", "a BREAK BREAK b", "aBREAK b", "a BREAKb", "a break b",
    "a\tBREAK\nb", "(a BREAK b)", "[a BREAK b]", "(a BREAK", "(a BREAK b:0)", "a,BREAK,b", "(a) BREAK (b)",
    "BREAK_a", "é BREAK ü", "a\u00a0BREAK\u3000b", "a\u2028BREAK b", "(a:\u0661.\u0665)", "(a:\u00a01.2\u00a0)",
    "café (naïve:1.2) 東京", "AND a AND b", "(a)(b)", "(a)[b]", "((a)(b))", "(a:1.1)(b)", "[[[[[a]]]]]",
    "(((((((((((a)))))))))))", ":::", "(:1.2)", "()", "[]", "(())", "(a:1.2.3", "(a::1.2)", "((a:1.2):1.5)",
    "(a:1.2.3)", "(a:.)", "(a:-.)", "a:1.2.3)",
]

PHRASES = ["a lighthouse on a rocky cliff", "dramatic stormy sky", "crashing waves", "oil painting",
           "highly detailed", "golden hour light", "by a famous painter", "seagulls in the distance",
           "a small fishing boat with red sails", "volumetric fog", "wide angle", "sharp focus",
           "muted colour palette", "trending on an art site", "intricate brushwork", "moody atmosphere"]


def long_prompt(seed, tokens, tokenizer, commas=True):
    """Random phrases joined by commas (or spaces) until the prompt has about `tokens` tokens."""
    rng = random.Random(seed)
    parts = []
    while len(tokenizer((", " if commas else " ").join(parts), add_special_tokens=False)["input_ids"]) < tokens:
        phrase = rng.choice(PHRASES)
        if rng.random() < 0.25:
            phrase = f"({phrase}:{rng.choice(['0.8', '1.2', '1.4'])})"
        parts.append(phrase)
    return (", " if commas else " ").join(parts)


def encoding_cases(sd1_tokenizer):
    long200 = long_prompt(1, 200, sd1_tokenizer)
    cases = [
        ("plain", "a red apple on a wooden table", "sd1"),
        ("round", "a (red) apple", "sd1"),
        ("double-round", "a ((red)) apple, [[blurry]]", "sd1"),
        ("explicit", "a (red:1.3) apple, (green : 0.5 ) leaves, (shadow:-0.3)", "sd1"),
        ("square", "[a] photo of a [cat]", "sd1"),
        ("nested", "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", "sd1"),
        ("escapes", "a \\(literal\\) \\[bracket\\] and a backslash \\\\ here \\ too", "sd1"),
        ("unbalanced", "(unbalanced [open and) closed] ] stray )", "sd1"),
        ("break", "a red apple BREAK on a wooden table", "sd1"),
        ("break-ends", "BREAK a cat BREAK", "sd1"),
        ("break-in-brackets", "(a cat BREAK dog)", "sd1"),
        ("unicode", "café (naïve:1.2) 東京, señor", "sd1"),
        ("empty", "", "sd1"),
        ("long-200-commas", long200, "sd1"),
        ("long-160-no-commas", long_prompt(2, 160, sd1_tokenizer, commas=False), "sd1"),
        ("exactly-75", " ".join(["cat"] * 75), "sd1"),
        ("exactly-76", " ".join(["cat"] * 76), "sd1"),
        ("negative", "blurry, low quality, (worst quality:1.4), [cartoon]", "sd1"),
        ("sd2-plain", "a red apple on a wooden table", "sd2"),
        ("sd2-weighted", "a (red:1.3) apple BREAK [on] a table", "sd2"),
        ("sd2-long-200-commas", long200, "sd2"),
        ("sd2-empty", "", "sd2"),
    ]
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a1111", required=True,
                        help="folder with A1111's prompt_parser.py, sd_hijack_clip.py and sd_emphasis.py")
    parser.add_argument("--clip-vocab", default=os.path.join("..", "shared", "clip-tokenizer"),
                        help="folder with CLIP's vocab.json and merges.txt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    a1111 = load_a1111(args.a1111)

    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    with open(os.path.join(ROOT, "parse.json"), "w", encoding="utf-8", newline="\n") as f:
        # Weights as Python's repr of the float: the shortest text that reads back as the same
        # double, so the Swift test compares exact values without trusting a JSON number parser.
        parsed = [[p, [[text, repr(float(weight))] for text, weight in a1111["prompt_parser"].parse_prompt_attention(p)]]
                  for p in PARSE_ONLY if not raises_value_error(a1111, p)]
        json.dump({"cases": parsed, "invalid": [p for p in PARSE_ONLY if raises_value_error(a1111, p)]},
                  f, ensure_ascii=True, indent=1)
        f.write("\n")

    model = random_text_encoder()
    with tempfile.TemporaryDirectory() as scratch:
        tokenizers = {name: CLIPTokenizer.from_pretrained(tokenizer_folder(args.clip_vocab, name, scratch))
                      for name in ["sd1", "sd2"]}
    embedders = {}
    for name, tokenizer in tokenizers.items():
        wrapped = types.SimpleNamespace(tokenizer=tokenizer, transformer=model)
        embedder = a1111["sd_hijack_clip"].FrozenCLIPEmbedderWithCustomWords(wrapped, make_hijack())
        if name == "sd2":
            embedder.id_pad = 0  # FrozenOpenCLIPEmbedderWithCustomWords's padding
        embedders[name] = embedder

    records, expected = [], {}
    for name, prompt, config in encoding_cases(tokenizers["sd1"]):
        embedder = embedders[config]
        chunks, _ = embedder.tokenize_line(prompt)
        with torch.no_grad():
            z = embedder.forward([prompt])
        ids = []
        for chunk in chunks:
            row = torch.asarray([chunk.tokens])
            if embedder.id_end != embedder.id_pad:  # what process_tokens sends to the encoder
                row[0, chunk.tokens.index(embedder.id_end) + 1:] = embedder.id_pad
            ids.append(row[0].tolist())
        records.append({"name": name, "prompt": prompt, "tokenizer": config, "chunks": ids,
                        "multipliers": [chunk.multipliers for chunk in chunks]})
        expected[name] = z.contiguous()
        means = [float(z[0, i * 77:(i + 1) * 77].mean()) for i in range(len(chunks))]
        assert all(abs(m) > 0.1 for m in means), (name, means)
        print(f"{name}: {len(chunks)} chunk(s), states {tuple(z.shape)}")
    backed_off = [r for r in records if r["name"] == "long-200-commas"][0]
    assert any(row[-2] == row[-1] for row in backed_off["chunks"][:-1]), "the comma back-off did not happen"

    with open(os.path.join(ROOT, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"cases": records}, f, ensure_ascii=True)
        f.write("\n")
    save_file(expected, os.path.join(ROOT, "expected.safetensors"))
    model.to(torch.float16).save_pretrained(os.path.join(ROOT, "text_encoder"), safe_serialization=True)


def raises_value_error(a1111, prompt):
    """A weight that is no number, such as (a:1.2.3): A1111 stops with ValueError."""
    try:
        a1111["prompt_parser"].parse_prompt_attention(prompt)
        return False
    except ValueError:
        return True


if __name__ == "__main__":
    main()
