#!/usr/bin/env python3
"""Generate the CLIP tokenizer fixtures under Tests/Fixtures/tokenizer/.

How to run (from the package root, with the pinned tooling of Tests/Fixtures/requirements.txt):

    python Tests/Fixtures/make_tokenizer_fixtures.py [--clip-vocab ../shared/clip-tokenizer]

Python is tooling only: the Swift tests read the files this writes and never run Python. The output is
deterministic (seeded generators, a single-threaded trainer, sorted JSON keys), so running it twice
gives byte-identical files, which the script checks for the trained vocabulary.

What it writes:

- small-vocab/: a small byte-level BPE vocabulary of our own, trained here with the `tokenizers`
  library on a synthetic corpus that this script generates (nothing of OpenAI's CLIP vocabulary is in
  it), laid out the way CLIP's files are: vocab.json starts with the 256 byte symbols of
  `bytes_to_unicode`, then the same symbols with the `</w>` end-of-word marker, then one entry per
  merge, then <|startoftext|> and <|endoftext|>; merges.txt starts with `#version: 0.2`. Its
  tokenizer_config.json is written the way transformers >= 4.34 saves a CLIP tokenizer (an
  `added_tokens_decoder` in which <|startoftext|> is "normalized" and <|endoftext|> is not).
- configs/sd1, configs/sd2: tokenizer_config.json + special_tokens_map.json in the legacy layout of
  Stable Diffusion 1.x (pad `<|endoftext|>`) and 2.x (pad `!`) tokenizer folders. They are paired
  with the real CLIP vocabulary (never copied here) to make the sd1/sd2 cases.
- configs/sdxl2: the same two files as SDXL's `tokenizer_2` has them (stable-diffusion-xl-base-1.0):
  pad `!`, declared in an `added_tokens_decoder` as special id 0, not normalized, beside a
  normalized <|startoftext|> and a raw <|endoftext|>. Paired with the real vocabulary for the sdxl2
  case; it tokenizes differently from both sd1 and sd2 ("!" is special as in sd2, "<|ENDOFTEXT|>"
  is not EOS as in sd2).
- strings.json: >= 2,000 deterministic test strings.
- unicode.json: how the `tokenizers` pipeline treats Unicode, for a Swift test that sweeps every
  scalar: `classes`, the runs of scalars CLIP's regex sees as letters (L), numbers (N) or whitespace
  (S) — everything else is "other"; `normalized`, each scalar the normalizer (NFC, whitespace,
  lowercase) changes, with what it makes of it; `sequences`, generated strings of combining marks,
  decomposable letters, Hangul jamo and supplementary-plane scalars with their normalized form.
- expected-<case>.json: what `transformers.CLIPTokenizer.from_pretrained(folder)` returns for every
  string with max_length=77, padding="max_length", truncation=True, plus the untruncated token count.
  Cases: small (small-vocab/ as written), small-bare (small-vocab's vocab.json and merges.txt alone,
  i.e. transformers' defaults), sd1, sd2 and sdxl2 (real vocabulary + configs/<case>; skipped with a
  message when --clip-vocab is absent). The real-vocabulary files hold only ids.

Record format, to keep the files small: `records[i] = [tokenCount, ids]` for `strings[i]`, where
`ids` is transformers' padded output with its padding tail cut off (the first min(tokenCount, 77)
ids, BOS … EOS); the full output is `ids + [pad_id] * (77 - len(ids))`, checked here for every
string before it is written.

In transformers 5.24 `CLIPTokenizer` is the `tokenizers`-backed ("fast") class; there is no Python
("slow") CLIP tokenizer left to compare with, and diffusers' pipelines get this class from
`CLIPTokenizer.from_pretrained(...)`, so it is the reference.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import unicodedata

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # single-threaded trainer: reproducible and quiet
os.environ["RAYON_NUM_THREADS"] = "1"

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, trainers  # noqa: E402
from tokenizers.models import BPE  # noqa: E402

PINNED = {"transformers": "5.24.0", "tokenizers": "0.23.3"}
MAX_LENGTH = 77
SMALL_VOCAB_SIZE = 1500  # 512 byte symbols + ~986 merges + 2 specials
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer")

CLIP_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def byte_symbols():
    """CLIP's bytes_to_unicode order: printable Latin-1 bytes map to themselves, the others to U+0100…"""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    symbols = [chr(b) for b in printable]
    symbols += [chr(256 + n) for n in range(256 - len(printable))]
    return symbols


