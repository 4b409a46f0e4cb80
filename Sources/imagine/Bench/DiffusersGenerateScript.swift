/// diffusers' side of `imagine bench generate`, carried in the binary (handed to `python -c`):
/// the whole text-to-image process as a person runs it with diffusers on the CPU.
enum DiffusersGenerateScript {
    static let source = #"""
"""diffusers' side of `imagine bench generate` (tooling, never needed at run time): one image from a
diffusers folder with StableDiffusionPipeline on the CPU in fp32, as a person runs it, written as a
PNG. The caller times this whole process (interpreter start, imports and loading included).

    python -c SCRIPT FOLDER PROMPT OUTPUT --steps S --cfg G --size N --seed K --threads T [--compare PNG]

With --compare, prints the PSNR of OUTPUT against that PNG (same size) as {"psnr_db": …}.
"""
import argparse
import json
import math

import torch
from diffusers import StableDiffusionPipeline


def psnr(a, b) -> float:
    import numpy
    x = numpy.asarray(a.convert("RGB"), dtype=numpy.float64)
    y = numpy.asarray(b.convert("RGB"), dtype=numpy.float64)
    mse = float(((x - y) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("prompt")
    parser.add_argument("output")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--cfg", type=float, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--compare")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = StableDiffusionPipeline.from_pretrained(args.folder, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    with torch.inference_mode():
        image = pipe(args.prompt, num_inference_steps=args.steps, guidance_scale=args.cfg, height=args.size,
                     width=args.size, generator=torch.Generator("cpu").manual_seed(args.seed)).images[0]
    image.save(args.output)
    if args.compare:
        from PIL import Image
        print(json.dumps({"psnr_db": psnr(image, Image.open(args.compare))}))


if __name__ == "__main__":
    main()
"""#
}
