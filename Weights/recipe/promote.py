#!/usr/bin/env python3
"""Commits the background run's model only when it is better: exports the newest checkpoint,
measures it and the committed model with the same protocol in the same run (held-out captions,
R-precision@1 at 20 and 4 steps at the committed imagine.json's guidance), and replaces
Weights/imagine-mini only when the candidate's 20-step figure is at least --margin (0.02) higher.

    nice -n 19 ~/.venvs/imagine/bin/python Weights/recipe/promote.py [--queries 400] [--dry-run]

On promotion it also writes Weights/metrics.json and the contact sheet (evaluate.py), the colour
check (colour_check.py) and the Swift parity fixture (make_parity_fixture.py); what is left to a
person is to look at the sheet, update Weights/README.md, run the Swift tests and commit. The
model folder must stay under 40 MB. Either way the comparison goes to .train/promotion.json.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import background  # noqa: E402
import evaluate  # noqa: E402
import train  # noqa: E402

MODEL_LIMIT_BYTES = 40_000_000
REPLACED = ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "model_index.json", "training.json")


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def heldout_r_precision(model: str, dataset, evaluator, queries: int, guidance: float) -> dict:
    """R-precision@1 on held-out captions at 20 and 4 steps: evaluate.py's protocol (same
    queries, seeds and distractors for every model)."""
    pipe = evaluate.load_pipeline(model)
    chosen = evaluate.pick_queries(dataset, "heldout", queries, np.random.default_rng(evaluate.SEED))
    captions = [dataset.records[i]["captions"][0] for i in chosen]
    pool = sorted({r["captions"][0] for r in dataset.records})
    result = {"queries": len(chosen)}
    for steps in (20, 4):
        images = evaluate.generate(pipe, captions, steps, guidance, list(range(len(chosen))))
        result[f"{steps} steps"] = evaluate.r_precision(evaluator, images, captions, pool,
                                                        np.random.default_rng(evaluate.SEED + 1))
        log(f"{model}: {steps} steps, guidance {guidance}: {result[f'{steps} steps']:.3f}")
    return result


def folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files
               if f.endswith(".safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=os.path.join(background.REPO, ".train"))
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--evaluator-steps", type=int, default=600)
    parser.add_argument("--dry-run", action="store_true", help="measure and report, never replace")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    candidate = os.path.join(args.dir, "candidate")
    shutil.rmtree(candidate, ignore_errors=True)
    run_args = argparse.Namespace(dir=args.dir, plan="cpu", cache=args.cache, dataset="", limit=0, seed=0,
                                  checkpoint_minutes=10, checkpoint_steps=0, max_steps=None)
    run = background.Run(run_args)
    run.export(candidate)
    size = folder_bytes(candidate)
    if size > MODEL_LIMIT_BYTES:
        raise SystemExit(f"the candidate's weights are {size / 1e6:.1f} MB, over the 40 MB limit")
    with open(os.path.join(background.COMMITTED, "imagine.json")) as f:
        guidance = float(json.load(f).get("cfg", 2.0))
    evaluator = evaluate.load_evaluator(run.dataset, args.cache, args.evaluator_steps)
    committed = heldout_r_precision(background.COMMITTED, run.dataset, evaluator, args.queries, guidance)
    new = heldout_r_precision(candidate, run.dataset, evaluator, args.queries, guidance)
    gain = new["20 steps"] - committed["20 steps"]
    promoted = gain >= args.margin and not args.dry_run
    with open(os.path.join(candidate, "training.json")) as f:
        training = json.load(f)
    report = dict(time=time.strftime("%Y-%m-%dT%H:%M:%S"), guidance=guidance, committed=committed, candidate=new,
                  gain_20_steps=round(gain, 3), margin=args.margin, promoted=promoted,
                  candidate_step=training["step"], candidate_cpu_seconds=training["cpu_seconds"],
                  candidate_megabytes=round(size / 1e6, 1))
    train.write_atomically(os.path.join(args.dir, "promotion.json"),
                                lambda f: f.write(json.dumps(report, indent=1).encode()))
    print(json.dumps(report, indent=1))
    if not promoted:
        log(f"not promoted: 20-step R-precision {new['20 steps']:.3f} vs committed {committed['20 steps']:.3f} "
            f"(needs +{args.margin})" + (" (dry run)" if args.dry_run else ""))
        return
    for name in REPLACED:
        target = os.path.join(background.COMMITTED, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)
        source = os.path.join(candidate, name)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, target)
    log("promoted: measuring the new model in full")
    python = sys.executable
    subprocess.run([python, os.path.join(HERE, "evaluate.py"), "--queries", str(args.queries), "--guidance",
                    str(guidance)], check=True)
    subprocess.run([python, os.path.join(HERE, "colour_check.py")], check=True)
    subprocess.run([python, os.path.join(HERE, "make_parity_fixture.py")], check=True)
    log("done: look at Weights/imagine-mini/contact-sheet.png, update Weights/README.md, run swift test, commit")


if __name__ == "__main__":
    main()
