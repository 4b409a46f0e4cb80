#!/usr/bin/env python3
"""Loss versus compute for candidate VAE sizes on this machine: each candidate trains with the
background run's VAE recipe for the same number of CPU seconds (process time, so a busy machine
slows the wall clock but not the comparison), and its held-out PSNR and patch-colour error are
measured every --every CPU seconds.

    nice -n 19 ~/.venvs/imagine/bin/python Weights/recipe/size_race.py --cpu-seconds 480 \
        --candidate 16,32,64,128:4 --candidate 32,64,128,128:4 --candidate 32,64,128,128:8

Candidates are CHANNELS:LATENT_CHANNELS and run one after another on --threads threads; the
figures go to --out (JSON lines) and stdout.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import background  # noqa: E402
import train  # noqa: E402


def race(dataset, heldout, channels, latent_channels, args, out) -> None:
    plan = background.PLANS["cpu"]
    opts = argparse.Namespace(device="cpu", autocast="cpu", bf16=args.bf16)
    torch.manual_seed(0)
    vae = train.make_vae(channels, latent_channels)
    optimizer = train.make_optimizer(vae.parameters(), plan["vae_lr"], 0.0, "cpu")
    parameters = sum(p.numel() for p in vae.parameters()) / 1e6
    step, used, next_report, crop = 0, 0.0, args.every, plan["vae_crop"]
    # The schedule as the background run would use it for this budget: warm-up, then cosine over
    # the steps this candidate can afford (estimated after 20 steps).
    total, started = None, time.process_time()
    while used < args.cpu_seconds:
        g = train.generator(0, 2, step)
        x = train.vae_batch(dataset, g, plan["vae_batch"], crop)
        for group in optimizer.param_groups:
            group["lr"] = train.cosine_lr(step, total or 10**9, plan["vae_lr"], 100)
        loss, _, _ = train.vae_losses(vae, x, g, opts, plan["vae_colour_weight"])
        train.optimise(optimizer, loss, vae.parameters())
        step += 1
        used = time.process_time() - started
        if step == 20:
            total = int(args.cpu_seconds / (used / 20))
        if used >= next_report or used >= args.cpu_seconds:
            measure = time.process_time()
            entry = dict(channels=list(channels), latent_channels=latent_channels, parameters_m=round(parameters, 2),
                         step=step, cpu_seconds=round(used), **background.vae_report(vae, heldout))
            started += time.process_time() - measure  # the measurement is not training compute
            print(json.dumps(entry), flush=True)
            out.write(json.dumps(entry) + "\n")
            out.flush()
            next_report += args.every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--candidate", action="append", required=True)
    parser.add_argument("--cpu-seconds", type=float, default=480)
    parser.add_argument("--every", type=float, default=120)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "size-race.jsonl"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    dataset = train.Dataset(args.cache)
    heldout = np.array([i for i, r in enumerate(dataset.records) if r["split"] == "heldout"])
    heldout = dataset.pixels(heldout[np.linspace(0, len(heldout) - 1, background.HELDOUT_IMAGES).astype(int)])
    with open(args.out, "a") as out:
        for candidate in args.candidate:
            channels, latent = candidate.split(":")
            race(dataset, heldout, tuple(int(c) for c in channels.split(",")), int(latent), args, out)


if __name__ == "__main__":
    main()
