import Foundation
import Kernels

/// Text → image with one loaded model, as diffusers' StableDiffusionPipeline (and for SDXL
/// StableDiffusionXLPipeline) does it:
///
///     text states ← CLIP of each 77-token chunk of the prompt (`PromptChunks`), weighted and
///                   joined, and of the negative prompt when guidance is on (SDXL: both encoders'
///                   penultimate states side by side, and the second's projected pooled output)
///     latents ← unit Gaussian noise (torch-compatible, from the seed) · initial sigma
///     for each sampler step: ε ← U-Net([latents, latents], t, [negative, prompt]) with guidance,
///                            latents ← sampler.step(ε)
///     image ← decoder(latents)
///
/// Image to image (a request with an `initImage`) starts the same loop part-way, as diffusers'
/// StableDiffusionImg2ImgPipeline does: the VAE encodes the picture, a sample of its posterior
/// (the generator's first draw) is noised (its second draw) to the timestep `strength` selects,
/// and the sampler runs from there to the end.
///
/// Encoded chunks are cached, so retyping a prompt (the live preview) does not re-run CLIP, and
/// typing at the end of a long prompt re-encodes only its last chunk; so are the VAE encoder's
/// outputs for init images, so a live session encodes its picture once per size.
public final class Pipeline: @unchecked Sendable {
    /// Components may be released from it (`encodeAllThenReleaseTextEncoder`, `generate`'s
    /// `releasingUNetBeforeDecode`) by a caller that will not need them again.
    public private(set) var model: DiffusionModel
    private let cacheLock = NSLock()
    private var encodedChunks: [ChunkKey: EncodedChunk] = [:]
    private var chunkOrder: [ChunkKey] = []
    /// 64 chunks of 77 × 1024 fp32 states are 20 MB.
    private let cacheCapacity = 64
    /// LoRA files read so far, by path: switching between LoRAs (the live preview) reads each once.
    private var loraFiles: [URL: LoRAFile] = [:]
    /// Built from the VAE's weights by the first image-to-image request (text-to-image never
    /// loads it). Guarded by `encoderLock`, as is `posteriors`.
    private var imageEncoder: AutoencoderKL.ImageEncoder?
    /// The VAE posteriors of the latest init images, by image and size, newest last.
    private var posteriors: [(key: PosteriorKey, mean: Tensor, logVariance: Tensor)] = []
    private let encoderLock = NSLock()
    private struct PosteriorKey: Equatable {
        let image: ObjectIdentifier
        let width: Int, height: Int
    }
    /// Two sizes (a live session's preview and full render) of two pictures.
    private let posteriorCapacity = 4

    public init(model: DiffusionModel) { self.model = model }

    /// One step's progress, handed to the caller after each sampler step.
    public struct Progress: Sendable {
        public let step: Int          // 1-based
        public let steps: Int
        /// The sampler's current estimate of the clean latents (for previews). [1, c, h, w]
        public let denoised: Tensor
    }

    public struct Result: Sendable {
        /// [1, 3, height, width] in about [-1, 1] (the requested size, whatever the decoder)
        public let image: Tensor
        public let latents: Tensor
    }

    /// A prompt through the tokenizer and the text encoder(s).
    public struct PromptEncoding: Sendable {
        /// The weighted states of every chunk, joined: [1, 77 · chunks, width].
        public let states: Tensor
        public let chunkCount: Int
        /// SDXL: the second encoder's projected pooled output of the first chunk. [1, projection]
        public let pooled: Tensor?
    }

    /// One chunk through the text encoder(s): its weighted states [1, 77, width] and, for SDXL,
    /// the pooled embedding [1, projection].
    private struct EncodedChunk {
        let states: Tensor
        let pooled: Tensor?
    }

