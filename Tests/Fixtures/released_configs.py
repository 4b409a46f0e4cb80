"""Released configuration files of Stable Diffusion family models, recorded as data.

The Hugging Face hub cannot be reached from the build machines, so the numbers the engine needs for
SDXL base/Turbo, SSD-1B, Segmind-Vega, SDXS-512, BK-SDM, segmind small-sd/tiny-sd and TAESDXL are
kept here: one dict per released JSON file (JSON null/true/false -> None/True/False, key order as in
the file). Nothing here is generated at import time; nothing imports torch.

Each dict has a comment naming where it was read and one of these statuses (also in PROVENANCE):
  verbatim                  -- copied from a byte copy of the released file (a repository that vendors it).
  verbatim (derived copy)   -- copied from a file that another HF repo re-saved from the release; the
                               architecture keys are the release's, _name_or_path/_diffusers_version are not.
  verbatim (authors' config)-- the authors' own U-Net config from their GitHub repository, from which the
                               released model was built; default-valued keys may differ from the HF file.
  reconstructed             -- the file was NOT found; values are rebuilt from the cited evidence and
                               checked as noted (parameter counts against published sizes, byte counts).
  not found                 -- nothing reliable; the dict is None.

UNET_PARAMETER_COUNTS below were computed by instantiating each U-Net dict with diffusers 0.42.1 on the
meta device; they are a cheap cross-check for loaders (sum of tensor sizes in the weights file).

How diffusers 0.42 (src/diffusers/models/unets/unet_2d_condition.py, unet_2d_blocks.py) reads these keys:
  * attention_head_dim is, for historical reasons, the NUMBER OF HEADS per level (num_attention_heads
    defaults to it): SD 1.x 8 heads everywhere (head width 40/80/160), SD 2.x / SDXL [5,10,20(,20)]
    heads (head width 64). An int applies to every level.
  * layers_per_block (int or per-level list) = ResNets per down level; every up level gets
    layers_per_block + 1 ResNets (the extra one eats the skip from the level's downsampler / conv_in).
    CrossAttn*Block2D have one transformer per ResNet.
  * transformer_layers_per_block: int -> same depth everywhere; flat list -> depth per level, for
    down blocks, for the mid block (last entry) and, reversed, for the up blocks. Entries for
    DownBlock2D/UpBlock2D levels are ignored. A list of lists gives a depth per ResNet/transformer
    within each down level; then reverse_transformer_layers_per_block is REQUIRED and is used as given
    (already in up-block order, up_blocks.0 = deepest level, one entry per up transformer, a plain int
    for a level without attention); the mid block gets transformer_layers_per_block[-1].
  * mid_block_type: "UNetMidBlock2DCrossAttn" (default) = ResNet, transformer(s), ResNet;
    "UNetMidBlock2D" as built by UNet2DConditionModel = ONE ResNet, no attention (num_layers=0,
    add_attention=False) -- SSD-1B and Vega; None = no mid block, the deepest down output goes
    straight to the up blocks (BK-SDM small/tiny, tiny-sd, SDXS).
  * only_cross_attention: bool or per-level list (reversed for the up blocks); True makes attn1 a
    second cross-attention over the text states (its to_k/to_v take cross_attention_dim inputs).
    mid_block_only_cross_attention defaults to the bool form, else False.
  * addition_embed_type "text_time" (SDXL family): add_time_proj = sinusoid of width
    addition_time_embed_dim (256) over the 6 size/crop ids -> 1536, concatenated with the pooled
    text_embeds (1280) -> projection_class_embeddings_input_dim 2816 -> add_embedding (2816->1280->1280),
    added to the time embedding.
  * use_linear_projection: transformer proj_in/proj_out are Linear (SD 2.x, SDXL, SDXS-0.9) instead of
    1x1 Conv (SD 1.x, BK-SDM v1, tiny-sd, SDXS-dreamshaper).
Single-file (LDM/"A1111") checkpoints, src/diffusers/loaders/single_file_utils.py:
  * infer_diffusers_model_type: "xl_base" if conditioner.embedders.1.model.transformer.resblocks.9.
    mlp.c_proj.bias exists, "xl_refiner" if that key is under embedders.0; DIFFUSERS_DEFAULT_PIPELINE_
    PATHS maps xl_base -> stabilityai/stable-diffusion-xl-base-1.0 (configs fetched from there). There is
    no SSD-1B/Vega/SDXS/BK-SDM type: an SSD-1B single file is typed xl_base, so diffusers' docs pass
    config="segmind/SSD-1B" explicitly.
  * SDXL text encoders: conditioner.embedders.0.transformer.text_model.* = CLIP-L in HF layout;
    conditioner.embedders.1.model.* = OpenCLIP bigG (resblocks.N.attn.in_proj_weight split into q/k/v
    by rows of width hidden_size; text_projection is stored transposed).
  * U-Net: model.diffusion_model.label_emb.0.0 / label_emb.0.2 -> add_embedding.linear_1 / linear_2;
    input_blocks.i -> down_blocks[(i-1)//(layers_per_block+1)], output_blocks.i ->
    up_blocks[i//(layers_per_block+1)] (int layers_per_block only); middle_block.0/.2 -> mid ResNets,
    middle_block.1 -> mid attention (a single-ResNet mid block has only middle_block.0).
"""


# SDXL_BASE_MODEL_INDEX -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) model_index.json. Read from the copy
# vendored in lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/model_index.json; the independent
# copy in JSchalter/models stable-diffusion-xl-base-1.0/ has the same content (CRLF line ends only).
SDXL_BASE_MODEL_INDEX = {'_class_name': 'StableDiffusionXLPipeline',
 '_diffusers_version': '0.19.0.dev0',
 'force_zeros_for_empty_prompt': True,
 'add_watermarker': None,
 'scheduler': ['diffusers', 'EulerDiscreteScheduler'],
 'text_encoder': ['transformers', 'CLIPTextModel'],
 'text_encoder_2': ['transformers', 'CLIPTextModelWithProjection'],
 'tokenizer': ['transformers', 'CLIPTokenizer'],
 'tokenizer_2': ['transformers', 'CLIPTokenizer'],
 'unet': ['diffusers', 'UNet2DConditionModel'],
 'vae': ['diffusers', 'AutoencoderKL']}

