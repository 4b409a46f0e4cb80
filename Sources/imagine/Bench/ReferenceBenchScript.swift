/// The reference side of `imagine bench table`, carried in the binary so the bench runs wherever
/// the binary is (it is handed to `python -c`): times one component with PyTorch
/// (diffusers/transformers) or with OpenVINO on the inputs our side used, and saves the output for
/// the error columns.
enum ReferenceBenchScript {
    static let source = #"""
"""The reference side of `imagine bench table` (tooling, never needed at run time): times one model
component with PyTorch (diffusers/transformers) or with OpenVINO on the inputs the Swift side uses,
saves its output so the caller can compare, and prints one JSON line.

    python -c SCRIPT torch COMPONENT FOLDER INPUTS OUTPUT --threads N --runs R [--prompt P]
    python -c SCRIPT openvino-convert COMPONENT FOLDER INPUTS IR [--threads N] [--prompt P]
    python -c SCRIPT openvino IR OUTPUT --precision f32|bf16 --threads N --runs R

COMPONENT is text-encoder or text-encoder-2 (FOLDER: a diffusers folder with text_encoder/ and
tokenizer/, or text_encoder_2/ and tokenizer_2/; INPUTS: ignored, the prompt comes from --prompt),
unet, vae or taesd (FOLDER: that component's folder; INPUTS: safetensors with `sample`,
`encoder_hidden_states`, `timestep` for the U-Net — and `text_embeds`, `time_ids` for an SDXL one,
passed as the pipeline's added_cond_kwargs — and `latents` for the decoders).

torch loads the component in fp32 and prints {"median": seconds, "rss_mb": peak RSS}. Run it with
glibc malloc tuned (MALLOC_MMAP_MAX_=0 …) to measure "tuned PyTorch".

openvino-convert hands the very same module and inputs to openvino.convert_model, fixes the input
shapes to these inputs' and writes the IR folder (model.xml/.bin with fp32 weights, inputs in
inputs.safetensors); it prints {"seconds": conversion time}. openvino compiles that IR for the CPU
(INFERENCE_NUM_THREADS, one stream, LATENCY, INFERENCE_PRECISION_HINT) and times it, printing
{"median": …, "rss_mb": …}, or {"unsupported": why} when the CPU lacks bf16. Converting in a
process of its own keeps PyTorch out of OpenVINO's peak RSS.

Each call is its own process, so the peak RSS is this measurement's alone.
"""
import argparse
import json
import os
import resource
import statistics
import time


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_component(component: str, folder: str, inputs: str, prompt: str):
    """The component in fp32 as one module whose forward returns the output tensor, and its inputs."""
    import torch
    from safetensors.torch import load_file

    class Output(torch.nn.Module):
        """Unwraps the output object, so a tracer sees one tensor out."""
        def __init__(self, model, forward):
            super().__init__()
            self.model = model
            self.call = forward

        def forward(self, *args):
            return self.call(self.model, *args)

    if component in ("text-encoder", "text-encoder-2"):
        from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
        suffix = "_2" if component == "text-encoder-2" else ""
        tokenizer = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer" + suffix))
        ids = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                        return_tensors="pt").input_ids
        encoder = os.path.join(folder, "text_encoder" + suffix)
        # SDXL's second encoder is a CLIPTextModelWithProjection: its projection runs too, as ours does.
        with open(os.path.join(encoder, "config.json")) as f:
            projected = "CLIPTextModelWithProjection" in (json.load(f).get("architectures") or [])
        model = (CLIPTextModelWithProjection if projected else CLIPTextModel).from_pretrained(encoder, dtype=torch.float32).eval()
        return Output(model, lambda m, i: m(i).last_hidden_state), (ids,)
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    x = load_file(inputs)
    if component == "unet":
        model = UNet2DConditionModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
        inputs = (x["sample"], x["timestep"], x["encoder_hidden_states"])
        if "text_embeds" in x:
            return (Output(model, lambda m, s, t, c, e, i: m(s, t, c, added_cond_kwargs={"text_embeds": e, "time_ids": i}).sample),
                    inputs + (x["text_embeds"], x["time_ids"]))
        return Output(model, lambda m, s, t, c: m(s, t, c).sample), inputs
    if component == "vae":
        model = AutoencoderKL.from_pretrained(folder, torch_dtype=torch.float32).eval()
        return Output(model, lambda m, z: m.decode(z / m.config.scaling_factor).sample), (x["latents"],)
    if component == "taesd":
        model = AutoencoderTiny.from_pretrained(folder, torch_dtype=torch.float32).eval()
        return Output(model, lambda m, z: m.decode(z).sample), (x["latents"],)
    raise SystemExit(f"unknown component {component!r}")


