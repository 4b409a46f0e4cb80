#!/usr/bin/env python3
"""Full-size check of the image side (not part of CI): random-weight U-Nets at the real SD-Turbo
(= SD 2.1) and SD 1.5 sizes (865 M parameters), the SD VAE decoder and TAESD, Swift
(`imagine bench component`) against diffusers on the same weights, inputs and thread count.

    swift build -c release
    python3 Tests/Fixtures/fullsize_diffusion_check.py --threads 2 [--sizes 256,512] [--native-blas]

Needs the pinned tooling (Tests/Fixtures/requirements.txt) and ~8 GB free under --work (default
/tmp/imagine-fullsize); models are built once and reused. Weights are stored fp16 (as published
checkpoints are) and both sides compute in fp32 on exactly those values. Each PyTorch measurement
runs in its own process so its peak RSS is its own; PyTorch runs with glibc malloc as people run it
and, with --tuned-malloc, as issue 6 tunes it. Prints max relative error (max |Δ| / max |ref|),
median seconds, the Swift/PyTorch ratio and peak RSS of both.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

UNETS = {
    # stabilityai/sd-turbo unet/config.json (the SD 2.1 U-Net at 512 px).
    "sd-turbo": dict(sample_size=64, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                     use_linear_projection=True, upcast_attention=False),
    # stable-diffusion-v1-5 unet/config.json.
    "sd15": dict(sample_size=64, cross_attention_dim=768, attention_head_dim=8),
}
TUNED_MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "137438953472", "MALLOC_TOP_PAD_": "1073741824"}


def build(work: str) -> None:
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    for name, config in UNETS.items():
        folder = os.path.join(work, name, "unet")
        if not os.path.exists(os.path.join(folder, "config.json")):
            torch.manual_seed(1)
            UNet2DConditionModel(**config).half().save_pretrained(folder, safe_serialization=True)
    vae = os.path.join(work, "vae")
    if not os.path.exists(os.path.join(vae, "config.json")):
        torch.manual_seed(2)  # stable-diffusion-v1-5 vae/config.json is AutoencoderKL's default + these
        AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                      down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                      sample_size=512).half().save_pretrained(vae, safe_serialization=True)
    taesd = os.path.join(work, "vae_tiny")
    if not os.path.exists(os.path.join(taesd, "config.json")):
        torch.manual_seed(3)  # madebyollin/taesd: AutoencoderTiny's defaults
        AutoencoderTiny().half().save_pretrained(taesd, safe_serialization=True)


def inputs(work: str, component: str, name: str, size: int, batch: int) -> str:
    import torch
    from safetensors.torch import save_file
    path = os.path.join(work, f"inputs-{component}-{name}-{size}-{batch}.safetensors")
    if not os.path.exists(path):
        g = torch.Generator().manual_seed(size + batch)
        tensors = {"latents": torch.randn((batch, 4, size // 8, size // 8), generator=g)}
        if component == "unet":
            tensors = {"sample": tensors["latents"],
                       "encoder_hidden_states": torch.randn((batch, 77, UNETS[name]["cross_attention_dim"]), generator=g),
                       "timestep": torch.tensor([999.0])}
        save_file(tensors, path)
    return path


def torch_worker(component: str, folder: str, input_path: str, output_path: str, threads: int, runs: int) -> None:
    """Runs in a child process: loads the component in fp32, times it, writes the output."""
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    from safetensors.torch import load_file, save_file
    torch.set_num_threads(threads)
    x = load_file(input_path)
    with torch.inference_mode():
        if component == "unet":
            model = UNet2DConditionModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
            call = lambda: model(x["sample"], x["timestep"], x["encoder_hidden_states"]).sample
        elif component == "vae":
            model = AutoencoderKL.from_pretrained(folder, torch_dtype=torch.float32).eval()
            call = lambda: model.decode(x["latents"] / model.config.scaling_factor).sample
        else:
            model = AutoencoderTiny.from_pretrained(folder, torch_dtype=torch.float32).eval()
            call = lambda: model.decode(x["latents"]).sample
        out = call()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            out = call()
            times.append(time.perf_counter() - start)
    save_file({"output": out.contiguous()}, output_path)
    print(json.dumps({"median": statistics.median(times),
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_torch(args, component, folder, input_path, output_path, tuned):
    env = dict(os.environ, **(TUNED_MALLOC if tuned else {}))
    result = subprocess.run([sys.executable, __file__, "--worker", component, folder, input_path, output_path,
                             str(args.threads), str(args.runs)], check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_swift(args, component, folder, size, batch, input_path, output_path):
    env = dict(os.environ)
    if args.native_blas:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    cli = {"unet": "unet", "vae": "vae", "taesd": "tiny-decoder"}[component]
    result = subprocess.run([args.binary, "bench", "component", cli, folder, "--size", str(size), "--batch", str(batch),
                             "--runs", str(args.runs), "--threads", str(args.threads), "--inputs", input_path,
                             "--save-output", output_path], check=True, capture_output=True, text=True, env=env)
    median = float(re.search(r"median ([0-9.]+) s", result.stdout).group(1))
    rss = float(re.search(r"peak RSS ([0-9.]+) MB", result.stdout).group(1))
    core = re.search(r"OpenBLAS (\S+)", result.stdout).group(1)
    return median, rss, core


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        component, folder, input_path, output_path, threads, runs = sys.argv[2:8]
        torch_worker(component, folder, input_path, output_path, int(threads), int(runs))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--components", default="unet:sd-turbo,unet:sd15,vae,taesd")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--work", default="/tmp/imagine-fullsize")
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "imagine"))
    parser.add_argument("--native-blas", action="store_true",
                        help="run Swift without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see fullsize_text_encoder_check.py)")
    parser.add_argument("--tuned-malloc", action="store_true", help="also time PyTorch with tuned glibc malloc")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `swift build -c release` first")
    build(args.work)

    import torch
    from safetensors.torch import load_file
    print(f"threads {args.threads}, runs {args.runs}, batch {args.batch}, torch {torch.__version__}")
    print(f"{'component':16} {'size':>5} {'rel.err':>9} {'PyTorch s':>10} {'Swift s':>8} {'ratio':>6} "
          f"{'tuned s':>8} {'ratio':>6} {'RSS torch':>10} {'RSS swift':>10}")
    for spec in args.components.split(","):
        component, _, name = spec.partition(":")
        folder = os.path.join(args.work, name, "unet") if component == "unet" else os.path.join(
            args.work, "vae" if component == "vae" else "vae_tiny")
        for size in map(int, args.sizes.split(",")):
            input_path = inputs(args.work, component, name or component, size, args.batch)
            torch_out = os.path.join(args.work, "torch-output.safetensors")
            swift_out = os.path.join(args.work, "swift-output.safetensors")
            plain = run_torch(args, component, folder, input_path, torch_out, tuned=False)
            tuned = run_torch(args, component, folder, input_path, torch_out, tuned=True) if args.tuned_malloc else None
            swift_s, swift_rss, core = run_swift(args, component, folder, size, args.batch, input_path, swift_out)
            ref, ours = load_file(torch_out)["output"], load_file(swift_out)["output"]
            error = ((ours - ref).abs().max() / ref.abs().max()).item()
            label = f"{component}:{name}" if name else component
            tuned_cols = f"{tuned['median']:8.3f} {swift_s / tuned['median']:6.3f}" if tuned else f"{'-':>8} {'-':>6}"
            print(f"{label:16} {size:5d} {error:9.2e} {plain['median']:10.3f} {swift_s:8.3f} "
                  f"{swift_s / plain['median']:6.3f} {tuned_cols} {plain['rss_mb']:8.0f}MB {swift_rss:8.0f}MB"
                  f"  (OpenBLAS {core})", flush=True)


if __name__ == "__main__":
    main()
