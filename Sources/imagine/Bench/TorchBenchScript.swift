/// PyTorch's side of `imagine bench table`, carried in the binary so the bench runs wherever the
/// binary is (it is handed to `python -c`): times one component with diffusers/transformers on
/// the inputs our side used and saves the output for the error column.
enum TorchBenchScript {
    static let source = #"""
"""PyTorch's side of `imagine bench table` (tooling, never needed at run time): times one model
component with diffusers/transformers on the inputs the Swift side uses, saves its output so the
caller can compare, and prints one JSON line: {"median": seconds, "rss_mb": peak RSS}.

    python -c SCRIPT COMPONENT FOLDER INPUTS OUTPUT --threads N --runs R

COMPONENT is text-encoder (FOLDER: a diffusers folder with text_encoder/ and tokenizer/; INPUTS:
ignored, the prompt comes from --prompt), unet, vae or taesd (FOLDER: that component's folder;
INPUTS: safetensors with `sample`, `encoder_hidden_states`, `timestep` for the U-Net, `latents`
for the decoders). Each call is its own process, so the peak RSS is this component's alone. Run it
with glibc malloc tuned (MALLOC_MMAP_MAX_=0 …) to measure "tuned PyTorch".
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
from safetensors.torch import load_file, save_file


def component_call(component: str, folder: str, inputs: str, prompt: str):
    """Loads the component in fp32 and returns a function computing its output once."""
    if component == "text-encoder":
        from transformers import CLIPTextModel, CLIPTokenizer
        tokenizer = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
        ids = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                        return_tensors="pt").input_ids
        model = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), dtype=torch.float32).eval()
        return lambda: model(ids).last_hidden_state
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    x = load_file(inputs)
    if component == "unet":
        model = UNet2DConditionModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
        return lambda: model(x["sample"], x["timestep"], x["encoder_hidden_states"]).sample
    if component == "vae":
        model = AutoencoderKL.from_pretrained(folder, torch_dtype=torch.float32).eval()
        return lambda: model.decode(x["latents"] / model.config.scaling_factor).sample
    if component == "taesd":
        model = AutoencoderTiny.from_pretrained(folder, torch_dtype=torch.float32).eval()
        return lambda: model.decode(x["latents"]).sample
    raise SystemExit(f"unknown component {component!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("component")
    parser.add_argument("folder")
    parser.add_argument("inputs")
    parser.add_argument("output")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with torch.inference_mode():
        call = component_call(args.component, args.folder, args.inputs, args.prompt)
        out = call()  # warm-up, as the Swift side does
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = call()
            times.append(time.perf_counter() - start)
    save_file({"output": out.contiguous()}, args.output)
    print(json.dumps({"median": statistics.median(times),
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
"""#
}
