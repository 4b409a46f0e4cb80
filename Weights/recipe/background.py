#!/usr/bin/env python3
"""Trains imagine-mini continuously on idle cores, resumable at any moment.

    P=~/.venvs/imagine/bin/python
    $P Weights/recipe/background.py start      # detached, at nice 19; resumes where it stopped
    $P Weights/recipe/background.py status     # phase, step, newest log line
    $P Weights/recipe/background.py pause      # SIGSTOP (and a flag file) while benchmarks run
    $P Weights/recipe/background.py resume     # SIGCONT
    $P Weights/recipe/background.py stop       # SIGTERM: checkpoint, then exit
    $P Weights/recipe/background.py export     # EMA weights as a diffusers folder (.train/export)
    $P Weights/recipe/background.py plot       # .train/loss.png from .train/log.jsonl
    $P Weights/recipe/background.py run        # the training loop in the foreground

Phases, in order, each resumable: "vae" (AutoencoderKL, a fixed number of steps on a cosine
schedule), "latents" (every image encoded once; the latents' channel statistics folded into the
VAE), "diffusion" (text encoder + U-Net jointly, open-ended: warm-up, then a constant learning
rate, read out through EMA weights). The tokenizer is the committed model's, so prompts keep
their ids across models.

Checkpoints (--dir, default .train/ at the repository root, ignored by git) are written every
--checkpoint-minutes (10) and on SIGTERM: model, optimiser, EMA, phase, step and compute used,
saved to a temporary file, fsynced and renamed over the old one, so a kill -9 at any moment loses
at most one interval. Every random draw comes from a generator seeded by (seed, phase, step), so
the data order and noise after a resume are those an uninterrupted run would have drawn: resuming
reproduces the uninterrupted run's weights bit for bit. Without a checkpoint, a run starts from
the committed model where its architecture matches the plan (its VAE ends the "vae" phase; its
text encoder and U-Net start "diffusion"), else from scratch.

Each checkpoint appends a line to DIR/log.jsonl: phase, step, training loss since the last line,
samples/s, CPU seconds so far, and a held-out measure (VAE: PSNR and patch-colour error on
held-out images; diffusion: v-loss of the EMA weights on a fixed held-out batch).
"""
import argparse
import fcntl
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COMMITTED = os.path.join(REPO, "Weights", "imagine-mini")
sys.path.insert(0, HERE)
import train  # noqa: E402  (the recipe's shared models, losses, dataset and export)

# The plan: model sizes and schedules. "cpu" is the background run on this 2-core machine;
# "tiny" exercises every phase in seconds (the resume test). "vae_version" names the VAE's latent
# space: a model folder whose training.json carries the same version has finished the VAE phase.
#
# cpu: the committed sizes. size_race.py (equal CPU seconds, Weights/recipe/size-race.jsonl) had
# the (16, 32, 64, 128) VAE ahead of (32, 64, 128, 128) with 4 or 8 latent channels at 150 and
# 300 CPU seconds (18.0 against 17.4 and 16.6 dB held-out), at 2.1× their steps per second, and
# its decoder is what imagine live previews with, so a larger one would slow every keystroke.
# The VAE therefore continues from the committed one, with the patch-colour loss its hues lacked.
PLANS = {
    "cpu": dict(vae_version="v2", vae_channels=(16, 32, 64, 128), latent_channels=4, vae_batch=16, vae_crop=64,
                vae_steps=2500, vae_lr=1e-3, vae_colour_weight=1.0,
                unet_channels=(64, 128, 128), text_width=256, text_layers=4,
                batch=64, lr=4e-4, warmup=500, ema=0.999, caption_dropout=0.1, bf16=True),
    "tiny": dict(vae_version="tiny", vae_channels=(16, 16, 16, 16), latent_channels=4, vae_batch=4, vae_crop=32, vae_steps=6,
                 vae_lr=1e-3, vae_colour_weight=1.0,
                 unet_channels=(32, 32, 32), text_width=64, text_layers=1,
                 batch=4, lr=1e-3, warmup=2, ema=0.9, caption_dropout=0.1, bf16=False),
}
HELDOUT_IMAGES = 128  # held-out pictures for the VAE's PSNR and colour error, and the diffusion loss


def log(*parts):
    print(time.strftime("%Y-%m-%d %H:%M:%S"), *parts, flush=True)


