"""Synthetic town quarters for renderer tests and benchmarks: blocks of parcels, houses, streets."""

from __future__ import annotations

import math
import random

import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box

from cadastre.kennzeichen import Flurstueckskennzeichen
from cadastre.model import Address, Building, Flur, MapFeatures, Parcel, Street
from renderers.compose import DEFAULT_HEADING, DEFAULT_WATERMARK, TitleBlock, compose_page
from renderers.layout import Layout
from renderers.map import draw_map_face

CENTRE = (353210.0, 5703420.0)  # EPSG:25832, somewhere in NRW
ATTRIBUTION = "© Übungsamt für Bodenmanagement, dl-de/zero-2-0 (synthetische Daten)"
STREET_NAMES_EW = [
    "Müllerstraße",
    "Schützenstraße",
    "Große Bäckergasse",
    "Am Kälberhof",
    "Lindenweg",
    "Fährstraße",
]
STREET_NAMES_NS = ["Kirchstraße", "Öhrweg", "Zur Aue", "Hauptstraße", "Birkenallee", "Rübenkamp"]


def key(zaehler: int, nenner: int | None = None, flur: int = 3) -> Flurstueckskennzeichen:
    return Flurstueckskennzeichen(land="05", gemarkung="9990", flur=flur, zaehler=zaehler, nenner=nenner)


def parcel(geometry, zaehler: int, nenner: int | None = None) -> Parcel:
    return Parcel(
        kennzeichen=key(zaehler, nenner),
        geometry=geometry,
        gemarkung_name="Übungsfeld",
        aktualitaet="2024-05-01",
    )


