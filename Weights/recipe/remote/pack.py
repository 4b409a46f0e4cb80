#!/usr/bin/env python3
"""Packs the dataset data.py built (440 MB of raw arrays) small enough to travel to a GPU machine
that cannot reach the Debian mirrors, and decodes such a pack back into the same arrays.

    nice -n 19 python Weights/recipe/remote/pack.py [--cache ~/.cache/imagine-mini] [--out .gpu-pack]

Writes OUT/imagine-mini-dataset.npz (one file, opened with np.load(allow_pickle=False)):
    tiles, offsets   the images as mosaics of GRID×GRID pictures (1024² for GRID 8), each one AVIF
                     file (4:4:4 chroma; lossy), concatenated; image i is mosaic i // GRID², row
                     (i % GRID²) // GRID, column i % GRID
    records_xz       records.jsonl, xz-compressed
    licenses_xz      JSON {file name: text} of dataset/LICENSES, xz-compressed
    meta             JSON: count, image size, grid, codec, quality, checksums, round-trip PSNR
and OUT/diffusers-min.zip (--vendor, on by default): the part of the installed diffusers that
train.py uses, because the GPU machine's Python has no diffusers and the whole wheel (6 MiB) does
not fit the 64 MiB that travels with the checkout (which already holds ~54 MiB of tracked files).

Why lossy: lossless WebP is 48 MiB and PNG 73 MiB for the 9,074 pictures, against ~10 MiB left
beside the tracked files. AVIF 4:4:4 on mosaics measured best per byte: quality 40 packs all
9,074 pictures into 6.1 MiB at 35.0 dB mean PSNR, where lossy WebP (which halves the chroma) needs
9.5 MiB for 32.4 dB (measured on 512 pictures). --codec webp is the fallback for a machine whose
Pillow cannot decode AVIF.

train.py --dataset OUT/imagine-mini-dataset.npz decodes the pack in parallel (load_pack below).
"""
import argparse
import hashlib
import io
import json
import lzma
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PACK_NAME = "imagine-mini-dataset.npz"
VENDOR_NAME = "diffusers-min.zip"
FORMAT = "imagine-mini-pack-1"
TRAVEL_LIMIT = 64 * 2**20

# diffusers modules train.py imports (traced from a full CPU run of every stage), plus every
# package __init__ outside the pipeline folders and a few whole subpackages whose modules are
# imported lazily at run time. Everything else (pipelines, other model families) is left out.
VENDOR_WHOLE = ("diffusers/utils/", "diffusers/hooks/", "diffusers/loaders/", "diffusers/quantizers/",
                "diffusers/models/unets/unet_2d", "diffusers/models/autoencoders/autoencoder_kl.py",
                "diffusers/models/autoencoders/vae.py", "diffusers/schedulers/scheduling_ddpm.py",
                "diffusers/schedulers/scheduling_euler_discrete.py", "diffusers/schedulers/scheduling_utils.py")
VENDOR_SKIP_INIT = ("diffusers/pipelines/", "diffusers/modular_pipelines/")


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# --- encode -----------------------------------------------------------------------------------
def mosaic(images: np.ndarray, grid: int) -> np.ndarray:
    """Up to grid² pictures [n, S, S, 3] → one [grid·S, grid·S, 3] picture (missing cells white)."""
    count, size = len(images), images.shape[1]
    cells = np.full((grid * grid, size, size, 3), 255, np.uint8)
    cells[:count] = images
    return cells.reshape(grid, grid, size, size, 3).transpose(0, 2, 1, 3, 4).reshape(grid * size, grid * size, 3)


def unmosaic(picture: np.ndarray, grid: int, count: int) -> np.ndarray:
    size = picture.shape[0] // grid
    cells = picture.reshape(grid, size, grid, size, 3).transpose(0, 2, 1, 3, 4).reshape(grid * grid, size, size, 3)
    return cells[:count]


def encode_tile(job) -> bytes:
    images, grid, codec, quality = job
    buffer = io.BytesIO()
    picture = Image.fromarray(mosaic(images, grid))
    if codec == "avif":
        picture.save(buffer, "AVIF", quality=quality, subsampling="4:4:4", speed=4)
    elif codec == "webp":
        picture.save(buffer, "WEBP", quality=quality, method=6)
    elif codec == "webp-lossless":
        picture.save(buffer, "WEBP", lossless=True, quality=100, method=6)
    else:
        raise ValueError(codec)
    return buffer.getvalue()


