#!/usr/bin/env python3
"""Parity fixtures for the samplers (Sources/Models/Samplers) and the torch-compatible noise
(Sources/Models/Random/TorchRandom.swift).

Run from the repository root with the pinned tooling (Tests/Fixtures/requirements.txt):

    python3 Tests/Fixtures/make_sampler_fixtures.py

Deterministic: the same versions on the same kind of CPU give byte-identical files. torch's CPU
`randn` and some of its float32 math are CPU-dependent (x86 with AVX2 or newer is what these
fixtures were made on; torch's other code paths round differently), so regenerate on such a machine.

Writes Tests/Fixtures/samplers/:
    <config>/scheduler_config.json   a diffusers scheduler config (hub files or made-up variants)
    <config>/expected.json           per sampler name (the CLI's --sampler names):
        "schedules": {steps: {"timesteps": [...], "sigmas": [...] or null, "init_noise_sigma": x}
                      or {"error": message} where diffusers refuses the step count}
        "loops": {steps: {"timesteps": [...]}} for the loops stored in loops.safetensors
        "unsupported": reason, where diffusers itself refuses the combination
    <config>/loops.safetensors       "<sampler>/<steps>/denoised_<i>", "<sampler>/<steps>/final":
                                     a whole denoising loop with the fake model below, fp32 [1,4,8,8]
    fake_model.safetensors           "c": the fixed tensor C of the fake model below
    torch_randn.json, torch_randn.safetensors
                                     torch.Generator("cpu").manual_seed(seed) + torch.randn(shape),
                                     including several draws in a row from one generator

The loop's "model" is a fixed function that the Swift tests compute too:
    model_output = 0.3 · scale_model_input(latents, t) + (0.05 · t / 1000 + 0.02) · C
with C = torch.randn([1,4,8,8]) from seed 7, and the loop starts, as diffusers' pipelines do, from
randn(shape, generator=Generator().manual_seed(LOOP_SEED)) · init_noise_sigma, passing the same
generator to every step (Euler ancestral and LCM draw their noise from it).
"""
import json
import os
import shutil

import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, LCMScheduler)
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samplers")

LOOP_SHAPE = [1, 4, 8, 8]
LOOP_SEED = 1234
LOOP_STEPS = [1, 4, 20]
SCHEDULE_STEPS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 50]

