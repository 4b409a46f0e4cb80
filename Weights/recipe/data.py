#!/usr/bin/env python3
"""Builds imagine-mini's training set from Debian packages: Open Clip Art 0.18 (public domain) and
Noto Color Emoji (Apache-2.0 images) with captions from SVG metadata, file names, Unicode's
emoji-test.txt and CLDR annotations (Unicode licence).

    python Weights/recipe/data.py [--cache ~/.cache/imagine-mini]

Writes, outside the repository (images are never committed):
    CACHE/dataset/images.npy     uint8 [N, 128, 128, 3], drawings cropped to content, padded
                                 square and composited on white
    CACHE/dataset/records.jsonl  one line per image: id, source, licence, captions (best first),
                                 sampling weight, split ("train" / "heldout")
and Weights/recipe/dataset-summary.json (counts, filters, checksum) so a rebuild can be compared.

Deterministic: files are visited in sorted order, the split is a hash of each item's id, and the
star series is subsampled with a fixed seed.
"""
import argparse
import hashlib
import html
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

SIZE = 128
# Content fills this fraction of the square's side, leaving a white margin as emoji glyphs have.
FILL = 0.9
HELDOUT_PERCENT = 5
SEED = 0

PACKAGES = ["openclipart-png", "openclipart-svg", "fonts-noto-color-emoji", "unicode-data",
            "unicode-cldr-core", "librsvg2-bin"]
CLIPART = "/usr/share/openclipart"
EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
CLDR = ["/usr/share/unicode/cldr/common/annotations/en.xml",
        "/usr/share/unicode/cldr/common/annotationsDerived/en.xml"]
LICENCE_FILES = {
    "openclipart-copyright": "/usr/share/doc/openclipart-png/copyright",
    "noto-color-emoji-copyright": "/usr/share/doc/fonts-noto-color-emoji/copyright",
    "unicode-data-copyright": "/usr/share/doc/unicode-data/copyright",
    "unicode-cldr-copyright": "/usr/share/doc/unicode-cldr-core/copyright",
}

# --- content filter -------------------------------------------------------------------------
# Dropped: the weapons folder, anything whose caption or keywords name nudity, firearms, weapons or
# hate symbols, and the middle-finger emoji. The keyword match also drops five cartoon emoji whose
# CLDR keywords say "gun" or "weapon" (water pistol, kitchen knife, dagger, crossed swords, shield).
SENSITIVE_FOLDERS = ("tools/weapons",)
SENSITIVE_WORDS = re.compile(
    r"\b(nude|naked|nudity|sexy|erotic|lingerie|topless|porn\w*|gun|guns|(?<!water )pistol|rifle|revolver|"
    r"shotgun|machine ?gun|grenade|weapons?|swastika|nazi|middle finger)\b")

# Titles that name a collection or a person, not the picture.
GENERIC_TITLE = re.compile(
    r"^(|card|gramastar|open clip art library|untitled|image|drawing|clipart|clip art|svg|icon|"
    r"part of the .*|.* svg theme|.* icon (set|theme|collection)|clipart by .*|.*\.svg|.*\.png)$")
JUNK_DESCRIPTION = re.compile(r"hash\(0x|https?://|www\.|\.svg|\.png|created with|inkscape|made by|drawn by")
# Keywords the icon themes and the library's tooling put on everything.
UNINFORMATIVE_KEYWORDS = {"hash", "icons", "icon", "theme", "action", "clip art", "clipart", "image", "media",
                          "svg", "png", "public domain", "computer", "unsorted", "cartoon"}
SUITS = {"c": "clubs", "d": "diamonds", "h": "hearts", "s": "spades"}
RANKS = {"a": "ace", "k": "king", "q": "queen", "j": "jack", "2": "two", "3": "three", "4": "four",
         "5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten"}
STARS_KEPT = 24
# PNGs above this many pixels (three posters exceed Pillow's bomb limit) are drawn from their SVG.
HUGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = None


