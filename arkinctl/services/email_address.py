"""E-mail addresses: validated with email-validator, stored normalised, sent in ASCII.

Normalised means the domain in lower case (and Unicode form), the local part as typed:
`Jan.Jansen+portal@Example.NL` → `Jan.Jansen+portal@example.nl`. Compare addresses with
`same_address` (case-insensitive); send with `ascii_address` (an internationalised domain
in punycode, as SMTP servers without SMTPUTF8 need it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from arkinctl.errors import InvalidInputError


def email_problem(exc: EmailNotValidError) -> str:
    """The library's reason without its specifics (the characters or labels it quotes)."""
    text = str(exc).removeprefix("After Unicode normalization: ")
    text = re.split(r"[(:]", text, maxsplit=1)[0].strip().rstrip(".")
    return text[:1].lower() + text[1:]


# A plain address: an ASCII dot-atom before the @, ASCII labels after it. Its normal form
# is the local part as typed and the domain as email-validator normalises it, which depends
# on the domain alone: a batch of 100,000 addresses at a few domains checks each domain
# once (email-validator takes ~90 µs an address, most of it on the domain).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_MAX_LOCAL = 64  # octets before the @ (RFC 5321), as email-validator's strict mode checks
_MAX_ADDRESS = 254


@lru_cache(maxsize=1024)
def _normal_domain(domain: str) -> str | None:
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False, strict=True)
    except EmailNotValidError:
        return None
    return str(result.domain)


def normalise_email(value: str, *, what: str = "the e-mail address") -> str:
    """The normalised form of `value`, or InvalidInputError saying why it is not valid."""
    value = value.strip()
    local, _, domain = value.rpartition("@")
    if (
        len(local) <= _MAX_LOCAL
        and len(value) <= _MAX_ADDRESS
        and _PLAIN_LOCAL.fullmatch(local)
        and _PLAIN_DOMAIN.fullmatch(domain)
    ):
        normal = _normal_domain(domain)
        if normal is not None:
            return f"{local}@{normal}"
    try:
        # strict: also the SMTP limit of 64 octets before the @ (RFC 5321).
        return str(validate_email(value, check_deliverability=False, strict=True).normalized)
    except EmailNotValidError as exc:
        raise InvalidInputError(
            f"{what} is not a valid e-mail address ({email_problem(exc)})"
        ) from None


def ascii_address(value: str) -> str:
    """The address as sent over SMTP: the domain in punycode (IDNA 2008, as email-validator
    checks it). A non-ASCII local part stays: it needs a server with SMTPUTF8."""
    import idna

    local, _, domain = value.strip().rpartition("@")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise InvalidInputError("the e-mail domain cannot be written in ASCII") from None
    return f"{local}@{domain}"


def same_address(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()
