"""Command line: `gis-service serve`, `preview`, `check-upstream`, `check-seal`, `seed`, and the order commands (payment-simulator, create-admin, …)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cadastre.errors import CadastreError
from gis_service.config import ConfigError, Settings, load_settings
from gis_service.logging_setup import configure_logging

log = logging.getLogger("gis_service")


def _load(args) -> Settings:
    return load_settings(args.config)


def cmd_serve(args) -> int:
    from waitress import serve

    from gis_service.app import create_app

    settings = _load(args)
    # the command line wins, and the app sees it too (links in e-mails and payment callbacks)
    settings.server.host = host = args.host or settings.server.host
    settings.server.port = port = args.port or settings.server.port
    configure_logging(settings.logging.format, args.log_level or settings.logging.level)
    app = create_app(settings)
    info = app.extensions["gis_source"].info()
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '::') else host}:{port}/embed"
    print(f"gis-service: serving {info.name} ({len(getattr(app.extensions['gis_source'], 'parcels', []))} parcels)", flush=True)
    print(f"gis-service: open {url}", flush=True)
    serve(app, host=host, port=port, threads=settings.server.threads, ident="gis-service")
    return 0


def cmd_preview(args) -> int:
    from gis_service.wiring import build_services

    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".png", ".pdf", ".tif", ".tiff"):
        print(f"gis-service: output must end in .png, .pdf or .tif, not {output.suffix or '(none)'}", file=sys.stderr)
        return 2
    services = build_services(_load(args))
    previews = services.previews
    plan = previews.plan_from_args(
        {
            "parcel": args.key,
            "scale": str(args.scale) if args.scale else "",
            "paper": args.paper or "",
            "orientation": args.orientation or "",
            "dpi": str(args.dpi) if args.dpi else "",
            "center": args.center or "",
        }
    )
    render = {".png": previews.png, ".pdf": previews.pdf}.get(suffix, previews.geotiff)
    output.write_bytes(render(plan).data)
    services.close()
    request = plan.request
    fits = "fits" if plan.fits else f"does NOT fit (largest fitting scale: 1:{plan.largest_fitting_scale})"
    print(f"{output}: {plan.parcel.label}, 1:{request.scale}, {request.paper} {request.orientation}, {request.dpi} dpi; parcel {fits}")
    return 0


def cmd_check_upstream(args) -> int:
    import json

    from gis_service.config import UpstreamSourceSettings
    from gis_service.upstream_check import FAIL, Check, check_upstream, exit_code, render_text
    from gis_service.wiring import build_upstream_clients

    settings = _load(args)
    source = settings.source
    if not isinstance(source, UpstreamSourceSettings):
        checks = [Check("source", FAIL, "the configuration has no upstream (source.type is local).",
                        "set source.type: upstream with source.wms and source.wfs")]
    else:
        wms, wfs = build_upstream_clients(settings, source, strict=False)
        try:
            checks = check_upstream(source, wms, wfs)
        finally:
            wfs.close()
            wms.session.close()
    code = exit_code(checks)
    if args.json:
        print(json.dumps({"config": str(settings.config_file) if settings.config_file else None,
                          "verdict": ("ok", "warn", "fail")[code], "exit_code": code,
                          "checks": [c.as_dict() for c in checks]}, ensure_ascii=False, indent=2))
    else:
        print(render_text(checks))
    return code


def cmd_check_seal(args) -> int:
    """The configured electronic seal tried on a test page: exit 0 sealed and trusted, 1 unsigned or untrusted, 2 broken."""
    from datetime import UTC, datetime

    from gis_service.orders.seal import try_seal
    from gis_service.wiring import build_sealer

    sealer = build_sealer(_load(args))  # a certificate that cannot be used: ConfigError, exit 2
    if sealer is None:
        print("no seal certificate configured (orders.seal.pkcs12_path): extracts are issued unsigned, "
              "with their verification code")
        return 1
    check = try_seal(sealer)
    days = (check.not_after - datetime.now(UTC)).days
    print(f"seal:        {check.subject}\nissued by:   {check.issuer}\nvalid until: {check.not_after:%Y-%m-%d} "
          f"({days} days)\nlevel:       PAdES {check.level}")
    if check.problem:
        print(f"✗ {check.problem}")
        return 2
    print(f"{'✓' if check.intact else '✗'} a test page sealed in {check.milliseconds:.0f} ms"
          f"{', with a timestamp' if check.timestamped else ''}; the signature is {'intact' if check.intact else 'BROKEN'}")
    print(f"{'✓' if check.trusted else '!'} the certificate "
          f"{'chains to a root in the PKCS#12 file' if check.trusted else 'does not chain to a root in the PKCS#12 file (add the chain, or check that readers trust its CA)'}")
    return 0 if check.ok else 1 if check.intact else 2


def _orders(args):
    """The order services without the web app (commands that only need the database)."""
    from gis_service.wiring import build_order_services

    return build_order_services(_load(args))


def cmd_payment_simulator(args) -> int:
    import os

    from waitress import serve

    from gis_service.payment_simulator.app import SimulatorConfig, create_simulator_app

    secret = args.secret or os.environ.get("PAYMENT_SIMULATOR_SECRET") or "demo-secret-change-me"
    config = SimulatorConfig(originators={args.originator: secret}, test_controls=args.test_controls,
                             notify_mode=args.notify)
    app = create_simulator_app(config)
    print(f"payment-simulator: http://{args.host}:{args.port}/ (originator {args.originator}, "
          f"notifications {args.notify}{', test controls on' if args.test_controls else ''})", flush=True)
    serve(app, host=args.host, port=args.port, threads=4, ident="payment-simulator")
    return 0


def cmd_db_upgrade(args) -> int:
    from gis_service.orders import db
    from gis_service.orders.db import redacted_url

    orders = _orders(args)
    print(f"database {redacted_url(str(orders.engine.url))} at revision {db.current_revision(orders.engine)}")
    orders.close()
    return 0


def cmd_create_admin(args) -> int:
    import getpass

    from gis_service.orders.accounts import AccountError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Passwort (mindestens 12 Zeichen): ")
        if password != getpass.getpass("Passwort wiederholen: "):
            print("gis-service: die Passwörter stimmen nicht überein", file=sys.stderr)
            return 2
    orders = _orders(args)
    try:
        identity = orders.accounts.create(args.username, password, role=args.role, display_name=args.display_name)
    except AccountError as exc:
        print(f"gis-service: {exc.message}", file=sys.stderr)
        return 2
    finally:
        orders.close()
    print(f"created {identity.role} account {identity.username}")
    return 0


def cmd_purge_personal_data(args) -> int:
    from gis_service.orders.dataprotection import purge_personal_data

    orders = _orders(args)
    try:
        report = purge_personal_data(orders.factory, orders.settings.orders.data_protection, orders.store,
                                     dry_run=args.dry_run)
    finally:
        orders.close()
    verb, purged, deleted = (("would anonymise", "would purge", "would delete") if report.dry_run
                             else ("anonymised", "purged", "deleted"))
    print(f"{verb} {len(report.anonymised)} orders, {purged} {len(report.justifications_purged)} justifications, "
          f"{deleted} {report.files_deleted} files; {deleted} "
          f"{report.drafts_deleted} expired order drafts and {report.orphans_deleted} orphaned files")
    for number in report.anonymised:
        print(f"  {number}")
    return 0


def cmd_run_order_tasks(args) -> int:
    from gis_service.wiring import build_services

    services = build_services(_load(args))  # without the web app, so no background worker starts
    try:
        results = services.orders.service.run_due(startup=True)
    finally:
        services.close()
    print(", ".join(f"{k}: {v}" for k, v in results.items()))
    return 0


def parse_levels(text: str | None, count: int) -> list[int]:
    """"3-5", "2,4,6" or both ("0-2,6"); None: every level. ValueError names what is wrong."""
    if not text:
        return list(range(count))
    levels: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"--levels: {part.strip()!r} is not a level or a range such as 3-5")
        low, high = int(first), int(last or first)
        if not 0 <= low <= high < count:
            raise ValueError(f"--levels: {part.strip()} is outside the levels 0 … {count - 1}")
        levels.update(range(low, high + 1))
    return sorted(levels)


def _progress_printer(stream, started: float):
    """A bar redrawn in place on a terminal; elsewhere (logs, cron) a plain line every 5 % and at the end."""
    interactive = stream.isatty()
    shown = {"step": -1}

    def show(report) -> None:
        import time

        elapsed = time.monotonic() - started
        rate = report.done / elapsed if elapsed > 0 else 0.0
        left = (report.total - report.done) / rate if rate > 0 else 0.0
        text = (f"{report.done}/{report.total} metatiles ({report.made} made, {report.cached} already cached, "
                f"{report.busy} busy elsewhere, {report.failed} failed), {rate:.1f}/s, {left:.0f} s left")
        if interactive:
            width = 24
            filled = width * report.done // max(report.total, 1)
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            if report.done == report.total:
                stream.write("\n")
            stream.flush()
            return
        step = 20 * report.done // max(report.total, 1)
        if step != shown["step"] or report.done == report.total:
            shown["step"] = step
            print(f"seed: {text}", file=stream, flush=True)

    return show


def cmd_seed(args) -> int:
    import time

    from gis_service.parcels import parse_bbox
    from gis_service.tile_grid import TileGrid
    from gis_service.tiles import seed
    from gis_service.wiring import build_services

    settings = _load(args)
    if not settings.tiles.enabled:
        print("gis-service: tiles are switched off (tiles.enabled: false)", file=sys.stderr)
        return 2
    try:
        levels = parse_levels(args.levels, len(TileGrid.from_settings(settings.tiles, settings.preview).matrices))
    except ValueError as exc:
        print(f"gis-service: {exc}", file=sys.stderr)
        return 2
    bbox = parse_bbox(args.bbox) if args.bbox else None
    settings.orders.enabled = False  # maps only: no order database to open or migrate
    services = build_services(settings)
    try:
        tiles = services.tiles
        bbox = bbox or services.source.info().extent
        metatiles = tiles.metatiles(bbox, levels)
        scales = ", ".join(f"{z} (1:{tiles.grid.matrix(z).scale:,.0f})".replace(",", ".") for z in levels)
        print(f"seed: {len(metatiles)} metatiles of {tiles.settings.metatile_size}×{tiles.settings.metatile_size} "
              f"tiles over {', '.join(f'{v:.0f}' for v in bbox)} on levels {scales}; {args.workers} at a time",
              flush=True)
        try:
            report = seed(tiles, metatiles, workers=args.workers,
                          progress=_progress_printer(sys.stdout, time.monotonic()))
        except KeyboardInterrupt:
            print("\nseed: interrupted; the same command again makes only what is missing", file=sys.stderr)
            return 130
    finally:
        services.close()
    for error in report.errors[:20]:
        print(f"seed: failed: {error}", file=sys.stderr)
    if report.failed:
        print(f"seed: {report.failed} of {report.total} metatiles failed; run the same command again to "
              "make only what is missing", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gis-service", description="Cadastral map extracts: search, preview, order.")
    parser.add_argument("--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="default: logging.level of the configuration (serve), else INFO")
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

    check = sub.add_parser("check-upstream", help="check the configured WMS/WFS upstream: layers, CRS, formats, fields, "
                                                   "search extent, DPI parameter, timings; exit 0 green, 1 warnings, 2 failures")
    check.add_argument("--config")
    check.add_argument("--json", action="store_true", help="the checks as JSON instead of one line each")
    check.set_defaults(func=cmd_check_upstream)

    seeder = sub.add_parser("seed", help="fill the tile cache for an area and levels (resumable: what is cached "
                                         "and current is skipped); exit 1 when a metatile failed")
    seeder.add_argument("--bbox", help="minx,miny,maxx,maxy in EPSG:25832 (default: the data's extent)")
    seeder.add_argument("--levels", help="levels such as 3-6 or 4,6 (default: all; /tiles/map.json lists them)")
    seeder.add_argument("--workers", type=int, choices=range(1, 9), default=2, metavar="1…8",
                        help="GetMaps at once toward the upstream (default 2)")
    seeder.add_argument("--config")
    seeder.set_defaults(func=cmd_seed)

    seal = sub.add_parser("check-seal", help="try the configured electronic seal on a test page; exit 0 sealed and "
                                            "trusted, 1 unsigned or not trusted, 2 broken")
    seal.add_argument("--config")
    seal.set_defaults(func=cmd_check_seal)

    simulator = sub.add_parser("payment-simulator", help="run the payment simulator (XBezahldienste-style) on its own port")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=8090)
    simulator.add_argument("--originator", default="gis-service-demo", help="originator id the service sends (orders.payment.originator_id)")
    simulator.add_argument("--secret", help="shared HMAC secret (default $PAYMENT_SIMULATOR_SECRET or the demo secret)")
    simulator.add_argument("--notify", choices=["async", "sync", "none"], default="async",
                           help="when to send the server-to-server notification")
    simulator.add_argument("--test-controls", action="store_true", help="enable the /_test endpoints used by the tests")
    simulator.set_defaults(func=cmd_payment_simulator)

    upgrade = sub.add_parser("db-upgrade", help="migrate the order database to the newest schema")
    upgrade.add_argument("--config")
    upgrade.set_defaults(func=cmd_db_upgrade)

    admin = sub.add_parser("create-admin", help="create a staff account (by default an admin)")
    admin.add_argument("--username", default="admin")
    admin.add_argument("--display-name")
    admin.add_argument("--role", choices=["admin", "clerk"], default="admin")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    admin.add_argument("--config")
    admin.set_defaults(func=cmd_create_admin)

    purge = sub.add_parser("purge-personal-data", help="anonymise orders closed longer ago than the retention period, delete expired drafts")
    purge.add_argument("--dry-run", action="store_true")
    purge.add_argument("--config")
    purge.set_defaults(func=cmd_purge_personal_data)

    tasks = sub.add_parser("run-order-tasks", help="once: reconcile payments, produce, refund, cancel abandoned, send mail, delete expired drafts")
    tasks.add_argument("--config")
    tasks.set_defaults(func=cmd_run_order_tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging("text", args.log_level or "INFO")
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
