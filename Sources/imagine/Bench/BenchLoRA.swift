import ArgumentParser
import Dispatch
import Foundation
import Kernels
import Models

/// `imagine bench lora`: what merging a LoRA costs here, beside diffusers' `load_lora_weights` +
/// `fuse_lora` on the same folder and file in the same run.
struct BenchLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Time merging a LoRA into a model and taking it out again, against diffusers.",
        discussion: """
            Each run reads the LoRA file, merges it (the text encoder and the U-Net it adapts are \
            rebuilt from their stored weights with its changes added) and takes it out again (rebuilt \
            without). diffusers runs load_lora_weights + fuse_lora and unfuse_lora + \
            unload_lora_weights in fp32 on the same folder and file (skipped with --no-reference or \
            when no Python with torch and diffusers is found). Medians over --runs after one warm-up run.

            EXAMPLES
              python3 Tests/Fixtures/make_fullsize_lora.py   # an LCM-LoRA-shaped random LoRA
              imagine bench lora /tmp/imagine-fullsize/sd-turbo /tmp/imagine-fullsize/loras/sd-turbo-lcm-shaped.safetensors
            """)

    @Argument(help: ArgumentHelp("A diffusers folder.", valueName: "model"))
    var model: String

    @Argument(help: ArgumentHelp("A LoRA file.", valueName: "lora"))
    var lora: String

    @Option(help: "Timed runs after one warm-up run.")
    var runs = 3

    @Flag(help: "Time only Imagine.")
    var noReference = false

    @Option(help: ArgumentHelp("The Python with torch and diffusers (default: $IMAGINE_PYTHON, else ~/.venvs/imagine/bin/python).",
                               valueName: "path"))
    var python: String?

    @OptionGroup var precisionOptions: PrecisionOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }

    func run() throws {
        threadOptions.apply()
        let folder = URL(fileURLWithPath: model), file = URL(fileURLWithPath: lora)
        let precision = precisionOptions.resolved()
        let loadStart = DispatchTime.now()
        var model = try reportingErrors { try DiffusionModel.load(path: folder, precision: precision) }
        let load = seconds(since: loadStart)
        var reads: [Double] = [], merges: [Double] = [], unmerges: [Double] = []
        try reportingErrors {
            for run in 0...runs {
                var start = DispatchTime.now()
                let loaded = try LoRAFile(url: file)
                let read = seconds(since: start)
                start = DispatchTime.now()
                try model.apply(loras: [(loaded, 1)])
                let merge = seconds(since: start)
                start = DispatchTime.now()
                try model.apply(loras: [])
                let unmerge = seconds(since: start)
                if run > 0 { reads.append(read); merges.append(merge); unmerges.append(unmerge) }
            }
        }
        let loaded = try reportingErrors { try LoRAFile(url: file) }
        print("\(model.name) + \(file.lastPathComponent): \(loaded.format.rawValue), \(loaded.modules.count) modules, "
              + "\(Threads.count) threads, \(precision.rawValue), \(BLASKernelSelection.description)")
        print(String(format: "Imagine: model load %.2f s; read %.3f s, merge %.2f s, unmerge %.2f s (medians of %d); peak RSS %.0f MB",
                     load, median(reads), median(merges), median(unmerges), runs, peakResidentMegabytes()))
        guard !noReference else { return }
        guard let reference = PyTorchReference(python: python) else {
            print("diffusers: not measured (\(PyTorchReference.missingReason(python: python)))")
            return
        }
        struct Result: Decodable { let fuse: Double; let unfuse: Double; let rss_mb: Double }
        let result: Result = try reportingErrors {
            let text = try runChild(executable: URL(fileURLWithPath: reference.python),
                                    arguments: ["-c", Self.diffusersScript, folder.path, file.path, "--threads", "\(Threads.count)",
                                                "--runs", "\(runs)"],
                                    environment: [:])
            guard let line = text.split(separator: "\n").last,
                  let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8)) else {
                throw ValidationError("could not read the diffusers script's output:\n\(text)")
            }
            return result
        }
        print(String(format: "diffusers (%@, fp32): load_lora_weights + fuse_lora %.2f s, unfuse_lora + unload %.2f s; peak RSS %.0f MB",
                     reference.version, result.fuse, result.unfuse, result.rss_mb))
        print(String(format: "ratio Imagine / diffusers: merge (read + merge) %.2f, unmerge %.2f",
                     (median(reads) + median(merges)) / result.fuse, median(unmerges) / result.unfuse))
    }

    /// diffusers' side, handed to `python -c`.
    static let diffusersScript = #"""
"""diffusers' side of `imagine bench lora` (tooling): load_lora_weights + fuse_lora, then unfuse_lora +
unload_lora_weights, on a StableDiffusionPipeline in fp32; medians after one warm-up run.

    python -c SCRIPT FOLDER LORA --threads T --runs N
"""
import argparse
import json
import os
import resource
import time

import torch
from diffusers import StableDiffusionPipeline

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("lora")
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--runs", type=int, required=True)
args = parser.parse_args()
torch.set_num_threads(args.threads)
pipe = StableDiffusionPipeline.from_pretrained(args.folder, torch_dtype=torch.float32, safety_checker=None,
                                               requires_safety_checker=False)
fuse, unfuse = [], []
for run in range(args.runs + 1):
    start = time.perf_counter()
    pipe.load_lora_weights(os.path.dirname(args.lora), weight_name=os.path.basename(args.lora), adapter_name="bench")
    pipe.fuse_lora(adapter_names=["bench"], lora_scale=1.0)
    middle = time.perf_counter()
    pipe.unfuse_lora()
    pipe.unload_lora_weights()
    end = time.perf_counter()
    if run > 0:
        fuse.append(middle - start)
        unfuse.append(end - middle)
median = lambda values: sorted(values)[len(values) // 2]
print(json.dumps({"fuse": median(fuse), "unfuse": median(unfuse),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""#
}
