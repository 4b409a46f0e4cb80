#!/usr/bin/env python3
"""Our CLI against diffusers at the real model sizes (tooling, not CI): for each case, diffusers'
pipeline (fp32, CPU, 2 torch threads) and `imagine generate --precision fp32 --threads 2` render the
same prompt, seed, steps and guidance from the random-weight folders of make_fullsize_models.py, and
the two 8-bit pictures are compared. The bar is PSNR >= 40 dB.

    python3 Tests/Fixtures/make_fullsize_models.py --models sdxl-turbo,sdxl-base,ssd-1b,sdxs-512,bk-sdm-tiny
    swift build -c release
    python3 Tests/Fixtures/check_fullsize_parity.py [--cases sdxl-turbo,ssd-1b@768] [--work /tmp/imagine-fullsize]
        [--imagine .build/release/imagine] [--out /tmp/imagine-fullsize/parity] [--nice 10]

A case is a name of CASES, optionally @SIZE for a square size other than its own (ssd-1b@768).
Per case, <out>/<case>/ gets diffusers.npy (float32 [3, h, w], the VAE's output in [-1, 1] before
clamping and rounding), diffusers-latents.npy (the final latents, before the VAE's scaling),
diffusers.png (8 bits as diffusers' postprocess + numpy_to_pil round them), imagine/*.png (ours),
and <out>/report.json sums up. Each side runs as its own process under /usr/bin/time -v, one after
the other (never both models in memory at once), so wall time and peak RSS are the process's own;
"gen" is the time for denoising and decoding alone (diffusers: measured around the calls; ours: the
JSON line's "seconds").

The diffusers side loads the text encoders first, encodes the prompt, frees them, then loads the
U-Net: what the pipeline computes is unchanged (it takes prompt_embeds as it would have made them,
and zeros for SDXL's empty negative prompt), but an fp32 SDXL never holds its 3.3 GB of text encoders
next to its 10.3 GB U-Net.
"""
import argparse
import gc
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

PROMPT = "a lighthouse on a rocky coast at sunset, oil painting"

# sampler: our --sampler name; the folder's scheduler config is the same schedule for both sides.
CASES = {
    "sdxl-turbo": dict(model="sdxl-turbo", size=512, steps=1, cfg=0.0, sampler="euler_a", seed=42),
    "sdxl-base": dict(model="sdxl-base", size=1024, steps=2, cfg=5.0, sampler="euler", seed=43),
    # diffusers decodes with vae/, SDXS's AutoencoderTiny; our folder loader makes vae_large/ (the
    # release ships one) the "vae" decoder and its default, so the tiny decoder is named.
    "sdxs-512": dict(model="sdxs-512", size=512, steps=1, cfg=0.0, sampler="euler", seed=44, decoder="tiny"),
    # The same with vae_large/ (SDXS's README: pipe.vae = AutoencoderKL.from_pretrained(".../vae_large")):
    # a random TAESD clips most pixels, the random kl-f8 VAE few, so this one sees the U-Net better.
    "sdxs-512-vae-large": dict(model="sdxs-512", size=512, steps=1, cfg=0.0, sampler="euler", seed=44,
                               decoder="vae", vae_folder="vae_large"),
    "bk-sdm-tiny": dict(model="bk-sdm-tiny", size=512, steps=4, cfg=7.5, sampler="euler", seed=45),
    "ssd-1b": dict(model="ssd-1b", size=1024, steps=2, cfg=5.0, sampler="euler", seed=46),
}


def parse_case(text: str) -> tuple[str, dict]:
    name, _, size = text.partition("@")
    if name not in CASES:
        raise SystemExit(f"unknown case '{name}' (known: {', '.join(CASES)})")
    case = dict(CASES[name])
    if size:
        case["size"] = int(size)
    return (name if not size else f"{name}@{size}"), case


# --- the diffusers side (a child process: --diffusers-side CASE) ------------------------------------