    /// `prompt`'s chunks (`PromptChunks`), checked against `PromptChunks.maximumChunks`; its
    /// `<lora:…>` tags are not part of the text. `field` names the text in an error (`prompt`,
    /// `negative`).
    public func chunks(_ prompt: String, field: String = "prompt") throws -> PromptChunks {
        let layout: PromptChunks
        do {
            layout = try PromptChunks(PromptLoRATags.removing(from: prompt), tokenizer: model.tokenizer)
        } catch let error as PromptAttention.InvalidWeight {
            throw GenerationError("\(field): \(error)", field: field)
        }
        guard layout.chunks.count <= PromptChunks.maximumChunks else {
            throw GenerationError(
                "the \(field) needs \(layout.chunks.count) chunks of \(model.tokenizer.maxLength - 2) tokens "
                    + "(\(layout.tokenCount) tokens); "
                    + "at most \(PromptChunks.maximumChunks) are read", field: field)
        }
        return layout
    }

    /// `prompt` laid out in chunks, each encoded by the text encoder with the LoRAs merged into it
    /// now (or taken from the cache) and weighted, joined. Throws for a chunk not encoded before
    /// the text encoder was released.
    public func encode(_ prompt: String) throws -> PromptEncoding {
        let layout = try chunks(prompt)
        var states: [Float] = []
        var width = 0
        var pooled: Tensor?
        for chunk in layout.chunks {
            let encoded = try encode(chunk)
            width = encoded.states.shape[2]
            states.append(contentsOf: encoded.states.data)
            // AUTOMATIC1111 conditions SDXL on the first chunk's pooled output.
            pooled = pooled ?? encoded.pooled
        }
        let tokens = layout.chunks.count * layout.chunks[0].ids.count
        return PromptEncoding(states: Tensor(shape: [1, tokens, width], data: states), chunkCount: layout.chunks.count,
                              pooled: pooled)
    }

    /// What guidance pairs with a prompt: the negative prompt's encoding, or zeros shaped as the
    /// prompt's for an SDXL model without a negative prompt (`DiffusionModel.zeroEmptyNegative`).
    private func encodeNegative(_ request: GenerationRequest, like prompt: PromptEncoding) throws -> PromptEncoding {
        guard model.zeroEmptyNegative && request.negativePrompt.isEmpty else { return try encode(request.negativePrompt) }
        return PromptEncoding(states: Tensor(zeros: prompt.states.shape), chunkCount: prompt.chunkCount,
                              pooled: prompt.pooled.map { Tensor(zeros: $0.shape) })
    }

    /// One chunk's encoding, cached.
    private func encode(_ chunk: PromptChunks.Chunk) throws -> EncodedChunk {
        let key = key(chunk)
        cacheLock.lock()
        if let cached = encodedChunks[key] {
            cacheLock.unlock()
            return cached
        }
        cacheLock.unlock()
        guard let textEncoder = model.textEncoder else {
            throw GenerationError("the text encoder was released before this prompt was encoded")
        }
        let states: EncodedChunk
        if let textEncoder2 = model.textEncoder2, let tokenizer2 = model.tokenizer2 {
            states = encodeForSDXL(chunk, textEncoder, textEncoder2, padID: tokenizer2.padID)
        } else {
            states = EncodedChunk(states: chunk.emphasized(textEncoder([chunk.ids]).lastHiddenState), pooled: nil)
        }
        cacheLock.lock()
        if encodedChunks[key] == nil {
            encodedChunks[key] = states
            chunkOrder.append(key)
            if chunkOrder.count > cacheCapacity { encodedChunks[chunkOrder.removeFirst()] = nil }
        }
        cacheLock.unlock()
        return states
    }

