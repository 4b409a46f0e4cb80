#!/usr/bin/env python3
"""Full-size check of the text encoders (not part of CI): random-weight CLIP text models at the real
SD 1.5 and SD 2.1 sizes, Swift (`imagine bench text-encoder`) against PyTorch on the same weights,
the same prompt and the same thread count, in one run.

    swift build -c release
    python3 Tests/Fixtures/fullsize_text_encoder_check.py --threads 2

Needs the pinned tooling (Tests/Fixtures/requirements.txt) and the real CLIP vocabulary in
../shared/clip-tokenizer (or --vocab DIR). Writes the models under --work (default
/tmp/imagine-fullsize, ~1.7 GB) and reuses them on later runs. Prints, per model, the max relative
error (max |Δ| / max |reference|) of last_hidden_state and pooled output, and the median times.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The real text-encoder configs (stable-diffusion-v1-5 and stable-diffusion-2-1 text_encoder/config.json).
MODELS = {
    "sd15": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 hidden_act="quick_gelu", pad="<|endoftext|>"),
    "sd21": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
                 hidden_act="gelu", pad="!"),
}
PROMPT = "a photograph of an astronaut riding a horse on the moon, highly detailed, 8k"


def build(name: str, spec: dict, folder: str, vocab: str) -> None:
    if os.path.exists(os.path.join(folder, "text_encoder", "model.safetensors")):
        return
    spec = dict(spec)
    pad = spec.pop("pad")
    config = CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, eos_token_id=2,
                            bos_token_id=0, pad_token_id=1, projection_dim=spec["hidden_size"], **spec)
    torch.manual_seed({"sd15": 15, "sd21": 21}[name])
    model = CLIPTextModel(config).eval()  # transformers' own init: realistic magnitudes
    model.save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True)
    tokenizer_dir = os.path.join(folder, "tokenizer")
    os.makedirs(tokenizer_dir, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(vocab, f), tokenizer_dir)
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": 77, "pad_token": pad, "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "tokenizer_class": "CLIPTokenizer"}, f)


def torch_time(folder: str, threads: int, runs: int):
    torch.set_num_threads(threads)
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
    ids = tokenizer(PROMPT, padding="max_length", max_length=77, truncation=True,
                    return_tensors="pt").input_ids
    model = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder")).eval()
    with torch.inference_mode():
        out = model(ids)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            out = model(ids)
            times.append(time.perf_counter() - start)
    return statistics.median(times), out.last_hidden_state[0], out.pooler_output[0]


def swift_time(folder: str, threads: int, runs: int, binary: str, native_blas: bool):
    out_file = os.path.join(folder, "swift-output.safetensors")
    env = dict(os.environ)
    if native_blas:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    result = subprocess.run([binary, "bench", "text-encoder", folder, "--threads", str(threads),
                             "--runs", str(runs), "--prompt", PROMPT, "--save-output", out_file],
                            check=True, capture_output=True, text=True, env=env)
    swift_time.core = re.search(r"OpenBLAS (\S+)", result.stdout).group(1)
    median = float(re.search(r"encode median ([0-9.]+) s", result.stdout).group(1))
    tensors = load_file(out_file)
    return median, tensors["last_hidden_state"][0], tensors["pooled"][0]


def relative_error(actual: torch.Tensor, reference: torch.Tensor) -> float:
    return ((actual - reference).abs().max() / reference.abs().max()).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work", default="/tmp/imagine-fullsize")
    parser.add_argument("--vocab", default=os.path.join(REPO, "..", "shared", "clip-tokenizer"))
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "imagine"))
    parser.add_argument("--models", default="sd15,sd21")
    parser.add_argument("--native-blas", action="store_true",
                        help="run Swift without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (some machines pin an older, "
                             "slower kernel family there); PyTorch uses oneDNN and is not affected")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `swift build -c release` first")

    print(f"threads {args.threads}, runs {args.runs}, torch {torch.__version__}, prompt {PROMPT!r}")
    print(f"{'model':6} {'rel.err last':>13} {'rel.err pooled':>15} {'PyTorch s':>10} {'Swift s':>9} {'ratio':>7}")
    for name in args.models.split(","):
        folder = os.path.join(args.work, name)
        build(name, MODELS[name], folder, args.vocab)
        # Alternate the two so a burst of load from elsewhere hits both alike.
        torch_s, torch_last, torch_pooled = torch_time(folder, args.threads, args.runs)
        swift_s, swift_last, swift_pooled = swift_time(folder, args.threads, args.runs, args.binary, args.native_blas)
        torch_s2, _, _ = torch_time(folder, args.threads, args.runs)
        torch_s = min(torch_s, torch_s2)
        print(f"{name:6} {relative_error(swift_last, torch_last):13.2e} "
              f"{relative_error(swift_pooled, torch_pooled):15.2e} {torch_s:10.4f} {swift_s:9.4f} "
              f"{swift_s / torch_s:7.3f}  (OpenBLAS {swift_time.core})")


if __name__ == "__main__":
    main()
