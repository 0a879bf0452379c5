"""Rate limits on searches and staff logins (in memory and in Redis), their settings, and bounded bulk paging by bbox."""

from __future__ import annotations

import re
import secrets

import pytest
import redis

from gis_service.app import create_app
from gis_service.config import ConfigError, load_settings

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "Korrekt-Pferd-Batterie-42"
SEARCH = "/api/v1/parcels?q=Lindenhagen%20Flur%201%20Flurst%C3%BCck%201"


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    if request.param == "redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.fail(f"Redis at {REDIS_URL} is needed for this test: {exc}")
        return REDIS_URL
    return "memory://"


@pytest.fixture
def make_app(tmp_path, storage):
    apps = []

    def make(rate: dict, **extra):
        # A prefix of its own per app: Redis is shared with every other test and run.
        settings = load_settings(None, overrides={
            "instance_path": str(tmp_path / f"i{len(apps)}"), "server": {"trusted_proxies": 1},
            "secret_key": "rate-limit-secret-key-of-at-least-32-bytes",
            "limits": {"rate": {"storage_uri": storage, "key_prefix": f"test-{secrets.token_hex(6)}", **rate}},
            "orders": {"database_url": f"sqlite:///{tmp_path / f'o{len(apps)}.sqlite'}", "worker": {"enabled": False},
                       "smtp": {"enabled": False}, "staff": {"max_failed_logins": 100}},
            **extra})
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gis_orders"].close()


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def assert_too_many(response, html: bool = False) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    if html:
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html" and 'role="alert"' in page and "<h1>Zu viele Anfragen</h1>" in page
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    else:
        body = response.get_json()
        assert response.mimetype == "application/problem+json" and body["status"] == 429
        assert body["code"] == "too-many-requests" and "Sekunden" in body["detail"]


# --- searches --------------------------------------------------------------------------------------------
def test_searches_per_address_trip_at_the_configured_count_across_api_and_picker(make_app):
    app = make_app({"searches_per_address": "3/minute"})
    citizen = client_at(app, "192.0.2.10")
    assert citizen.get(SEARCH).status_code == 200
    assert citizen.get("/embed/?q=Lindenhagen").status_code == 200
    assert citizen.get("/embed/").status_code == 200  # the picker without a query searches nothing: not counted
    assert citizen.get(SEARCH).status_code == 200
    assert_too_many(citizen.get(SEARCH))
    assert_too_many(citizen.get("/embed/?q=Lindenhagen"), html=True)
    english = citizen.get("/embed/?q=Lindenhagen&lang=en")
    assert english.status_code == 429 and "Too many requests" in english.get_data(as_text=True)
    # Another client is not affected; liveness, static files and other routes are never limited.
    assert client_at(app, "192.0.2.11").get(SEARCH).status_code == 200
    for _ in range(5):
        assert citizen.get("/healthz").status_code == 200
        assert citizen.get("/static/css/embed.css").status_code == 200
        assert citizen.get("/api/v1/parcels/05987100100090______").status_code == 200


# --- staff logins ----------------------------------------------------------------------------------------
def login(client, username: str, password: str = PASSWORD):
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/staff/login", data={"username": username, "password": password, "csrf_token": token})


def test_logins_per_account_trip_across_client_addresses(make_app):
    app = make_app({"logins_per_account": "3 per 10 minutes"})
    app.extensions["gis_orders"].accounts.create("sachbearbeiterin", PASSWORD)
    for index in range(3):
        assert login(client_at(app, f"198.51.100.{index + 1}"), "sachbearbeiterin", "falsch").status_code == 401
    # The fourth attempt, from yet another address, even with the right password and another spelling:
    assert_too_many(login(client_at(app, "198.51.100.9"), " Sachbearbeiterin ", PASSWORD), html=True)
    # Another account is not affected, and showing the login page is not an attempt.
    app.extensions["gis_orders"].accounts.create("kollege", PASSWORD)
    other = client_at(app, "198.51.100.9")
    for _ in range(5):
        assert other.get("/staff/login").status_code == 200
    assert login(other, "kollege").status_code == 303


def test_logins_per_client_address_trip_for_any_account(make_app):
    app = make_app({"logins_per_address": "2 per 10 minutes"})
    guesser = client_at(app, "203.0.113.5")
    assert login(guesser, "anna", "x").status_code == 401
    assert login(guesser, "bernd", "x").status_code == 401
    assert_too_many(login(guesser, "carla", "x"), html=True)
    assert login(client_at(app, "203.0.113.6"), "carla", "x").status_code == 401


