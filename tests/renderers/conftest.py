"""Shared fixtures for renderer tests: layouts, hand-made features, a synthetic town, a title block."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import shapely
from shapely.geometry import LineString, Point

sys.path.insert(0, str(Path(__file__).parent))  # render_synth, also without pytest's rootdir import

import render_synth  # noqa: E402

from cadastre.model import Address, Building, MapFeatures, Street  # noqa: E402
from renderers.compose import TitleBlock  # noqa: E402
from renderers.layout import make_layout  # noqa: E402

CENTRE = render_synth.CENTRE


@pytest.fixture
def simple_features():
    """Four 40 m squares around the centre (one with a Nenner), a 0.5 m sliver, a building, an
    address and a street along the bottom edge."""
    x, y = CENTRE
    parcels = [
        render_synth.parcel(render_synth.square(x - 40, y, 40), 40, 4),
        render_synth.parcel(render_synth.square(x, y, 40), 41),
        render_synth.parcel(render_synth.square(x - 40, y - 40, 40), 42),
        render_synth.parcel(render_synth.square(x, y - 40, 40), 43),
        render_synth.parcel(shapely.box(x - 40, y + 40, x + 40, y + 40.5), 44),
    ]
    building = Building(geometry=shapely.box(x + 5, y - 35, x + 20, y - 25))
    address = Address(point=Point(x + 12.5, y - 27), street="Müllerstraße", house_number="12a")
    street = Street(line=LineString([(x - 200, y - 47), (x + 200, y - 47)]), name="Müllerstraße")
    return MapFeatures(parcels=parcels, buildings=[building], addresses=[address], streets=[street])


@pytest.fixture
def town():
    def build(layout, **kwargs):
        minx, miny, maxx, maxy = layout.bbox
        return render_synth.town(layout.centre, maxx - minx, maxy - miny, **kwargs)

    return build


@pytest.fixture
def a4_96():
    return make_layout("A4", "portrait", 1000, 96, CENTRE)


@pytest.fixture
def title_for():
    def build(parcel, layout, **kwargs):
        return TitleBlock.for_parcel(parcel, layout, created="2024-06-01", **kwargs)

    return build