# --- the log ------------------------------------------------------------------------------------
def append_log(path: str, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


# --- held-out measures ----------------------------------------------------------------------------
def patch_colours(x: torch.Tensor) -> torch.Tensor:
    """Mean colour of each 8×8 patch (one latent pixel's footprint), in [0, 1]: [B, 3, H/8, W/8]."""
    return (F.avg_pool2d(x.float(), 8) + 1) / 2


def hue(rgb: torch.Tensor) -> torch.Tensor:
    """Hue angle in degrees of [.., 3, ..] colours (channel dim 1)."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return torch.rad2deg(torch.atan2(math.sqrt(3) * (g - b), 2 * r - g - b))


@torch.no_grad()
def vae_report(vae, images: torch.Tensor) -> dict:
    """PSNR of decode(mean of encode(x)) on held-out pictures, and how their 8×8 patch colours
    survive: mean absolute error in 8-bit levels, and the hue error (degrees) over patches that
    carry a colour (max − min channel ≥ 0.25 in the input)."""
    vae.eval()
    out = []
    for start in range(0, len(images), 32):
        x = images[start:start + 32]
        out.append(vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1))
    vae.train()
    y = torch.cat(out)
    mse = ((y - images) ** 2).mean(dim=(1, 2, 3))
    cin, cout = patch_colours(images), patch_colours(y)
    coloured = (cin.max(dim=1).values - cin.min(dim=1).values) >= 0.25
    hue_error = (hue(cout) - hue(cin) + 180) % 360 - 180
    hue_error = hue_error.abs()[coloured]
    return dict(heldout_psnr=round(float(10 * torch.log10(4 / mse).mean()), 3),
                patch_colour_error_levels=round(float((cout - cin).abs().mean() * 255), 2),
                patch_hue_error_deg_median=round(float(hue_error.median()), 2) if len(hue_error) else None,
                patch_hue_error_deg_mean=round(float(hue_error.mean()), 2) if len(hue_error) else None)


# --- the run ----------------------------------------------------------------------------------------
class Run:
    def __init__(self, args):
        self.args = args
        self.plan = dict(PLANS[args.plan])
        self.dir = args.dir
        self.state_path = os.path.join(self.dir, "checkpoint.pt")
        self.log_path = os.path.join(self.dir, "log.jsonl")
        self.stop_requested = False
        # train.py's helpers read these off their args.
        self.opts = argparse.Namespace(device="cpu", autocast="cpu", bf16=self.plan["bf16"],
                                       caption_dropout=self.plan["caption_dropout"], seed=args.seed)
        self.dataset = train.Dataset(args.cache, args.dataset, args.limit)
        heldout = np.array([i for i, r in enumerate(self.dataset.records) if r["split"] == "heldout"])
        self.heldout = heldout[np.linspace(0, len(heldout) - 1, min(HELDOUT_IMAGES, len(heldout))).astype(int)]
        self.tokenizer_folder = os.path.join(self.dir, "tokenizer")
        self.cpu_seconds = 0.0

    # -- state ------------------------------------------------------------------------------------
    def load(self) -> dict:
        state = train.load_checkpoint(self.state_path)
        if state is not None:
            if state["plan"] != self.plan:
                raise SystemExit(f"{self.state_path} was trained with another plan; move it away to start over "
                                 f"(checkpoint: {state['plan']}, now: {self.plan})")
            log(f"resuming {state['phase']} at step {state['step']} from {self.state_path}")
            return state
        return self.start_from_committed()

    def start_from_committed(self) -> dict:
        """No checkpoint (a new machine): the committed tokenizer always; the committed VAE as the
        start of the VAE phase where its architecture is the plan's, or as its result where the
        committed folder's training.json says it already has the plan's vae_version; the
        committed text encoder and U-Net as the start of diffusion where theirs is the plan's."""
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.tokenizer_folder, "merges.txt")):
            shutil.copytree(os.path.join(COMMITTED, "tokenizer"), self.tokenizer_folder, dirs_exist_ok=True)
        state = dict(plan=self.plan, phase="vae", step=0, cpu_seconds=0.0)
        vae_config = read_config(os.path.join(COMMITTED, "vae", "config.json"))
        if (tuple(vae_config.get("block_out_channels", ())) == tuple(self.plan["vae_channels"])
                and vae_config.get("latent_channels") == self.plan["latent_channels"]):
            from diffusers import AutoencoderKL

            state["vae"] = AutoencoderKL.from_pretrained(os.path.join(COMMITTED, "vae")).float().state_dict()
            trained = read_config(os.path.join(COMMITTED, "training.json"))
            if trained.get("plan", {}).get("vae_version") == self.plan["vae_version"]:
                state["phase"] = "latents"
                log(f"the committed VAE is {self.plan['vae_version']}: its latent space is kept")
            else:
                log(f"fine-tuning the committed VAE into {self.plan['vae_version']}")
        else:
            log("the committed VAE is not the plan's architecture: training a VAE from scratch")
        unet_config = read_config(os.path.join(COMMITTED, "unet", "config.json"))
        if tuple(unet_config.get("block_out_channels", ())) == tuple(self.plan["unet_channels"]):
            from diffusers import UNet2DConditionModel
            from transformers import CLIPTextModel

            unet = UNet2DConditionModel.from_pretrained(os.path.join(COMMITTED, "unet")).float()
            text = CLIPTextModel.from_pretrained(os.path.join(COMMITTED, "text_encoder")).float()
            state["initial_unet"], state["initial_text"] = unet.state_dict(), text.state_dict()
            log("diffusion starts from the committed text encoder and U-Net")
        return state

    def checkpoint(self, state: dict, entry: dict) -> None:
        state["cpu_seconds"] = self.cpu_seconds
        train.save_checkpoint(self.state_path, state)
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "phase": state["phase"], "step": state["step"],
                 "cpu_seconds": round(self.cpu_seconds, 1), **entry}
        append_log(self.log_path, entry)
        log(json.dumps(entry))

    def due(self, last_save: float, step: int, final: bool) -> bool:
        if final or self.stop_requested:
            return True
        if self.args.checkpoint_steps:
            return step % self.args.checkpoint_steps == 0
        return time.time() - last_save >= self.args.checkpoint_minutes * 60

    def wait_while_paused(self) -> None:
        flag = os.path.join(self.dir, "paused")
        while os.path.exists(flag) and not self.stop_requested:
            time.sleep(1)

    def run(self) -> None:
        state = self.load()
        self.cpu_seconds = state.get("cpu_seconds", 0.0)
        if state["phase"] == "vae":
            state = self.train_vae(state)
        if state is not None and state["phase"] == "latents":
            state = self.encode_latents(state)
        if state is not None and state["phase"] == "diffusion":
            self.train_diffusion(state)

    # -- phase 1: VAE -----------------------------------------------------------------------------
    def train_vae(self, state: dict):
        plan, opts = self.plan, self.opts
        torch.manual_seed(self.args.seed)  # the initial weights, the same in every process
        vae = train.make_vae(plan["vae_channels"], plan["latent_channels"])
        optimizer = train.make_optimizer(vae.parameters(), plan["vae_lr"], 0.0, "cpu")
        if "vae" in state:
            vae.load_state_dict(state["vae"])
        if "vae_optimizer" in state:
            optimizer.load_state_dict(state["vae_optimizer"])
        heldout = self.dataset.pixels(self.heldout)
        step, total, crop = state["step"], plan["vae_steps"], plan["vae_crop"]
        log(f"vae: {sum(p.numel() for p in vae.parameters()) / 1e6:.2f} M parameters, step {step}/{total}")
        last_save, losses, samples, wall = time.time(), [], 0, time.time()
        cpu = time.process_time()
        while step < total:
            self.wait_while_paused()
            g = train.generator(self.args.seed, 2, step)
            x = train.vae_batch(self.dataset, g, plan["vae_batch"], crop)
            for group in optimizer.param_groups:
                group["lr"] = train.cosine_lr(step, total, plan["vae_lr"], 100)
            loss, reconstruction, _ = train.vae_losses(vae, x, g, opts, plan["vae_colour_weight"])
            train.optimise(optimizer, loss, vae.parameters())
            step += 1
            losses.append(reconstruction.item())
            samples += len(x)
            if self.due(last_save, step, step == total):
                now = time.process_time()
                self.cpu_seconds += now - cpu
                cpu = now
                state.update(phase="vae", step=step, vae=vae.state_dict(), vae_optimizer=optimizer.state_dict())
                if step == total:
                    state.update(phase="latents", step=0)
                    state.pop("vae_optimizer")
                self.checkpoint(state, dict(phase="vae", step=step, loss=round(float(np.mean(losses)), 5),
                                            samples_per_s=round(samples / max(1e-9, time.time() - wall), 1),
                                            **vae_report(vae, heldout)))
                last_save, losses, samples, wall = time.time(), [], 0, time.time()
                if self.stop_requested:
                    return None
        return state

    # -- phase 2: latents ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode_latents(self, state: dict):
        """Every image encoded once, with the channel statistics folded into the VAE first
        (train.normalise_vae_latents), so the model latents are ≈ N(0, 1) per channel."""
        started = time.process_time()
        vae = train.make_vae(self.plan["vae_channels"], self.plan["latent_channels"]).eval()
        vae.load_state_dict(state["vae"])
        stats = train.normalise_vae_latents(vae, self.dataset, "cpu")
        means, stds = [], []
        for start in range(0, len(self.dataset.records), 64):
            posterior = vae.encode(self.dataset.pixels(range(start, min(start + 64, len(self.dataset.records))))).latent_dist
            means.append(posterior.mean.half())
            stds.append(posterior.std.half())
        self.cpu_seconds += time.process_time() - started
        state.update(phase="diffusion", step=0, vae=vae.state_dict(), latent_stats=stats,
                     latent_mean=torch.cat(means), latent_std=torch.cat(stds))
        report = vae_report(vae, self.dataset.pixels(self.heldout))
        state["vae_report"] = report
        self.checkpoint(state, dict(latent_channel_mean=[round(v, 3) for v in stats["mean"]],
                                    latent_channel_std=[round(v, 3) for v in stats["std"]], **report))
        return None if self.stop_requested else state

    # -- phase 3: diffusion -------------------------------------------------------------------------
    def diffusion_models(self, state: dict):
        tokenizer = train.load_tokenizer(self.tokenizer_folder)
        torch.manual_seed(self.args.seed + 1)  # the initial weights, the same in every process
        text_encoder = train.make_text_encoder(self.plan, len(tokenizer))
        unet = train.make_unet(self.plan)
        if "unet" in state:
            text_encoder.load_state_dict(state["text_encoder"])
            unet.load_state_dict(state["unet"])
        elif "initial_unet" in state:
            text_encoder.load_state_dict(state.pop("initial_text"))
            unet.load_state_dict(state.pop("initial_unet"))
        return tokenizer, text_encoder, unet

    def train_diffusion(self, state: dict) -> None:
        plan, opts = self.plan, self.opts
        tokenizer, text_encoder, unet = self.diffusion_models(state)
        parameters = list(text_encoder.parameters()) + list(unet.parameters())
        optimizer = train.make_optimizer(parameters, plan["lr"], 0.01, "cpu")
        ema_text, ema_unet = train.EMA(text_encoder, plan["ema"]), train.EMA(unet, plan["ema"])
        if "optimizer" in state:
            optimizer.load_state_dict(state["optimizer"])
            ema_text.shadow, ema_unet.shadow = state["ema_text"], state["ema_unet"]
        mean, std = state["latent_mean"], state["latent_std"]
        ab = train.alphas_cumprod()
        heldout_batch = self.heldout_batch()
        step = state["step"]
        log(f"diffusion: text encoder {sum(p.numel() for p in text_encoder.parameters()) / 1e6:.2f} M, "
            f"U-Net {sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M parameters, step {step}")
        last_save, losses, samples, wall = time.time(), [], 0, time.time()
        cpu = time.process_time()
        while self.args.max_steps is None or step < self.args.max_steps:
            self.wait_while_paused()
            g = train.generator(self.args.seed, 4, step)
            for group in optimizer.param_groups:
                group["lr"] = plan["lr"] * min(1.0, (step + 1) / plan["warmup"])
            loss = train.diffusion_batch_loss(self.dataset, g, plan["batch"], plan["caption_dropout"], text_encoder,
                                              unet, tokenizer, mean, std, ab, opts)
            train.optimise(optimizer, loss, parameters)
            ema_text.update(text_encoder, step)
            ema_unet.update(unet, step)
            step += 1
            losses.append(loss.item())
            samples += plan["batch"]
            final = self.args.max_steps is not None and step >= self.args.max_steps
            if self.due(last_save, step, final):
                now = time.process_time()
                self.cpu_seconds += now - cpu
                cpu = now
                state.update(step=step, text_encoder=text_encoder.state_dict(), unet=unet.state_dict(),
                             optimizer=optimizer.state_dict(), ema_text=ema_text.shadow, ema_unet=ema_unet.shadow)
                heldout = self.heldout_loss(state, tokenizer, heldout_batch, ab)
                self.checkpoint(state, dict(loss=round(float(np.mean(losses)), 5),
                                            samples_per_s=round(samples / max(1e-9, time.time() - wall), 1),
                                            heldout_loss=round(heldout, 5), lr=optimizer.param_groups[0]["lr"]))
                last_save, losses, samples, wall = time.time(), [], 0, time.time()
                if self.stop_requested:
                    return

    def heldout_batch(self):
        """Fixed held-out captions (each item's best), timesteps spread evenly over the schedule."""
        captions = [self.dataset.records[i]["captions"][0] for i in self.heldout]
        t = torch.linspace(0, train.SCHEDULE["num_train_timesteps"] - 1, len(captions)).long()
        return captions, torch.from_numpy(self.heldout), t

    @torch.no_grad()
    def heldout_loss(self, state: dict, tokenizer, batch, ab) -> float:
        """v-loss of the EMA weights on the fixed held-out batch, fp32, with fixed noise."""
        text_encoder = train.make_text_encoder(self.plan, len(tokenizer)).eval()
        unet = train.make_unet(self.plan).eval()
        text_encoder.load_state_dict(state["ema_text"])
        unet.load_state_dict(state["ema_unet"])
        captions, index, t = batch
        opts = argparse.Namespace(**dict(vars(self.opts), bf16=False))
        return float(train.diffusion_loss(text_encoder, unet, tokenizer, captions, state["latent_mean"],
                                          state["latent_std"], index, ab, torch.Generator().manual_seed(0),
                                          opts, t=t))

    # -- export ----------------------------------------------------------------------------------------
    def export(self, out: str) -> None:
        state = train.load_checkpoint(self.state_path)
        if state is None or state["phase"] != "diffusion" or "ema_unet" not in state:
            raise SystemExit(f"{self.state_path}: no diffusion weights yet (phase "
                             f"{state['phase'] if state else 'none'})")
        tokenizer, text_encoder, unet = self.diffusion_models(dict(text_encoder=state["ema_text"],
                                                                   unet=state["ema_unet"]))
        vae = train.make_vae(self.plan["vae_channels"], self.plan["latent_channels"])
        vae.load_state_dict(state["vae"])
        cache = dict(mean=state["latent_mean"])
        train.save_model_folder(out, self.tokenizer_folder, text_encoder, unet, vae,
                                train.fit_latent_preview(cache, self.dataset))
        for name in ("imagine.json", "LICENSES"):
            source = os.path.join(COMMITTED, name)
            if os.path.exists(source) and not os.path.exists(os.path.join(out, name)):
                (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, os.path.join(out, name))
        with open(os.path.join(out, "training.json"), "w") as f:
            json.dump(dict(step=state["step"], cpu_seconds=round(state.get("cpu_seconds", 0.0)),
                           plan=self.plan, vae=state.get("vae_report")), f, indent=1, default=list)
        log(f"exported diffusion step {state['step']} to {out}")


