"""Turns an order request (API JSON or form fields) into a checked draft, or says what is wrong."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cadastre.errors import CadastreError
from cadastre.model import Parcel
from catalogues import N_, msg, text
from gis_service.config import OrderRulesSettings, ProductConfig
from gis_service.orders.errors import FieldError, OrderValidationError
from gis_service.orders.products import Catalogue, Fee, format_money
from gis_service.fit_rule import assess_fit
from gis_service.page_request import ChoiceProblem, PageChoices
from renderers.layout import bounds_centre, make_layout
from gis_service.orders.texts import office_text

CONTACT_FIELDS = ("name", "email", "phone", "organisation")
ADDRESS_FIELDS = ("street", "postcode", "city", "country")
MAX_LENGTH = {"name": 200, "email": 254, "phone": 50, "organisation": 200, "street": 200, "postcode": 10,
              "city": 100, "country": 2, "justification": 4000, "parcel": 200, "product": 40}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_LINE_BREAK = re.compile(r"[\r\n]")
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


def normalised_email(email: str) -> str:
    """One mailbox, one spelling: trimmed, lower case, without a "+tag" (victim+1@… reaches victim@…)."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at or not local:
        return email.strip().lower()
    return f"{local.split('+', 1)[0] or local}@{domain}"
_PHONE = re.compile(r"^[0-9+()/ .\-]{3,50}$")


@dataclass
class OrderDraft:
    product: ProductConfig
    parcel: Parcel
    fee: Fee
    handling: str  # automatic | staff
    staff_reason: str | None
    paper: str | None = None
    orientation: str | None = None
    scale: int | None = None
    centre: tuple[float, float] | None = None
    copies: int = 1
    delivery: str = "download"
    certified: bool = False
    partial_parcel: bool = False  # the citizen knowingly orders the part of the parcel the frame shows
    payment_method: str = "online"
    contact: dict[str, str | None] = field(default_factory=dict)
    justification: str | None = None
    lang: str = "de"

    @property
    def needs_address(self) -> bool:
        return self.delivery == "post" or self.payment_method == "invoice"


