"""Which piece of data on file a form field asks for.

Sites name the same field many ways (``property_pin_code``, ``zip``, ``postcode``, "Date of birth",
``bday``) and desks name their data just as freely (``known_pin``, ``postal_code``). Both sides are
reduced to a *concept* through one synonym table; a field and a key of the same concept match. A
key named exactly like the field's id or name wins over any concept. The page message carries no
``autocomplete`` token, so the autocomplete spellings are read where they do appear: in the field's
id, name and input type (``tel``, ``email``, ``postal-code``, ``address-level2``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from typing import Any

# Checked in order: the first concept a field's words name is its concept ("name" comes last, so
# "city name" is a city).
CONCEPTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("postal", frozenset({"pin", "pincode", "postal", "postalcode", "zip", "zipcode", "postcode"})),
    ("phone", frozenset({"phone", "tel", "telephone", "mobile", "cell", "cellphone", "phonenumber"})),
    ("dob", frozenset({"dob", "birth", "birthday", "birthdate", "bday", "dateofbirth"})),
    ("email", frozenset({"email", "mail"})),
    ("city", frozenset({"city", "town", "locality"})),
    ("state", frozenset({"state", "province", "region", "county"})),
    ("country", frozenset({"country"})),
    ("address", frozenset({"address", "street", "addr", "streetaddress", "line1", "line2"})),
    ("first_name", frozenset({"first", "given", "fname", "firstname", "givenname", "forename"})),
    ("last_name", frozenset({"last", "surname", "family", "lname", "lastname", "familyname"})),
    ("full_name", frozenset({"name", "fullname"})),
)

# Whole autocomplete tokens whose words alone would mislead ("address-level2" is the city).
AUTOCOMPLETE: dict[str, str] = {
    "address-level1": "state",
    "address-level2": "city",
    "address-line1": "address",
    "address-line2": "address",
    "street-address": "address",
    "postal-code": "postal",
    "country-name": "country",
    "given-name": "first_name",
    "family-name": "last_name",
    "tel-national": "phone",
    "bday": "dob",
}

#: Words that make a field a secret whatever else it says ("card PIN", "OTP code"): never filled.
NEVER_FILL = frozenset(
    {
        "otp",
        "cvv",
        "cvc",
        "password",
        "passcode",
        "pwd",
        "secret",
        "atm",
        "card",
        "ssn",
        "aadhaar",
        "pan",
        "iban",
        "security",
        "captcha",
        "token",
    }
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Lower-case words of an identifier or label, with each pair also joined ("pin code" →
    "pincode"), so "post code" and "postcode" are the same word."""
    parts = [w for w in _SPLIT.split(_CAMEL.sub(" ", text).lower()) if w]
    joined = [a + b for a, b in itertools.pairwise(parts)]
    triples = [a + b + c for a, b, c in zip(parts, parts[1:], parts[2:], strict=False)]
    return tuple(parts + joined + triples)


def _flat(text: str) -> str:
    """An identifier without case or separators: ``knownPin``, ``known_pin`` and ``known-pin`` agree."""
    return "".join(_SPLIT.split(_CAMEL.sub(" ", text).lower()))


def _concept_of_words(found: set[str] | tuple[str, ...]) -> str | None:
    for concept, synonyms in CONCEPTS:
        if not synonyms.isdisjoint(found):
            return concept
    return None


@functools.lru_cache(maxsize=1024)
def key_concept(key: str) -> str | None:
    """The concept a key of data on file names (``known_pin`` → ``postal``)."""
    return AUTOCOMPLETE.get(key.lower()) or _concept_of_words(words(key))


def field_words(field: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for part in ("id", "name", "label", "type"):
        value = field.get(part)
        if isinstance(value, str):
            found.update(words(value))
    return found


def field_concept(field: Mapping[str, Any]) -> str | None:
    """The concept a field asks for: its autocomplete spelling, else its id and name, else its label
    and input type."""
    for part in ("id", "name", "type"):
        value = field.get(part)
        if isinstance(value, str) and value.lower() in AUTOCOMPLETE:
            return AUTOCOMPLETE[value.lower()]
    strong: set[str] = set()
    for part in ("id", "name"):
        value = field.get(part)
        if isinstance(value, str):
            strong.update(words(value))
    concept = _concept_of_words(strong)
    if concept is not None and concept != "full_name":
        return concept
    weak: set[str] = set()
    for part in ("label", "type"):
        value = field.get(part)
        if isinstance(value, str):
            weak.update(words(value))
    return _concept_of_words(weak) or concept


def never_fill(field: Mapping[str, Any]) -> bool:
    """A masked field, or one whose words say it is a secret."""
    return field.get("masked") is not False or not NEVER_FILL.isdisjoint(field_words(field))


def match(field: Mapping[str, Any], crm_data: Mapping[str, str]) -> tuple[str, str] | None:
    """The (key, value) of data on file that fills ``field``, or None.

    A key spelled like the field's id or name first; else the keys of the field's concept, the one
    sharing most words with the field first.
    """
    if not crm_data or never_fill(field):
        return None
    names = {_flat(v) for v in (field.get("id"), field.get("name")) if isinstance(v, str) and v}
    for key, value in crm_data.items():
        if value and _flat(key) in names:
            return key, value
    concept = field_concept(field)
    if concept is None:
        return None
    own = field_words(field)
    best: tuple[int, str, str] | None = None
    for key, value in crm_data.items():
        if not value or key_concept(key) != concept:
            continue
        overlap = len(own.intersection(words(key)))
        if best is None or overlap > best[0]:
            best = (overlap, key, value)
    return (best[1], best[2]) if best else None