CONFIGS = {
    # stable-diffusion-v1-5/stable-diffusion-v1-5 scheduler/scheduler_config.json: a PNDM config
    # without timestep_spacing, so every sampler falls back to its own class's default.
    "sd15": {
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
        "clip_sample": False,
    },
    # stabilityai/stable-diffusion-2-1: DDIM, v-prediction.
    "sd21": {
        "_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
        "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    },
    # stabilityai/sd-turbo: Euler with trailing spacing, run at 1-4 steps.
    "sd-turbo": {
        "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
        "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
        "timestep_spacing": "trailing", "trained_betas": None, "use_karras_sigmas": False,
    },
    # SimianLuo/LCM_Dreamshaper_v7.
    "lcm": {
        "_class_name": "LCMScheduler", "_diffusers_version": "0.22.0.dev0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
        "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.995, "num_train_timesteps": 1000,
        "original_inference_steps": 50, "prediction_type": "epsilon", "rescale_betas_zero_snr": False,
        "sample_max_value": 1.0, "set_alpha_to_one": True, "steps_offset": 1, "thresholding": False,
        "timestep_scaling": 10.0, "timestep_spacing": "leading", "trained_betas": None,
    },
    # Made up to reach the rarer branches: cosine betas, trailing spacing, v-prediction with
    # clipping, Euler's continuous timesteps, sigma_min final sigmas, and DPM-Solver's defaults as
    # Python writes them (-Infinity, null).
    "cosine": {
        "_class_name": "DDIMScheduler", "beta_schedule": "squaredcos_cap_v2",
        "timestep_spacing": "trailing", "prediction_type": "v_prediction",
        "timestep_type": "continuous", "final_sigmas_type": "sigma_min", "clip_sample": True,
        "clip_sample_range": 1.5, "set_alpha_to_one": False, "original_inference_steps": 40,
        "timestep_scaling": 5.0, "lower_order_final": False, "lambda_min_clipped": float("-inf"),
        "variance_type": None,
    },
    # SD 2.1's schedule rescaled to zero terminal SNR (Lin et al. 2023), as its fine-tunes use it.
    "zsnr": {
        "_class_name": "DDIMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "beta_end": 0.012, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing",
        "prediction_type": "v_prediction", "set_alpha_to_one": False, "clip_sample": False,
    },
    # Made up: linear betas, Karras sigmas for Euler, leading spacing with an offset, x0 prediction.
    "karras-leading": {
        "_class_name": "EulerDiscreteScheduler", "beta_schedule": "linear", "beta_start": 0.0001,
        "beta_end": 0.02, "use_karras_sigmas": True, "prediction_type": "sample",
        "timestep_spacing": "leading", "steps_offset": 1, "set_alpha_to_one": True,
    },
}


def make(name: str, config: dict):
    """The diffusers scheduler each --sampler name reproduces, as a pipeline would build it with
    `Class.from_config(config, **overrides)`; the DPM++ names fix the algorithm (2M, midpoint) and
    the Karras switch."""
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    if name == "lcm":
        return LCMScheduler.from_config(config)
    if name in ("dpm++2m", "dpm++2m-karras"):
        return DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
            use_karras_sigmas=name == "dpm++2m-karras")
    raise ValueError(name)


SAMPLERS = ["euler", "euler_a", "ddim", "lcm", "dpm++2m", "dpm++2m-karras"]


def floats(tensor) -> list:
    return [float(x) for x in torch.as_tensor(tensor).flatten().tolist()]


def unsupported(name: str, config: dict):
    """diffusers raises at step time for these; the Swift factory must refuse them up front."""
    if name == "euler_a" and config.get("prediction_type") == "sample":
        return "EulerAncestralDiscreteScheduler does not implement prediction_type 'sample'"
    return None


def fake_model(x_in: torch.Tensor, t, c: torch.Tensor) -> torch.Tensor:
    return 0.3 * x_in + (0.05 * float(t) / 1000.0 + 0.02) * c


def run_loop(scheduler, steps: int, c: torch.Tensor):
    scheduler.set_timesteps(steps)
    # The Swift samplers count steps by position. diffusers does too once begin_index is set;
    # without it, it finds its start by looking up the first timestep, and where that value repeats
    # (Karras sigmas on zero-SNR cosine betas give 998 six times) it starts at the second and runs
    # off the end of its sigmas.
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(0)
    generator = torch.Generator().manual_seed(LOOP_SEED)
    latents = torch.randn(LOOP_SHAPE, generator=generator) * scheduler.init_noise_sigma
    denoised = []
    for t in scheduler.timesteps:
        x_in = scheduler.scale_model_input(latents, t)
        output = fake_model(x_in, t, c)
        result = scheduler.step(output, t, latents, generator=generator)
        latents = result.prev_sample
        if hasattr(result, "denoised"):                  # LCM
            denoised.append(result.denoised)
        elif hasattr(result, "pred_original_sample"):    # Euler, Euler a, DDIM
            denoised.append(result.pred_original_sample)
        else:                                            # DPM-Solver keeps its x0 estimate
            denoised.append(scheduler.model_outputs[-1])
    return latents, denoised