    /// SDXL's encoding of a chunk, as StableDiffusionXLPipeline's `encode_prompt`: each encoder's
    /// penultimate hidden states (before the final LayerNorm), weighted each on its own as
    /// AUTOMATIC1111 weights each encoder's, side by side → [1, 77, width₁ + width₂]; and the second
    /// encoder's projected pooled output. The second tokenizer reads the same vocabulary but pads
    /// with its own id after the first EOS (bigG's "!").
    private func encodeForSDXL(_ chunk: PromptChunks.Chunk, _ first: CLIPTextModel, _ second: CLIPTextModel,
                               padID: Int32) -> EncodedChunk {
        var ids2 = chunk.ids
        if let end = ids2.firstIndex(of: model.tokenizer.eosID) {
            for i in (end + 1)..<ids2.count { ids2[i] = padID }
        }
        let out1 = first([chunk.ids]), out2 = second([ids2])
        let states1 = chunk.emphasized(out1.hiddenStates[out1.hiddenStates.count - 2])
        let states2 = chunk.emphasized(out2.hiddenStates[out2.hiddenStates.count - 2])
        let tokens = chunk.ids.count, width1 = states1.shape[2], width2 = states2.shape[2]
        var joined = [Float]()
        joined.reserveCapacity(tokens * (width1 + width2))
        for t in 0..<tokens {
            joined.append(contentsOf: states1.data[t * width1 ..< (t + 1) * width1])
            joined.append(contentsOf: states2.data[t * width2 ..< (t + 1) * width2])
        }
        return EncodedChunk(states: Tensor(shape: [1, tokens, width1 + width2], data: joined), pooled: out2.textEmbeds)
    }

    /// A chunk under the text-encoder LoRAs merged now (both encoders' sets): the same ids encode
    /// differently under another set.
    private struct ChunkKey: Hashable {
        let loras: String
        let chunk: PromptChunks.Chunk
    }

    private func key(_ chunk: PromptChunks.Chunk) -> ChunkKey {
        func names(_ loras: [LoRAReference]) -> String { loras.map { "\($0.url.path)@\($0.strength)" }.joined(separator: "|") }
        return ChunkKey(loras: names(model.textEncoderLoRAs) + "/" + names(model.textEncoder2LoRAs), chunk: chunk)
    }

    /// Chunks whose encodings a batch may keep when it releases the text encoder: 256 chunks of
    /// 77 × 1024 fp32 states are 80 MB, an eighth of SD 2's text encoder in bf16.
    public static let keptEncodingLimit = 256

    /// For a batch that knows all its requests up front: encodes every chunk of every text they
    /// need now (each prompt, and its negative where guidance is on), keeps those encodings for
    /// the rest of the run and frees the text encoder, whose weights (680 MB in bf16 for SD 2's)
    /// would otherwise sit beside the U-Net's and the decoder's activations to the end. Keeps the
    /// encoder, and returns false, when the requests need more than `keptEncodingLimit` different
    /// chunks. Afterwards only these texts render. Not while another thread renders with this
    /// pipeline.
    @discardableResult
    public func encodeAllThenReleaseTextEncoder(for requests: [GenerationRequest]) throws -> Bool {
        var keys: [ChunkKey] = []
        var kept: [ChunkKey: EncodedChunk] = [:]
        for request in requests {
            // A request whose LoRAs cannot be merged is reported when it renders; the rest go on.
            guard (try? applyLoRAs(try loras(for: request), textEncoderOnly: true)) != nil else { continue }
            let needed = usesGuidance(request) ? [request.prompt, request.negativePrompt] : [request.prompt]
            for text in needed {
                // A text that cannot be laid out (too long, a weight that is no number) is left
                // to fail its own request's validation, not the batch.
                guard let layout = try? chunks(text) else { continue }
                for chunk in layout.chunks where kept[key(chunk)] == nil {
                    guard keys.count < Self.keptEncodingLimit else { return false }
                    keys.append(key(chunk))
                    kept[key(chunk)] = try encode(chunk)
                }
            }
        }
        cacheLock.lock()
        // Nothing is encoded from here on, so nothing is ever evicted.
        encodedChunks = kept
        chunkOrder = keys
        cacheLock.unlock()
        model.releaseTextEncoder()
        Memory.returnFreedPages()
        return true
    }

