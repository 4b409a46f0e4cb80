#!/usr/bin/env bash
# imagine-mini's GPU training run, for one ≤ 10-minute command on the lent GPU machine
# (repository root as the working directory, the pack carried as the ignored folder .gpu-pack/):
#
#   bash Weights/recipe/remote/gpu_run.sh          # run(command=..., carry=[".gpu-pack"], timeout_s=600)
#
# .gpu-pack/ comes from `python Weights/recipe/remote/pack.py` (the dataset as AVIF mosaics and
# diffusers-min.zip: that machine's Python has torch and transformers but no diffusers).
# Writes to $OUT (at most 8 files of ≤ 16 MiB come back): env.txt, train.log, run.json and the
# exported model as model.tar split into ≤ 15 MiB parts (model.tar.00, .01, …); README.md
# ("GPU run") says how to put it back together. BUDGET is the training's wall-clock budget in
# seconds (VAE + diffusion, preflight included; export and start-up come on top, ~40 s).
set -uo pipefail
OUT=${OUT:-/tmp/imagine-gpu-out}
PACK=${PACK:-.gpu-pack}
BUDGET=${BUDGET:-450}
PY=${PY:-python3}
WORK=/tmp/imagine-gpu
mkdir -p "$OUT"
rm -rf "$WORK"
export PYTHONPATH="$PWD/$PACK/diffusers-min.zip${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=false
started=$(date +%s)

# 1. Environment: fail in seconds, not minutes, when something is missing.
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1; nproc; } > "$OUT/env.txt"
"$PY" - >> "$OUT/env.txt" 2>&1 <<'PYEOF'
import sys, torch, numpy, PIL, transformers, tokenizers, diffusers
from PIL import features
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "numpy", numpy.__version__, "pillow", PIL.__version__, "transformers", transformers.__version__,
      "tokenizers", tokenizers.__version__, "diffusers", diffusers.__version__, diffusers.__file__)
assert torch.cuda.is_available(), "no CUDA device"
print("device", torch.cuda.get_device_name(0), "bf16", torch.cuda.is_bf16_supported())
assert features.check("avif"), "this Pillow cannot decode AVIF: pack with --codec webp"
assert "diffusers-min.zip" in diffusers.__file__, "diffusers not taken from the pack"
from diffusers import AutoencoderKL, UNet2DConditionModel, DDPMScheduler, EulerDiscreteScheduler
from transformers import CLIPTextModel, CLIPTokenizer
print("environment ok")
PYEOF
status=$?
cat "$OUT/env.txt"
if [ $status -ne 0 ]; then echo "environment check failed" >&2; exit 3; fi

# 2. Train: tokenizer, preflight (every stage for 2 steps), VAE, latents, diffusion, export.
timeout 540 "$PY" Weights/recipe/train.py --gpu --dataset "$PACK/imagine-mini-dataset.npz" \
    --run "$WORK/run" --out "$WORK/imagine-mini" --threads 8 --budget-seconds "$BUDGET" --vae-share 0.35 --preflight \
    2>&1 | tee "$OUT/train.log"
status=${PIPESTATUS[0]}

# 3. Results: the exported folder as ≤ 15 MiB parts, the run's settings and latent statistics.
cp "$WORK/run/settings.json" "$OUT/run.json" 2>/dev/null
if [ -f "$WORK/imagine-mini/model_index.json" ]; then
    tar -C "$WORK" -cf "$WORK/model.tar" imagine-mini
    split -b 15M -d "$WORK/model.tar" "$OUT/model.tar."
    (cd "$OUT" && sha256sum model.tar.* > model.sha256 && ls -l)
fi
echo "gpu_run.sh: train.py exit $status, $(( $(date +%s) - started )) s"
exit $status
