"""The fit rule end to end: no extract without its parcel, through the API and the pages, with advice that is true."""

from __future__ import annotations

import re

from order_support import PARCEL, api_order, order_body

NOT_FITTING_AT_1000_A4 = "05987100400030______"  # 192 m × 37 m: fits at 1:1000 landscape or 1:2000, not 1:1000 portrait
HUGE = "05987100400001______"  # about 3 km long: fits at no offered scale and paper


def parcel_centre(live, key: str) -> tuple[float, float]:
    plan = live.app.extensions["gis_services"].pipeline.plan_from_args({"parcel": key})
    return plan.layout.centre


def errors_of(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_order_whose_frame_misses_the_parcel_is_refused_with_the_fix(quiet_sqlite):
    """The issue's case: centre 144 m east of Mühlenweg 12a at 1:500 A4 was accepted (201)."""
    x, y = parcel_centre(quiet_sqlite, PARCEL)
    response = api_order(quiet_sqlite, order_body(scale=500, center=[x + 144, y]))
    assert response.status_code == 422, response.text
    message = errors_of(response)["center"]
    assert "nicht" in message and "zurück auf das Flurstück" in message
    # 20 m east the frame still holds the whole parcel at 1:500: accepted
    assert api_order(quiet_sqlite, order_body(scale=500, center=[x + 20, y])).status_code == 201


def test_a_parcel_too_large_for_the_choice_names_the_choices_that_fit(quiet_sqlite):
    response = api_order(quiet_sqlite, order_body(parcel=NOT_FITTING_AT_1000_A4, scale=1000, paper="A4",
                                                  orientation="portrait"))
    assert response.status_code == 422
    message = errors_of(response)["scale"]
    assert "1:2000 DIN A4 Hochformat" in message and "1:1000 DIN A4 Querformat" in message
    english = api_order(quiet_sqlite, order_body(parcel=NOT_FITTING_AT_1000_A4), **{"Accept-Language": "en"})
    assert "1:1000 A4 landscape" in errors_of(english)["scale"]
    # The advice is true: the first choice it names is accepted.
    assert api_order(quiet_sqlite, order_body(parcel=NOT_FITTING_AT_1000_A4, scale=2000)).status_code == 201


def test_a_part_of_a_parcel_only_knowingly_and_never_beside_it(quiet_sqlite):
    refused = api_order(quiet_sqlite, order_body(parcel=HUGE, scale=1000))
    assert refused.status_code == 422 and "bestätigen" in errors_of(refused)["scale"]
    knowingly = api_order(quiet_sqlite, order_body(parcel=HUGE, scale=1000, partial_ok=True))
    assert knowingly.status_code == 201, knowingly.text
    order = quiet_sqlite.service.repository.find(knowingly.json()["order_number"])
    assert order.partial_parcel is True
    # Acknowledging does not make a frame 5 km away an extract of the parcel.
    x, y = parcel_centre(quiet_sqlite, HUGE)
    beside = api_order(quiet_sqlite, order_body(parcel=HUGE, scale=1000, partial_ok=True, center=[x, y + 900]))
    assert beside.status_code == 422 and "zeigt das Flurstück nicht" in errors_of(beside)["center"]
    # A parcel that fits needs no acknowledgement and is not marked partial.
    whole = api_order(quiet_sqlite, order_body(partial_ok=True))
    assert whole.status_code == 201
    assert quiet_sqlite.service.repository.find(whole.json()["order_number"]).partial_parcel is False


def test_the_pages_refuse_before_payment_and_offer_the_fix(quiet_sqlite):
    import requests

    x, y = parcel_centre(quiet_sqlite, PARCEL)
    query = {"parcel": PARCEL, "product": "karte-online", "scale": 500, "paper": "A4", "orientation": "portrait",
             "center": f"{x + 144:.2f},{y:.2f}"}
    page = requests.get(quiet_sqlite.url("/embed/order/options"), params=query, timeout=30)
    assert page.status_code == 422
    assert "zurück auf das Flurstück" in page.text and 'id="field-center"' in page.text
    centre_link = re.search(r'<a href="([^"]+)">Kartenausschnitt auf das Flurstück zentrieren', page.text)
    assert centre_link and "center=" not in centre_link[1]
    # going on to the contact step is refused the same way
    assert requests.post(quiet_sqlite.url("/embed/order/contact"), data=query, timeout=30).status_code == 422
    # selecting that frame in the picker is refused too, with the same advice
    selected = requests.post(quiet_sqlite.url("/embed/select"), data={**query, "lang": "de"}, timeout=30)
    assert selected.status_code == 422 and 'role="alert"' in selected.text and "zurück auf das Flurstück" in selected.text


def test_preview_json_advice_is_true_for_the_frame_as_it_stands(demo_client):
    """The issue: moved 14 × east at 1:500 the advice said 'largest scale at which it fits is 1:500' (the scale chosen)."""
    centred = demo_client.get("/api/v1/preview.json", query_string={"parcel": PARCEL, "scale": 500}).get_json()
    x, y = centred["centre"]
    moved = demo_client.get("/api/v1/preview.json", query_string={"parcel": PARCEL, "scale": 500,
                                                                  "center": f"{x + 144},{y}"}).get_json()
    assert moved["fits"] is False and moved["fit"]["fits_if_centred"] is True
    assert "Schieben Sie den Ausschnitt zurück" in moved["advice"]
    assert "1:500" not in moved["advice"]
    assert centred["fits"] and centred["advice"].startswith("Das Flurstück passt vollständig")