    /// The latent shape for a request: [1, latent channels, height / 8, width / 8].
    func latentShape(_ request: GenerationRequest) -> [Int] {
        [1, model.unetConfig.inChannels, request.height / model.vaeScaleFactor, request.width / model.vaeScaleFactor]
    }

    /// Checks a request against the model and the machine before any work starts: the one
    /// validation every front end's request goes through (command-line flags, prompt-file lines,
    /// the live session). `memoryLimit` defaults to the machine's physical memory.
    public func validate(_ request: GenerationRequest, memoryLimit: Double = WorkingMemory.physical) throws {
        let factor = model.vaeScaleFactor
        for (field, value) in [("width", request.width), ("height", request.height)] where value <= 0 || value % factor != 0 {
            throw GenerationError("\(field) must be a positive multiple of \(factor), got \(value)", field: field)
        }
        let maxSteps = model.schedulerConfig.trainTimesteps
        guard (1...maxSteps).contains(request.steps) else {
            throw GenerationError("steps must be 1…\(maxSteps) (the scheduler's training timesteps), got \(request.steps)",
                                  field: "steps")
        }
        guard request.guidanceScale.isFinite else {
            throw GenerationError("guidance scale must be finite, got \(request.guidanceScale)", field: "cfg")
        }
        _ = try chunks(request.prompt)
        if usesGuidance(request) { _ = try chunks(request.negativePrompt, field: "negative") }
        if let initImage = request.initImage {
            try validateImageToImage(request, initImage)
        }
        if request.decoder == .tiny && model.tinyDecoder == nil {
            throw GenerationError("this model has no tiny decoder (vae_tiny/); use --decoder vae or latent", field: "decoder")
        }
        for reference in try loras(for: request) { try model.check(try loraFile(reference.url)) }
        guard model.contextWidth == model.unetConfig.crossAttentionDim else {
            throw GenerationError("the U-Net attends to \(model.unetConfig.crossAttentionDim)-wide text states but the "
                                  + "text encoder\(model.textEncoder2Config == nil ? " gives" : "s give") \(model.contextWidth): "
                                  + "\(model.name)'s components do not belong together")
        }
        let memory = workingMemory(request)
        guard memory.bytes <= memoryLimit else {
            throw GenerationError(
                "a \(request.width)×\(request.height) image needs about \(WorkingMemory.format(memory.bytes)) of working memory "
                    + "(\(request.decoder.rawValue) decoder: \(memory.decoderChannels) channels per pixel at full size), "
                    + "more than this machine's \(WorkingMemory.format(memoryLimit))")
        }
    }

    private func validateImageToImage(_ request: GenerationRequest, _ initImage: InitImage) throws {
        guard model.vae != nil else {
            throw GenerationError("image to image needs the full VAE's encoder, and this model ships only a tiny VAE",
                                  field: "init-image")
        }
        guard request.strength >= 0 && request.strength <= 1 else {
            throw GenerationError("strength must be 0…1, got \(request.strength)", field: "strength")
        }
        let start = Self.imageToImageStart(steps: request.steps, strength: request.strength)
        guard start < request.steps else {
            throw GenerationError(
                "strength \(request.strength) of \(request.steps) step\(request.steps == 1 ? "" : "s") leaves "
                    + "int(\(request.steps) × \(request.strength)) = 0 steps to run on \(initImage.name); "
                    + "image to image needs steps × strength ≥ 1 (more steps or more strength)", field: "strength")
        }
    }

    /// Image to image's first step: of `steps` timesteps only the last int(steps · strength)
    /// run, as diffusers' `get_timesteps` picks them (every sampler here has `order` 1).
    public static func imageToImageStart(steps: Int, strength: Double) -> Int {
        let denoised = min(Int(Double(steps) * strength), steps)  // Int() truncates as Python's int() does
        return max(steps - denoised, 0)
    }

