"""The gettext catalogues hold every text the code uses, translated, and nothing stale; no texts left in Python."""

from __future__ import annotations

import ast
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import catalogues

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cadastre", "wms_clients", "renderers", "gis_service", "catalogues")
# t() in templates and pages, text() of web.i18n and catalogues, msg() for errors, N_() for ids used later,
# in_languages() for metadata in every language;
# the ids are symbolic, so anything else extracted (SQL given to SQLAlchemy's text(), say) is not ours.
KEYWORDS = ("t", "text", "msg", "N_", "in_languages")
MESSAGE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def catalogue(lang: str):
    with catalogues.po_path(lang).open("rb") as fp:
        return read_po(fp, locale=lang)


@pytest.fixture(scope="module")
def used_ids(tmp_path_factory) -> dict[str, list[str]]:
    """Message id → where the code uses it, from `pybabel extract` over the packages and the templates."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", *[f"-k{k}" for k in KEYWORDS], "-o", str(pot),
                    *PACKAGES, "templates"], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fp:
        template = read_po(fp)
    return {m.id: [f"{path}:{line}" for path, line in m.locations]
            for m in template if m.id and isinstance(m.id, str) and MESSAGE_ID.match(m.id)}


def test_every_id_the_code_uses_is_in_both_catalogues_and_translated(used_ids):
    assert len(used_ids) > 300, "the extraction found too few ids; is babel.cfg read?"
    problems = []
    for lang in catalogues.LANGUAGES:
        entries = catalogue(lang)
        for key, where in sorted(used_ids.items()):
            entry = entries.get(key)
            if entry is None:
                problems.append(f"{where[0]}: {key!r} is not in {lang}.po")
            elif not entry.string:
                problems.append(f"{where[0]}: {key!r} is untranslated (empty msgstr) in {lang}.po")
            elif entry.fuzzy:
                problems.append(f"{where[0]}: {key!r} is marked fuzzy in {lang}.po; check it and clear the mark")
    assert not problems, "\n".join(problems)


def test_no_stale_entries(used_ids):
    stale = [f"{lang}.po: {m.id!r} is used nowhere (remove it, or mark the code's id with N_())"
             for lang in catalogues.LANGUAGES for m in catalogue(lang) if m.id and m.id not in used_ids]
    assert not stale, "\n".join(stale)


def test_both_languages_fill_the_same_placeholders():
    def names(text: str) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}

    german, english = catalogue("de"), catalogue("en")
    different = [f"{m.id!r}: de {sorted(names(m.string))} en {sorted(names(english[m.id].string))}"
                 for m in german if m.id and m.id in english and english[m.id].string
                 and names(m.string) != names(english[m.id].string)]
    assert not different, "\n".join(different)


def test_a_text_is_read_in_each_language_and_an_unknown_id_fails():
    assert catalogues.text("order_start", "de") == "Auszug bestellen"
    assert catalogues.text("order_start", "en") == "Order an extract"
    assert catalogues.text("order_start", "fr") == "Auszug bestellen"  # unknown languages get German
    assert catalogues.text("results_count", "en", n=3) == "3 parcels found."
    assert catalogues.msg("parameter_invalid", name="x", detail=catalogues.msg("parcels_not_a_number")).render("de") \
        == "Parameter „x“: keine Zahl."
    # a value may be called like a parameter of the lookup itself
    assert catalogues.msg("parcels_parcel_not_found", label="Flur 1", key="K").render("en") == "Parcel Flur 1 (K) was not found."
    with pytest.raises(KeyError):
        catalogues.text("no_such_message_id", "de")


# --- no user-facing text left in Python source ------------------------------------------------------------------
#
# What counts: a {"de": …, "en": …} dictionary; German and English sentences given to the error classes and
# helpers that show them to people (ApiError and its kin, FieldError, bad_parameter, AccountError, flash,
# abort); any other string literal that reads as German prose (an umlaut or a common German word, and a space).
# What may stay, and why: docstrings (for developers); log and exception messages for operators, which are
# English by the house rules (logging calls, ConfigError, RuntimeError, print in the CLI); single words and
# German domain terms without a sentence (Flurstück, Gemarkung), and the character tables that fold umlauts
# for searching; database migrations (history, never shown).
SINKS = {"ApiError", "NotFound", "UpstreamUnavailable", "RendersBusy", "ActionError", "CadastreError",
         "KennzeichenError", "DatasetError", "ChoiceProblem", "FieldError", "bad_parameter", "AccountError",
         "ExtractUnavailable", "flash", "abort"}
GERMAN_PROSE = re.compile(r"[äöüÄÖÜß„“]|\b(der|die|das|und|nicht|bitte|Bitte|ist|wird|Sie|eine?|für|mit|kein|keine)\b")
OPERATOR_CALLS = re.compile(r"^(log|logger|logging|_log|self\.log|warnings)\.|^(print|ConfigError|RuntimeError|"
                            r"ValueError|TypeError|SystemExit|click\.echo|parser\.error|argparse\.)")

# Whole files whose words are not the service's own texts, and why.
NOT_OURS = {
    "gis_service/config.py": "the configuration's defaults: product names, the office, the attribution are the "
                             "operator's wording (in YAML, with de/en fields), not texts of the code",
    "gis_service/web/openapi.py": "the API contract for integrators, one bilingual document (de / en in each line)",
    "gis_service/payment_simulator/app.py": "stands in for a third party's payment service, which has its own texts",
    "gis_service/upstream_check.py": "check-upstream's report to the operator (English, house rule), naming German "
                                     "domain terms",
}

# Texts not yet moved, per file (the count of findings); a file may only go down. Empty when all are moved.
PENDING: dict[str, int] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _strings_within(node: ast.AST):
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            yield inner


def findings(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if OPERATOR_CALLS.match(name) or name.endswith((".debug", ".info", ".warning", ".error", ".exception")):
                skip.update(id(s) for s in _strings_within(node))
            elif name in SINKS or name == "super().__init__" or (name.endswith("Error") and sum(
                    isinstance(arg, (ast.Constant, ast.JoinedStr)) for arg in node.args) >= 2):
                for arg in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    # a sentence has a space; a lone word is a field or parameter name ("copies", "bbox")
                    if isinstance(arg, (ast.Constant, ast.JoinedStr)) and any(
                            " " in c.value.strip() for c in _strings_within(arg)):
                        found.setdefault(arg.lineno, f"a sentence given to {name}()")
                        skip.update(id(s) for s in _strings_within(arg))
        elif isinstance(node, ast.Raise) and node.exc is not None and isinstance(node.exc, ast.Call) \
                and OPERATOR_CALLS.match(ast.unparse(node.exc.func)):
            skip.update(id(s) for s in _strings_within(node.exc))
        elif isinstance(node, ast.Dict) and node.keys and all(
                isinstance(k, ast.Constant) and k.value in catalogues.LANGUAGES for k in node.keys):
            found.setdefault(node.lineno, "a {'de': …, 'en': …} dictionary")
            skip.update(id(s) for s in _strings_within(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            value = node.value
            if " " in value.strip() and GERMAN_PROSE.search(value):
                found.setdefault(node.lineno, f"German prose {value.strip()[:50]!r}")
    return [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in sorted(found.items())]


def python_sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in NOT_OURS:
                yield path


def test_no_user_facing_text_left_in_python_source():
    report, grown, shrunk = [], [], []
    for path in python_sources():
        found = findings(path)
        allowed = PENDING.get(str(path.relative_to(ROOT)), 0)
        if len(found) > allowed:
            grown += found
        elif len(found) < allowed:
            shrunk.append(f"{path.relative_to(ROOT)}: {len(found)} left, PENDING says {allowed}; lower it")
        report += found
    assert not grown, ("texts in Python source; move them into the catalogues (scripts/dict-texts-to-po, "
                       "README: translators):\n" + "\n".join(grown))
    assert not shrunk, "\n".join(shrunk)


def test_the_scan_finds_what_it_should(tmp_path, monkeypatch):
    """The scan is no test that cannot fail: each kind of leftover text is found, operator messages are not."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Ein Modul für Tests."""\n'
        'TEXTS = {"x": {"de": "Hallo", "en": "Hello"}}\n'
        'raise ApiError("Not possible.", "Not possible.")\n'
        'note = "Bitte wählen Sie ein Flurstück."\n'
        'log.warning("Die Datei fehlt: %s", path)\n'
        'raise ConfigError("dataset für Gemarkung fehlt")\n'
        'word = "Flurstück"\n'
        'ok = ApiError(msg("order_start"))\n'
        'fine = FieldError("copies", msg("validation_copies_only_by_post"))\n'
        'raise TileError("Die Kachel fehlt.", "The tile is missing.")\n'
        'raise SealError("the seal certificate expired")\n', encoding="utf-8")
    assert [line.split(":")[1] for line in findings(sample)] == ["2", "3", "4", "10"]