def write_sampler_fixtures() -> None:
    c = torch.randn(LOOP_SHAPE, generator=torch.Generator().manual_seed(7))
    for config_name, config in CONFIGS.items():
        folder = os.path.join(ROOT, config_name)
        os.makedirs(folder)
        with open(os.path.join(folder, "scheduler_config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        expected, tensors = {}, {}
        for name in SAMPLERS:
            reason = unsupported(name, config)
            if reason:
                expected[name] = {"unsupported": reason}
                continue
            schedules = {}
            for steps in SCHEDULE_STEPS:
                scheduler = make(name, config)
                try:
                    scheduler.set_timesteps(steps)
                except ValueError as error:  # e.g. LCM asked for more steps than it was distilled for
                    schedules[str(steps)] = {"error": str(error)}
                    continue
                sigmas = getattr(scheduler, "sigmas", None) if name not in ("ddim", "lcm") else None
                schedules[str(steps)] = {
                    "timesteps": floats(scheduler.timesteps),
                    "sigmas": floats(sigmas) if sigmas is not None else None,
                    "init_noise_sigma": float(scheduler.init_noise_sigma),
                }
            loops = {}
            for steps in LOOP_STEPS:
                scheduler = make(name, config)
                final, denoised = run_loop(scheduler, steps, c)
                loops[str(steps)] = {"timesteps": floats(scheduler.timesteps)}
                tensors[f"{name}/{steps}/final"] = final.clone()
                for i, d in enumerate(denoised):
                    tensors[f"{name}/{steps}/denoised_{i}"] = d.clone()
            expected[name] = {"schedules": schedules, "loops": loops}
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f, sort_keys=True)
        save_file(tensors, os.path.join(folder, "loops.safetensors"))
        print(config_name, len(tensors), "tensors")
    save_file({"c": c.contiguous()}, os.path.join(ROOT, "fake_model.safetensors"))


# (seed, [shapes drawn one after another from the same generator]). Sizes below 16 take torch's
# scalar double-precision path (which caches the second Box-Muller value in the generator); 16 and
# up take the vectorised float path, which redraws the last 16 values when the size is not a
# multiple of 16. The sequences mix both, as a pipeline does (initial latents, then step noise).
RANDN_CASES = [
    (0, [[1]]), (1, [[15]]), (2, [[16]]), (3, [[17]]), (4, [[3, 5]]), (5, [[31]]), (6, [[33]]),
    (42, [[1, 4, 8, 8]]), (1234, [[1, 4, 64, 64]]), (2**32 + 7, [[20]]), (2**64 - 1, [[40]]),
    (99, [[1], [1], [5], [16], [1], [1, 4, 8, 8], [3], [17], [2]]),
    (7, [[2, 3], [100], [7], [7]]),
] + [(1000 + k, [[256]]) for k in range(64)] + [(5000 + k, [[5]]) for k in range(64)]
# Too big to store whole: compared on their first and last 64 values and their sum.
RANDN_SUMMARY_CASES = [(31337, [1, 4, 96, 96]), (2**40 + 3, [4, 4, 64, 64])]


def write_randn_fixtures() -> None:
    cases, tensors = [], {}
    for seed, shapes in RANDN_CASES:
        generator = torch.Generator().manual_seed(seed)
        keys = []
        for k, shape in enumerate(shapes):
            key = f"seed{seed}/{k}"
            tensors[key] = torch.randn(shape, generator=generator).contiguous()
            keys.append(key)
        cases.append({"seed": str(seed), "shapes": shapes, "keys": keys})
    summaries = []
    for seed, shape in RANDN_SUMMARY_CASES:
        values = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).flatten()
        summaries.append({"seed": str(seed), "shape": shape, "first": floats(values[:64]),
                          "last": floats(values[-64:]), "sum": float(values.double().sum())})
    with open(os.path.join(ROOT, "torch_randn.json"), "w") as f:
        json.dump({"cases": cases, "summaries": summaries}, f)
    save_file(tensors, os.path.join(ROOT, "torch_randn.safetensors"))
    print("randn", len(tensors), "tensors")


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    write_sampler_fixtures()
    write_randn_fixtures()


if __name__ == "__main__":
    main()