    /// What `request` needs beyond the loaded weights (see `WorkingMemory`).
    public func workingMemory(_ request: GenerationRequest) -> WorkingMemory {
        WorkingMemory(request: request, model: model, guidance: usesGuidance(request))
    }

    /// The LoRAs `request` merges: its own list, then those its prompt's tags name.
    public func loras(for request: GenerationRequest) throws -> [LoRAReference] {
        request.loras + (try PromptLoRATags.references(in: request.prompt, directory: request.loraDirectory))
    }

    /// A LoRA as a picture's metadata names it.
    public struct UsedLoRA: Sendable, Equatable {
        public let name: String
        /// A1111's short hash of the file (`LoRAFile.shortHash`).
        public let shortHash: String
        public let strength: Float
    }

    /// The LoRAs `request` merges, with their hashes, for its picture's metadata.
    public func usedLoRAs(for request: GenerationRequest) throws -> [UsedLoRA] {
        try loras(for: request).map { UsedLoRA(name: $0.name, shortHash: try loraFile($0.url).shortHash, strength: $0.strength) }
    }

    /// The LoRA file at `url`, read once.
    public func loraFile(_ url: URL) throws -> LoRAFile {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let file = loraFiles[url] { return file }
        let file = try LoRAFile(url: url)
        loraFiles[url] = file
        return file
    }

    /// Merges `loras` into the model in place of the set merged now (see `DiffusionModel.apply`);
    /// nothing happens when the set is unchanged. `textEncoderOnly`: the U-Net keeps its set (a
    /// batch encoding all its prompts first).
    func applyLoRAs(_ loras: [LoRAReference], textEncoderOnly: Bool = false) throws {
        let files = try loras.map { (file: try loraFile($0.url), strength: $0.strength) }
        try model.apply(loras: files, textEncoderOnly: textEncoderOnly)
    }

    /// Guidance runs the U-Net on [negative, prompt] together, unless the scale turns it off or the
    /// U-Net takes the scale as an embedding (LCM).
    func usesGuidance(_ request: GenerationRequest) -> Bool {
        request.guidanceScale > 1 && model.unetConfig.timeConditionDim == nil
    }

    /// Generates one image.
    ///
    /// - initialNoise: unit Gaussian latents to start from; by default drawn from the seed with the
    ///   torch-compatible generator, so a seed gives the same start as diffusers on CPU. With an
    ///   init image, the noise mixed into its latents (the posterior's sample still draws first).
    /// - releasingUNetBeforeDecode: for a process's last render: the U-Net's weights are freed
    ///   once sampling is done, before the decoder allocates its full-resolution activations, so
    ///   the two never add up. Nothing can be sampled with this pipeline afterwards.
    /// - onStep: called after every step (progress, previews).
    /// - isCancelled: the one way to stop: polled between steps and U-Net blocks, for a stop within
    ///   milliseconds; once it returns true the call throws `CancellationError`.
    public func generate(_ request: GenerationRequest, initialNoise: Tensor? = nil,
                         releasingUNetBeforeDecode: Bool = false,
                         onStep: (Progress) -> Void = { _ in },
                         isCancelled: @escaping () -> Bool = { false }) throws -> Result {
        try validate(request)
        try applyLoRAs(try loras(for: request))
        let prompt = try encode(request.prompt)
        let latents = try sample(request, prompt: prompt, initialNoise: initialNoise, onStep: onStep,
                                 isCancelled: isCancelled)
        if releasingUNetBeforeDecode {
            model.releaseUNet()
            Memory.returnFreedPages()
        }
        if isCancelled() { throw CancellationError() }
        var image = try model.decoder(request.decoder).decode(latents, isCancelled: isCancelled)
        if request.decoder == .latent {
            // The linear preview has one pixel per latent; deliver the requested size regardless.
            image = upsampleNearest(image, height: request.height, width: request.width)
        }
        guard image.isFinite else { throw GenerationError("the \(request.decoder.rawValue) decoder gave NaN or infinite pixels; no picture") }
        return Result(image: image, latents: latents)
    }

