#!/usr/bin/env python3
"""Background training survives kill -9: a run killed at random moments and resumed ends with
the same weights, bit for bit, as one that never stopped, and loses at most one checkpoint
interval each time. Uses the "tiny" plan on a small synthetic dataset (every phase in seconds).

    ~/.venvs/imagine/bin/python Weights/recipe/test_background.py
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "background.py")
STEPS, EVERY = 12, 3
COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (40, 60, 220), "yellow": (240, 220, 30)}
SHAPES = ("square", "circle", "stripe")


def make_dataset(folder: str) -> None:
    """24 drawings (a coloured shape on white) with captions, 4 of them held out: the layout
    data.py writes."""
    os.makedirs(folder)
    images, records = [], []
    yy, xx = np.mgrid[0:128, 0:128]
    for n, (colour, rgb) in enumerate([item for item in COLOURS.items() for _ in range(2)] * 3):
        shape = SHAPES[n % len(SHAPES)]
        mask = {"square": (abs(yy - 64) < 30) & (abs(xx - 64) < 30),
                "circle": (yy - 64) ** 2 + (xx - 64) ** 2 < 900,
                "stripe": abs(yy - 64) < 12}[shape]
        image = np.full((128, 128, 3), 255, np.uint8)
        image[mask] = rgb
        images.append(image)
        records.append(dict(id=f"test-{n}", captions=[f"{colour} {shape}", f"a {shape}"], weight=1.0,
                            split="heldout" if n % 6 == 5 else "train", style="clip art"))
    np.save(os.path.join(folder, "images.npy"), np.stack(images))
    with open(os.path.join(folder, "records.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def command(folder: str, dataset: str) -> list:
    return [sys.executable, SCRIPT, "run", "--plan", "tiny", "--dir", folder, "--dataset", dataset,
            "--threads", "1", "--checkpoint-steps", str(EVERY), "--max-steps", str(STEPS)]


def log_lines(folder: str) -> list:
    path = os.path.join(folder, "log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def order(entry) -> tuple:
    return ("vae", "latents", "diffusion").index(entry["phase"]), entry["step"]


def final_weights(folder: str) -> dict:
    state = torch.load(os.path.join(folder, "checkpoint.pt"), weights_only=False)
    assert state["phase"] == "diffusion" and state["step"] == STEPS, (state["phase"], state["step"])
    return {f"{group}.{k}": v for group in ("vae", "ema_unet", "ema_text", "unet", "text_encoder")
            for k, v in state[group].items()}


class BackgroundTrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dataset = os.path.join(cls.tmp.name, "dataset")
        make_dataset(cls.dataset)
        cls.reference = os.path.join(cls.tmp.name, "uninterrupted")
        subprocess.run(command(cls.reference, cls.dataset), check=True, capture_output=True, timeout=600)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_phase_logs_its_measures(self):
        lines = log_lines(self.reference)
        phases = [line["phase"] for line in lines]
        self.assertEqual(phases[0], "vae")
        self.assertIn("diffusion", phases)
        vae = [line for line in lines if line["phase"] == "vae"]
        self.assertTrue(all("heldout_psnr" in line and "patch_hue_error_deg_median" in line for line in vae))
        diffusion = [line for line in lines if line["phase"] == "diffusion" and "loss" in line]
        self.assertEqual([line["step"] for line in diffusion], list(range(EVERY, STEPS + 1, EVERY)))
        self.assertTrue(all(np.isfinite(line["heldout_loss"]) and line["samples_per_s"] > 0 for line in diffusion))

    def test_kill_9_anywhere_then_resume_gives_the_same_weights(self):
        folder = os.path.join(self.tmp.name, "killed")
        # Kill after the first VAE checkpoint, then after the first diffusion checkpoint, then let it finish.
        for wanted in (lambda ls: any(l["phase"] == "vae" for l in ls),
                       lambda ls: any(l["phase"] == "diffusion" and "loss" in l for l in ls)):
            process = subprocess.Popen(command(folder, self.dataset), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            deadline = time.time() + 300
            while not wanted(log_lines(folder)) and process.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # somewhere inside the next interval
            process.send_signal(signal.SIGKILL)
            process.wait()
            # The checkpoint on disk is whole and not older than the newest logged one: a kill
            # loses only the steps since it (fewer than one interval).
            state = torch.load(os.path.join(folder, "checkpoint.pt"), weights_only=False)
            newest = log_lines(folder)[-1]
            self.assertGreaterEqual(order(state), order(newest), (state["phase"], state["step"], newest))
        subprocess.run(command(folder, self.dataset), check=True, capture_output=True, timeout=600)
        expected, got = final_weights(self.reference), final_weights(folder)
        self.assertEqual(expected.keys(), got.keys())
        for key in expected:
            self.assertTrue(torch.equal(expected[key], got[key]), key)
        self.assertFalse(os.path.exists(os.path.join(folder, "checkpoint.pt.tmp")))

    def test_second_process_is_refused(self):
        folder = os.path.join(self.tmp.name, "twice")
        first = subprocess.Popen(command(folder, self.dataset), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            while not os.path.exists(os.path.join(folder, "pid")) and time.time() < deadline:
                time.sleep(0.05)
            second = subprocess.run(command(folder, self.dataset), capture_output=True, text=True, timeout=120)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn("another training process", second.stderr)
        finally:
            first.kill()
            first.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