def test_flask_babel_follows_the_language_choice(demo_app):
    """Flask-Babel's locale is today's language choice, and its gettext reads the same catalogues."""
    from flask_babel import get_locale, gettext

    for query, headers, path, expected in [
        ("?lang=en", {}, "/embed/", "en"),
        ("", {"Accept-Language": "en"}, "/embed/", "de"),  # pages stay German unless asked with ?lang=
        ("", {"Accept-Language": "en"}, "/api/v1/parcels", "en"),  # the APIs follow Accept-Language
        ("", {}, "/api/v1/parcels", "de"),
    ]:
        with demo_app.test_request_context(path + query, headers=headers):
            assert str(get_locale()) == expected
            assert gettext("order_start") == catalogues.text("order_start", expected)
    with demo_app.test_request_context("/embed/?lang=en"):
        rendered = demo_app.jinja_env.from_string("{{ _('order_start') }}").render()
        assert rendered == "Order an extract"


def test_pages_speak_the_language_asked_for(demo_client):
    german = demo_client.get("/embed/").get_data(as_text=True)
    english = demo_client.get("/embed/?lang=en").get_data(as_text=True)
    assert catalogues.text("search_heading", "de") in german and catalogues.text("search_heading", "en") in english
    problem = demo_client.get("/api/v1/parcels?q=", headers={"Accept-Language": "en"}).get_json()
    assert problem["detail"] == "Parameter 'q': please give a search term."
    problem = demo_client.get("/api/v1/parcels?q=").get_json()
    assert problem["detail"] == "Parameter „q“: bitte einen Suchbegriff angeben."