    /// The sampler's loop: noise → final latents. Its own function so that its reference to the
    /// U-Net ends with it (see `releasingUNetBeforeDecode`).
    private func sample(_ request: GenerationRequest, prompt: PromptEncoding, initialNoise: Tensor?,
                        onStep: (Progress) -> Void, isCancelled: @escaping () -> Bool) throws -> Tensor {
        guard let unet = model.unet else { throw GenerationError("the U-Net was released; nothing more can be rendered") }
        let useGuidance = usesGuidance(request)
        let negativeEncoding = useGuidance ? try encodeNegative(request, like: prompt) : nil
        let negative = negativeEncoding?.states
        // SDXL: the pooled text and diffusers' `add_time_ids` (original size, crop top-left, target
        // size; the request's size for both, no crop).
        let size = [Float(request.height), Float(request.width)]
        let timeIDs = size + [0, 0] + size
        func textTime(_ encodings: [PromptEncoding?]) -> TextTimeCondition? {
            guard model.unetConfig.textTimeEmbedding != nil else { return nil }
            let pooled = encodings.compactMap { $0?.pooled }
            return TextTimeCondition(pooled: pooled.count == 1 ? pooled[0] : concatenateBatch(pooled[0], pooled[1]),
                                     timeIDs: Array(repeating: timeIDs, count: pooled.count))
        }
        // LCM-distilled U-Nets take the guidance scale as an embedding instead of a second pass.
        let timeCondition = model.unetConfig.timeConditionDim.map {
            guidanceScaleEmbedding(request.guidanceScale - 1, width: $0)
        }

        var generator = TorchGenerator(seed: request.seed)
        let shape = latentShape(request)
        var sampler = try makeSampler(request.sampler, config: model.schedulerConfig, steps: request.steps)
        var latents: Tensor
        var start = 0
        if let initImage = request.initImage {
            start = Self.imageToImageStart(steps: request.steps, strength: request.strength)
            let (encoder, mean, logVariance) = try posterior(of: initImage, width: request.width, height: request.height)
            precondition(mean.shape == shape, "init image latents \(mean.shape) ≠ latent shape \(shape)")
            let clean = encoder.modelLatents(mean: mean, logVariance: logVariance, noise: generator.randn(shape))
            let noise = initialNoise ?? generator.randn(shape)
            precondition(noise.shape == shape, "initial noise \(noise.shape) ≠ latent shape \(shape)")
            latents = sampler.addNoise(clean, noise: noise, step: start)
        } else {
            latents = initialNoise ?? generator.randn(shape)
            precondition(latents.shape == shape, "initial noise \(latents.shape) ≠ latent shape \(shape)")
            scale(&latents, by: sampler.initialNoiseSigma)
        }

        let count = sampler.timesteps.count - start
        for (index, timestep) in sampler.timesteps.enumerated().dropFirst(start) {
            if isCancelled() { throw CancellationError() }
            let input = sampler.scaleModelInput(latents, step: index)
            var prediction: Tensor
            if let negative, negative.shape == prompt.states.shape {
                // diffusers batches [negative, positive]: one U-Net call for both.
                let both = try unet(concatenateBatch(input, input), timestep: Float(timestep),
                                    context: concatenateBatch(negative, prompt.states),
                                    textTime: textTime([negativeEncoding, prompt]), isCancelled: isCancelled)
                prediction = guided(both, scale: request.guidanceScale)
            } else if let negative {
                // Prompts of different chunk counts: A1111 (without its "pad prompt/negative
                // prompt" option) runs the U-Net once per prompt, each on its own states, so
                // neither is diluted by padding that changes the picture.
                let uncond = try unet(input, timestep: Float(timestep), context: negative,
                                      textTime: textTime([negativeEncoding]), isCancelled: isCancelled)
                let cond = try unet(input, timestep: Float(timestep), context: prompt.states,
                                    textTime: textTime([prompt]), isCancelled: isCancelled)
                prediction = guided(concatenateBatch(uncond, cond), scale: request.guidanceScale)
            } else {
                prediction = try unet(input, timestep: Float(timestep), context: prompt.states,
                                      timeCondition: timeCondition, textTime: textTime([prompt]), isCancelled: isCancelled)
            }
            let result = sampler.step(modelOutput: prediction, step: index, latents: latents) {
                generator.randn(shape)
            }
            latents = result.latents
            // A diverging render (a huge guidance scale, weights that overflow) would decode to a
            // black picture; stop at the step it happens.
            guard latents.isFinite else {
                throw GenerationError("step \(index - start + 1) of \(count) gave NaN or infinite latents "
                                      + "(guidance scale \(request.guidanceScale)); no picture")
            }
            onStep(Progress(step: index - start + 1, steps: count, denoised: result.denoised))
        }
        return latents
    }