def write_json(path, obj, compact=False):
    # ASCII only, every other character as a \u escape: parsers differ on raw U+FEFF, U+2028 and
    # the like inside strings (Foundation's JSONSerialization on Linux loses a raw U+FEFF after a tab);
    # escapes they all read alike.
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
        else:
            json.dump(obj, f, ensure_ascii=True, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------
# 1. The small vocabulary
# ---------------------------------------------------------------------------------------------------

SYLLABLES = ("ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru "
             "sa se si so su ta te ti to tu va ve vi vo vu an en in on un ar er ir or ur st th ch sh ing "
             "ed ly tion ous ful ness ment est").split()
EXTRA_WORDS = ("the a of and to in is it with on for as at by an be this that from photo painting "
               "portrait landscape city night light dark cat dog horse astronaut castle forest river "
               "mountain ocean sky sunset style art detailed realistic cinematic lighting colorful "
               "café naïve über señor jalapeño 東京 日本 北京 서울 한국 москва привет مرحبا שלום").split()
PUNCT = [",", ".", "!", "?", "...", ";", ":", "-", "(", ")", "'s", "'t", "'re", "'ll", "!!", "?!", "\"", "#", "@"]
EMOJI = ["😀", "👍", "🔥", "✨", "🌈", "❤️", "🐱", "🎨"]


def training_corpus():
    rng = random.Random(1001)
    words = [rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + (rng.choice(SYLLABLES) if rng.random() < 0.4 else "")
             for _ in range(600)] + EXTRA_WORDS * 8
    lines = []
    for _ in range(6000):
        parts = []
        for _ in range(rng.randint(4, 14)):
            r = rng.random()
            if r < 0.78:
                w = rng.choice(words)
                parts.append(w.capitalize() if rng.random() < 0.1 else w)
            elif r < 0.88:
                parts.append(rng.choice(PUNCT))
            elif r < 0.95:
                parts.append(str(rng.randint(0, 2024)))
            else:
                parts.append(rng.choice(EMOJI))
        lines.append(" ".join(parts))
    return lines


def train_small_vocab(folder):
    model = BPE(end_of_word_suffix="</w>")
    tok = Tokenizer(model)
    # The same normalizer and pre-tokenizer as transformers' CLIPTokenizer, so the merges learnt are
    # merges of CLIP-style words.
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    base = byte_symbols()
    trainer = trainers.BpeTrainer(
        vocab_size=SMALL_VOCAB_SIZE, min_frequency=2, show_progress=False, special_tokens=[],
        initial_alphabet=base, end_of_word_suffix="</w>")
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]

    # CLIP's layout: bytes, bytes + </w>, one entry per merge in merge order, then the two specials.
    vocab = {}
    for symbol in base + [s + "</w>" for s in base]:
        vocab[symbol] = len(vocab)
    kept = []
    for a, b in merges:
        assert a in vocab and b in vocab, (a, b)
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
        kept.append((a, b))
        if len(vocab) == SMALL_VOCAB_SIZE - 2:
            break
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)

    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))  # insertion order = id order, as CLIP's
        f.write("\n")
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in kept:
            f.write(f"{a} {b}\n")
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]

    def decoder_entry(content, normalized):
        return {"content": content, "lstrip": False, "normalized": normalized, "rstrip": False,
                "single_word": False, "special": True}

    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(bos): decoder_entry("<|startoftext|>", True),
                                 str(eos): decoder_entry("<|endoftext|>", False)},
        "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": False, "do_lower_case": True,
        "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": MAX_LENGTH,
        "pad_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>",
    })
    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
    })
    return len(vocab), len(kept)


# ---------------------------------------------------------------------------------------------------
# 2. Stable Diffusion tokenizer configuration (SD 1.x/2.x legacy layout; SDXL's tokenizer_2)
# ---------------------------------------------------------------------------------------------------

