"""E-mail addresses: validated with email-validator, stored normalised, sent in ASCII.

Normalised means the domain in lower case (and Unicode form), the local part as typed:
`Jan.Jansen+portal@Example.NL` → `Jan.Jansen+portal@example.nl`. Compare addresses with
`same_address` (case-insensitive); send with `ascii_address` (an internationalised domain
in punycode, as SMTP servers without SMTPUTF8 need it).
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from arkinctl.errors import InvalidInputError


def email_problem(exc: EmailNotValidError) -> str:
    """The library's reason without its specifics (the characters or labels it quotes)."""
    text = str(exc).removeprefix("After Unicode normalization: ")
    text = re.split(r"[(:]", text, maxsplit=1)[0].strip().rstrip(".")
    return text[:1].lower() + text[1:]


def normalise_email(value: str, *, what: str = "the e-mail address") -> str:
    """The normalised form of `value`, or InvalidInputError saying why it is not valid."""
    try:
        # strict: also the SMTP limit of 64 octets before the @ (RFC 5321).
        return str(
            validate_email(value.strip(), check_deliverability=False, strict=True).normalized
        )
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