def diffusers_side(name: str, case: dict, model: str, out: str) -> None:
    import numpy as np
    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel

    torch.set_num_threads(2)
    with open(os.path.join(model, "model_index.json")) as f:
        xl = json.load(f)["_class_name"] == "StableDiffusionXLPipeline"
    guided = case["cfg"] > 1
    timings = {}
    start = time.perf_counter()
    with torch.no_grad():
        if xl:
            pipe = StableDiffusionXLPipeline.from_pretrained(model, unet=None, torch_dtype=torch.float32,
                                                             add_watermarker=False)
            # negative_prompt None: zeros for the unguided half (force_zeros_for_empty_prompt), as ours.
            embeds = pipe.encode_prompt(PROMPT, device="cpu", num_images_per_prompt=1,
                                        do_classifier_free_guidance=guided, negative_prompt=None)
            inputs = dict(zip(("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds",
                               "negative_pooled_prompt_embeds"), embeds))
            pipe.register_modules(text_encoder=None, text_encoder_2=None)
        else:
            pipe = StableDiffusionPipeline.from_pretrained(model, unet=None, torch_dtype=torch.float32,
                                                           safety_checker=None, requires_safety_checker=False)
            embeds = pipe.encode_prompt(PROMPT, "cpu", 1, guided, negative_prompt=None)
            inputs = dict(zip(("prompt_embeds", "negative_prompt_embeds"), embeds))
            pipe.register_modules(text_encoder=None)
        inputs = {k: v for k, v in inputs.items() if v is not None}
        gc.collect()
        timings["encode_s"] = time.perf_counter() - start
        pipe.register_modules(unet=UNet2DConditionModel.from_pretrained(model, subfolder="unet",
                                                                         torch_dtype=torch.float32))
        if "vae_folder" in case:
            pipe.register_modules(vae=AutoencoderKL.from_pretrained(model, subfolder=case["vae_folder"],
                                                                    torch_dtype=torch.float32))
        timings["load_s"] = time.perf_counter() - start
        print(f"{name}: {type(pipe).__name__}, scheduler {type(pipe.scheduler).__name__} "
              f"({pipe.scheduler.config.timestep_spacing}), vae {type(pipe.vae).__name__}", flush=True)

        generation = time.perf_counter()
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        latents = pipe(prompt=None, num_inference_steps=case["steps"], guidance_scale=case["cfg"],
                       width=case["size"], height=case["size"], generator=generator, output_type="latent",
                       **inputs).images
        # What both pipelines do for output_type != "latent" (no latents_mean in these VAE configs).
        image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        timings["gen_s"] = time.perf_counter() - generation
    np.save(os.path.join(out, "diffusers-latents.npy"), latents[0].float().numpy())
    np.save(os.path.join(out, "diffusers.npy"), image[0].float().numpy())
    pixels = pipe.image_processor.postprocess(image, output_type="np")  # (x / 2 + 0.5).clamp(0, 1)
    pipe.numpy_to_pil(pixels)[0].save(os.path.join(out, "diffusers.png"))  # (x * 255).round()
    with open(os.path.join(out, "diffusers.json"), "w") as f:
        json.dump(timings, f)


# --- the driver -------------------------------------------------------------------------------------

def timed(command: list[str], log: str, nice: int) -> tuple[subprocess.CompletedProcess, dict]:
    """Runs `command` under /usr/bin/time -v; returns it and {wall_s, peak_rss_gb}."""
    full = ["nice", "-n", str(nice), "/usr/bin/time", "-v", *command]
    result = subprocess.run(full, capture_output=True, text=True)
    with open(log, "w") as f:
        f.write("$ " + " ".join(full) + "\n" + result.stdout + "\n--- stderr\n" + result.stderr)
    stats = {}
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    if rss:
        stats["peak_rss_gb"] = int(rss.group(1)) / 2**20
    if wall:
        stats["wall_s"] = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return result, stats


def psnr_8bit(a, b) -> tuple[float, int]:
    import numpy as np
    difference = a.astype(np.float64) - b.astype(np.float64)
    mse = float((difference ** 2).mean())
    return (math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)), int(np.abs(difference).max())


