"""Sizes in millimetres on paper and colours of the cadastral map style and of the page furniture."""

from __future__ import annotations

# Every length is in millimetres on paper and becomes pixels through Layout.px(), so a 96 dpi
# screen preview and a 300 dpi print show the same proportions. Text sizes are cap heights (the
# height of a digit or capital letter), which is what a reader measures on paper, not the em size.

# Part of every cache key of drawn faces: change it whenever the drawing changes, so no old picture is served.
DRAWING_VERSION = "2026-12-flur"

RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)

# --- map face (ALKIS-like, black and grey on white) -------------------------------------------
BUILDING_FILL: RGB = (217, 217, 217)
BUILDING_OUTLINE: RGB = (77, 77, 77)
BUILDING_OUTLINE_MM = 0.18
PARCEL_LINE: RGB = (0, 0, 0)
PARCEL_LINE_MM = 0.25
MIN_LINE_PX = 1  # at the output resolution: thinner lines vanish on screen

# The Flurgrenze follows signature 2012 "Grenze der Flur" of the GeoInfoDok ALKIS sign catalogue in
# its black-and-white variant (the colour one is the same band in violet): a band 1 mm wide in 60 %
# black, a 5 mm dash and three 1 mm dots repeating every 16 mm. It lies under the parcel boundaries,
# so the boundary it accompanies stays a crisp black line on top of it.
FLUR_LINE: RGB = (102, 102, 102)
FLUR_LINE_MM = 1.0
FLUR_PATTERN_MM = 16.0  # one period of the pattern
FLUR_DASH_MM = (2.5, 7.5)  # start and end of the dash within a period
FLUR_DOTS_MM = (10.0, 13.0, 16.0)  # dot centres within a period
FLUR_LABEL_MM = 3.2  # "Flur 3": larger than parcel numbers, so it reads as naming an area
FLUR_LABEL_COLOUR: RGB = (0, 0, 0)
# Free space beside and above/below a Flur number. Beside it, it is wide: at the usual label padding
# "Flur 2" next to the number of parcel 3 on the same line reads as "Flur 23".
FLUR_LABEL_CLEARANCE_MM = (4.0, 1.0)
# A Flur number this much farther from where it belongs counts as bad as one across a parcel
# boundary: a perfect spot at the far edge of the face names the Flur worse than a near one.
FLUR_LABEL_DRIFT_MM = 40.0

PARCEL_LABEL_MM = 2.2
PARCEL_LABEL_COLOUR: RGB = (0, 0, 0)
FRACTION_LINE_MM = 0.18
FRACTION_GAP_MM = 0.35  # between a number and the fraction line
HOUSE_NUMBER_MM = 1.8
HOUSE_NUMBER_COLOUR: RGB = (0, 0, 0)
# Beyond this scale denominator a 1.8 mm house number is wider than the house it names.
HOUSE_NUMBERS_UP_TO_SCALE = 3000
STREET_NAME_MM = 2.8
STREET_NAME_COLOUR: RGB = (0, 0, 0)
STREET_REPEAT_MM = 110.0  # a street longer than this on paper is named again
LABEL_PAD_MM = 0.6  # free space kept around every label so neighbours do not touch
LABEL_CLEARANCE_MM = 0.4  # preferred gap between a parcel number and its parcel's boundary
LABEL_EDGE_MM = 1.5  # labels keep off the face edge and its inner coordinate ticks
LABEL_HALO_MM = 0.15  # white halo of street names where they cross a line; at least one pixel

# Pillow draws without antialiasing: below this dpi the geometry is drawn at twice the size and
# reduced, which costs a few milliseconds (see bench/bench_render.py) and avoids jagged lines.
SUPERSAMPLE_BELOW_DPI = 200

# --- parcel highlight ---------------------------------------------------------------------------
# The highlight must not rely on hue alone (WCAG 1.4.1; about 8 % of men see red and green
# poorly). It is coded three ways: a thick outline (0.7 mm against 0.25 mm parcel lines), a thin
# white halo that separates it from the black boundary underneath, and diagonal hatching inside.
# The colour is Okabe–Ito "vermillion" (#D55E00), from the palette designed to stay distinct
# under protanopia, deuteranopia and tritanopia; it reads as orange-brown to protanopes and
# deuteranopes, which still stands out against a map that is otherwise black, grey and white,
# and it has a 3.9:1 contrast against white (WCAG 1.4.11 asks 3:1 for graphics). No other
# element of the page uses it, so tests can find the highlight by colour.
HIGHLIGHT_OUTLINE: RGB = (213, 94, 0)
HIGHLIGHT_OUTLINE_MM = 0.7
HIGHLIGHT_HALO: RGB = WHITE
HIGHLIGHT_HALO_MM = 0.2
HIGHLIGHT_FILL_ALPHA = 0.12  # translucent tint, keeps the map inside the parcel readable
HIGHLIGHT_HATCH_ALPHA = 0.45
HIGHLIGHT_HATCH_SPACING_MM = 2.5
HIGHLIGHT_HATCH_WIDTH_MM = 0.3

# --- page furniture -----------------------------------------------------------------------------
FRAME_MM = 0.35
FRAME_COLOUR: RGB = BLACK
TICK_OUTER_MM = 1.3
TICK_INNER_MM = 1.0
TICK_LINE_MM = 0.25
TICK_LABEL_MM = 1.8
TICK_LABEL_GAP_MM = 0.5
NICE_TICK_INTERVALS_M = (10, 20, 25, 50, 100, 200, 250, 500, 1000)
TICKS_PER_SIDE = (3, 8)

WATERMARK_COLOUR: RGB = (90, 90, 90)
WATERMARK_ALPHA = 0.2  # light: the map under it must stay readable
WATERMARK_SPAN = 0.8  # share of the map face diagonal the text covers

TITLE_PAD_MM = 2.0
TITLE_LINE_MM = 0.25
HEADING_MM = 3.2
TITLE_TEXT_MM = 1.8
TITLE_MIN_TEXT_MM = 1.3
ATTRIBUTION_MM = 1.4
SCALEBAR_HEIGHT_MM = 1.6
SCALEBAR_LINE_MM = 0.2
SCALEBAR_LABEL_MM = 1.6
SCALE_TEXT_MM = 2.4
NORTH_ARROW_MM = 11.0
# The QR code of the verification URL, without its quiet zone: at 22 mm a module of a URL's code
# (about 33 modules) is 0.67 mm, which phones and zbarimg read from a print or a 150 dpi scan.
QR_CODE_MM = 22.0