def request_hash(payload: Mapping) -> str:
    """A fingerprint of what the client sent, to tell a repeated request from a different one."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def flatten_api_payload(body: object) -> dict:
    """API JSON → the flat field names the form uses (contact.* and address.* lifted up)."""
    if not isinstance(body, dict):
        raise OrderValidationError([FieldError("body", msg("validation_a_json_object_is_expected"))])
    flat: dict = {}
    for key, value in body.items():
        if key in ("contact", "address") and isinstance(value, dict):
            for sub, inner in value.items():
                flat[str(sub)] = inner
        elif key == "center" and isinstance(value, (list, tuple)) and len(value) == 2:
            flat["center"] = f"{value[0]},{value[1]}"
        else:
            flat[str(key)] = value
    return flat


class OrderValidator:
    def __init__(self, catalogue: Catalogue, parcels, rules: OrderRulesSettings, choices: PageChoices,
                 extract_dpi: int = 300):
        """`choices` checks paper, orientation, scale and centre exactly as for previews; the fit rule
        is checked on the extract's own layout (its dpi decides the face's whole pixels)."""
        self.catalogue = catalogue
        self.parcels = parcels
        self.rules = rules
        self.choices = choices
        self.extract_dpi = extract_dpi

    def product_of(self, data: Mapping) -> ProductConfig:
        product = self.catalogue.get(str(data.get("product") or "").strip()[:40])
        if product is None:
            names = [p.name for p in self.catalogue.products]  # the citizen knows names, not our product ids
            raise OrderValidationError([FieldError("product", msg(
                "validation_choose_one_of_the_products",
                names=lambda lang: "; ".join(text("quoted", lang, text=n.get(lang)) for n in names)))])
        return product

    def options(self, data: Mapping, errors: list[FieldError] | None = None) -> OrderDraft:
        """Product, parcel and options with the fee; contact data are not looked at."""
        own = errors is None
        errors = [] if errors is None else errors
        product = self.product_of(data)
        parcel = self._parcel(data, errors)
        draft_values: dict = {}
        if product.kind == "map":
            c = self.choices
            default_scale = 1000 if 1000 in product.scales else product.scales[0]
            draft_values["paper"] = self._checked(errors, product.papers[0],
                                                  lambda: c.paper(data.get("paper"), product.papers, product.papers[0]))
            draft_values["orientation"] = self._checked(errors, "portrait",
                                                        lambda: c.orientation(data.get("orientation"), "portrait"))
            draft_values["scale"] = self._checked(errors, default_scale,
                                                  lambda: c.scale(data.get("scale"), product.scales, default_scale))
            draft_values["centre"] = self._checked(errors, None, lambda: c.centre(data.get("center") or data.get("centre")))
            draft_values["partial_parcel"] = self._bool(data, "partial_ok", errors)
            if parcel is not None and not errors:
                draft_values["partial_parcel"] = self._fit(parcel, product, draft_values, errors)
        copies = self._int(data, "copies", 1, 1, product.max_copies, errors)
        delivery = self._choice(data, "delivery", list(product.deliveries), errors, transform=str.lower,
                                shown={"download": N_("choice_download"), "post": N_("choice_post")})
        payment_method = self._choice(data, "payment_method", list(product.payment_methods), errors,
                                      transform=str.lower, shown={"online": N_("choice_online"), "invoice": N_("choice_invoice")})
        certified = self._bool(data, "certified", errors)
        if certified and not product.certifiable:
            errors.append(FieldError("certified", msg("validation_this_product_is_not_certified")))
        if copies > 1 and delivery != "post":
            errors.append(FieldError("copies", msg("validation_copies_only_by_post")))
        lang = "en" if str(data.get("lang") or "").lower() == "en" else "de"
        if own and errors:
            raise OrderValidationError(errors)
        fee = self.catalogue.fee(product, paper=draft_values.get("paper"), copies=copies, certified=bool(certified))
        handling, reason = "staff", None
        if product.requires_justification:
            reason = office_text(N_("validation_check_legitimate_interest"))
        if parcel is not None and self.staff_only(parcel.key):
            reason = self.rules.staff_only_reason
        elif product.fulfilment == "automatic":
            handling = "automatic"
        return OrderDraft(product=product, parcel=parcel, fee=fee, handling=handling, staff_reason=reason,  # type: ignore[arg-type]
                          copies=copies, delivery=delivery, certified=bool(certified), payment_method=payment_method,
                          lang=lang, **draft_values)

    def full(self, data: Mapping) -> OrderDraft:
        """Everything, including contact data, postal address and justification where needed."""
        errors: list[FieldError] = []
        draft = self.options(data, errors)
        contact: dict[str, str | None] = {}
        for name in CONTACT_FIELDS:
            contact[name] = self._text(data, name, errors)
        if not contact["name"]:
            errors.append(FieldError("name", msg("validation_please_enter_your_name")))
        if not contact["email"]:
            errors.append(FieldError("email", msg("validation_please_enter_your_e_mail_address")))
        elif not _EMAIL.match(contact["email"]):
            errors.append(FieldError("email", msg("validation_the_e_mail_address_is_not")))
        if contact["phone"] and not _PHONE.match(contact["phone"]):
            errors.append(FieldError("phone", msg("validation_the_phone_number_may_contain_only")))
        if draft.needs_address:
            for name in ADDRESS_FIELDS:
                contact[name] = self._text(data, name, errors)
            contact["country"] = (contact["country"] or "DE").upper()
            missing = {"street": N_("validation_enter_street"), "postcode": N_("validation_enter_postcode"),
                       "city": N_("validation_enter_city")}
            for name, key in missing.items():
                if not contact[name]:
                    errors.append(FieldError(name, msg(key)))
            if contact["postcode"]:
                pattern = r"\d{5}" if contact["country"] == "DE" else r"[A-Za-z0-9 \-]{3,10}"
                if not re.fullmatch(pattern, contact["postcode"]):
                    errors.append(FieldError("postcode", msg("validation_the_postcode_is_not_valid_five")))
            if not re.fullmatch(r"[A-Z]{2}", contact["country"] or ""):
                errors.append(FieldError("country", msg("validation_please_give_the_country_as_a")))
        if draft.product.requires_justification:
            justification = self._text(data, "justification", errors, multiline=True)
            if not justification or len(justification) < self.rules.justification_min_length:
                errors.append(FieldError(
                    "justification",
                    msg("validation_please_state_your_legitimate_interest_at", justification_min_length=self.rules.justification_min_length)))
            draft.justification = justification
        expected = data.get("expected_amount_cents")
        if expected not in (None, "") and not errors:
            if str(expected).strip() != str(draft.fee.total_cents):
                total = draft.fee.total_cents
                errors.append(FieldError("expected_amount_cents", msg(
                    "validation_fee_is_not_the_amount_given", fee=lambda lang: format_money(total, lang))))
        if errors:
            raise OrderValidationError(errors)
        draft.contact = contact
        return draft

    def staff_only(self, key: str) -> bool:
        return any(key.startswith(prefix) for prefix in self.rules.staff_only_parcels)

    # --- single fields ------------------------------------------------------------------------
    def _parcel(self, data: Mapping, errors: list[FieldError]) -> Parcel | None:
        text = self._text(data, "parcel", errors)
        if not text:
            errors.append(FieldError("parcel", msg("validation_please_give_a_parcel")))
            return None
        try:
            return self.parcels.get(text)
        except CadastreError as exc:
            errors.append(FieldError("parcel", exc.de, exc.en))
            return None

    def _text(self, data: Mapping, name: str, errors: list[FieldError], multiline: bool = False) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            errors.append(FieldError(name, msg("validation_this_field_expects_text")))
            return None
        text = str(value).strip()
        if _CONTROL.search(text) or (not multiline and _LINE_BREAK.search(text)):
            errors.append(FieldError(name, msg("validation_the_field_contains_control_characters")))
            return None
        limit = MAX_LENGTH.get(name, 200)
        if len(text) > limit:
            errors.append(FieldError(name, msg("validation_at_most_characters", limit=limit)))
            return None
        return text or None

    def _choice(self, data: Mapping, name: str, allowed: list[str], errors: list[FieldError], transform=str,
                shown: Mapping[str, str] | None = None) -> str:
        value = data.get(name)
        if value in (None, ""):
            return allowed[0]
        chosen = transform(str(value).strip())[:20] if isinstance(value, str) else None
        if chosen not in allowed:
            # the choices in words where there are some (`shown`: value → message id), else as the API's values
            errors.append(FieldError(name, msg("validation_allowed_choices", options=lambda lang: ", ".join(
                text(shown[a], lang) if shown and a in shown else a for a in allowed))))
            return allowed[0]
        return chosen

    def _int(self, data: Mapping, name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
        value = data.get(name)
        if value in (None, ""):
            return default
        text = str(value).strip()
        if isinstance(value, bool) or not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            errors.append(FieldError(name, msg("validation_please_a_whole_number_from_to", low=low, high=high)))
            return default
        return int(text)

    def _bool(self, data: Mapping, name: str, errors: list[FieldError]) -> bool:
        value = data.get(name)
        if value in (None, "", False, "false", "0", "no", "off"):
            return False
        if value in (True, "true", "1", "yes", "on"):
            return True
        errors.append(FieldError(name, msg("validation_expected_yes_or_no")))
        return False

    def _fit(self, parcel: Parcel, product: ProductConfig, values: dict, errors: list[FieldError]) -> bool:
        """The fit rule on the extract's face; True when the citizen knowingly orders part of the parcel."""
        layout = make_layout(values["paper"], values["orientation"], values["scale"], self.extract_dpi,
                             values["centre"] or bounds_centre(parcel.geometry.bounds))
        fit = assess_fit(parcel, layout, product.scales, product.papers)
        problem = fit.problem(acknowledged_partial=values["partial_parcel"])
        if problem is not None:
            field = "center" if fit.fits_if_centred or not fit.shows_parcel else "scale"
            errors.append(FieldError(field, problem))
            return False
        return not fit.fits

    @staticmethod
    def _checked(errors: list[FieldError], default, check):
        """check()'s value, or `default` with its problem added to the field errors."""
        try:
            return check()
        except ChoiceProblem as problem:
            errors.append(FieldError(problem.field, problem.de, problem.en))
            return default
