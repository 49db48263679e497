"""Phone numbers as people write them and as providers send them, in one form: E.164.

``phone_normalise`` turns what a person typed into the E.164 form we store (``Invalid``
with a message otherwise). ``phone_variants`` lists the E.164 forms one number may arrive
in from a provider, so an inbound message (a Twilio ``From``, a WhatsApp ``from``) finds
the number that was stored, whichever form each side used:

* Mexico (+52): mobiles were dialled from abroad as ``+52 1`` + ten digits until 2019-2020;
  WhatsApp and some carriers still send that ``1``. Stored without it; matched either way.
* Argentina (+54): mobiles are ``+54 9`` + area + number; the ``9`` is dropped by some
  senders. Both forms are valid numbers, so either may be stored; matched either way.
* Brazil (+55): mobiles gained a ninth digit (a leading ``9``) in 2012-2016; older WhatsApp
  accounts still send the eight-digit form. Matched either way.

``phone_key`` is the one form all of a number's variants share (the least of them): the
key a verified number is unique by (``PhoneChannel.phone_key``), so two accounts cannot
verify two forms of one number that an inbound message would match to either.

Spaces, dashes, dots, brackets and a leading ``00`` in what a person types are handled by
``phonenumbers`` (the "lite" build: no geocoding or carrier data).
"""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid


def _e164(country: int, national: str) -> str:
    return f"+{country}{national}"


def phone_variants(text: str) -> list[str]:
    """The E.164 forms the number ``text`` may be written in (itself first, as E.164 when it
    parses); a ``text`` that is not a number gives ``[text]``."""
    try:
        number = phonenumbers.parse((text or "").strip(), None)
    except phonenumbers.NumberParseException:
        return [text]
    country, national = int(number.country_code or 0), str(number.national_number)
    found = [_e164(country, national)]
    if country == 52:
        if len(national) == 11 and national.startswith("1"):
            found.append(_e164(52, national[1:]))
        elif len(national) == 10:
            found.append(_e164(52, "1" + national))
    elif country == 54:
        if len(national) == 11 and national.startswith("9"):
            found.append(_e164(54, national[1:]))
        elif len(national) == 10:
            found.append(_e164(54, "9" + national))
    elif country == 55:
        if len(national) == 11 and national[2] == "9":
            found.append(_e164(55, national[:2] + national[3:]))
        elif len(national) == 10 and national[2] in "6789":
            found.append(_e164(55, national[:2] + "9" + national[2:]))
    return list(dict.fromkeys(found))


def phone_key(e164: str) -> str:
    """The canonical key of the number ``e164``: the same for every form ``phone_variants``
    relates to it (``+5215512345678`` and ``+525512345678`` have one key; so have an
    Argentine mobile with and without its ``9``, a Brazilian one with and without its ninth
    digit). The least of the number's variants, so a form that lists another among its
    variants (the Brazilian ninth digit goes only one way for some numbers) shares its key."""
    return min(phone_variants(e164))


def phone_normalise(text: str) -> str:
    """``text`` as an E.164 number (``+34600111222``); ``Invalid`` about ``phone`` if it is
    not a possible, valid number written with its country code. A Mexican mobile written
    with the old ``1`` (``+52 1 55 1234 5678``) is stored without it (``+525512345678``)."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid(_("Enter your phone number."), field="phone")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not cleaned.startswith("+"):
        raise Invalid(
            _("Write the number with its country code, starting with + (e.g. +34 600 111 222)."),
            field="phone",
        )
    try:
        number = phonenumbers.parse(cleaned, None)
    except phonenumbers.NumberParseException:
        raise Invalid(_("This is not a phone number."), field="phone") from None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.country_code == 52:
        for variant in phone_variants(cleaned)[1:]:
            if phonenumbers.is_valid_number(phonenumbers.parse(variant, None)):
                return variant
    raise Invalid(_("This phone number does not exist."), field="phone")


def phone_display(e164: str) -> str:
    """The number as people write it internationally (``+34 600 11 12 22``)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
