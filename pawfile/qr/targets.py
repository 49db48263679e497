"""Which addresses a code may lead to: ``target_url_clean`` is the one gate.

A code's target ends up in a ``Location`` header that a stranger's phone follows, so only a
plain absolute http(s) address is taken, rebuilt from its parts. Refused, each with a message
a person understands (``Invalid`` about ``target_url``):

* anything not starting with ``http://`` or ``https://`` (``javascript:``, ``data:``,
  ``//evil.example``, ``/\\evil.example``, ``%2F%2Fevil``, ``https:evil``);
* control characters, CR/LF, spaces and backslashes anywhere; longer than 2,000 characters;
* a user name or password (``https://bank.example@evil.example``), a host with percent
  signs or characters a host name cannot have, a bad port;
* look-alike international hosts: a label mixing scripts (Latin with Cyrillic, ``раypal``)
  or written only with Cyrillic/Greek letters that look Latin (``аррӏе``), in Unicode or
  as punycode (``xn--...``);
* with ``PAWFILE_QR_ALLOWED_DOMAINS`` set, a host that is not one of them or under one.

The address returned is ASCII only (the host in IDNA, the rest percent-encoded), so it is
safe in a header as it is.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid
from pawfile.qr.models import TARGET_MAX_LENGTH

FIELD = "target_url"
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029\u200b-\u200f\ufeff]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SAFE = "!#$%&'()*+,/:;=?@[]~-._"
# Cyrillic and Greek letters drawn like Latin ones: a label made only of these (with digits
# and hyphens) reads as a Latin word that it is not.
_LATIN_LOOKALIKES = set("аеіјорсуххԁһӏԛѕԝνοτυαεικρχуАВЕКМНОРСТХІЈЅԚԜΑΒΕΗΙΚΜΝΟΡΤΥΧΖ")


def _refuse(message: str) -> Invalid:
    return Invalid(message, field=FIELD)


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _label_check(label: str) -> None:
    letters = [c for c in label if c.isalpha()]
    scripts = {_script(c) for c in letters}
    if len(scripts) > 1:
        raise _refuse(_("The address's host mixes alphabets, as look-alike addresses do."))
    if (
        letters
        and scripts <= {"CYRILLIC", "GREEK"}
        and all(c in _LATIN_LOOKALIKES for c in letters)
    ):
        raise _refuse(_("The address's host imitates a Latin name with other letters."))


def _host_clean(host: str) -> str:
    if not host or "%" in host:
        raise _refuse(_("The address has no valid host name."))
    if ":" in host:  # urlsplit gives an IPv6 literal without its brackets
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise _refuse(_("The address has no valid host name.")) from None
    labels = host.rstrip(".").split(".")
    ascii_labels = []
    for label in labels:
        if not label:
            raise _refuse(_("The address has no valid host name."))
        unicode_label = label
        if label.lower().startswith("xn--"):
            try:
                unicode_label = label.lower().encode("ascii").decode("idna")
            except UnicodeError:
                raise _refuse(_("The address has no valid host name.")) from None
        if not unicode_label.isascii():
            _label_check(unicode_label.lower())
            try:
                label = unicode_label.encode("idna").decode("ascii")
            except UnicodeError:
                raise _refuse(_("The address has no valid host name.")) from None
        label = label.lower()
        if not _LABEL.match(label):
            raise _refuse(_("The address has no valid host name."))
        ascii_labels.append(label)
    return ".".join(ascii_labels)


def _allowed(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def target_url_clean(value: str) -> str:
    """The ASCII form of ``value`` if a code may lead there; raises ``Invalid`` otherwise."""
    value = value.strip(" ")  # surrounding spaces only: a trailing CR/LF is refused
    if not value:
        raise _refuse(_("Enter the address the code leads to."))
    if len(value) > TARGET_MAX_LENGTH:
        raise _refuse(
            _("The address is too long (at most %(max)d characters).") % {"max": TARGET_MAX_LENGTH}
        )
    if _FORBIDDEN.search(value):
        raise _refuse(_("The address contains spaces, line breaks or other characters it may not."))
    if not value.lower().startswith(("http://", "https://")):
        raise _refuse(_("Enter a full web address starting with https:// or http://."))
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse(_("The address may not contain a user name or password."))
    try:
        port = parts.port
    except ValueError:
        raise _refuse(_("The address has an invalid port.")) from None
    host = _host_clean(parts.hostname or "")
    domains = [d.lower().strip(".") for d in settings.PAWFILE_QR_ALLOWED_DOMAINS]
    if domains and not _allowed(host, domains):
        raise _refuse(
            _("Codes may only lead to these domains: %(domains)s.")
            % {"domains": ", ".join(domains)}
        )
    netloc = host if port is None else f"{host}:{port}"
    path = quote(parts.path, safe=_SAFE) or "/"
    url = f"{parts.scheme.lower()}://{netloc}{path}"
    if parts.query:
        url += "?" + quote(parts.query, safe=_SAFE)
    if parts.fragment:
        url += "#" + quote(parts.fragment, safe=_SAFE)
    if len(url) > TARGET_MAX_LENGTH:
        raise _refuse(
            _("The address is too long (at most %(max)d characters).") % {"max": TARGET_MAX_LENGTH}
        )
    return url