def _convert(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "dict-texts-to-po"), *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_the_converter_moves_dict_texts_once_and_reports_what_it_cannot(tmp_path):
    """scripts/dict-texts-to-po, as run at a merge: texts out of the source into both .po files, idempotent."""
    module = tmp_path / "sample_texts.py"
    module.write_text(
        '"""Sample."""\n\n'
        'SAMPLE_TEXTS: dict[str, dict[str, str]] = {\n'
        '    # the greeting on the first page\n'
        '    "sample_hello": {"de": "Guten Tag, {name}!", "en": "Hello, {name}!"},\n'
        '    "sample_only_german": {"de": "Nur Deutsch"},\n'
        '    "sample_long": {"de": "' + "Ein langer Satz, der im Katalog umbrochen wird. " * 4 + '",\n'
        '                    "en": "' + "A long sentence that the catalogue wraps. " * 4 + '"},\n'
        '}\n'
        'TITLE = {"de": "Titel", "en": "Title"}\n'
        'def fail():\n'
        '    raise ApiError("Das geht nicht.", "That does not work.", status=409)\n', encoding="utf-8")
    directory = tmp_path / "translations"
    first = _convert("--calls", "--directory", str(directory), str(module))
    assert first.returncode == 1  # something is left for a person
    assert "4 texts moved" in first.stdout  # three table entries and one error's pair
    assert "sample_only_german' has no English text" in first.stdout
    assert "sample_texts.py:10: a {'de': …, 'en': …} pair without a message id" in first.stdout
    source = module.read_text(encoding="utf-8")
    # the table stays, empty (code may still name it), the pair without an id stays for a person
    assert "sample_" not in source.split("def fail")[0] and "SAMPLE_TEXTS: dict[str, dict[str, str]] = {\n}" in source
    assert 'TITLE = {"de"' in source
    assert 'raise ApiError(msg("sample_texts_that_does_not_work"), status=409)' in source
    assert source.count("from catalogues import msg") == 1
    german, english = (read_po((directory / lang / "LC_MESSAGES" / "messages.po").open("rb")) for lang in ("de", "en"))
    assert german["sample_hello"].string == "Guten Tag, {name}!" and english["sample_hello"].string == "Hello, {name}!"
    assert german["sample_hello"].auto_comments == ["the greeting on the first page"]
    assert english["sample_only_german"].string == ""  # untranslated: the catalogue test would say so
    assert english["sample_hello"].auto_comments[-1] == "German: Guten Tag, {name}!"  # for Poedit's users
    assert german["sample_texts_that_does_not_work"].string == "Das geht nicht."
    po_before = {lang: (directory / lang / "LC_MESSAGES" / "messages.po").read_bytes() for lang in ("de", "en")}

    second = _convert("--calls", "--directory", str(directory), str(module))
    assert "0 texts moved" in second.stdout and module.read_text(encoding="utf-8") == source
    assert {lang: (directory / lang / "LC_MESSAGES" / "messages.po").read_bytes() for lang in ("de", "en")} == po_before

    # a merge brings the same id with other words: a conflict, unless the source is declared the newer one
    module.write_text('SAMPLE_TEXTS = {\n    "sample_hello": {"de": "Hallo, {name}!", "en": "Hi, {name}!"},\n}\n',
                      encoding="utf-8")
    clash = _convert("--directory", str(directory), str(module))
    assert clash.returncode == 1 and "'sample_hello' is in the catalogue with another text" in clash.stdout
    assert "sample_hello" in module.read_text(encoding="utf-8")
    newer = _convert("--prefer-source", "--directory", str(directory), str(module))
    assert "takes the source's newer text" in newer.stdout and "sample_hello" not in module.read_text(encoding="utf-8")
    german = read_po((directory / "de" / "LC_MESSAGES" / "messages.po").open("rb"))
    assert german["sample_hello"].string == "Hallo, {name}!"