def git_tracked_bytes() -> int:
    """What the checkout sends to the GPU machine besides carried paths: tracked files plus
    untracked files git does not ignore, at their size in the working tree."""
    try:
        names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        return 0
    total = 0
    for name in names:
        path = os.path.join(ROOT, name.decode())
        if name and os.path.isfile(path):
            total += os.path.getsize(path)
    return total


def vendor_diffusers(path: str) -> int:
    """A zip of the diffusers modules train.py needs, importable from PYTHONPATH (zipimport)."""
    import diffusers

    site = os.path.dirname(os.path.dirname(os.path.abspath(diffusers.__file__)))
    with open(os.path.join(HERE, "diffusers-modules.txt")) as f:
        traced = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for directory, folders, files in os.walk(os.path.join(site, "diffusers")):
            folders[:] = sorted(f for f in folders if f != "__pycache__")
            for file in sorted(files):
                full = os.path.join(directory, file)
                relative = os.path.relpath(full, site).replace(os.sep, "/")
                module = relative[:-3].replace("/", ".").removesuffix(".__init__")
                wanted = file.endswith(".py") and (
                    module in traced or relative.startswith(VENDOR_WHOLE)
                    or (file == "__init__.py" and (not relative.startswith(VENDOR_SKIP_INIT)
                                                   or relative.count("/") <= 2)))
                if wanted:
                    archive.write(full, relative)
    os.replace(path + ".tmp", path)
    return os.path.getsize(path)