def require_packages() -> None:
    missing = [p for p in PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        print("installing", *missing, file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True)


def clean_text(text: str) -> str:
    text = html.unescape(text).replace("_", " ").replace("-", " ")
    text = re.sub(r"\s+", " ", text).strip().lower()
    return text.strip(" .,;:")


def is_sensitive(texts) -> bool:
    return any(SENSITIVE_WORDS.search(t) for t in texts)


# --- Open Clip Art --------------------------------------------------------------------------
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CC = "{http://web.resource.org/cc/}"


def svg_metadata(svg_path: str) -> dict:
    """The work's title, description, keywords, creators and licence from its RDF block."""
    meta = svg_metadata_missing()
    with open(svg_path, "rb") as f:
        raw = f.read()
    # External bitmaps render as "Linked Image Not Found" in the PNGs.
    meta["links_bitmap"] = re.search(rb'<image[^>]*href="(?!data:)[^"]+"', raw) is not None
    licence = re.search(rb'<cc:license[^>]*rdf:resource="([^"]*)"', raw)
    meta["licence"] = licence.group(1).decode("utf-8", "replace") if licence else ""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return meta
    work = root.find(f".//{CC}Work")
    if work is None:
        return meta
    title = work.find(f"{DC}title")
    meta["title"] = (title.text or "") if title is not None else ""
    description = work.find(f"{DC}description")
    meta["description"] = (description.text or "") if description is not None else ""
    for agent_title in work.findall(f"{DC}creator//{DC}title") + work.findall(f"{DC}publisher//{DC}title"):
        if agent_title.text:
            meta["creators"].append(clean_text(agent_title.text))
    meta["keywords"] = [clean_text(li.text) for li in work.findall(f"{DC}subject//{RDF}li") if li.text]
    return meta


def name_from_file(stem: str, creators) -> str:
    """The title slug of an Open Clip Art file name: drops the trailing counter and the (often
    truncated) creator slug, e.g. ragnetto_incazzato_archi_01 → "ragnetto incazzato"."""
    tokens = [t for t in re.split(r"[_\-\s.]+", stem.lower()) if t]
    while tokens and tokens[-1].isdigit() and len(tokens) > 1:
        tokens.pop()
    creator_slugs = [re.sub(r"[^a-z0-9]+", "", c) for c in creators]
    for cut in range(1, len(tokens)):
        tail = "".join(tokens[cut:])
        if any(slug.startswith(tail) and len(tail) >= 3 for slug in creator_slugs):
            tokens = tokens[:cut]
            break
    return " ".join(tokens)


def clipart_captions(relative: str, meta: dict) -> list:
    folder, stem = os.path.dirname(relative), os.path.splitext(os.path.basename(relative))[0]
    title = clean_text(meta["title"])
    creators = set(meta["creators"])
    if GENERIC_TITLE.match(title) or title in creators:
        title = ""
    name = title or name_from_file(stem, meta["creators"])
    captions = []
    card = re.match(r"^[a-z]+_([cdhs])_(10|[2-9ajkq])$", stem)
    if folder.startswith("recreation/games/cards") and card:
        captions.append(f"{RANKS[card.group(2)]} of {SUITS[card.group(1)]}")
        captions.append(f"{RANKS[card.group(2)]} of {SUITS[card.group(1)]} playing card")
    elif folder.startswith("signs_and_symbols/flags"):
        captions.append(f"flag of {re.sub(r'^flag of ', '', re.sub(r' flag$', '', name))}")
    elif folder.startswith("computer/"):
        captions.append(f"{name} icon")
    else:
        captions.append(name)
    description = clean_text(meta["description"])
    if 3 <= len(description) <= 120 and not JUNK_DESCRIPTION.search(description) and description != name:
        captions.append(description)
    keywords = [k for k in meta["keywords"]
                if k and k not in creators and k not in UNINFORMATIVE_KEYWORDS and k != name and len(k) < 40]
    if keywords:
        captions.append(", ".join([captions[0]] + keywords[:6]))
    return [c for c in captions if c]


def clipart_items() -> tuple:
    """Every unique clip-art drawing (symlinked duplicates visited once) with its captions."""
    items, dropped = [], {"symlink duplicate": 0, "gpl licence": 0, "linked bitmap": 0, "sensitive": 0,
                          "no caption": 0, "stars beyond the kept sample": 0}
    png_root, svg_root = os.path.join(CLIPART, "png"), os.path.join(CLIPART, "svg")
    stars = []
    for directory, _, files in sorted(os.walk(png_root)):
        for file in sorted(files):
            png = os.path.join(directory, file)
            if not file.endswith(".png"):
                continue
            if os.path.islink(png):
                dropped["symlink duplicate"] += 1
                continue
            relative = os.path.relpath(png, png_root)
            svg = os.path.join(svg_root, relative[:-4] + ".svg")
            meta = svg_metadata(svg) if os.path.exists(svg) else svg_metadata_missing()
            if "GPL" in meta["licence"]:
                dropped["gpl licence"] += 1
                continue
            if meta["links_bitmap"]:
                dropped["linked bitmap"] += 1
                continue
            captions = clipart_captions(relative, meta)
            if not captions or not captions[0].strip():
                dropped["no caption"] += 1
                continue
            if relative.startswith(SENSITIVE_FOLDERS) or is_sensitive(captions):
                dropped["sensitive"] += 1
                continue
            folder = os.path.dirname(relative)
            # The 2004 desktop icon themes are many, alike and weakly captioned (app names).
            weight = 0.25 if folder.startswith("computer") else 1.0
            item = dict(id="clipart/" + relative[:-4], source="openclipart-0.18", licence="public-domain",
                        png=png, svg=svg if os.path.exists(svg) else None, captions=captions, weight=weight,
                        style="clip art")
            if folder.startswith("shapes/stars"):
                stars.append(item)
            else:
                items.append(item)
    kept = random.Random(SEED).sample(stars, min(STARS_KEPT, len(stars)))
    dropped["stars beyond the kept sample"] = len(stars) - len(kept)
    return items + sorted(kept, key=lambda i: i["id"]), dropped


def svg_metadata_missing() -> dict:
    return dict(title="", description="", keywords=[], creators=[], licence="", links_bitmap=False)


def crop_pad(rgba: Image.Image):
    """Crops to the opaque content, pads to a square with a margin, composites on white; None
    when nothing is drawn."""
    alpha = np.asarray(rgba.getchannel("A"))
    ys, xs = np.nonzero(alpha > 8)
    if len(xs) == 0:
        return None
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    content = rgba.crop(box)
    side = int(round(max(content.size) / FILL))
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    offset = ((side - content.size[0]) // 2, (side - content.size[1]) // 2)
    square.alpha_composite(content, offset)
    return square.convert("RGB").resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def render_svg(svg: str, size_arguments: list):
    result = subprocess.run(["rsvg-convert", *size_arguments, svg], capture_output=True, timeout=120)
    if result.returncode != 0:
        return None
    with Image.open(io.BytesIO(result.stdout)) as rendered:
        return crop_pad(rendered.convert("RGBA"))


def render_clipart(item: dict):
    """The drawing at SIZE², re-rendered from the SVG when the PNG's drawing is small (Inkscape
    rendered at page size, so many drawings are a few dozen pixels) or the PNG is a poster of
    hundreds of megapixels; the PNG when rsvg draws nothing or when there is no SVG."""
    with Image.open(item["png"]) as image:
        if image.width * image.height > HUGE_PIXELS:
            square = render_svg(item["svg"], ["-w", "1024", "-a"]) if item["svg"] else None
            return None if square is None else np.asarray(square)
        rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    ys, xs = np.nonzero(alpha > 8)
    if len(xs) == 0:
        return None
    extent = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
    if extent < SIZE and item["svg"]:
        zoom = min(2.0 * SIZE / extent, 16.0)
        rerendered = render_svg(item["svg"], ["-z", f"{zoom:.3f}"])
        if rerendered is not None:
            return np.asarray(rerendered)
    square = crop_pad(rgba)
    return None if square is None else np.asarray(square)


# --- Noto Color Emoji -----------------------------------------------------------------------
def cldr_annotations() -> dict:
    """code point string → (tts name, keywords) from CLDR's English annotations."""
    table = {}
    for path in CLDR:
        for node in ET.parse(path).getroot().iter("annotation"):
            cp, text = node.get("cp"), (node.text or "").strip()
            name, keywords = table.get(cp, ("", []))
            if node.get("type") == "tts":
                name = text
            else:
                keywords = [k.strip() for k in text.split("|") if k.strip()]
            table[cp] = (name, keywords)
    return table


def emoji_caption(name: str) -> str:
    """emoji-test names as plain captions: "flag: Cuba" → "flag of cuba",
    "thumbs up: light skin tone" → "thumbs up, light skin tone"."""
    name = name.lower()
    if name.startswith("flag: "):
        return "flag of " + name[len("flag: "):]
    return name.replace(": ", ", ")


def emoji_items() -> tuple:
    import uharfbuzz as hb
    from fontTools.ttLib import TTFont

    font = TTFont(EMOJI_FONT)
    strike = font["CBDT"].strikeData[0]
    glyph_order = font.getGlyphOrder()
    with open(EMOJI_FONT, "rb") as f:
        hb_font = hb.Font(hb.Face(hb.Blob(f.read())))
    annotations = cldr_annotations()
    items, dropped = [], {"not one glyph": 0, "sensitive": 0, "glyph already used": 0}
    seen_glyphs = set()
    with open(EMOJI_TEST, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        match = re.match(r"^([0-9A-F ]+?)\s*; fully-qualified\s*# \S+ E[\d.]+ (.+)$", line)
        if not match:
            continue
        text = "".join(chr(int(cp, 16)) for cp in match.group(1).split())
        buffer = hb.Buffer()
        buffer.add_str(text)
        buffer.guess_segment_properties()
        hb.shape(hb_font, buffer)
        glyphs = [glyph_order[info.codepoint] for info in buffer.glyph_infos]
        if len(glyphs) != 1 or glyphs[0] not in strike:
            dropped["not one glyph"] += 1
            continue
        if glyphs[0] in seen_glyphs:
            dropped["glyph already used"] += 1
            continue
        name = match.group(2)
        tts, keywords = annotations.get(text, annotations.get(text.replace("\ufe0f", ""), ("", [])))
        captions = [emoji_caption(name)]
        if keywords:
            captions.append(", ".join([captions[0]] + [k.lower() for k in keywords if k.lower() != name.lower()][:6]))
        if is_sensitive(captions):
            dropped["sensitive"] += 1
            continue
        seen_glyphs.add(glyphs[0])
        skin_tone = "skin tone" in name
        items.append(dict(id="emoji/" + match.group(1).replace(" ", "_"), source="noto-color-emoji-2.042",
                          licence="Apache-2.0 (image); Unicode licence (names, keywords)", glyph=glyphs[0],
                          captions=captions, weight=0.2 if skin_tone else 1.0, style="emoji"))
    return items, dropped, strike


def render_emoji(strike, glyph: str):
    bitmap = strike[glyph]
    bitmap.ensureDecompiled()
    with Image.open(io.BytesIO(bitmap.imageData)) as image:
        square = crop_pad(image.convert("RGBA"))
    return None if square is None else np.asarray(square)


# --- split, build ---------------------------------------------------------------------------
def split_of(item_id: str) -> str:
    bucket = int(hashlib.sha256(f"{SEED}:{item_id}".encode()).hexdigest(), 16) % 100
    return "heldout" if bucket < HELDOUT_PERCENT else "train"


def build(cache: str, summary_path: str, limit: int) -> None:
    require_packages()
    out = os.path.join(cache, "dataset")
    os.makedirs(out, exist_ok=True)
    clipart, clipart_dropped = clipart_items()
    emoji, emoji_dropped, strike = emoji_items()
    if limit:
        # Smoke tests: an evenly spread subset of both sources.
        clipart, emoji = clipart[::max(1, len(clipart) // limit)], emoji[::max(1, len(emoji) // limit)]
    print(f"rendering {len(clipart)} clip-art drawings and {len(emoji)} emoji", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=2) as pool:
        clipart_images = list(pool.map(render_clipart, clipart, chunksize=16))
    emoji_images = [render_emoji(strike, item["glyph"]) for item in emoji]
    records, images, empty = [], [], 0
    for item, image in zip(clipart + emoji, clipart_images + emoji_images):
        if image is None:
            empty += 1
            continue
        record = {k: item[k] for k in ("id", "source", "licence", "captions", "weight", "style")}
        record["split"] = split_of(item["id"])
        records.append(record)
        images.append(image)
    array = np.stack(images).astype(np.uint8)
    np.save(os.path.join(out, "images.npy"), array)
    with open(os.path.join(out, "records.jsonl"), "w") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    licences = os.path.join(out, "LICENSES")
    os.makedirs(licences, exist_ok=True)
    for name, path in LICENCE_FILES.items():
        shutil.copy(path, os.path.join(licences, name))
    summary = dict(
        images=len(records), shape=list(array.shape),
        images_sha256=hashlib.sha256(array.tobytes()).hexdigest(),
        by_source={s: sum(r["source"] == s for r in records) for s in sorted({r["source"] for r in records})},
        by_split={s: sum(r["split"] == s for r in records) for s in ("train", "heldout")},
        effective_weight=round(sum(r["weight"] for r in records), 1),
        dropped=dict(clipart=clipart_dropped, emoji=emoji_dropped, nothing_drawn=empty),
        sensitive_filter=dict(folders=list(SENSITIVE_FOLDERS), words=SENSITIVE_WORDS.pattern),
        limit=limit)
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/imagine-mini"))
    parser.add_argument("--limit", type=int, default=0, help="about this many items per source (smoke tests)")
    args = parser.parse_args()
    summary = "" if args.limit else os.path.join(os.path.dirname(os.path.abspath(__file__)), "dataset-summary.json")
    build(args.cache, summary, args.limit)


if __name__ == "__main__":
    main()