# SDXL_BASE_SCHEDULER -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) scheduler/scheduler_config.json. Source:
# lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/scheduler/.
SDXL_BASE_SCHEDULER = {'_class_name': 'EulerDiscreteScheduler',
 '_diffusers_version': '0.19.0.dev0',
 'beta_end': 0.012,
 'beta_schedule': 'scaled_linear',
 'beta_start': 0.00085,
 'clip_sample': False,
 'interpolation_type': 'linear',
 'num_train_timesteps': 1000,
 'prediction_type': 'epsilon',
 'sample_max_value': 1.0,
 'set_alpha_to_one': False,
 'skip_prk_steps': True,
 'steps_offset': 1,
 'timestep_spacing': 'leading',
 'trained_betas': None,
 'use_karras_sigmas': False}

# SDXL_BASE_TEXT_ENCODER -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) text_encoder/config.json (CLIP ViT-L/14
# text tower). Source: lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/text_encoder/.
SDXL_BASE_TEXT_ENCODER = {'architectures': ['CLIPTextModel'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'quick_gelu',
 'hidden_size': 768,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 3072,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 12,
 'num_hidden_layers': 12,
 'pad_token_id': 1,
 'projection_dim': 768,
 'torch_dtype': 'float16',
 'transformers_version': '4.32.0.dev0',
 'vocab_size': 49408}

# SDXL_BASE_TEXT_ENCODER_2 -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) text_encoder_2/config.json (OpenCLIP
# ViT-bigG/14 text tower, with projection). Source: lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/text_encoder_2/ (also identical in
# JSchalter/models).
SDXL_BASE_TEXT_ENCODER_2 = {'architectures': ['CLIPTextModelWithProjection'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'gelu',
 'hidden_size': 1280,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 5120,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 20,
 'num_hidden_layers': 32,
 'pad_token_id': 1,
 'projection_dim': 1280,
 'torch_dtype': 'float16',
 'transformers_version': '4.32.0.dev0',
 'vocab_size': 49408}

# SDXL_BASE_TOKENIZER_SPECIAL_TOKENS -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) tokenizer/special_tokens_map.json: pad is
# <|endoftext|>. Source: lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/tokenizer/.
SDXL_BASE_TOKENIZER_SPECIAL_TOKENS = {'bos_token': {'content': '<|startoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'eos_token': {'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'pad_token': '<|endoftext|>',
 'unk_token': {'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False}}

# SDXL_BASE_TOKENIZER_2_SPECIAL_TOKENS -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) tokenizer_2/special_tokens_map.json: pad
# is "!" (token id 0), not <|endoftext|>. Source: lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/tokenizer_2/.
SDXL_BASE_TOKENIZER_2_SPECIAL_TOKENS = {'bos_token': {'content': '<|startoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'eos_token': {'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'pad_token': '!',
 'unk_token': {'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False}}

# SDXL_BASE_TOKENIZER_2_CONFIG -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) tokenizer_2/tokenizer_config.json.
# Source: lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/tokenizer_2/.
SDXL_BASE_TOKENIZER_2_CONFIG = {'add_prefix_space': False,
 'bos_token': {'__type': 'AddedToken',
               'content': '<|startoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'clean_up_tokenization_spaces': True,
 'do_lower_case': True,
 'eos_token': {'__type': 'AddedToken',
               'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False},
 'errors': 'replace',
 'model_max_length': 77,
 'pad_token': '!',
 'tokenizer_class': 'CLIPTokenizer',
 'unk_token': {'__type': 'AddedToken',
               'content': '<|endoftext|>',
               'lstrip': False,
               'normalized': True,
               'rstrip': False,
               'single_word': False}}

# SDXL_BASE_UNET -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) unet/config.json. Source:
# lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/unet/ (identical in
# JSchalter/models).
SDXL_BASE_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.19.0.dev0',
 'act_fn': 'silu',
 'addition_embed_type': 'text_time',
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': 256,
 'attention_head_dim': [5, 10, 20],
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 2048,
 'cross_attention_norm': None,
 'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 2,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2DCrossAttn',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': 2816,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'sample_size': 128,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': [1, 2, 10],
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
 'upcast_attention': None,
 'use_linear_projection': True}

# SDXL_BASE_VAE -- VERBATIM
# SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0) vae/config.json (the repo also has
# vae_1_0/, same numbers, diffusers 0.19.0.dev0, no _name_or_path). Source:
# lllyasviel/stable-diffusion-webui-forge@dfdcbab6
# backend/huggingface/stabilityai/stable-diffusion-xl-base-1.0/vae/.
SDXL_BASE_VAE = {'_class_name': 'AutoencoderKL',
 '_diffusers_version': '0.20.0.dev0',
 '_name_or_path': '../sdxl-vae/',
 'act_fn': 'silu',
 'block_out_channels': [128, 256, 512, 512],
 'down_block_types': ['DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D'],
 'force_upcast': True,
 'in_channels': 3,
 'latent_channels': 4,
 'layers_per_block': 2,
 'norm_num_groups': 32,
 'out_channels': 3,
 'sample_size': 1024,
 'scaling_factor': 0.13025,
 'up_block_types': ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D']}

# SDXL_TURBO_MODEL_INDEX -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) model_index.json. Source: JSchalter/models@323b1ece (file
# commit 73821852) sdxl-turbo/model_index.json (a mirror of the released folder, read with git).
# Note: no add_watermarker key, scheduler is EulerAncestral.
SDXL_TURBO_MODEL_INDEX = {'_class_name': 'StableDiffusionXLPipeline',
 '_diffusers_version': '0.24.0.dev0',
 'feature_extractor': [None, None],
 'force_zeros_for_empty_prompt': True,
 'image_encoder': [None, None],
 'scheduler': ['diffusers', 'EulerAncestralDiscreteScheduler'],
 'text_encoder': ['transformers', 'CLIPTextModel'],
 'text_encoder_2': ['transformers', 'CLIPTextModelWithProjection'],
 'tokenizer': ['transformers', 'CLIPTokenizer'],
 'tokenizer_2': ['transformers', 'CLIPTokenizer'],
 'unet': ['diffusers', 'UNet2DConditionModel'],
 'vae': ['diffusers', 'AutoencoderKL']}

# SDXL_TURBO_SCHEDULER -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) scheduler/scheduler_config.json (timestep_spacing trailing).
# Source: JSchalter/models@323b1ece (file commit 73821852) sdxl-turbo/scheduler/.
SDXL_TURBO_SCHEDULER = {'_class_name': 'EulerAncestralDiscreteScheduler',
 '_diffusers_version': '0.24.0.dev0',
 'beta_end': 0.012,
 'beta_schedule': 'scaled_linear',
 'beta_start': 0.00085,
 'clip_sample': False,
 'interpolation_type': 'linear',
 'num_train_timesteps': 1000,
 'prediction_type': 'epsilon',
 'sample_max_value': 1.0,
 'set_alpha_to_one': False,
 'skip_prk_steps': True,
 'steps_offset': 1,
 'timestep_spacing': 'trailing',
 'trained_betas': None}

# SDXL_TURBO_UNET -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) unet/config.json: the SDXL base U-Net with sample_size 64 (512
# px). Source: JSchalter/models@323b1ece (file commit 73821852) sdxl-turbo/unet/.
SDXL_TURBO_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.24.0.dev0',
 'act_fn': 'silu',
 'addition_embed_type': 'text_time',
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': 256,
 'attention_head_dim': [5, 10, 20],
 'attention_type': 'default',
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 2048,
 'cross_attention_norm': None,
 'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dropout': 0.0,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 2,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2DCrossAttn',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': 2816,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'reverse_transformer_layers_per_block': None,
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': [1, 2, 10],
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
 'upcast_attention': None,
 'use_linear_projection': True}

# SDXL_TURBO_VAE -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) vae/config.json. Source: JSchalter/models@323b1ece (file
# commit 73821852) sdxl-turbo/vae/.
SDXL_TURBO_VAE = {'_class_name': 'AutoencoderKL',
 '_diffusers_version': '0.24.0.dev0',
 'act_fn': 'silu',
 'block_out_channels': [128, 256, 512, 512],
 'down_block_types': ['DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D'],
 'force_upcast': True,
 'in_channels': 3,
 'latent_channels': 4,
 'layers_per_block': 2,
 'norm_num_groups': 32,
 'out_channels': 3,
 'sample_size': 1024,
 'scaling_factor': 0.13025,
 'up_block_types': ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D']}

# SDXL_TURBO_TEXT_ENCODER -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) text_encoder/config.json. Source: JSchalter/models@323b1ece
# (file commit 73821852) sdxl-turbo/text_encoder/.
SDXL_TURBO_TEXT_ENCODER = {'architectures': ['CLIPTextModel'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'quick_gelu',
 'hidden_size': 768,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 3072,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 12,
 'num_hidden_layers': 12,
 'pad_token_id': 1,
 'projection_dim': 768,
 'torch_dtype': 'float16',
 'transformers_version': '4.36.0.dev0',
 'vocab_size': 49408}

# SDXL_TURBO_TEXT_ENCODER_2 -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) text_encoder_2/config.json. Source: JSchalter/models@323b1ece
# (file commit 73821852) sdxl-turbo/text_encoder_2/.
SDXL_TURBO_TEXT_ENCODER_2 = {'architectures': ['CLIPTextModelWithProjection'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'gelu',
 'hidden_size': 1280,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 5120,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 20,
 'num_hidden_layers': 32,
 'pad_token_id': 1,
 'projection_dim': 1280,
 'torch_dtype': 'float16',
 'transformers_version': '4.36.0.dev0',
 'vocab_size': 49408}

# SDXL_TURBO_TOKENIZER_2_CONFIG -- VERBATIM
# SDXL-Turbo (stabilityai/sdxl-turbo) tokenizer_2/tokenizer_config.json (pad "!" = id 0). Source:
# JSchalter/models@323b1ece (file commit 73821852) sdxl-turbo/tokenizer_2/.
SDXL_TURBO_TOKENIZER_2_CONFIG = {'add_prefix_space': False,
 'added_tokens_decoder': {'0': {'content': '!',
                                'lstrip': False,
                                'normalized': False,
                                'rstrip': False,
                                'single_word': False,
                                'special': True},
                          '49406': {'content': '<|startoftext|>',
                                    'lstrip': False,
                                    'normalized': True,
                                    'rstrip': False,
                                    'single_word': False,
                                    'special': True},
                          '49407': {'content': '<|endoftext|>',
                                    'lstrip': False,
                                    'normalized': True,
                                    'rstrip': False,
                                    'single_word': False,
                                    'special': True}},
 'bos_token': '<|startoftext|>',
 'clean_up_tokenization_spaces': True,
 'do_lower_case': True,
 'eos_token': '<|endoftext|>',
 'errors': 'replace',
 'model_max_length': 77,
 'pad_token': '!',
 'tokenizer_class': 'CLIPTokenizer',
 'unk_token': '<|endoftext|>'}

# SSD_1B_UNET -- RECONSTRUCTED
# segmind/SSD-1B unet/config.json. NOT FOUND as a file: no mirror of it was reachable.
# Reconstruction = SDXL_BASE_UNET with the three architecture deltas below (other keys copied from
# SDXL base; their exact serialisation/_diffusers_version in the released file is unknown):
#   - down transformer depths 0/2/4 per level: ComfyUI comfy/model_detection.py SSD_1B entry
#     (transformer_depth [0,0,2,2,4,4], i.e. per ResNet);
#   - up depths [[4,4,10],[2,1,1],(none)]: same ComfyUI entry (transformer_depth_output
#     [0,0,0,1,1,2,10,4,4], consumed from the end) AND the literal value
#     "reverse_transformer_layers_per_block": [[4,4,10],[2,1,1],1] seen in an HF config diff
#     (diffusers-test/deli_text_encoder-fluentlyxl_text_encoder-test-XL commit b3ffd0b);
#   - mid block = a single ResNet (ComfyUI transformer_depth_middle -1; diffusers PR #5400 added
#     mid_block_type "UNetMidBlock2D" for this model, and diffusers' SSD-1B ControlNet test uses
#     it).
#   Check: diffusers 0.42.1 builds 1,331,334,404 parameters from this dict = 2.663 GB fp16 / 5.325
#   GB fp32, matching the listed sizes of derived SSD-1B unet weights on HF (2.66 GB fp16, 5.33 GB
#   fp32). The first entry of transformer_layers_per_block (1) is unused (DownBlock2D); the released
#   file may say 0.
SSD_1B_UNET = {'_class_name': 'UNet2DConditionModel',
 'act_fn': 'silu',
 'addition_embed_type': 'text_time',
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': 256,
 'attention_head_dim': [5, 10, 20],
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 2048,
 'cross_attention_norm': None,
 'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 2,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2D',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': 2816,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'reverse_transformer_layers_per_block': [[4, 4, 10], [2, 1, 1], 1],
 'sample_size': 128,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': [1, 2, 4],
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
 'upcast_attention': None,
 'use_linear_projection': True}

# SEGMIND_VEGA_UNET -- RECONSTRUCTED
# segmind/Segmind-Vega unet/config.json. NOT FOUND as a file. Reconstruction = SDXL_BASE_UNET with:
#   - transformer depths 1 (640 level) and 2 (1280 level), symmetric down/up, so a flat list
#     suffices (ComfyUI Segmind_Vega entry: transformer_depth [0,0,1,1,2,2], output
#     [0,0,0,1,1,1,2,2,2]);
#   - single-ResNet mid block, mid_block_type "UNetMidBlock2D" (ComfyUI transformer_depth_middle
#     -1).
#   Check: 745,225,604 parameters with diffusers 0.42.1 = the 745M Segmind publishes for Vega.
SEGMIND_VEGA_UNET = {'_class_name': 'UNet2DConditionModel',
 'act_fn': 'silu',
 'addition_embed_type': 'text_time',
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': 256,
 'attention_head_dim': [5, 10, 20],
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 2048,
 'cross_attention_norm': None,
 'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 2,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2D',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': 2816,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'sample_size': 128,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': [1, 1, 2],
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
 'upcast_attention': None,
 'use_linear_projection': True}

# SDXS_512_DREAMSHAPER_UNET -- PARTLY VERBATIM (DERIVED COPY), PARTLY RECONSTRUCTED
# IDKiro/sdxs-512-dreamshaper unet/config.json. The original was not reachable; read instead the
# copy that diffusers 0.27.2 re-saved from it in lsb/6-bit-palettized-sdxs-512-dreamshaper (HF blame
# page of unet/config.json, 1,874 bytes, 70 lines): keys _class_name .. norm_eps are VERBATIM from
# that page (_diffusers_version/_name_or_path belong to the copy); the excerpt stops there. The
# remaining keys are RECONSTRUCTED: diffusers defaults, up blocks mirrored from the down blocks,
# plus only_cross_attention [true, false, false] -- the only filling that reproduces the listed
# 1,874 bytes / 69 newlines when serialised the way diffusers writes configs (json indent 2, sorted
# keys). The True sits on the 320 level, which has no attention here (DownBlock2D / UpBlock2D), so
# it is inert; a loader must still accept a per-level list. ComfyUI's SD_XS entry agrees on the
# structure (depths [0,1,1], no mid block, conv projections, context 768). 315,746,244 parameters
# with diffusers 0.42.1.
SDXS_512_DREAMSHAPER_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.27.2',
 '_name_or_path': '/Users/lsb/.cache/huggingface/hub/models--IDKiro--sdxs-512-dreamshaper/snapshots/76f720262bb051da75666b22c902a78c8e16c763/unet',
 'act_fn': 'silu',
 'addition_embed_type': None,
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': None,
 'attention_head_dim': 8,
 'attention_type': 'default',
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 768,
 'cross_attention_norm': None,
 'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dropout': 0.0,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': [True, False, False],
 'out_channels': 4,
 'projection_class_embeddings_input_dim': None,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'reverse_transformer_layers_per_block': None,
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': 1,
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
 'upcast_attention': False,
 'use_linear_projection': False}

# SDXS_512_0_9_UNET -- RECONSTRUCTED
# IDKiro/sdxs-512-0.9 unet/config.json. NOT FOUND as a file (HF lists it: 1.83 kB, 73 lines, weights
# 1.31 GB fp32). Reconstruction from: ComfyUI model_detection SD09_XS entry (3 levels 320/640/1280,
# one ResNet per level, transformer depth 1 at every level incl. 320, no mid block, linear
# projections, context 1024, 64-channel heads -> diffusers attention_head_dim [5,10,20],
# disable_self_attentions [True,False,False]) and the model card ("replaces self-attention with
# cross-attention in the highest resolution stages" -> only_cross_attention [true,false,false]; SD
# 2.1-base/SD-Turbo lineage -> 1024-wide text encoder). Checks: 328,177,284 parameters = 1.313 GB
# fp32 (listed 1.31 GB); serialised without _name_or_path it is 1,769 bytes / 72 lines (with a
# 6-character _diffusers_version), so the released file has one more line of ~60 bytes (a
# _name_or_path "stabilityai/stable-diffusion-2-1-base" gives 1,829 B / 73 lines). upcast_attention
# and sample_size are assumed (false, 64), not observed. Structurally this is BK-SDM-v2 tiny plus
# only_cross_attention on the 320 level.
SDXS_512_0_9_UNET = {'_class_name': 'UNet2DConditionModel',
 'act_fn': 'silu',
 'addition_embed_type': None,
 'addition_embed_type_num_heads': 64,
 'addition_time_embed_dim': None,
 'attention_head_dim': [5, 10, 20],
 'attention_type': 'default',
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 1024,
 'cross_attention_norm': None,
 'down_block_types': ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dropout': 0.0,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'encoder_hid_dim_type': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_attention_heads': None,
 'num_class_embeds': None,
 'only_cross_attention': [True, False, False],
 'out_channels': 4,
 'projection_class_embeddings_input_dim': None,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'reverse_transformer_layers_per_block': None,
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_dim': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'transformer_layers_per_block': 1,
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'upcast_attention': False,
 'use_linear_projection': True}

# SDXS_512_DREAMSHAPER_VAE -- VERBATIM (DERIVED COPY)
# IDKiro/sdxs-512-dreamshaper vae/config.json: the vae/ folder is a TAESD-type AutoencoderTiny (the
# repo's own demo.py loads AutoencoderTiny from subfolder "vae" and AutoencoderKL from "vae_large").
# Read from the diffusers-0.27.2 re-save in lsb/6-bit-palettized-sdxs-512-dreamshaper
# vae/config.json (full text in the HF page; it re-serialises to exactly the listed 778 bytes).
SDXS_512_DREAMSHAPER_VAE = {'_class_name': 'AutoencoderTiny',
 '_diffusers_version': '0.27.2',
 '_name_or_path': '/Users/lsb/.cache/huggingface/hub/models--IDKiro--sdxs-512-dreamshaper/snapshots/76f720262bb051da75666b22c902a78c8e16c763/vae',
 'act_fn': 'relu',
 'block_out_channels': [64, 64, 64, 64],
 'decoder_block_out_channels': [64, 64, 64, 64],
 'encoder_block_out_channels': [64, 64, 64, 64],
 'force_upcast': False,
 'in_channels': 3,
 'latent_channels': 4,
 'latent_magnitude': 3,
 'latent_shift': 0.5,
 'num_decoder_blocks': [3, 3, 3, 1],
 'num_encoder_blocks': [1, 3, 3, 3],
 'out_channels': 3,
 'sample_size': 512,
 'scaling_factor': 1.0,
 'upsampling_scaling_factor': 2}

# SDXS_512_0_9_VAE -- RECONSTRUCTED
# IDKiro/sdxs-512-0.9 vae/config.json (AutoencoderTiny; weights 9.79 MB = TAESD size; model card:
# "This version employs TAESD"). NOT FOUND as a file (635 bytes, 44 lines listed). Reconstruction =
# the dreamshaper VAE config without the copy's _name_or_path; with _diffusers_version "0.27.0.dev0"
# that is exactly 635 bytes / 44 lines, so the version string is a guess that fits, the numbers are
# TAESD's.
SDXS_512_0_9_VAE = {'_class_name': 'AutoencoderTiny',
 '_diffusers_version': '0.27.0.dev0',
 'act_fn': 'relu',
 'block_out_channels': [64, 64, 64, 64],
 'decoder_block_out_channels': [64, 64, 64, 64],
 'encoder_block_out_channels': [64, 64, 64, 64],
 'force_upcast': False,
 'in_channels': 3,
 'latent_channels': 4,
 'latent_magnitude': 3,
 'latent_shift': 0.5,
 'num_decoder_blocks': [3, 3, 3, 1],
 'num_encoder_blocks': [1, 3, 3, 3],
 'out_channels': 3,
 'sample_size': 512,
 'scaling_factor': 1.0,
 'upsampling_scaling_factor': 2}

# SDXS_VAE_LARGE -- RECONSTRUCTED
# IDKiro/sdxs-512-0.9 and -dreamshaper vae_large/config.json (AutoencoderKL, 335 MB = the SD 1.x/2.x
# kl-f8 VAE; README: `pipe.vae = AutoencoderKL.from_pretrained(".../vae_large")  # use original
# VAE`). NOT FOUND as a file (553 bytes, 29 lines listed). Numbers = runwayml/stable-diffusion-v1-5
# vae/config.json (verbatim in the Forge mirror) + scaling_factor 0.18215 (the kl-f8 factor); key
# set of the real file unknown.
SDXS_VAE_LARGE = {'_class_name': 'AutoencoderKL',
 'act_fn': 'silu',
 'block_out_channels': [128, 256, 512, 512],
 'down_block_types': ['DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D',
                      'DownEncoderBlock2D'],
 'in_channels': 3,
 'latent_channels': 4,
 'layers_per_block': 2,
 'norm_num_groups': 32,
 'out_channels': 3,
 'sample_size': 512,
 'scaling_factor': 0.18215,
 'up_block_types': ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D']}

# SDXS_512_0_9_MODEL_INDEX -- RECONSTRUCTED (PARTIAL)
# IDKiro/sdxs-512-0.9 model_index.json. NOT FOUND as a file (545 bytes, 33 lines listed). Known:
# pipeline StableDiffusionPipeline (HF page tag); folders feature_extractor, scheduler,
# text_encoder, tokenizer, unet, vae (AutoencoderTiny, see above), vae_large (not referenced by
# model_index; loaded by hand). The scheduler CLASS IS UNKNOWN (None here). Same layout applies to
# sdxs-512-dreamshaper (also AutoencoderTiny in vae/).
SDXS_512_0_9_MODEL_INDEX = {'_class_name': 'StableDiffusionPipeline',
 'feature_extractor': ['transformers', 'CLIPImageProcessor'],
 'scheduler': ['diffusers', None],
 'text_encoder': ['transformers', 'CLIPTextModel'],
 'tokenizer': ['transformers', 'CLIPTokenizer'],
 'unet': ['diffusers', 'UNet2DConditionModel'],
 'vae': ['diffusers', 'AutoencoderTiny']}

# SDXS_512_0_9_SCHEDULER -- NOT FOUND
# IDKiro/sdxs-512-0.9 scheduler/scheduler_config.json (480 bytes, 18 lines listed): NOT FOUND, no
# values recorded. One-step use (num_inference_steps=1, guidance 0 per the README) needs a schedule
# whose single timestep is 999 (trailing spacing, as SD-Turbo's EulerDiscreteScheduler) -- an
# inference, not a fact.
SDXS_512_0_9_SCHEDULER = None

# SDXS_512_0_9_TEXT_ENCODER -- RECONSTRUCTED
# IDKiro/sdxs-512-0.9 text_encoder/config.json (25 lines listed). NOT FOUND as a file. The U-Net's
# context is 1024 and the model is distilled from SD-Turbo / SD 2.1-base, so this is the SD 2.x
# OpenCLIP-H text tower; values = stabilityai/stable-diffusion-2-1 text_encoder/config.json verbatim
# from the Forge mirror (25 lines, same shape) minus its _name_or_path.
SDXS_512_0_9_TEXT_ENCODER = {'architectures': ['CLIPTextModel'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'gelu',
 'hidden_size': 1024,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 4096,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 16,
 'num_hidden_layers': 23,
 'pad_token_id': 1,
 'projection_dim': 512,
 'torch_dtype': 'float32',
 'transformers_version': '4.25.0.dev0',
 'vocab_size': 49408}

# SDXS_512_DREAMSHAPER_TEXT_ENCODER -- RECONSTRUCTED
# IDKiro/sdxs-512-dreamshaper text_encoder/config.json. NOT FOUND. Context 768 (U-Net above), so the
# SD 1.x CLIP ViT-L/14 tower; values = runwayml/stable-diffusion-v1-5 text_encoder/config.json
# (Forge mirror, verbatim) minus _name_or_path.
SDXS_512_DREAMSHAPER_TEXT_ENCODER = {'architectures': ['CLIPTextModel'],
 'attention_dropout': 0.0,
 'bos_token_id': 0,
 'dropout': 0.0,
 'eos_token_id': 2,
 'hidden_act': 'quick_gelu',
 'hidden_size': 768,
 'initializer_factor': 1.0,
 'initializer_range': 0.02,
 'intermediate_size': 3072,
 'layer_norm_eps': 1e-05,
 'max_position_embeddings': 77,
 'model_type': 'clip_text_model',
 'num_attention_heads': 12,
 'num_hidden_layers': 12,
 'pad_token_id': 1,
 'projection_dim': 768,
 'torch_dtype': 'float32',
 'transformers_version': '4.22.0.dev0',
 'vocab_size': 49408}

# BK_SDM_BASE_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-base unet/config.json (compressed from SD-v1.4). Read from the authors' repository
# Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config/bk_base/config.json, the U-Net config their KD
# training script instantiates (--unet_config_path/--unet_config_name). The HF release was saved
# from that model by diffusers, so the architecture numbers are the same but the released file
# carries more (default) keys and another _diffusers_version; not byte-checked against HF. Parameter
# counts match the paper: base 0.58B, small 0.49B, tiny 0.33B.
BK_SDM_BASE_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.15.0',
 'act_fn': 'silu',
 'attention_head_dim': 8,
 'block_out_channels': [320, 640, 1280, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 768,
 'cross_attention_norm': None,
 'down_block_types': ['CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'DownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2DCrossAttn',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': None,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'upcast_attention': False,
 'use_linear_projection': False}

# BK_SDM_SMALL_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-small unet/config.json (compressed from SD-v1.4). Read from the authors' repository
# Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config/bk_small/config.json, the U-Net config their KD
# training script instantiates (--unet_config_path/--unet_config_name). The HF release was saved
# from that model by diffusers, so the architecture numbers are the same but the released file
# carries more (default) keys and another _diffusers_version; not byte-checked against HF. Parameter
# counts match the paper: base 0.58B, small 0.49B, tiny 0.33B.
BK_SDM_SMALL_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.15.0',
 'act_fn': 'silu',
 'attention_head_dim': 8,
 'block_out_channels': [320, 640, 1280, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 768,
 'cross_attention_norm': None,
 'down_block_types': ['CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'DownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': None,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'upcast_attention': False,
 'use_linear_projection': False}

# BK_SDM_TINY_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-tiny unet/config.json (compressed from SD-v1.4). Read from the authors' repository
# Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config/bk_tiny/config.json, the U-Net config their KD
# training script instantiates (--unet_config_path/--unet_config_name). The HF release was saved
# from that model by diffusers, so the architecture numbers are the same but the released file
# carries more (default) keys and another _diffusers_version; not byte-checked against HF. Parameter
# counts match the paper: base 0.58B, small 0.49B, tiny 0.33B.
BK_SDM_TINY_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.15.0',
 'act_fn': 'silu',
 'attention_head_dim': 8,
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'class_embed_type': None,
 'class_embeddings_concat': False,
 'conv_in_kernel': 3,
 'conv_out_kernel': 3,
 'cross_attention_dim': 768,
 'cross_attention_norm': None,
 'down_block_types': ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'encoder_hid_dim': None,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_only_cross_attention': None,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'projection_class_embeddings_input_dim': None,
 'resnet_out_scale_factor': 1.0,
 'resnet_skip_time_act': False,
 'resnet_time_scale_shift': 'default',
 'sample_size': 64,
 'time_cond_proj_dim': None,
 'time_embedding_act_fn': None,
 'time_embedding_type': 'positional',
 'timestep_post_act': None,
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'upcast_attention': False,
 'use_linear_projection': False}

# BK_SDM_V2_BASE_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-v2-base unet/config.json (compressed from SD-v2.1-base (512 px)). Read from the
# authors' repository Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config_v2-base/bk_base/config.json,
# the U-Net config their KD training script instantiates (--unet_config_path/--unet_config_name).
# The HF release was saved from that model by diffusers, so the architecture numbers are the same
# but the released file carries more (default) keys and another _diffusers_version; not byte-checked
# against HF.
BK_SDM_V2_BASE_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.10.0.dev0',
 'act_fn': 'silu',
 'attention_head_dim': [5, 10, 20, 20],
 'block_out_channels': [320, 640, 1280, 1280],
 'center_input_sample': False,
 'cross_attention_dim': 1024,
 'down_block_types': ['CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'DownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_scale_factor': 1,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'sample_size': 64,
 'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'use_linear_projection': True}

# BK_SDM_V2_SMALL_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-v2-small unet/config.json (compressed from SD-v2.1-base (512 px)). Read from the
# authors' repository Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config_v2-base/bk_small/config.json,
# the U-Net config their KD training script instantiates (--unet_config_path/--unet_config_name).
# The HF release was saved from that model by diffusers, so the architecture numbers are the same
# but the released file carries more (default) keys and another _diffusers_version; not byte-checked
# against HF.
BK_SDM_V2_SMALL_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.10.0.dev0',
 'act_fn': 'silu',
 'attention_head_dim': [5, 10, 20, 20],
 'block_out_channels': [320, 640, 1280, 1280],
 'center_input_sample': False,
 'cross_attention_dim': 1024,
 'down_block_types': ['CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'DownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'sample_size': 64,
 'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'use_linear_projection': True}

# BK_SDM_V2_TINY_UNET -- VERBATIM (AUTHORS' CONFIG)
# nota-ai/bk-sdm-v2-tiny unet/config.json (compressed from SD-v2.1-base (512 px)). Read from the
# authors' repository Nota-NetsPresso/BK-SDM@e13670c8 src/unet_config_v2-base/bk_tiny/config.json,
# the U-Net config their KD training script instantiates (--unet_config_path/--unet_config_name).
# The HF release was saved from that model by diffusers, so the architecture numbers are the same
# but the released file carries more (default) keys and another _diffusers_version; not byte-checked
# against HF.
BK_SDM_V2_TINY_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.10.0.dev0',
 'act_fn': 'silu',
 'attention_head_dim': [5, 10, 20],
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'cross_attention_dim': 1024,
 'down_block_types': ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'dual_cross_attention': False,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_scale_factor': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'num_class_embeds': None,
 'only_cross_attention': False,
 'out_channels': 4,
 'sample_size': 64,
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
 'use_linear_projection': True}

# SEGMIND_TINY_SD_UNET -- VERBATIM (DERIVED COPY)
# segmind/tiny-sd unet/config.json. Read from anokimchen/tiny-sd-openvino (HF commit db48576,
# "Upload unet/config.json", 33 lines), an OpenVINO export that carries the original config
# unchanged: it is the SD 1.5 0.6.0-era config hand-edited (3 levels, layers_per_block 1,
# mid_block_type null) -- the same architecture as BK-SDM tiny. Consistent with segmind/distill-sd
# prepare_unet("sd_tiny") (drops the mid block, the 4th level and one ResNet/attention pair per
# level) and its 323,384,964 parameters.
SEGMIND_TINY_SD_UNET = {'_class_name': 'UNet2DConditionModel',
 '_diffusers_version': '0.6.0',
 'act_fn': 'silu',
 'attention_head_dim': 8,
 'block_out_channels': [320, 640, 1280],
 'center_input_sample': False,
 'cross_attention_dim': 768,
 'down_block_types': ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
 'downsample_padding': 1,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_type': None,
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'out_channels': 4,
 'sample_size': 64,
 'up_block_types': ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']}

# SEGMIND_SMALL_SD_UNET -- RECONSTRUCTED
# segmind/small-sd unet/config.json. NOT FOUND as a file. Reconstruction from segmind/distill-sd
# distill_training.py prepare_unet("sd_small"): SD 1.5 U-Net with one ResNet+attention pair removed
# per down level (and one per up level) but the MID BLOCK KEPT (only sd_tiny sets mid_block = None)
# -> the BK-SDM *base* architecture, not BK-SDM small. The distill-sd README's count 579,384,964
# equals what diffusers builds from this dict. Key set modelled on the SD 1.5 0.6.0 config (as
# tiny-sd's is); the mid_block_type key is written out here although the released file may simply
# omit it (same default).
SEGMIND_SMALL_SD_UNET = {'_class_name': 'UNet2DConditionModel',
 'act_fn': 'silu',
 'attention_head_dim': 8,
 'block_out_channels': [320, 640, 1280, 1280],
 'center_input_sample': False,
 'cross_attention_dim': 768,
 'down_block_types': ['CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D',
                      'DownBlock2D'],
 'downsample_padding': 1,
 'flip_sin_to_cos': True,
 'freq_shift': 0,
 'in_channels': 4,
 'layers_per_block': 1,
 'mid_block_scale_factor': 1,
 'mid_block_type': 'UNetMidBlock2DCrossAttn',
 'norm_eps': 1e-05,
 'norm_num_groups': 32,
 'out_channels': 4,
 'sample_size': 64,
 'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']}

# TAESDXL_CONFIG -- RECONSTRUCTED
# madebyollin/taesdxl config.json. NOT FOUND as a file. Values = diffusers' AutoencoderTiny defaults
# (the conversion script scripts/convert_tiny_autoencoder_to_diffusers.py builds AutoencoderTiny()
# with no arguments; latent_channels 4 is the SDXL latent width). An HF discussion on
# madebyollin/taesdxl quotes the warning "config attributes {'shift_factor': 0.0, 'upsample_fn':
# 'nearest'} were passed to AutoencoderTiny, but are not expected", so the current file has those
# two keys as well. scaling_factor 1.0: TAE latents are already in SDXL's scaled latent space (no
# 0.13025).
TAESDXL_CONFIG = {'_class_name': 'AutoencoderTiny',
 'act_fn': 'relu',
 'decoder_block_out_channels': [64, 64, 64, 64],
 'encoder_block_out_channels': [64, 64, 64, 64],
 'force_upcast': False,
 'in_channels': 3,
 'latent_channels': 4,
 'latent_magnitude': 3,
 'latent_shift': 0.5,
 'num_decoder_blocks': [3, 3, 3, 1],
 'num_encoder_blocks': [1, 3, 3, 3],
 'out_channels': 3,
 'scaling_factor': 1.0,
 'shift_factor': 0.0,
 'upsample_fn': 'nearest',
 'upsampling_scaling_factor': 2}

# Status of each dict above (see the module docstring).
PROVENANCE = {'SDXL_BASE_MODEL_INDEX': 'verbatim',
 'SDXL_BASE_SCHEDULER': 'verbatim',
 'SDXL_BASE_TEXT_ENCODER': 'verbatim',
 'SDXL_BASE_TEXT_ENCODER_2': 'verbatim',
 'SDXL_BASE_TOKENIZER_SPECIAL_TOKENS': 'verbatim',
 'SDXL_BASE_TOKENIZER_2_SPECIAL_TOKENS': 'verbatim',
 'SDXL_BASE_TOKENIZER_2_CONFIG': 'verbatim',
 'SDXL_BASE_UNET': 'verbatim',
 'SDXL_BASE_VAE': 'verbatim',
 'SDXL_TURBO_MODEL_INDEX': 'verbatim',
 'SDXL_TURBO_SCHEDULER': 'verbatim',
 'SDXL_TURBO_UNET': 'verbatim',
 'SDXL_TURBO_VAE': 'verbatim',
 'SDXL_TURBO_TEXT_ENCODER': 'verbatim',
 'SDXL_TURBO_TEXT_ENCODER_2': 'verbatim',
 'SDXL_TURBO_TOKENIZER_2_CONFIG': 'verbatim',
 'SSD_1B_UNET': 'reconstructed',
 'SEGMIND_VEGA_UNET': 'reconstructed',
 'SDXS_512_DREAMSHAPER_UNET': 'partly verbatim (derived copy), partly reconstructed',
 'SDXS_512_0_9_UNET': 'reconstructed',
 'SDXS_512_DREAMSHAPER_VAE': 'verbatim (derived copy)',
 'SDXS_512_0_9_VAE': 'reconstructed',
 'SDXS_VAE_LARGE': 'reconstructed',
 'SDXS_512_0_9_MODEL_INDEX': 'reconstructed (partial)',
 'SDXS_512_0_9_SCHEDULER': 'not found',
 'SDXS_512_0_9_TEXT_ENCODER': 'reconstructed',
 'SDXS_512_DREAMSHAPER_TEXT_ENCODER': 'reconstructed',
 'BK_SDM_BASE_UNET': "verbatim (authors' config)",
 'BK_SDM_SMALL_UNET': "verbatim (authors' config)",
 'BK_SDM_TINY_UNET': "verbatim (authors' config)",
 'BK_SDM_V2_BASE_UNET': "verbatim (authors' config)",
 'BK_SDM_V2_SMALL_UNET': "verbatim (authors' config)",
 'BK_SDM_V2_TINY_UNET': "verbatim (authors' config)",
 'SEGMIND_TINY_SD_UNET': 'verbatim (derived copy)',
 'SEGMIND_SMALL_SD_UNET': 'reconstructed',
 'TAESDXL_CONFIG': 'reconstructed'}

# Parameters diffusers 0.42.1 builds from each U-Net dict (computed here, not read anywhere).
UNET_PARAMETER_COUNTS = {'SDXL_BASE_UNET': 2567463684,
 'SDXL_TURBO_UNET': 2567463684,
 'SSD_1B_UNET': 1331334404,
 'SEGMIND_VEGA_UNET': 745225604,
 'SDXS_512_DREAMSHAPER_UNET': 315746244,
 'SDXS_512_0_9_UNET': 328177284,
 'BK_SDM_BASE_UNET': 579384964,
 'BK_SDM_SMALL_UNET': 482346884,
 'BK_SDM_TINY_UNET': 323384964,
 'BK_SDM_V2_BASE_UNET': 583480964,
 'BK_SDM_V2_SMALL_UNET': 485787524,
 'BK_SDM_V2_TINY_UNET': 326825604,
 'SEGMIND_TINY_SD_UNET': 323384964,
 'SEGMIND_SMALL_SD_UNET': 579384964}

# Published or listed figures the counts were checked against (what was read, and where).
PUBLISHED_UNET_SIZES = {'SDXL_BASE_UNET': '2.6B parameters (SDXL paper)',
 'SSD_1B_UNET': 'derived SSD-1B unet weights on HF: 2.66 GB fp16 (vessl/SSD-1B), 5.33 GB fp32 '
                '(n1i/sdxl-ssd-1b-lcm)',
 'SEGMIND_VEGA_UNET': '745M parameters (Segmind)',
 'SDXS_512_0_9_UNET': 'unet/diffusion_pytorch_model.safetensors 1.31 GB (IDKiro/sdxs-512-0.9 file '
                      'listing)',
 'BK_SDM_BASE_UNET': '0.58B (BK-SDM MODEL_CARD.md)',
 'BK_SDM_SMALL_UNET': '0.49B',
 'BK_SDM_TINY_UNET': '0.33B',
 'BK_SDM_V2_BASE_UNET': '0.59B',
 'BK_SDM_V2_SMALL_UNET': '0.49B',
 'BK_SDM_V2_TINY_UNET': '0.33B',
 'SEGMIND_SMALL_SD_UNET': '579,384,964 (segmind/distill-sd README, torchinfo)',
 'SEGMIND_TINY_SD_UNET': '323,384,964 (segmind/distill-sd README, torchinfo)'}