def run_case(name: str, case: dict, args) -> dict:
    import numpy as np
    from PIL import Image

    model = os.path.join(args.work, case["model"])
    out = os.path.join(args.out, name.replace("@", "-"))
    os.makedirs(os.path.join(out, "imagine"), exist_ok=True)
    row = dict(case=name, **case)

    child = [sys.executable, os.path.abspath(__file__), "--diffusers-side", name, "--work", args.work, "--out", args.out]
    result, stats = timed(child, os.path.join(out, "diffusers.log"), args.nice)
    if result.returncode != 0:
        row["error"] = f"diffusers failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}"
        return row
    with open(os.path.join(out, "diffusers.json")) as f:
        row["diffusers"] = dict(stats, **json.load(f))

    for stale in os.listdir(os.path.join(out, "imagine")):
        os.remove(os.path.join(out, "imagine", stale))
    command = [args.imagine, "generate", "--model", model, "--seed", str(case["seed"]), "--steps", str(case["steps"]),
               "--cfg", str(case["cfg"]), "--width", str(case["size"]), "--height", str(case["size"]),
               "--sampler", case["sampler"], "--precision", "fp32", "--threads", "2",
               "--out-dir", os.path.join(out, "imagine"), PROMPT]
    if "decoder" in case:
        command[-1:-1] = ["--decoder", case["decoder"]]
    result, stats = timed(command, os.path.join(out, "imagine.log"), args.nice)
    if result.returncode != 0:
        row["error"] = f"imagine failed ({result.returncode}): {result.stderr.strip().splitlines()[-3:]}"
        return row
    record = json.loads(result.stdout.strip().splitlines()[-1])
    row["imagine"] = dict(stats, gen_s=record.get("seconds"))

    ours = np.asarray(Image.open(record["path"]).convert("RGB"))
    theirs = np.asarray(Image.open(os.path.join(out, "diffusers.png")).convert("RGB"))
    if ours.shape != theirs.shape:
        row["error"] = f"sizes differ: ours {ours.shape}, diffusers {theirs.shape}"
        return row
    row["psnr_db"], row["max_abs_8bit"] = psnr_8bit(ours, theirs)
    # How much picture there is to compare: a flat or fully clipped image would pass trivially.
    image = np.load(os.path.join(out, "diffusers.npy"))
    row["diffusers_image"] = dict(std=float(image.std()), clipped=float((np.abs(image) > 1).mean()))
    row["pass"] = row["psnr_db"] >= 40
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--work", default="/tmp/imagine-fullsize", help="make_fullsize_models.py's folder")
    parser.add_argument("--imagine", default=os.path.join(REPO, ".build", "release", "imagine"))
    parser.add_argument("--out", help="where pictures and logs go (default: <work>/parity)")
    parser.add_argument("--nice", type=int, default=10, help="niceness of both sides (default 10)")
    parser.add_argument("--diffusers-side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out = args.out or os.path.join(args.work, "parity")

    if args.diffusers_side:
        name, case = parse_case(args.diffusers_side)
        diffusers_side(name, case, os.path.join(args.work, case["model"]), os.path.join(args.out, name.replace("@", "-")))
        return

    # report.json keeps the rows of earlier runs for the cases this run does not repeat.
    report = os.path.join(args.out, "report.json")
    earlier = []
    if os.path.exists(report):
        with open(report) as f:
            earlier = json.load(f)
    rows = []
    for text in args.cases.split(","):
        name, case = parse_case(text)
        print(f"--- {name}: {case['size']}², {case['steps']} step(s), cfg {case['cfg']}, {case['sampler']}, "
              f"seed {case['seed']}", flush=True)
        row = run_case(name, case, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
        done = {row["case"] for row in rows}
        with open(report, "w") as f:
            json.dump([row for row in earlier if row["case"] not in done] + rows, f, indent=1)

    # clip%: the share of diffusers' pixel values outside [-1, 1], which any decoder would agree on.
    print(f"\n{'case':<20}{'PSNR dB':>9}{'max|Δ|':>8}{'clip%':>7}   {'ours gen/wall s':>16}{'diffusers gen/wall s':>22}"
          f"   {'ours RSS GB':>11}{'diffusers RSS GB':>17}")
    for row in rows:
        if "error" in row:
            print(f"{row['case']:<20}  {row['error']}")
            continue
        ours, theirs = row["imagine"], row["diffusers"]
        print(f"{row['case']:<20}{row['psnr_db']:>9.2f}{row['max_abs_8bit']:>8}"
              f"{100 * row['diffusers_image']['clipped']:>7.1f}   "
              f"{ours['gen_s']:>7.1f}/{ours['wall_s']:<8.1f}{theirs['gen_s']:>13.1f}/{theirs['wall_s']:<8.1f}"
              f"   {ours['peak_rss_gb']:>11.2f}{theirs['peak_rss_gb']:>17.2f}"
              f"   {'ok' if row['pass'] else 'FAIL (< 40 dB)'}")
    sys.exit(0 if all(row.get("pass") for row in rows) else 1)


if __name__ == "__main__":
    main()
