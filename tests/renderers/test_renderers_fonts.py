"""Fonts: DejaVu is found (also through GIS_SERVICE_FONT_DIR), cached, sets umlauts; fallback warns."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from renderers import fonts


@pytest.fixture(autouse=True)
def fresh_font_cache():
    fonts.clear_cache()
    yield
    fonts.clear_cache()


def glyph(font, text: str) -> np.ndarray:
    image = Image.new("L", (80, 80), 0)
    ImageDraw.Draw(image).text((10, 60), text, font=font, fill=255, anchor="ls")
    return np.asarray(image) > 64


def test_dejavu_is_found_and_loaded():
    assert fonts.dejavu_available()
    assert fonts.font_path("regular").name == "DejaVuSans.ttf"
    font = fonts.get_font("oblique", 20)
    assert isinstance(font, ImageFont.FreeTypeFont)
    assert font.getname() == ("DejaVu Sans", "Oblique")


def test_fonts_are_cached_per_face_and_size():
    assert fonts.get_font("regular", 12) is fonts.get_font("regular", 12.2)
    assert fonts.get_font("regular", 12) is not fonts.get_font("regular", 13)
    assert fonts.get_font("regular", 12) is not fonts.get_font("bold", 12)


def test_cap_height_sizing():
    font = fonts.font_for_cap_height("regular", 26.0)
    top, bottom = font.getbbox("40", anchor="ls")[1::2]
    assert bottom - top == pytest.approx(26, abs=1.5)


@pytest.mark.parametrize("face", ["regular", "bold", "oblique"])
def test_umlauts_and_sharp_s_are_not_tofu(face):
    font = fonts.get_font(face, 40)
    missing = glyph(font, "\U0010fffd")  # not in DejaVu: the .notdef box ("tofu")
    for char, base in zip("ÄÖÜäöüß", "AOUaous"):
        shape = glyph(font, char)
        assert shape.any()
        assert not np.array_equal(shape, missing), f"{char} renders as tofu"
        assert not np.array_equal(shape, glyph(font, base)), f"{char} looks like {base}"


def test_font_directory_from_environment(tmp_path, monkeypatch):
    shutil.copy(fonts.font_path("regular"), tmp_path / "DejaVuSans.ttf")
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(tmp_path))
    assert fonts.font_path("regular") == tmp_path / "DejaVuSans.ttf"
    assert fonts.font_path("bold").parent != tmp_path  # the rest still from the system


def test_missing_dejavu_falls_back_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(fonts, "SYSTEM_DIRS", ())
    with caplog.at_level(logging.WARNING, logger="renderers.fonts"):
        font = fonts.get_font("regular", 14)
    assert font is not None
    assert font.getbbox("12")[2] > 0
    assert any("DejaVu" in record.getMessage() for record in caplog.records)
    assert not fonts.dejavu_available()