def timed(call, runs: int):
    """One warm-up call, as the Swift side does, then the median of `runs` calls and the last output."""
    out = call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run_torch(args) -> dict:
    import torch
    from safetensors.torch import save_file
    torch.set_num_threads(args.threads)
    with torch.inference_mode():
        module, inputs = load_component(args.component, args.folder, args.inputs, args.prompt)
        median, out = timed(lambda: module(*inputs), args.runs)
    save_file({"output": out.contiguous()}, args.output)
    return {"median": median, "rss_mb": peak_rss_mb()}


def run_openvino_convert(args) -> dict:
    import openvino as ov
    import torch
    from safetensors.numpy import save_file
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    with torch.no_grad():
        module, inputs = load_component(args.component, args.folder, args.inputs, args.prompt)
        model = ov.convert_model(module, example_input=inputs)
    # convert_model leaves the shapes dynamic; the bench runs one shape, so compile for that one.
    model.reshape({i: ov.PartialShape(list(t.shape)) for i, t in enumerate(inputs)})
    os.makedirs(args.ir, exist_ok=True)
    # Default compression would store fp16 weights: the f32 column must see the fp32 ones.
    ov.save_model(model, os.path.join(args.ir, "model.xml"), compress_to_fp16=False)
    save_file({str(i): t.numpy() for i, t in enumerate(inputs)}, os.path.join(args.ir, "inputs.safetensors"))
    return {"seconds": time.perf_counter() - start}


def run_openvino(args) -> dict:
    import numpy as np
    import openvino as ov
    from safetensors.numpy import load_file, save_file
    core = ov.Core()
    if args.precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        return {"unsupported": "no bf16 on this CPU"}
    compiled = core.compile_model(os.path.join(args.ir, "model.xml"), "CPU", {
        "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": args.precision})
    stored = load_file(os.path.join(args.ir, "inputs.safetensors"))
    inputs = [stored[str(i)] for i in range(len(stored))]
    request = compiled.create_infer_request()
    median, _ = timed(lambda: request.infer(inputs), args.runs)
    out = np.ascontiguousarray(request.get_output_tensor(0).data, dtype=np.float32)
    save_file({"output": out}, args.output)
    return {"median": median, "rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    engines = parser.add_subparsers(dest="engine", required=True)
    torch_parser = engines.add_parser("torch")
    convert_parser = engines.add_parser("openvino-convert")
    for sub in (torch_parser, convert_parser):
        sub.add_argument("component")
        sub.add_argument("folder")
        sub.add_argument("inputs")
        sub.add_argument("--prompt", default="")
    torch_parser.add_argument("output")
    convert_parser.add_argument("ir")
    convert_parser.add_argument("--threads", type=int, default=1)
    openvino_parser = engines.add_parser("openvino")
    openvino_parser.add_argument("ir")
    openvino_parser.add_argument("output")
    openvino_parser.add_argument("--precision", choices=["f32", "bf16"], required=True)
    for sub in (torch_parser, openvino_parser):
        sub.add_argument("--threads", type=int, required=True)
        sub.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run = {"torch": run_torch, "openvino-convert": run_openvino_convert, "openvino": run_openvino}[args.engine]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
"""#
}