def town(
    centre: tuple[float, float],
    width: float,
    height: float,
    *,
    seed: int = 1,
    angle: float = 12.0,
    plot_width: float = 10.0,
    plot_depth: float = 20.0,
    street_width: float = 12.0,
) -> MapFeatures:
    """A grid of blocks (rotated by `angle` degrees) covering width × height metres around
    `centre`: about one parcel per 270 m² and a house on two parcels in three, like a dense
    residential quarter at 1:1000."""
    rng = random.Random(seed)
    cx, cy = centre
    reach = math.hypot(width, height) / 2 + 40  # cover the extent after rotation
    block_w = 10 * plot_width
    block_h = 2 * plot_depth
    pitch_x, pitch_y = block_w + street_width, block_h + street_width
    nx, ny = int(reach // pitch_x) + 1, int(reach // pitch_y) + 1
    extent = box(cx - width / 2 - 30, cy - height / 2 - 30, cx + width / 2 + 30, cy + height / 2 + 30)

    def place(geom):
        return affinity.rotate(geom, angle, origin=(cx, cy))

    parcels: list[Parcel] = []
    buildings: list[Building] = []
    addresses: list[Address] = []
    streets: list[Street] = []
    blocks = []
    number = 1
    for j in range(-ny, ny + 1):
        for i in range(-nx, nx + 1):
            bx0 = cx + i * pitch_x - block_w / 2
            by0 = cy + j * pitch_y - block_h / 2
            block = box(bx0, by0, bx0 + block_w, by0 + block_h)
            if not place(block).intersects(extent):
                continue
            blocks.append(block)
            street_s = STREET_NAMES_EW[j % len(STREET_NAMES_EW)]
            street_n = STREET_NAMES_EW[(j + 1) % len(STREET_NAMES_EW)]
            # Cut positions jitter like real plots; some plots are split (Nenner), some merged.
            cuts = [bx0]
            while cuts[-1] < bx0 + block_w - 1e-6:
                step = plot_width * rng.uniform(0.6, 1.6)
                cuts.append(min(bx0 + block_w, cuts[-1] + step))
                if bx0 + block_w - cuts[-1] < plot_width * 0.5:
                    cuts[-1] = bx0 + block_w
            for row, (y0, y1, street) in enumerate(
                ((by0, by0 + block_h / 2, street_s), (by0 + block_h / 2, by0 + block_h, street_n))
            ):
                for k in range(len(cuts) - 1):
                    x0, x1 = cuts[k], cuts[k + 1]
                    geom = box(x0, y0, x1, y1)
                    nenner = rng.choice([None, None, None, 2, 4, 13]) if k % 3 == 1 else None
                    parcels.append(parcel(place(geom), number, nenner))
                    number += 1
                    if rng.random() < 0.66 and x1 - x0 > 6:
                        setback = 3.0
                        depth = rng.uniform(8, 12)
                        margin = 1.5
                        if row == 0:
                            house = box(x0 + margin, y0 + setback, x1 - margin, y0 + setback + depth)
                        else:
                            house = box(x0 + margin, y1 - setback - depth, x1 - margin, y1 - setback)
                        buildings.append(Building(geometry=place(house)))
                        door_y = y0 + setback + 1.5 if row == 0 else y1 - setback - 1.5
                        hnr = f"{2 * k + 1 + row}" + ("a" if rng.random() < 0.1 else "")
                        addresses.append(
                            Address(
                                point=place(Point((x0 + x1) / 2, door_y)), street=street, house_number=hnr
                            )
                        )
    # Streets: the space between blocks is one street parcel (with the blocks as holes), and
    # the centre lines carry the names.
    rotated_blocks = shapely.union_all([place(b) for b in blocks])
    street_area = (
        place(box(cx - reach, cy - reach, cx + reach, cy + reach))
        .intersection(extent)
        .difference(rotated_blocks)
    )
    for part in getattr(street_area, "geoms", [street_area]):
        if part.area > 50:
            parcels.append(parcel(part, number))
            number += 1
    for j in range(-ny, ny + 2):
        y = cy + j * pitch_y - block_h / 2 - street_width / 2
        line = LineString([(cx - reach, y), (cx + reach, y)])
        streets.append(Street(line=place(line), name=STREET_NAMES_EW[j % len(STREET_NAMES_EW)]))
    for i in range(-nx, nx + 2):
        x = cx + i * pitch_x - block_w / 2 - street_width / 2
        line = LineString([(x, cy - reach), (x, cy + reach)])
        streets.append(Street(line=place(line), name=STREET_NAMES_NS[i % len(STREET_NAMES_NS)]))
    keep = extent.buffer(20)
    parcels = [p for p in parcels if p.geometry.intersects(keep)]
    buildings = [b for b in buildings if b.geometry.intersects(keep)]
    addresses = [a for a in addresses if a.point.intersects(keep)]
    return MapFeatures(parcels=parcels, buildings=buildings, addresses=addresses, streets=streets)


def two_fluren(centre: tuple[float, float], width: float, height: float, *, angle: float = 12.0) -> list[Flur]:
    """Flur 3 west and Flur 4 east of the north–south street nearest `centre` in a town() of the
    same defaults, covering width × height metres around it."""
    cx, cy = centre
    street_x = cx - 10 * 10.0 / 2 - 12.0 / 2  # block_w / 2 + street_width / 2 west of the centre
    reach = math.hypot(width, height)
    west = affinity.rotate(box(cx - reach, cy - reach, street_x, cy + reach), angle, origin=(cx, cy))
    east = affinity.rotate(box(street_x, cy - reach, cx + reach, cy + reach), angle, origin=(cx, cy))
    return [Flur("059990", 3, west), Flur("059990", 4, east)]


def pick_parcel(features: MapFeatures, near: tuple[float, float], with_nenner: bool | None = None) -> Parcel:
    """The block parcel nearest to `near` (optionally one with a Nenner)."""
    point = Point(near)
    candidates = [p for p in features.parcels if p.geometry.area < 2000]
    if with_nenner is not None:
        candidates = [p for p in candidates if (p.kennzeichen.nenner is not None) == with_nenner]
    return min(candidates, key=lambda p: p.geometry.distance(point))


def square(x: float, y: float, size: float) -> Polygon:
    return box(x, y, x + size, y + size)


def render_page(
    layout: Layout,
    features: MapFeatures,
    *,
    parcel: Parcel | None,
    title: TitleBlock,
    attribution: str,
    watermark: str | None = DEFAULT_WATERMARK,
    heading: str = DEFAULT_HEADING,
):
    """Map face and page in one call, for renderer tests that have vector features at hand."""
    face = draw_map_face(layout, features)
    return compose_page(layout, face, parcel=parcel, title=title, attribution=attribution, watermark=watermark,
                        heading=heading)
