"""Labels on the map face: where parcel and Flur numbers, house numbers and street names go without colliding, and drawing them (one module: every placement checks against all the others)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFilter

from cadastre.model import MapFeatures
from renderers import fonts, style
from renderers.layout import Layout, face_xy


@dataclass(frozen=True)
class PlacedLabel:
    """One label the map face shows, in face pixel coordinates at output resolution."""

    kind: str  # "parcel", "flur", "house_number" or "street"
    lines: tuple[str, ...]  # ("40", "4") for Flurstück 40/4: Zähler over Nenner
    centre: tuple[float, float]
    angle: float  # degrees counter-clockwise; 0 for everything but street names
    size: tuple[float, float]  # width, height of the text block, unrotated, without padding
    box: tuple[float, float, float, float]  # axis-aligned extent incl. rotation, without padding

    @property
    def text(self) -> str:
        return "/".join(self.lines)


# --- labels -------------------------------------------------------------------------------------


class _Collider:
    """Placed label boxes in a coarse grid; rotated boxes are checked exactly with shapely."""

    def __init__(self, cell: float) -> None:
        self.cell = max(cell, 1.0)
        self.grid: dict[tuple[int, int], list[int]] = defaultdict(list)
        self.boxes: list[tuple[float, float, float, float]] = []
        self.shapes: list[object | None] = []

    def _cells(self, box: tuple[float, float, float, float]):
        c = self.cell
        for gx in range(int(box[0] // c), int(box[2] // c) + 1):
            for gy in range(int(box[1] // c), int(box[3] // c) + 1):
                yield gx, gy

    def hits(self, box: tuple[float, float, float, float], shape: object | None = None) -> bool:
        seen: set[int] = set()
        for key in self._cells(box):
            for i in self.grid.get(key, ()):
                if i in seen:
                    continue
                seen.add(i)
                other = self.boxes[i]
                if box[0] >= other[2] or box[2] <= other[0] or box[1] >= other[3] or box[3] <= other[1]:
                    continue
                other_shape = self.shapes[i]
                if shape is None and other_shape is None:
                    return True
                a = shape if shape is not None else shapely.box(*box)
                b = other_shape if other_shape is not None else shapely.box(*other)
                if shapely.intersects(a, b):
                    return True
        return False

    def add(self, box: tuple[float, float, float, float], shape: object | None = None) -> None:
        i = len(self.boxes)
        self.boxes.append(box)
        self.shapes.append(shape)
        for key in self._cells(box):
            self.grid[key].append(i)


def _padded(box: tuple[float, float, float, float], pad: float) -> tuple[float, float, float, float]:
    return box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad


def plan_labels(layout: Layout, features: MapFeatures) -> list[PlacedLabel]:
    """Where each label goes: parcel numbers first, then house numbers, street names, Flur numbers.

    A label that would overlap one already placed, leave the map face, or (for parcel numbers)
    not fit inside its parcel is left out: a sliver too narrow at this scale carries no number.
    """
    width, height = layout.map_face_size_px
    collider = _Collider(layout.px(10.0))
    pad = layout.px(style.LABEL_PAD_MM)
    house_boxes = _house_number_boxes(layout, features)
    obstacles = _obstacle_tree(layout, features, house_boxes)
    placed = _plan_parcel_labels(layout, features, collider, pad, obstacles, (width, height))
    placed += _plan_house_numbers(layout, house_boxes, collider, pad)
    placed += _plan_street_names(layout, features, collider, pad, (width, height))
    # Last: a Flur number may go anywhere in its Flur, the other labels have one place each.
    placed += _plan_flur_labels(layout, features, collider, pad, obstacles)
    return placed


def _inside_face(box: tuple[float, float, float, float], size: tuple[int, int], margin: float) -> bool:
    return box[0] >= margin and box[1] >= margin and box[2] <= size[0] - margin and box[3] <= size[1] - margin


def _obstacle_tree(
    layout: Layout, features: MapFeatures, house_boxes: list[tuple[str, tuple[float, float, float, float]]]
) -> shapely.STRtree | None:
    """Buildings and house numbers (ground): a label on them is allowed, but a free spot is better."""
    res = layout.metres_per_px
    minx, _, _, maxy = layout.bbox
    obstacles = [b.geometry for b in features.buildings] + [
        shapely.box(minx + b[0] * res, maxy - b[3] * res, minx + b[2] * res, maxy - b[1] * res)
        for _, b in house_boxes
    ]
    return shapely.STRtree(obstacles) if obstacles else None


def _covers_obstacle(tree: shapely.STRtree | None, boxes: np.ndarray) -> np.ndarray:
    blocked = np.zeros(len(boxes), dtype=bool)
    if tree is not None and len(boxes):
        blocked[np.unique(tree.query(boxes, predicate="intersects")[0])] = True
    return blocked


def _plan_parcel_labels(
    layout: Layout,
    features: MapFeatures,
    collider: _Collider,
    pad: float,
    tree: shapely.STRtree | None,
    face_size: tuple[int, int],
) -> list[PlacedLabel]:
    parcels = features.parcels
    if not parcels:
        return []
    res = layout.metres_per_px
    minx, miny, maxx, maxy = layout.bbox
    cap = layout.px(style.PARCEL_LABEL_MM)
    gap = layout.px(style.FRACTION_GAP_MM)
    font = fonts.font_for_cap_height("regular", cap)
    edge = layout.px(style.LABEL_EDGE_MM)

    geoms = np.array([p.geometry for p in parcels], dtype=object)
    visible = shapely.clip_by_rect(geoms, minx, miny, maxx, maxy)
    area = shapely.area(visible)
    # A parcel smaller than the smallest label (one digit) cannot carry one: leaving it out
    # here saves the costly placement on zoomed-out screen maps full of tiny parcels.
    idx = np.flatnonzero(area >= font.getlength("1") * cap * res * res)
    if len(idx) == 0:
        return []

    lines_of: list[tuple[str, ...]] = []
    sizes = np.empty((len(idx), 2))
    for row, i in enumerate(idx):
        k = parcels[i].kennzeichen
        lines = (str(k.zaehler),) if k.nenner is None else (str(k.zaehler), str(k.nenner))
        lines_of.append(lines)
        sizes[row, 0] = max(font.getlength(text) for text in lines)
        sizes[row, 1] = cap if len(lines) == 1 else 2 * cap + 2 * gap
    roomy = area[idx] >= sizes[:, 0] * sizes[:, 1] * res * res
    idx, sizes = idx[roomy], sizes[roomy]
    lines_of = [lines for lines, keep in zip(lines_of, roomy) if keep]
    if len(idx) == 0:
        return []
    visible = visible[idx]

    # Candidates, best first: the centroid (where ALKIS usually puts the number), the centre of
    # the largest circle that fits in the unbuilt part of the parcel (the garden of a narrow plot
    # whose middle is taken by its house), the same for the whole parcel (the roomiest spot of an
    # L-shaped or curved one) and four points around that one. Only parcels whose centroid does
    # not do get the others: the inscribed circles are the costliest step of a preview.
    buildings = np.array([b.geometry for b in features.buildings], dtype=object)
    shapely.prepare(visible)  # each parcel is tested against several boxes
    half = sizes * res / 2  # ground
    keep_off = pad * res / 2
    clearance = layout.px(style.LABEL_CLEARANCE_MM) * res

    def assess(parcel_rows: np.ndarray, points: np.ndarray):
        """Per candidate point: whether the label fits its parcel (else -1), and a penalty:
        +2 when it fits only without clearance from the boundary, +1 when it covers a building
        or house number. A cramped spot or one on a roof is still better than no number."""
        hw, hh = half[parcel_rows, 0], half[parcel_rows, 1]
        x, y = points[:, 0], points[:, 1]
        parcels_here = visible[parcel_rows]
        fit = shapely.contains(parcels_here, shapely.box(x - hw, y - hh, x + hw, y + hh))
        c = clearance
        clear = shapely.contains(parcels_here, shapely.box(x - hw - c, y - hh - c, x + hw + c, y + hh + c))
        near = shapely.box(x - hw - keep_off, y - hh - keep_off, x + hw + keep_off, y + hh + keep_off)
        return np.where(fit, 2 * ~clear + _covers_obstacle(tree, near), -1)

    n = len(idx)
    cand_rows: list[np.ndarray] = []
    cand_xy: list[np.ndarray] = []
    cand_penalty: list[np.ndarray] = []

    def consider(parcel_rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        penalty = assess(parcel_rows, points)
        cand_rows.append(parcel_rows)
        cand_xy.append(points)
        cand_penalty.append(penalty)
        return penalty

    tolerance = max(res, layout.scale / 1000.0 * 1.0)  # 1 mm on paper is close enough

    def circle_centres(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        circles = shapely.maximum_inscribed_circle(polygons, tolerance)
        return shapely.get_coordinates(shapely.get_point(circles, 0)), shapely.length(circles)

    # Each stage only for the parcels the previous one left without a perfect spot.
    rows = np.arange(n)
    more = rows[consider(rows, shapely.get_coordinates(shapely.centroid(visible))) != 0]
    if len(more):
        unbuilt, built_on = _minus_buildings(visible[more], buildings)
        free, _ = circle_centres(unbuilt)
        more = more[consider(more, free) != 0]
    if len(more):
        centre, radius = circle_centres(visible[more])
        consider(more, centre)
        for offset in ((0.5, 0), (-0.5, 0), (0, 0.5), (0, -0.5)):
            consider(more, centre + radius[:, None] * np.array(offset))
    options: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
    for r, xy, penalty in zip(cand_rows, cand_xy, cand_penalty):
        for k in np.flatnonzero(penalty >= 0):
            options[r[k]].append((int(penalty[k]), xy[k, 0], xy[k, 1]))

    placed: list[PlacedLabel] = []
    for row in np.argsort(-area[idx], kind="stable"):
        w, h = sizes[row]
        for _, gx, gy in sorted(options[row], key=lambda o: o[0]):
            px, py = (gx - minx) / res, (maxy - gy) / res
            box = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
            padded = _padded(box, pad)
            if not _inside_face(box, face_size, edge) or collider.hits(padded):
                continue
            collider.add(padded)
            placed.append(PlacedLabel("parcel", lines_of[row], (px, py), 0.0, (w, h), box))
            break
    return placed


def _plan_flur_labels(
    layout: Layout, features: MapFeatures, collider: _Collider, pad: float, tree: shapely.STRtree | None
) -> list[PlacedLabel]:
    """"Flur 3" once in each piece of a Flur the face shows, where no other label is.

    It goes beside the Flur boundary, at the free spot nearest the stretch of boundary closest to
    the middle of the face (where the parcel asked for lies), so the numbers of two Fluren face each
    other across their boundary; a piece with no boundary in view has it in its middle. It prefers
    spots off the streets (in a street it reads as part of the street's name), inside one parcel
    (across a parcel boundary its halo hides bits of the line) and off buildings, but not at any
    distance (style.FLUR_LABEL_DRIFT_MM).
    """
    if not features.fluren:
        return []
    res = layout.metres_per_px
    minx, miny, maxx, maxy = layout.bbox
    cap = layout.px(style.FLUR_LABEL_MM)
    font = fonts.font_for_cap_height("bold", cap)
    edge = layout.px(style.LABEL_EDGE_MM) * res
    # Ground distance a label keeps from the Flur band: half the band and the usual label padding.
    keep = (layout.px(style.FLUR_LINE_MM) / 2 + pad) * res
    side, above = (layout.px(mm) for mm in style.FLUR_LABEL_CLEARANCE_MM)
    drift = layout.px(style.FLUR_LABEL_DRIFT_MM) * res
    step = 2 * cap * res  # candidate grid; finer costs time and finds hardly better spots
    inner = shapely.box(minx + edge, miny + edge, maxx - edge, maxy - edge)
    areas = np.array([f.geometry for f in features.fluren], dtype=object)
    pieces = shapely.get_parts(shapely.clip_by_rect(areas, *inner.bounds), return_index=True)
    middle = shapely.Point(layout.centre)
    is_polygon = (shapely.get_type_id(pieces[0]) == 3) & ~shapely.is_empty(pieces[0])
    pieces, owner = pieces[0][is_polygon], pieces[1][is_polygon]
    # Clipped copies, prepared: "inside one parcel" is many containment tests, and the source's
    # own geometries are left as they are.
    parcels = np.array([p.geometry for p in features.parcels], dtype=object)
    parcels = shapely.clip_by_rect(parcels, *inner.bounds)
    shapely.prepare(parcels)
    parcel_tree = shapely.STRtree(parcels)
    street_tree = shapely.STRtree([s.line for s in features.streets]) if features.streets else None

    def penalty(boxes: np.ndarray) -> np.ndarray:
        """2 on a street, 1 across a parcel boundary, 1 on a building or house number."""
        box_i, parcel_j = parcel_tree.query(boxes)
        inside = shapely.contains(parcels[parcel_j], boxes[box_i])
        in_one = np.bincount(box_i[inside], minlength=len(boxes)) > 0
        return 2 * _covers_obstacle(street_tree, boxes) + ~in_one + _covers_obstacle(tree, boxes)

    placed: list[PlacedLabel] = []
    for piece, flur in sorted(zip(pieces, owner), key=lambda item: -item[0].area):
        text = features.fluren[flur].label
        _, top, _, bottom = font.getbbox(text, anchor="ls")
        w = font.getlength(text)
        # paste_rotated_text centres the middle of the cap height; the block must cover the ascenders.
        h = 2 * max(-top - cap / 2, bottom + cap / 2)
        hw, hh = w / 2 * res + keep, h / 2 * res + keep
        if piece.area < 4 * hw * hh:
            continue
        x0, y0, x1, y1 = piece.bounds
        gx, gy = np.meshgrid(np.arange(x0 + hw, x1 - hw, step), np.arange(y0 + hh, y1 - hh, step))
        boundary = _boundary_not_on(piece, inner.bounds)
        if shapely.is_empty(boundary):
            towards = shapely.maximum_inscribed_circle(piece, step / 2)  # from its centre outwards
        else:
            towards = shapely.shortest_line(boundary, middle)  # from the boundary towards the middle
        centre = shapely.get_coordinates(shapely.get_point(towards, 0))
        points = np.vstack((centre, np.column_stack((gx.ravel(), gy.ravel()))))
        distance = np.hypot(points[:, 0] - centre[0, 0], points[:, 1] - centre[0, 1])
        shapely.prepare(piece)

        def boxes_px(ground_x: float, ground_y: float):
            """The label's box on the face at a ground point, and the box with its clearance."""
            px, py = (ground_x - minx) / res, (maxy - ground_y) / res
            box = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
            return box, (box[0] - side, box[1] - above, box[2] + side, box[3] + above)

        # The nearest candidates first, a few dozen at a time: once the distance alone costs more
        # than the best free spot found, no farther one can beat it (and most are never tested).
        best: tuple[float, float, float] | None = None
        order = np.argsort(distance, kind="stable")
        for chunk in np.split(order, np.arange(64, len(order), 64)):
            if best is not None and distance[chunk[0]] / drift >= best[0]:
                break
            x, y, d = points[chunk, 0], points[chunk, 1], distance[chunk]
            fits = shapely.contains(piece, shapely.box(x - hw, y - hh, x + hw, y + hh))
            x, y, d = x[fits], y[fits], d[fits]
            if len(x) == 0:
                continue
            labels = shapely.box(x - hw + keep, y - hh + keep, x + hw - keep, y + hh - keep)
            score = penalty(labels) + d / drift
            for k in np.argsort(score, kind="stable"):
                if best is not None and score[k] >= best[0]:
                    break
                if not collider.hits(boxes_px(x[k], y[k])[1]):
                    best = (score[k], x[k], y[k])
                    break
        if best is not None:
            box, padded = boxes_px(best[1], best[2])
            collider.add(padded)
            centre_px = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            placed.append(PlacedLabel("flur", (text,), centre_px, 0.0, (w, h), box))
    return placed


def _boundary_not_on(piece, rect: tuple[float, float, float, float]):
    """The boundary of a polygon clipped to `rect` without the edges the clip made along it (those
    have exactly the rectangle's coordinates): where the polygon really ends."""
    segments = []
    for ring in shapely.get_rings(piece):
        xy = shapely.get_coordinates(ring)
        a, b = xy[:-1], xy[1:]
        along_x = (a[:, 1] == b[:, 1]) & np.isin(a[:, 1], (rect[1], rect[3]))
        along_y = (a[:, 0] == b[:, 0]) & np.isin(a[:, 0], (rect[0], rect[2]))
        keep = ~(along_x | along_y)
        segments.append(np.stack((a[keep], b[keep]), axis=1))
    return shapely.multilinestrings(shapely.linestrings(np.concatenate(segments)))


def _minus_buildings(parcels: np.ndarray, buildings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each parcel without the buildings on it, and which parcels had any (a parcel that would
    vanish entirely is kept whole)."""
    result = parcels.copy()
    has = np.zeros(len(parcels), dtype=bool)
    if len(buildings) == 0:
        return result, has
    parcel_idx, building_idx = shapely.STRtree(buildings).query(parcels, predicate="intersects")
    if len(parcel_idx) == 0:
        return result, has
    counts = np.bincount(parcel_idx, minlength=len(parcels))
    cutter = np.full(len(parcels), None, dtype=object)
    single = counts[parcel_idx] == 1
    cutter[parcel_idx[single]] = buildings[building_idx[single]]
    for p in np.flatnonzero(counts > 1):
        cutter[p] = shapely.union_all(buildings[building_idx[parcel_idx == p]])
    has = counts > 0
    result[has] = shapely.difference(parcels[has], cutter[has])
    empty = shapely.is_empty(result) | (shapely.area(result) <= 0)
    result[empty] = parcels[empty]
    return result, has & ~empty


def _house_number_boxes(
    layout: Layout, features: MapFeatures
) -> list[tuple[str, tuple[float, float, float, float]]]:
    if not features.addresses or layout.scale > style.HOUSE_NUMBERS_UP_TO_SCALE:
        return []
    cap = layout.px(style.HOUSE_NUMBER_MM)
    font = fonts.font_for_cap_height("regular", cap)
    points = np.array([a.point for a in features.addresses], dtype=object)
    xy = face_xy(shapely.get_coordinates(shapely.centroid(points)), layout)
    out = []
    for address, (px, py) in zip(features.addresses, xy):
        text = address.house_number.strip()
        if not text:
            continue
        w = font.getlength(text)
        out.append((text, (px - w / 2, py - cap / 2, px + w / 2, py + cap / 2)))
    return out


def _plan_house_numbers(
    layout: Layout,
    house_boxes: list[tuple[str, tuple[float, float, float, float]]],
    collider: _Collider,
    pad: float,
) -> list[PlacedLabel]:
    size = layout.map_face_size_px
    placed = []
    seen: set[tuple[str, int, int]] = set()
    for text, box in house_boxes:
        key = (text, round(box[0]), round(box[1]))
        if key in seen:  # the same address delivered twice (several parcels, several sources)
            continue
        seen.add(key)
        padded = _padded(box, pad / 2)
        if not _inside_face(box, size, layout.px(style.LABEL_EDGE_MM)) or collider.hits(padded):
            continue
        collider.add(padded)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        placed.append(
            PlacedLabel("house_number", (text,), centre, 0.0, (box[2] - box[0], box[3] - box[1]), box)
        )
    return placed


def upright_angle(dx: float, dy: float) -> float:
    """Text angle (degrees counter-clockwise) along a direction in image coordinates (y down),
    turned so the text never reads upside down: the result lies in (-90, 90]."""
    angle = math.degrees(math.atan2(-dy, dx))
    if angle > 90:
        angle -= 180
    elif angle <= -90:
        angle += 180
    return angle


def _rotated_box(cx: float, cy: float, w: float, h: float, angle: float):
    a = math.radians(angle)
    ux, uy = math.cos(a), -math.sin(a)  # along the text, image coordinates
    vx, vy = math.sin(a), math.cos(a)  # down the text
    corners = [
        (cx + sx * w / 2 * ux + sy * h / 2 * vx, cy + sx * w / 2 * uy + sy * h / 2 * vy)
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    return shapely.Polygon(corners), (min(xs), min(ys), max(xs), max(ys))


def _plan_street_names(
    layout: Layout, features: MapFeatures, collider: _Collider, pad: float, face_size: tuple[int, int]
) -> list[PlacedLabel]:
    if not features.streets:
        return []
    res = layout.metres_per_px
    cap = layout.px(style.STREET_NAME_MM)
    font = fonts.font_for_cap_height("oblique", cap)
    spacing = layout.px(style.STREET_REPEAT_MM)
    # The block height covers umlaut dots and descenders (ß, g), not just the cap height.
    ascent, descent = font.getbbox("ÄÜgß", anchor="ls")[1], font.getbbox("gß", anchor="ls")[3]
    text_h = descent - ascent
    minx, miny, maxx, maxy = layout.bbox
    inset = (text_h / 2 + pad) * res
    tolerance = layout.px(0.4) * res  # a chord within 0.4 mm of the street stays on the street

    # A street often arrives in many pieces; naming is per street, so repeats are spaced along it.
    by_name: dict[str, list] = defaultdict(list)
    for street in features.streets:
        if street.name and street.line is not None and not street.line.is_empty:
            by_name[street.name].append(street.line)

    placed: list[PlacedLabel] = []
    for name, lines in by_name.items():
        parts = shapely.get_parts(np.array(lines, dtype=object))
        merged = shapely.line_merge(shapely.multilinestrings(parts)) if len(parts) > 1 else parts[0]
        clipped = shapely.clip_by_rect(merged, minx + inset, miny + inset, maxx - inset, maxy - inset)
        clipped = shapely.simplify(clipped, tolerance)
        pieces = shapely.get_parts(clipped)
        pieces = pieces[shapely.get_type_id(pieces) == 1]
        if len(pieces) == 0:
            continue
        text_w = font.getlength(name)
        need = text_w + 2 * pad
        candidates = []  # (segment length, x, y, angle)
        for piece in pieces:
            xy = face_xy(shapely.get_coordinates(piece), layout)
            seg = np.diff(xy, axis=0)
            lengths = np.hypot(seg[:, 0], seg[:, 1])
            for k in np.flatnonzero(lengths >= need):
                length = lengths[k]
                # Many positions along the segment, the middle ones first: the road parcel's own
                # number usually sits in the middle, and the name should then move aside, not vanish.
                offsets = np.arange(need / 2, length - need / 2 + 1e-9, max(need / 3, 1.0))
                for offset in offsets:
                    x, y = xy[k] + seg[k] * (offset / length)
                    candidates.append((length, abs(offset - length / 2), x, y, upright_angle(*seg[k])))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        taken: list[tuple[float, float]] = []
        for _, _, x, y, angle in candidates:
            if any(math.hypot(x - tx, y - ty) < spacing for tx, ty in taken):
                continue
            shape, box = _rotated_box(x, y, text_w, text_h, angle)
            padded_shape, padded = _rotated_box(x, y, text_w + 2 * pad, text_h + 2 * pad, angle)
            if not _inside_face(box, face_size, layout.px(style.LABEL_EDGE_MM)) or collider.hits(
                padded, padded_shape
            ):
                continue
            collider.add(padded, padded_shape)
            taken.append((x, y))
            placed.append(PlacedLabel("street", (name,), (x, y), angle, (text_w, text_h), box))
    return placed


# --- drawing labels -----------------------------------------------------------------------------


def draw_labels(image: Image.Image, layout: Layout, labels: list[PlacedLabel]) -> None:
    """Draw planned labels onto a map face at output resolution."""
    draw = ImageDraw.Draw(image)
    halo = max(1, round(layout.px(style.LABEL_HALO_MM)))
    parcel_cap = layout.px(style.PARCEL_LABEL_MM)
    parcel_font = fonts.font_for_cap_height("regular", parcel_cap)
    house_cap = layout.px(style.HOUSE_NUMBER_MM)
    house_font = fonts.font_for_cap_height("regular", house_cap)
    flur_cap = layout.px(style.FLUR_LABEL_MM)
    gap = layout.px(style.FRACTION_GAP_MM)
    fraction_line = max(1, round(layout.px(style.FRACTION_LINE_MM)))
    for label in labels:
        cx, cy = label.centre
        if label.kind == "parcel":
            colour = style.PARCEL_LABEL_COLOUR
            # No halo: the label lies inside its parcel, off the lines, and a stroked text
            # costs Pillow three times as long to set.
            common = dict(font=parcel_font, fill=colour, anchor="ms")
            if len(label.lines) == 1:
                draw.text((cx, cy + parcel_cap / 2), label.lines[0], **common)
            else:
                draw.text((cx, cy - gap), label.lines[0], **common)
                draw.text((cx, cy + gap + parcel_cap), label.lines[1], **common)
                half = label.size[0] / 2
                top = round(cy - fraction_line / 2)
                draw.rectangle(
                    (round(cx - half), top, round(cx + half) - 1, top + fraction_line - 1), fill=colour
                )
        elif label.kind == "flur":
            paste_rotated_text(
                image, label.text, "bold", flur_cap, (cx, cy), 0.0, style.FLUR_LABEL_COLOUR, halo=halo
            )
        elif label.kind == "house_number":
            draw.text(
                (cx, cy + house_cap / 2),
                label.lines[0],
                font=house_font,
                fill=style.HOUSE_NUMBER_COLOUR,
                anchor="ms",
            )
        else:
            paste_rotated_text(
                image,
                label.lines[0],
                "oblique",
                layout.px(style.STREET_NAME_MM),
                (cx, cy),
                label.angle,
                style.STREET_NAME_COLOUR,
                halo=halo,
            )


def paste_rotated_text(
    image: Image.Image,
    text: str,
    face: str,
    cap_px: float,
    centre: tuple[float, float],
    angle: float,
    colour: tuple[int, int, int],
    *,
    halo: int = 0,
    halo_colour: tuple[int, int, int] = style.WHITE,
) -> None:
    """Set `text` turned by `angle` degrees (counter-clockwise) with the middle of its cap height
    at `centre` (image pixel edge coordinates), optionally with a halo `halo` pixels wide."""
    glyphs = rotated_text_mask(text, face, cap_px, angle, halo)
    x0 = round(centre[0] - glyphs.width / 2)
    y0 = round(centre[1] - glyphs.height / 2)
    box = (x0, y0, x0 + glyphs.width, y0 + glyphs.height)
    if halo:
        # Dilating the set text is ten times cheaper than asking FreeType for a stroked one.
        image.paste(halo_colour, box, glyphs.filter(ImageFilter.MaxFilter(2 * halo + 1)))
    image.paste(colour, box, glyphs)


def rotated_text_mask(text: str, face: str, cap_px: float, angle: float, margin: int = 0) -> Image.Image:
    """An "L" mask of `text` turned by `angle`, with the middle of its cap height at the centre."""
    font = fonts.font_for_cap_height(face, cap_px)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    # The mask is built symmetric about the reference point so that after rotation with
    # expand=True the reference point is the centre of the rotated mask.
    ref_x, ref_y = font.getlength(text) / 2, -cap_px / 2
    half_w = max(ref_x - left, right - ref_x) + 1 + margin
    half_h = max(ref_y - top, bottom - ref_y) + 1 + margin
    size = (math.ceil(2 * half_w), math.ceil(2 * half_h))
    glyphs = Image.new("L", size, 0)
    ImageDraw.Draw(glyphs).text(
        (size[0] / 2 - ref_x, size[1] / 2 - ref_y), text, font=font, fill=255, anchor="ls"
    )
    if angle:
        glyphs = glyphs.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return glyphs