def write_sd_configs(folder, pad):
    def added(content):
        return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True,
                "rstrip": False, "single_word": False}

    def mapped(content):
        return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}

    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False, "bos_token": added("<|startoftext|>"), "do_lower_case": True,
        "eos_token": added("<|endoftext|>"), "errors": "replace", "model_max_length": MAX_LENGTH,
        "name_or_path": "openai/clip-vit-large-patch14", "pad_token": pad,
        "special_tokens_map_file": "./special_tokens_map.json", "tokenizer_class": "CLIPTokenizer",
        "unk_token": added("<|endoftext|>"),
    })
    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": mapped("<|startoftext|>"), "eos_token": mapped("<|endoftext|>"), "pad_token": pad,
        "unk_token": mapped("<|endoftext|>"),
    })


def write_sdxl2_configs(folder):
    """SDXL's tokenizer_2 files as published, less tokenizer_config.json's `tokenizer_file` (a path
    on the machine that made them, which no loader follows)."""
    def decoder_entry(content, normalized, special):
        return {"content": content, "lstrip": False, "normalized": normalized, "rstrip": False,
                "single_word": False, "special": special}

    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "added_tokens_decoder": {"0": decoder_entry("!", False, True),
                                 "49406": decoder_entry("<|startoftext|>", True, False),
                                 "49407": decoder_entry("<|endoftext|>", False, False)},
        "additional_special_tokens": [], "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": True,
        "do_lower_case": True, "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": MAX_LENGTH,
        "pad_token": "!", "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>",
    })
    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "!",
        "unk_token": "<|endoftext|>",
    })


# ---------------------------------------------------------------------------------------------------
# 3. Test strings
# ---------------------------------------------------------------------------------------------------

HAND_WRITTEN = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t\n\r\x0b\x0c ", "a", "A", "z", "0", "!", "'", "''",
    "a photograph of an astronaut riding a horse",
    "A PHOTOGRAPH OF AN ASTRONAUT RIDING A HORSE", "A Photograph Of An Astronaut, Riding A Horse!",
    "masterpiece, best quality, (detailed face:1.2), [cat|dog], ((sharp focus)), 8k uhd, dslr",
    "oil painting of a fox in the style of Studio Ghibli --ar 16:9 --v 5",
    # contractions, straight and curly apostrophes
    "it's", "IT'S", "It'S", "they're we've I'm you'll he'd don't can't", "THEY'RE WE'VE I'M YOU'LL HE'D",
    "'s", "'S", "'t'", "''s", "!'s", "x'sy", "'re'", "'ve'm'll'd", "rock'n'roll", "o'clock 'tis",
    "it’s", "they’re", "don’t", "‘quoted’ “double”", "'r", "' s", "'", "its'", "'ll've",
    # special tokens inside the text
    "<|endoftext|>", "<|startoftext|>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>",
    "<|startoftext|> a cat <|endoftext|>", "<|ENDOFTEXT|>", "<|StartOfText|>", "<|EndOfText|> x",
    "<|endoftext", "endoftext|>", "<| endoftext |>", "<|endoftext|>!", "!<|startoftext|>!",
    "<|endo<|endoftext|>ftext|>", "<<|endoftext|>>", "<|startoftext|><|startoftext|>",
    # punctuation runs, numbers
    "hello!!! world", "wow!", "!!!", "?!?!", "...", "…", "---", "(((a)))", "[[b]]", "{c}", "a,b,c",
    "!hello", "hello!world", "#hashtag @user", "$100", "50%", "3.14159", "1,000,000", "2024-01-31",
    "12:30pm", "0.5x", "v1.5", "sd-2.1", "1234567890", "١٢٣٤", "۱۲۳", "१२३", "²³", "½ ¾", "Ⅻ ⅻ", "①②",
    "𝟘𝟙𝟚", "٣.١٤", "10^6", "e=mc²", "x₁ + x₂",
    # URLs, code, paths
    "https://example.com/path?q=a+b&x=1#frag", "http://www.EXAMPLE.org/Index.HTML",
    "user.name+tag@example.co.uk", "C:\\Users\\me\\pic.png", "/usr/local/bin", "foo_bar-baz.qux",
    "def f(x): return x**2", "<div class=\"a\">b</div>", "a&amp;b", "\\n\\t",
    # accents, composition, case mapping
    "café", "cafe\u0301", "CAFÉ", "naïve", "Ñandú", "señor jalapeño", "über straße STRASSE",
    "ÅNGSTRÖM", "A\u030a", "\u212b", "e\u0301\u0323", "e\u0323\u0301", "o\u0308\u0304", "a\u0301\u0301",
    "İstanbul", "ISTANBUL ıi", "ΣΊΣΥΦΟΣ", "Σ σ ς", "ǅ ǈ ǋ", "ﬁ ﬂ ﬀ", "Ǆemal", "ΐ", "ẞ", "K Å Ω",
    "Ⓐⓑ", "🄰", "Ａｂｃ１２３", "ｶﾀｶﾅ", "\u00c5\u0301", "\u1e69", "s\u0323\u0307", "s\u0307\u0323",
    # CJK, Hangul (precomposed and as jamo), kana
    "日本語", "中文字符测试", "東京タワーの写真", "ひらがな カタカナ", "한국어", "서울의 밤",
    "\u1100\u1161\u11a8", "\uac00\u11a8", "\ub3fc\u11b4", "\u1112\u1161\u11ab\u1100\u1173\u11af",
    "漢字kanji混合", "北京2008", "「引用」『二重』", "。、！？",
    # other scripts
    "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "שָׁלוֹם עולם", "Привет, Мир!", "ПРИВЕТ", "Ελληνικά",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "ሰላም", "Բարեւ", "ქართული", "ᚠᚢᚦ", "ꦗꦮ",
    # emoji: plain, skin tones, ZWJ, flags, keycaps, variation selectors
    "👍", "👍🏽", "👍🏿👍🏻", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🏴‍☠️", "🇯🇵🇺🇸🇫🇷", "🇺", "1️⃣", "#️⃣",
    "❤️", "❤", "☺︎", "😀😃😄", "a😀b", "cat🐱dog", "🧑‍🚀 astronaut", "🫠", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    # whitespace and invisible characters
    "a\u00a0b", "a\u3000b", "a\u2003b", "a\u2028b", "a\u2029b", "a\u0085b", "a\u1680b", "a\u202fb",
    "a\u205fb", "a\u200bb", "a\ufeffb", "a\u200db", "a\u200cb", "a\u180eb", "a\u2060b", "a\x1cb\x1dc\x1ed\x1fe",
    "  leading and trailing  ", "multiple     spaces\t\ttabs\n\nnewlines", "\u3000\u3000全角",
    # control characters
    "\x00", "a\x00b", "\x01\x02\x03", "\x1b[31mred\x1b[0m", "a\x7fb", "\x80\x9f", "bell\x07",
    # characters whose normalisation or classification needs care (Unicode versions)
    "\U00011935\U00011930", "\U00011938", "a\u0898\u0301", "\u088f", "\u0c5c", "\ua7ce\ua7cf",
    "\U00010940", "\U0001f6d8", "\U0001fae8", "\U000e0001", "\U0010fffd", "\ufffd", "\uffff",
    "\U00016d40", "\U00011f00", "x\u1dfa\u0316y",
    # long single words and runs
    "a" * 300, "ab" * 200, "!" * 100, "9" * 90, "supercalifragilisticexpialidocious" * 3,
]