def read_config(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


# --- process control -----------------------------------------------------------------------------
def running_pid(folder: str):
    """The pid of the training process holding DIR/lock, or None."""
    try:
        with open(os.path.join(folder, "pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    try:
        with open(os.path.join(folder, "lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock, fcntl.LOCK_UN)
            return None  # nobody holds the lock: the pid file is stale
    except BlockingIOError:
        return pid


def command_run(args) -> None:
    os.makedirs(args.dir, exist_ok=True)
    lock = open(os.path.join(args.dir, "lock"), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another training process holds {args.dir}/lock")
    with open(os.path.join(args.dir, "pid"), "w") as f:
        f.write(str(os.getpid()))
    torch.set_num_threads(args.threads)
    # Trained weights and Adam's moments drift into subnormal floats, which made CPU steps 5-10×
    # slower; flushing them to zero changes nothing measurable.
    torch.set_flush_denormal(True)
    run = Run(args)

    def request_stop(signum, frame):
        run.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run.run()
    log("stopped" if run.stop_requested else "finished")


def forwarded(args) -> list:
    """The run's own options, for start to pass on."""
    out = ["--dir", args.dir, "--plan", args.plan, "--cache", args.cache, "--threads", str(args.threads),
           "--checkpoint-minutes", str(args.checkpoint_minutes), "--seed", str(args.seed)]
    if args.dataset:
        out += ["--dataset", args.dataset]
    if args.limit:
        out += ["--limit", str(args.limit)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "run", "status", "pause", "resume", "stop", "export", "plot"])
    parser.add_argument("--dir", default=os.path.join(REPO, ".train"))
    parser.add_argument("--plan", default="cpu", choices=sorted(PLANS))
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"),
                        help="where data.py put the dataset (CACHE/dataset)")
    parser.add_argument("--dataset", default="", help="a dataset folder or pack (default CACHE/dataset)")
    parser.add_argument("--limit", type=int, default=0, help="train on about this many images (tests)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-minutes", type=float, default=10)
    parser.add_argument("--checkpoint-steps", type=int, default=0, help="checkpoint every N steps instead (tests)")
    parser.add_argument("--max-steps", type=int, help="stop diffusion at this step (tests)")
    parser.add_argument("--out", default="", help="export: the folder (default DIR/export)")
    args = parser.parse_args()
    args.dir = os.path.abspath(args.dir)
    pid = running_pid(args.dir)
    if args.command == "run":
        command_run(args)
    elif args.command == "start":
        if pid:
            print(f"already training (pid {pid}); status: background.py status")
            return
        os.makedirs(args.dir, exist_ok=True)
        with open(os.path.join(args.dir, "train.log"), "a") as out:
            process = subprocess.Popen(["nice", "-n", "19", sys.executable, os.path.abspath(__file__), "run"]
                                       + forwarded(args), stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        print(f"training in the background at nice 19 (pid {process.pid}); log: {args.dir}/train.log")
    elif args.command in ("pause", "resume"):
        flag = os.path.join(args.dir, "paused")
        if args.command == "pause":
            open(flag, "a").close()
        elif os.path.exists(flag):
            os.remove(flag)
        if pid:
            os.kill(pid, signal.SIGSTOP if args.command == "pause" else signal.SIGCONT)
        print(f"{args.command}d" + ("" if pid else " (no training process is running)"))
    elif args.command == "stop":
        if not pid:
            print("no training process is running")
            return
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
        print(f"asked pid {pid} to checkpoint and stop")
    elif args.command == "status":
        print(f"training process: {pid or 'none'}" + (" (paused)" if os.path.exists(os.path.join(args.dir, "paused"))
                                                        else ""))
        path = os.path.join(args.dir, "log.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                lines = f.readlines()
            print(f"{len(lines)} checkpoints; newest: {lines[-1].strip() if lines else '-'}")
    elif args.command == "export":
        Run(args).export(args.out or os.path.join(args.dir, "export"))
    elif args.command == "plot":
        plot(args.dir)


def plot(folder: str) -> None:
    """DIR/loss.png: training and held-out measures against CPU hours, one panel per phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(os.path.join(folder, "log.jsonl")) as f:
        entries = [json.loads(line) for line in f]
    vae = [e for e in entries if e["phase"] == "vae" and "loss" in e]
    diffusion = [e for e in entries if e["phase"] == "diffusion" and "loss" in e]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    hours = lambda es: [e["cpu_seconds"] / 3600 for e in es]  # noqa: E731
    if vae:
        axes[0].plot(hours(vae), [e["heldout_psnr"] for e in vae], "o-", label="held-out PSNR (dB)")
        axes[0].axhline(26, color="grey", linestyle=":", label="bar 26 dB")
        axes[0].set(title="VAE", xlabel="CPU hours", ylabel="dB")
        axes[0].legend(loc="center left")
        hue = axes[0].twinx()
        hue.plot(hours(vae), [e["patch_hue_error_deg_median"] for e in vae], "s--", color="tab:red",
                 label="median hue error of coloured patches (°)")
        hue.set(ylabel="degrees", ylim=(0, None))
        hue.legend(loc="lower right")
    if diffusion:
        axes[1].plot(hours(diffusion), [e["loss"] for e in diffusion], label="training v-loss")
        axes[1].plot(hours(diffusion), [e["heldout_loss"] for e in diffusion], "o-", label="held-out v-loss (EMA)")
        axes[1].set(title="diffusion", xlabel="CPU hours", ylabel="loss")
        axes[1].legend()
    figure.tight_layout()
    figure.savefig(os.path.join(folder, "loss.png"), dpi=100)
    print(os.path.join(folder, "loss.png"))


if __name__ == "__main__":
    main()
