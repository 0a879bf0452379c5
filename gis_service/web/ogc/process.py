"""pygeoapi process `liegenschaftskarte-vorschau`: the exact-scale preview page of a parcel as PNG."""

from __future__ import annotations

from flask import current_app, g
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from cadastre.errors import CadastreError
from catalogues import in_languages
from gis_service.web.ogc import PROCESS_ID

PROCESS_METADATA = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": in_languages("ogc_process_title"),
    "description": in_languages("ogc_process_description"),
    "jobControlOptions": ["sync-execute"],
    "keywords": ["Liegenschaftskarte", "Flurstück", "ALKIS", "Vorschau"],
    "links": [],
    "inputs": {
        "parcel": {
            "title": in_languages("ogc_input_parcel"),
            "description": in_languages("ogc_input_parcel_description"),
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "scale": {
            "title": in_languages("ogc_input_scale"),
            "description": in_languages("ogc_input_scale_description"),
            "schema": {"type": "integer"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "paper": {
            "title": in_languages("ogc_input_paper"),
            "schema": {"type": "string", "enum": ["A4", "A3"]},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "orientation": {
            "title": in_languages("ogc_input_orientation"),
            "schema": {"type": "string", "enum": ["portrait", "landscape"]},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "dpi": {
            "title": in_languages("ogc_input_dpi"),
            "schema": {"type": "integer", "minimum": 72, "maximum": 600},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "preview": {
            "title": in_languages("ogc_output_preview"),
            "description": in_languages("ogc_output_preview_description"),
            "schema": {"type": "string", "contentEncoding": "binary", "contentMediaType": "image/png"},
        }
    },
    "example": {"inputs": {"parcel": "05987100100090______", "scale": 1000, "paper": "A4", "orientation": "portrait"}},
}


class VorschauProcessor(BaseProcessor):
    """Runs PreviewService.png of the serving app; the same validation and cache as /api/v1/preview.png."""

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict, outputs: dict | None = None):
        names = ("parcel", "scale", "paper", "orientation", "dpi")
        args = {name: str(data[name]) for name in names if data.get(name) not in (None, "")}
        previews = current_app.extensions["gis_previews"]
        try:
            rendered = previews.png(previews.plan_from_args(args))
            g.gis_map_source = rendered.map_source
            return "image/png", rendered.data
        except CadastreError as error:
            raise ProcessorExecuteError(user_msg=error.message("en")) from error

    def __repr__(self) -> str:
        return f"<VorschauProcessor> {self.name}"