COMMON_WORDS = ("a an the of in on at with by for from and or but not this that these those is are was were be "
                "photo photograph picture painting drawing sketch portrait landscape close-up wide-angle shot "
                "cat dog horse bird fish dragon robot astronaut knight wizard princess girl boy man woman child "
                "city street forest river mountain ocean beach desert castle temple spaceship car train ship "
                "red blue green yellow purple orange black white golden silver neon pastel vibrant dark bright "
                "beautiful detailed realistic photorealistic cinematic dramatic soft moody epic cute tiny huge "
                "lighting light shadow sunset sunrise night morning fog rain snow storm clouds stars moon sun "
                "style art artstation trending octane render unreal engine 4k 8k hdr bokeh depth field lens "
                "by greg rutkowski alphonse mucha van gogh monet studio ghibli pixar disney anime manga comic "
                "highly intricate elegant sharp focus illustration concept smooth volumetric global "
                "riding sitting standing flying running walking holding wearing looking eating reading").split()

FRAGMENT_POOLS = {
    "ascii": COMMON_WORDS,
    "punct": [",", ".", "!", "?", "...", "!!", "?!", ";", ":", "-", "--", "(", ")", "[", "]", "{", "}", "\"",
              "'", "`", "~", "*", "**", "/", "\\", "|", "_", "+", "=", "<", ">", "&", "^", "%", "$", "#", "@",
              "(:1.3)", "[[", "]]", "::", "..", "—", "–", "…", "«", "»", "¿", "¡", "·", "•", "©", "®", "™",
              "°", "±", "×", "÷", "§", "¶", "€", "£", "¥", "¢", "←", "→", "∞", "≈", "≠", "√", "∑"],
    "numbers": ["0", "7", "42", "1024", "3.5", "1,5", "2k", "16:9", "1920x1080", "½", "²", "Ⅳ", "٣", "१", "๓", "𝟕"],
    "contractions": ["it's", "don't", "they're", "we've", "I'm", "you'll", "she'd", "IT'S", "DON'T", "it’s",
                     "won’t", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''", "y'all", "ma'am"],
    "accents": ["café", "cafe\u0301", "naïve", "résumé", "RÉSUMÉ", "Zürich", "São Paulo", "Kraków", "Ærøskøbing",
                "İzmir", "ŁÓDŹ", "Đặng", "Nguyễn", "Phở", "crème brûlée", "piñata", "e\u0301", "a\u0308",
                "o\u0302\u0323", "u\u031b\u0301", "n\u0303", "Å", "A\u030a", "ǅ", "ς", "Σ", "ß", "ẞ", "ﬃ"],
    "cjk": ["日本", "東京", "富士山", "桜", "猫", "犬", "中国", "北京", "上海", "龙", "山水画", "水墨", "漢字",
            "ひらがな", "カタカナ", "ｶﾀｶﾅ", "ありがとう", "アニメ", "한국", "서울", "사랑해", "김치",
            "\u1100\u1161", "\uac00\u11a8", "\u1112\u1161\u11ab", "\ub098\u11af", "〜", "。", "、", "「", "」"],
    "scripts": ["مرحبا", "القاهرة", "سلام", "שלום", "ירושלים", "Москва", "КРАСНАЯ", "Ελλάδα", "ΑΘΗΝΑ",
                "नमस्ते", "भारत", "ภาษาไทย", "ქართული", "Հայաստան", "አማርኛ", "ᓀᐦᐃᔭᐍᐏᐣ", "ꯃꯩꯇꯩ",
                "\u0627\u064e\u0644\u0652", "\u05e9\u05b8\u05c1"],
    "emoji": ["😀", "😂", "🥲", "👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "👋🏽", "❤️", "❤", "♥", "🔥", "✨",
              "🌈", "🐱", "🐶", "🦄", "🎨", "🖼️", "📷", "🚀", "🌕", "⭐", "👨‍👩‍👧", "👩‍❤️‍👨", "🧑🏾‍🎨",
              "🏳️‍🌈", "🏳️‍⚧️", "🇺🇸", "🇯🇵", "🇩🇪", "🇧🇷", "🇪🇺", "1️⃣", "*️⃣", "©️", "↔️", "🫶🏼"],
    "whitespace": [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u2009", "\u202f", "\u0085",
                   "\u2028", " \n ", "\x0b", "\x0c"],
    "control": ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x85", "\x9f", "\u200b", "\u200d",
                "\u200e", "\u202e", "\u2066", "\ufeff", "\ufe0f", "\u00ad", "\U000e0041"],
    "special": ["<|endoftext|>", "<|startoftext|>", "<|ENDOFTEXT|>", "<|Startoftext|>", "<|endoftext",
                "|>", "<|", "<|end", "startoftext"],
    "url": ["https://example.com", "http://a.b/c?d=e&f=g", "www.site.org/page.html", "ftp://x.y/z",
            "mailto:someone@example.com", "https://EXAMPLE.com/A_B-C", "#tag", "@handle", "v2.1.0"],
}