def pack(cache: str, out: str, codec: str, quality: int, grid: int, workers: int, vendor: bool) -> None:
    folder = os.path.join(cache, "dataset")
    images = np.load(os.path.join(folder, "images.npy"))
    with open(os.path.join(folder, "records.jsonl"), "rb") as f:
        records = f.read()
    licenses = {}
    for name in sorted(os.listdir(os.path.join(folder, "LICENSES"))):
        with open(os.path.join(folder, "LICENSES", name), encoding="utf-8") as f:
            licenses[name] = f.read()
    per_tile = grid * grid
    jobs = [(images[start:start + per_tile], grid, codec, quality) for start in range(0, len(images), per_tile)]
    log(f"encoding {len(images)} images as {len(jobs)} {codec} mosaics (quality {quality}) on {workers} processes")
    started = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        tiles = list(pool.map(encode_tile, jobs))
    log(f"encoded in {time.time() - started:.0f} s")
    offsets = np.cumsum([0] + [len(t) for t in tiles]).astype(np.int64)
    blob = np.frombuffer(b"".join(tiles), np.uint8)
    decoded = decode_tiles(blob, offsets, grid, len(images), workers)
    error = ((decoded.astype(np.float32) - images) ** 2).reshape(len(images), -1).mean(axis=1)
    psnr = 10 * np.log10(255.0 ** 2 / np.maximum(error, 1e-10))
    meta = dict(format=FORMAT, count=len(images), size=images.shape[1], grid=grid, codec=codec, quality=quality,
                images_sha256=hashlib.sha256(images.tobytes()).hexdigest(),
                decoded_sha256=hashlib.sha256(decoded.tobytes()).hexdigest(),
                psnr=dict(mean=round(float(psnr.mean()), 2), median=round(float(np.median(psnr)), 2),
                          p5=round(float(np.percentile(psnr, 5)), 2), min=round(float(psnr.min()), 2),
                          of_mean_mse=round(float(10 * np.log10(255.0 ** 2 / max(error.mean(), 1e-10))), 2)))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, PACK_NAME)
    np.savez(path + ".tmp.npz", tiles=blob, offsets=offsets,
             records_xz=np.frombuffer(lzma.compress(records, preset=9 | lzma.PRESET_EXTREME), np.uint8),
             licenses_xz=np.frombuffer(lzma.compress(json.dumps(licenses).encode(), preset=9), np.uint8),
             meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    os.replace(path + ".tmp.npz", path)
    sizes = {PACK_NAME: os.path.getsize(path)}
    if vendor:
        sizes[VENDOR_NAME] = vendor_diffusers(os.path.join(out, VENDOR_NAME))
    tracked = git_tracked_bytes()
    total = tracked + sum(sizes.values())
    report = dict(meta, files={k: v for k, v in sizes.items()}, image_bytes=int(offsets[-1]),
                  checkout_bytes=tracked, travel_total_mib=round(total / 2**20, 2),
                  travel_limit_mib=TRAVEL_LIMIT / 2**20)
    with open(os.path.join(out, "pack-report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    if total > TRAVEL_LIMIT:
        log(f"WARNING: checkout {tracked / 2**20:.1f} MiB + pack {sum(sizes.values()) / 2**20:.1f} MiB exceeds "
            f"the 64 MiB that may travel; lower --quality")


# --- decode -----------------------------------------------------------------------------------
def decode_tile(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def decode_tiles(blob: np.ndarray, offsets: np.ndarray, grid: int, count: int, workers: int) -> np.ndarray:
    chunks = [blob[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pictures = list(pool.map(decode_tile, chunks))
    else:
        pictures = [decode_tile(c) for c in chunks]
    per_tile = grid * grid
    return np.concatenate([unmosaic(p, grid, min(per_tile, count - i * per_tile)) for i, p in enumerate(pictures)])


def load_pack(path: str, workers: int = 0) -> tuple:
    """(images uint8 [N, 128, 128, 3], records list, licenses {name: text}, meta) from a pack."""
    workers = workers or min(16, os.cpu_count() or 1)
    with np.load(path, allow_pickle=False) as pack_file:
        meta = json.loads(pack_file["meta"].tobytes())
        if meta.get("format") != FORMAT:
            raise SystemExit(f"{path}: not an {FORMAT} file")
        images = decode_tiles(pack_file["tiles"], pack_file["offsets"], meta["grid"], meta["count"], workers)
        records = [json.loads(line) for line in lzma.decompress(pack_file["records_xz"].tobytes()).decode().splitlines()
                   if line.strip()]
        licenses = json.loads(lzma.decompress(pack_file["licenses_xz"].tobytes()))
    if len(records) != len(images):
        raise SystemExit(f"{path}: {len(images)} images but {len(records)} records")
    if hashlib.sha256(images.tobytes()).hexdigest() != meta["decoded_sha256"]:
        # Another libavif/libwebp version may round differently; tiny differences are harmless.
        log(f"note: decoded images differ bit-wise from the packer's decode ({meta['codec']} decoder version)")
    return images, records, licenses, meta


def unpack(path: str, cache: str) -> None:
    """Writes the pack out as a data.py dataset folder (images.npy, records.jsonl, LICENSES/)."""
    images, records, licenses, meta = load_pack(path)
    folder = os.path.join(cache, "dataset")
    os.makedirs(os.path.join(folder, "LICENSES"), exist_ok=True)
    np.save(os.path.join(folder, "images.npy"), images)
    with open(os.path.join(folder, "records.jsonl"), "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    for name, text in licenses.items():
        with open(os.path.join(folder, "LICENSES", name), "w", encoding="utf-8") as f:
            f.write(text)
    log(f"unpacked {len(images)} images ({meta['codec']}, PSNR {meta['psnr']['mean']} dB) to {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--out", default=os.path.join(ROOT, ".gpu-pack"))
    parser.add_argument("--codec", choices=["avif", "webp", "webp-lossless"], default="avif")
    parser.add_argument("--quality", type=int, default=40)
    parser.add_argument("--grid", type=int, default=8, help="pictures per mosaic side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-vendor", action="store_true", help="do not write diffusers-min.zip")
    parser.add_argument("--vendor-only", action="store_true", help="only (re)write OUT/diffusers-min.zip")
    parser.add_argument("--unpack", metavar="PACK", help="write PACK back out as CACHE/dataset instead")
    args = parser.parse_args()
    if args.vendor_only:
        os.makedirs(args.out, exist_ok=True)
        log(f"{VENDOR_NAME}: {vendor_diffusers(os.path.join(args.out, VENDOR_NAME))} bytes")
    elif args.unpack:
        unpack(args.unpack, args.cache)
    else:
        pack(args.cache, args.out, args.codec, args.quality, args.grid, args.workers, not args.no_vendor)


if __name__ == "__main__":
    main()
