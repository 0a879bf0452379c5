"""Finds the DejaVu fonts and caches Pillow font objects per face and pixel size."""

from __future__ import annotations

import logging
import os
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

FONT_DIR_ENV = "GIS_SERVICE_FONT_DIR"
FACES: dict[str, str] = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "oblique": "DejaVuSans-Oblique.ttf",
    "condensed": "DejaVuSansCondensed.ttf",
    "condensed-bold": "DejaVuSansCondensed-Bold.ttf",
}
# Debian/Ubuntu, Fedora/Arch, Alpine and Homebrew place DejaVu differently.
SYSTEM_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_dirs() -> list[Path]:
    dirs = [Path(d) for d in os.environ.get(FONT_DIR_ENV, "").split(os.pathsep) if d]
    return dirs + [Path(d) for d in SYSTEM_DIRS]


def font_path(face: str) -> Path | None:
    """The file of a face, or None when no directory has it."""
    return _font_path(face, os.environ.get(FONT_DIR_ENV, ""))


@lru_cache(maxsize=64)
def _font_path(face: str, _env_value: str) -> Path | None:
    # _env_value is part of the cache key so that changing the variable takes effect.
    if face not in FACES:
        raise ValueError(f"unknown font face {face!r}; known: {', '.join(FACES)}")
    wanted = [FACES[face]]
    if face == "condensed-bold":
        wanted.append(FACES["bold"])
    elif face == "condensed":
        wanted.append(FACES["regular"])
    for name in wanted:
        for directory in font_dirs():
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def dejavu_available() -> bool:
    return all(font_path(face) is not None for face in ("regular", "bold", "oblique"))


def get_font(face: str, size_px: float) -> Font:
    """A font of `face` with an em size of `size_px` pixels (at least 1), cached."""
    return _load(font_path(face), face, max(1, round(size_px)))


@lru_cache(maxsize=512)
def _load(path: Path | None, face: str, size: int) -> Font:
    if path is not None:
        # The basic layout engine is several times faster than raqm per call, and the map only
        # sets Latin text, for which it shapes (and kerns) the same.
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    _warn_missing(face)
    return ImageFont.load_default(size)


@cache
def _warn_missing(face: str) -> None:
    log.warning(
        "DejaVu font %s not found in %s (set %s); using Pillow's default font, umlauts and ß may not render",
        FACES[face],
        ", ".join(str(d) for d in font_dirs()),
        FONT_DIR_ENV,
    )


@lru_cache(maxsize=32)
def cap_height_ratio(face: str) -> float:
    """Height of the digits and capitals as a share of the em size (about 0.73 for DejaVu)."""
    font = get_font(face, 200)
    left, top, right, bottom = font.getbbox("0H", anchor="ls")
    return max(0.3, -top / 200)


def font_for_cap_height(face: str, cap_px: float) -> Font:
    """The font of `face` whose digits are `cap_px` pixels tall."""
    return get_font(face, cap_px / cap_height_ratio(face))


def clear_cache() -> None:
    _font_path.cache_clear()
    _load.cache_clear()
    cap_height_ratio.cache_clear()
    _warn_missing.cache_clear()