def random_scalar(rng):
    """A random Unicode scalar value from a mix of blocks, including unassigned and recent ones."""
    blocks = [(0x20, 0x7e), (0xa0, 0x24f), (0x250, 0x36f), (0x370, 0x52f), (0x530, 0x6ff), (0x700, 0x8ff),
              (0x900, 0xdff), (0xe00, 0xfff), (0x1000, 0x1fff), (0x2000, 0x2bff), (0x2c00, 0x2fff),
              (0x3000, 0x30ff), (0x3100, 0x9fff), (0xa000, 0xabff), (0xac00, 0xd7ff), (0xf900, 0xffff),
              (0x10000, 0x1bfff), (0x1d000, 0x1ffff), (0x20000, 0x2ffff), (0x30000, 0x3ffff), (0xe0000, 0xe01ff),
              (0x1100, 0x11ff), (0x300, 0x36f)]
    lo, hi = rng.choice(blocks)
    return chr(rng.randint(lo, hi))


def generate_strings():
    rng = random.Random(20250101)
    strings = list(HAND_WRITTEN)
    pools = list(FRAGMENT_POOLS)
    separators = [" ", " ", " ", "", ", ", "  ", "\t", "\n", "\u00a0", "-", "_"]

    def mixed(n):
        parts = []
        for _ in range(n):
            pool = rng.choice(pools)
            frag = rng.choice(FRAGMENT_POOLS[pool])
            r = rng.random()
            if r < 0.15:
                frag = frag.upper()
            elif r < 0.25:
                frag = frag.capitalize()
            elif r < 0.3:
                frag = "".join(c.upper() if rng.random() < 0.5 else c for c in frag)
            parts.append(frag)
            parts.append(rng.choice(separators))
        return "".join(parts)

    for _ in range(500):  # prompt-like ASCII, with weights and punctuation
        words = [rng.choice(COMMON_WORDS) for _ in range(rng.randint(1, 20))]
        s = " ".join(words)
        if rng.random() < 0.4:
            s = s.replace(" ", rng.choice([", ", " ", " (", ") ", ":1.2 "]), rng.randint(1, 3))
        if rng.random() < 0.3:
            s = s.title() if rng.random() < 0.5 else s.upper()
        strings.append(s)
    for _ in range(900):  # mixtures of every category
        strings.append(mixed(rng.randint(1, 12)))
    for _ in range(300):  # random scalars, mostly in words
        strings.append("".join(random_scalar(rng) if rng.random() < 0.85 else " " for _ in range(rng.randint(1, 16))))
    for _ in range(120):  # a base letter with a stack of combining marks in random order
        marks = [chr(rng.choice([0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0x316, 0x323, 0x327, 0x328, 0x334,
                                 0x345, 0x1dc0, 0x20d0, 0x302a, 0x3099, 0x898, 0x1dfa]))
                 for _ in range(rng.randint(1, 4))]
        base = rng.choice("aeiouAEIOUncsyzωαιΑ\u3046\u304b\u1100\uac00")
        strings.append(unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC"]), base) + "".join(marks) + rng.choice(["", " x", "b"]))
    for _ in range(60):  # over 77 tokens: truncation
        strings.append(" ".join(rng.choice(COMMON_WORDS) for _ in range(rng.randint(60, 160))))
    for _ in range(25):  # over 300 tokens
        strings.append(mixed(rng.randint(150, 260)) if rng.random() < 0.5 else
                       " ".join(rng.choice(COMMON_WORDS) for _ in range(rng.randint(320, 500))))
    # Drop exact repeats (keeps indices stable and the files small).
    seen, unique = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


# ---------------------------------------------------------------------------------------------------
# 4. Unicode tables as the tokenizers library has them
# ---------------------------------------------------------------------------------------------------

# Scalars that take part in canonical composition outside the BMP's Latin/Greek blocks, or that
# trip up normalizers: Kaithi, Chakma, Grantha, Tirhuta, Siddham, Dives Akuru (Unicode 13), musical
# symbols, CJK compatibility ideographs, supplementary-plane marks, letters outside the BMP whose
# low 16 bits spell a Latin letter (U+10041), decompositions into non-starters (U+0F73, U+0344).
NORMALIZATION_PROBES = [
    0x11099, 0x1109A, 0x1109B, 0x110A5, 0x110AB, 0x110BA, 0x110B9, 0x11131, 0x11132, 0x11127, 0x1112E,
    0x11347, 0x1133E, 0x11357, 0x1134B, 0x1133C, 0x114B9, 0x114BA, 0x114B0, 0x114BD, 0x114BB, 0x114C2,
    0x115B8, 0x115AF, 0x115BA, 0x115BF, 0x11935, 0x11930, 0x11938, 0x1D157, 0x1D165, 0x1D16E, 0x1D15E,
    0x1D160, 0x1D1BB, 0x1D167, 0x1D242, 0x101FD, 0x10A0D, 0x1E8D0, 0x16AF0, 0x2F800, 0x2FA1D, 0x20391,
    0x10041, 0x10065, 0x1F600, 0x0F73, 0x0F75, 0x0F81, 0x0344, 0x0340, 0x0343, 0x0374, 0x037E, 0x1FEE,
    0x0958, 0x2ADC, 0x212B, 0x2126, 0x0898, 0x1DFA, 0x1AB0,
]
MARKS = list(range(0x300, 0x370)) + [0x0F71, 0x0F72, 0x0F74, 0x0F80, 0x093C, 0x09BE, 0x09D7, 0x0B3E, 0x0B56,
                                     0x0BBE, 0x0BD7, 0x0CD5, 0x0D3E, 0x0DCF, 0x102E, 0x1B35, 0x3099, 0x309A,
                                     0x05B0, 0x0654, 0x0655, 0x1DC0, 0x20D0, 0x302A]
STARTERS = [ord(c) for c in "aeiouyAEIOUcnszwkgGhrRlLD"] + [
    0x391, 0x3B1, 0x3C9, 0x415, 0x438, 0x5D0, 0x627, 0x648, 0x6D5, 0x915, 0x9C7, 0xB47, 0xBC6, 0xC46,
    0xCC6, 0xD46, 0xDD9, 0x1025, 0x1B05, 0x304B, 0x30CF, 0x0F40, 0x1100, 0x1161, 0x11A8, 0xAC00, 0xB098]
# Letters that decompose (Latin-1, Latin Extended Additional, Greek Extended) and Hangul syllables.
DECOMPOSABLE_RANGES = [(0xC0, 0x17F), (0x1E00, 0x1EFF), (0x1F00, 0x1FFC), (0xAC00, 0xD7A3)]


def normalization_sequence(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.25:
            parts.append(chr(rng.choice(STARTERS)))
        elif r < 0.55:
            parts.append(chr(rng.choice(MARKS)))
        elif r < 0.75:
            lo, hi = rng.choice(DECOMPOSABLE_RANGES)
            parts.append(chr(rng.randint(lo, hi)))
        elif r < 0.9:
            parts.append(chr(rng.choice(NORMALIZATION_PROBES)))
        else:
            parts.append(rng.choice([" ", "\t ", "\u3000", "\u0130", "\u03a3", chr(rng.randint(0x10000, 0x10FFFF))]))
    return "".join(parts)


def unicode_tables(tok):
    pre, norm = tok.backend_tokenizer.pre_tokenizer, tok.backend_tokenizer.normalizer
    runs, normalized = [], []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        # Two copies: whitespace vanishes, a number stays two pieces ([\p{N}] has no +), a letter
        # or "other" run is one piece; a letter then splits from "!" where "other" joins it.
        pieces = len(pre.pre_tokenize_str(c + c))
        kind = "S" if pieces == 0 else "N" if pieces == 2 else "L" if len(pre.pre_tokenize_str(c + "!")) == 2 else "P"
        if kind != "P":
            if runs and runs[-1][2] == kind and runs[-1][1] == cp - 1:
                runs[-1][1] = cp
            else:
                runs.append([cp, cp, kind])
        out = norm.normalize_str(c)
        if out != c:
            normalized.append([cp, out])
    rng = random.Random(4242)
    sequences = []
    for _ in range(2500):
        text = normalization_sequence(rng)
        sequences.append([text, norm.normalize_str(text)])
    return {"classes": runs, "normalized": normalized, "sequences": sequences}


# ---------------------------------------------------------------------------------------------------
# 5. Expected ids from transformers
# ---------------------------------------------------------------------------------------------------

def expected_ids(case, folder, strings):
    tok = transformers.CLIPTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "CLIPTokenizer", type(tok)
    pad_id, bos_id, eos_id = tok.pad_token_id, tok.bos_token_id, tok.eos_token_id
    records = []
    for s in strings:
        padded = tok(s, max_length=MAX_LENGTH, padding="max_length", truncation=True)["input_ids"]
        count = len(tok(s, truncation=False)["input_ids"])
        assert len(padded) == MAX_LENGTH and padded[0] == bos_id, (case, s)
        kept = min(count, MAX_LENGTH)
        assert padded[kept - 1] == eos_id and all(i == pad_id for i in padded[kept:]), (case, s)
        records.append([count, padded[:kept]])
    return {
        "case": case,
        "generated_by": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                         "class": f"{type(tok).__module__}.{type(tok).__name__}"},
        "max_length": MAX_LENGTH, "pad_id": pad_id, "bos_id": bos_id, "eos_id": eos_id,
        "format": "records[i] = [tokenCount, ids without the padding tail] for strings[i]",
        "records": records,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_vocab = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "clip-tokenizer")
    parser.add_argument("--clip-vocab", default=os.path.normpath(default_vocab),
                        help="folder with CLIP's vocab.json and merges.txt (default: ../shared/clip-tokenizer)")
    args = parser.parse_args()
    for name, version in PINNED.items():
        actual = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}[name]
        if actual != version:
            sys.exit(f"{name} {actual} is installed; these fixtures are pinned to {version}")
    transformers.utils.logging.set_verbosity_error()  # "sequence longer than 77" warnings are expected

    small = os.path.join(ROOT, "small-vocab")
    size, merges = train_small_vocab(small)
    first = {f: open(os.path.join(small, f), "rb").read() for f in ("vocab.json", "merges.txt")}
    train_small_vocab(small)  # twice: the vocabulary must not depend on the run
    assert all(open(os.path.join(small, f), "rb").read() == b for f, b in first.items()), "training is not reproducible"
    print(f"small-vocab: {size} tokens, {merges} merges")
    write_sd_configs(os.path.join(ROOT, "configs", "sd1"), "<|endoftext|>")
    write_sd_configs(os.path.join(ROOT, "configs", "sd2"), "!")
    write_sdxl2_configs(os.path.join(ROOT, "configs", "sdxl2"))

    strings = generate_strings()
    assert len(strings) >= 2000, len(strings)
    write_json(os.path.join(ROOT, "strings.json"), strings, compact=True)
    print(f"strings.json: {len(strings)} strings")

    tables = unicode_tables(transformers.CLIPTokenizer.from_pretrained(small))
    write_json(os.path.join(ROOT, "unicode.json"), tables, compact=True)
    print(f"unicode.json: {len(tables['classes'])} class runs, {len(tables['normalized'])} scalars changed "
          f"by the normalizer, {len(tables['sequences'])} sequences")

    cases = [("small", {"vocab": small, "config": small}), ("small-bare", {"vocab": small, "config": None})]
    if os.path.isfile(os.path.join(args.clip_vocab, "vocab.json")):
        cases += [(sd, {"vocab": args.clip_vocab, "config": os.path.join(ROOT, "configs", sd)})
                  for sd in ("sd1", "sd2", "sdxl2")]
    else:
        print(f"no CLIP vocabulary at {args.clip_vocab}: the sd1/sd2/sdxl2 expectations are left as they are")
    for case, where in cases:
        # Assemble the tokenizer folder the way a model folder has it: vocabulary + configuration.
        folder = tempfile.mkdtemp()
        try:
            for f in ("vocab.json", "merges.txt"):
                shutil.copy(os.path.join(where["vocab"], f), folder)
            if where["config"]:
                for f in ("tokenizer_config.json", "special_tokens_map.json"):
                    shutil.copy(os.path.join(where["config"], f), folder)
            result = expected_ids(case, folder, strings)
        finally:
            shutil.rmtree(folder)
        write_json(os.path.join(ROOT, f"expected-{case}.json"), result, compact=True)
        truncated = sum(1 for count, _ in result["records"] if count > MAX_LENGTH)
        print(f"expected-{case}.json: {len(result['records'])} strings, {truncated} truncated, pad id {result['pad_id']}")

    # What transformers 5's save_pretrained writes: tokenizer.json + tokenizer_config.json, no
    # vocab.json/merges.txt. Same tokenizer, so it must give expected-small.json's ids.
    saved = os.path.join(ROOT, "small-saved")
    shutil.rmtree(saved, ignore_errors=True)
    transformers.CLIPTokenizer.from_pretrained(small).save_pretrained(saved)
    assert sorted(os.listdir(saved)) == ["tokenizer.json", "tokenizer_config.json"], os.listdir(saved)
    small_ids = json.load(open(os.path.join(ROOT, "expected-small.json")))
    saved_ids = expected_ids("small", saved, strings)
    assert all(saved_ids[k] == small_ids[k] for k in small_ids), "the saved folder tokenizes differently"
    print("small-saved: tokenizer.json folder, ids identical to expected-small.json")


if __name__ == "__main__":
    main()
