"""Command line: `gis-service serve` and `gis-service preview KEY -o out.png|pdf|tif`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cadastre.errors import CadastreError
from gis_service.config import ConfigError, Settings, load_settings

log = logging.getLogger("gis_service")


def _load(args) -> Settings:
    return load_settings(args.config)


def cmd_serve(args) -> int:
    from waitress import serve

    from gis_service.app import create_app

    settings = _load(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    app = create_app(settings)
    info = app.extensions["gis_source"].info()
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '::') else host}:{port}/embed"
    print(f"gis-service: serving {info.name} ({len(getattr(app.extensions['gis_source'], 'parcels', []))} parcels)", flush=True)
    print(f"gis-service: open {url}", flush=True)
    serve(app, host=host, port=port, threads=settings.server.threads, ident="gis-service")
    return 0


def cmd_preview(args) -> int:
    from gis_service.app import create_app

    settings = _load(args)
    app = create_app(settings)
    previews = app.extensions["gis_previews"]
    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".png", ".pdf", ".tif", ".tiff"):
        print(f"gis-service: output must end in .png, .pdf or .tif, not {output.suffix or '(none)'}", file=sys.stderr)
        return 2
    request = previews.request_from_args(
        {
            "parcel": args.key,
            "scale": str(args.scale) if args.scale else "",
            "paper": args.paper or "",
            "orientation": args.orientation or "",
            "dpi": str(args.dpi) if args.dpi else "",
            "center": args.center or "",
        }
    )
    if suffix == ".png":
        data = previews.png(request)
    elif suffix == ".pdf":
        data = previews.pdf(request)
    else:
        data = previews.geotiff(request)
    output.write_bytes(data)
    plan = previews.plan(request)
    fits = "fits" if plan.fits else f"does NOT fit (largest fitting scale: 1:{plan.largest_fitting_scale})"
    print(f"{output}: {plan.parcel.label}, 1:{request.scale}, {request.paper} {request.orientation}, {request.dpi} dpi; parcel {fits}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gis-service", description="Cadastral map extracts: search, preview, order.")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--config", help="YAML configuration file (default: $GIS_SERVICE_CONFIG or the demo data)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    preview = sub.add_parser("preview", help="render a preview of one parcel to a file")
    preview.add_argument("key", help="parcel in any accepted form, e.g. 059871001001230004__ or '9871 1 123/4'")
    preview.add_argument("--scale", type=int)
    preview.add_argument("--paper", choices=["A4", "A3"])
    preview.add_argument("--orientation", choices=["portrait", "landscape"])
    preview.add_argument("--dpi", type=int)
    preview.add_argument("--center", help="map centre x,y in EPSG:25832")
    preview.add_argument("-o", "--output", required=True, help="out.png, out.pdf or out.tif")
    preview.add_argument("--config")
    preview.set_defaults(func=cmd_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"gis-service: {exc}", file=sys.stderr)
        return 2
    except CadastreError as exc:
        print(f"gis-service: {exc.de}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