    /// The VAE posterior (mean, log variance) of `image` resampled to width × height, encoded
    /// once and kept for the next renders of the same picture and size; the encoder is built on
    /// first use.
    private func posterior(of image: InitImage, width: Int, height: Int) throws
        -> (encoder: AutoencoderKL.ImageEncoder, mean: Tensor, logVariance: Tensor) {
        encoderLock.lock()
        defer { encoderLock.unlock() }
        guard let vae = model.vae else { throw GenerationError("this model has no full VAE to encode with") }
        let encoder = try imageEncoder ?? vae.loadEncoder()
        imageEncoder = encoder
        let key = PosteriorKey(image: image.identity, width: width, height: height)
        if let kept = posteriors.first(where: { $0.key == key }) { return (encoder, kept.mean, kept.logVariance) }
        let (mean, logVariance) = encoder.encode(image.pixels(width: width, height: height))
        posteriors.append((key, mean, logVariance))
        if posteriors.count > posteriorCapacity { posteriors.removeFirst() }
        return (encoder, mean, logVariance)
    }

    // MARK: - Guidance

    /// [uncond; cond] predictions [2, c, h, w] → uncond + scale · (cond − uncond) [1, c, h, w]
    func guided(_ both: Tensor, scale: Float) -> Tensor {
        let half = both.count / 2
        var shape = both.shape
        shape[0] = 1
        var out = Tensor(zeros: shape)
        both.data.withUnsafeBufferPointer { p in
            for i in 0..<half {
                let uncond = p[i], cond = p[half + i]
                out.data[i] = uncond + scale * (cond - uncond)
            }
        }
        return out
    }

    /// diffusers' `get_guidance_scale_embedding` (LCM): w·1000 through sinusoidal features
    /// [sin ‖ cos] with frequencies exp(−ln(10000)·i / (half − 1)). → [1, width]
    func guidanceScaleEmbedding(_ w: Float, width: Int) -> Tensor {
        let half = width / 2
        let step = Float(log(10000.0)) / Float(half - 1)
        var row = [Float](repeating: 0, count: width)
        for i in 0..<half {
            let angle = w * 1000 * Foundation.exp(Float(i) * -step)
            row[i] = Foundation.sin(angle)
            row[half + i] = Foundation.cos(angle)
        }
        return Tensor(shape: [1, width], data: row)
    }
}

/// A request the model cannot serve (bad size, missing decoder, …).
public struct GenerationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// The request's setting at fault, as the command line and prompt files name it (`width`,
    /// `steps`, `cfg`, `decoder`), when it is one setting.
    public let field: String?
    public init(_ description: String, field: String? = nil) {
        self.description = description
        self.field = field
    }
}