# --- settings ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("override", "key"), [
    ({"rate": {"orders_per_recipient": "often"}}, "limits.rate.orders_per_recipient"),
    ({"rate": {"storage_uri": "memcached://x"}}, "limits.rate.storage_uri"),
    ({"rate": {"logins_per_account": ""}}, "limits.rate.logins_per_account"),
    ({"rate": {"searches": "1/minute"}}, "limits.rate.searches"),
    ({"paging": {"max_page_size": 0}}, "limits.paging.max_page_size"),
    ({"paging": {"max_bbox_km2": -1}}, "limits.paging.max_bbox_km2"),
])
def test_bad_limit_settings_name_the_key(override, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_settings(None, overrides={"limits": override})


def test_confirmation_hours_are_bounded():
    with pytest.raises(ConfigError, match=re.escape("orders.confirmation.expire_hours")):
        load_settings(None, overrides={"orders": {"confirmation": {"expire_hours": 0}}})


# --- bulk paging ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def paging_client(tmp_path_factory):
    settings = load_settings(None, overrides={
        "instance_path": str(tmp_path_factory.mktemp("paging")), "orders": {"enabled": False},
        "limits": {"paging": {"max_page_size": 30, "max_offset": 60, "max_bbox_km2": 1.5}}})
    return create_app(settings).test_client()


SMALL = "352000,5702000,353000,5703000"  # 1 km² of the demo Gemarkung
LARGE = "352000,5702000,354000,5703000"  # 2 km²
OGC = "/ogc/collections/flurstuecke/items?f=json&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25832"


def test_bbox_paging_of_the_api_is_bounded(paging_client):
    assert paging_client.get(f"/api/v1/parcels?bbox={SMALL}&limit=30&offset=60").status_code == 200
    for query, parameter, words in ((f"bbox={SMALL}&limit=31", "limit", "1 bis 30"),
                                    (f"bbox={SMALL}&offset=61", "offset", "höchstens 60"),
                                    (f"bbox={LARGE}", "bbox", "höchstens 1,50 km²")):
        response = paging_client.get(f"/api/v1/parcels?{query}")
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert parameter in response.get_json()["detail"] and words in response.get_json()["detail"], response.get_json()
    english = paging_client.get(f"/api/v1/parcels?bbox={LARGE}", headers={"Accept-Language": "en"}).get_json()
    assert "the area covers 2.00 km², at most 1.50 km²" in english["detail"]
    # A search is no bulk read: its own bounds stay.
    assert paging_client.get("/api/v1/parcels?q=Lindenhagen&limit=100").status_code == 200
    contract = paging_client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/parcels"]["get"]
    described = " ".join(p["description"] for p in contract["parameters"])
    assert "1.5 km²" in described and "1–30" in described and "60" in described and "429" in contract["responses"]


def test_ogc_items_paging_is_bounded(paging_client):
    page = paging_client.get(f"{OGC}&bbox={SMALL}&limit=500")
    assert page.status_code == 200 and page.get_json()["numberReturned"] == 30  # a smaller page, as OGC allows
    listing = "/ogc/collections/flurstuecke/items?f=json&limit=10"  # no bbox: the whole extent, by offset
    assert paging_client.get(f"{listing}&offset=60").status_code == 200
    deep = paging_client.get(f"{listing}&offset=61")
    assert deep.status_code == 400 and "höchstens 60" in deep.get_json()["description"]
    wide = paging_client.get(f"{OGC}&bbox={LARGE}")
    assert wide.status_code == 400 and "1,50 km²" in wide.get_json()["description"]


def test_a_rate_limit_store_that_does_not_answer_lets_requests_through_and_makes_the_process_unready(tmp_path):
    settings = load_settings(None, overrides={
        "instance_path": str(tmp_path), "orders": {"enabled": False},
        "limits": {"rate": {"storage_uri": "redis://127.0.0.1:9/0", "searches_per_address": "1/minute"}}})
    client = create_app(settings).test_client()
    # Unprotected rather than broken: searches still answer, beyond the limit too (it cannot be counted).
    assert [client.get(SEARCH).status_code for _ in range(3)] == [200, 200, 200]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and any("rate limit store" in p for p in ready.get_json()["problems"])
