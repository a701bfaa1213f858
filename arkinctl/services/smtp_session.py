"""The SMTP side of delivering the outbox: one connection per run, and what became of each
message handed to it, as far as can be known.

The difference that matters is *before* or *after* the whole message (up to its final dot)
was handed over: a failure before it is safe to retry; a broken connection after it, before
the server answered, means the server may have accepted the message (`uncertain`).
Reasons are short, one line, and blank out any e-mail address a server quotes.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from arkinctl.config import MailSettings
from arkinctl.db.models import OutboxMessage
from arkinctl.errors import InvalidInputError
from arkinctl.services.email_address import ascii_address
from arkinctl.services.outbox import build_email


@dataclass(frozen=True)
class Outcome:
    """What became of one message handed to the server."""

    kind: str  # sent | retry | failed | bounced | uncertain
    reason: str | None = None
    # The server as a whole cannot be used (the sender was refused): stop this run.
    server: str | None = None


class ServerError(Exception):
    """The server cannot be used at all (unreachable, TLS, login): one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def server_name(mail: MailSettings) -> str:
    return f"{mail.smtp_host or '?'}:{mail.port}"


class _SMTP(smtplib.SMTP):
    """Remembers whether the whole message, up to its final dot, was handed over."""

    handed_over = False

    def send(self, s: Any) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True


class _SMTPS(_SMTP, smtplib.SMTP_SSL):
    pass


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def _clean(text: str | bytes, limit: int = 200) -> str:
    """A server's words, safe to store: one line, no e-mail addresses, short."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = _ADDRESS.sub("<address>", " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reply(code: int, text: str | bytes) -> str:
    return f"{code} {_clean(text)}".strip()


def _network_reason(exc: BaseException, timeout: int) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, OSError):
        exc = exc.__context__  # smtplib wraps a read that failed (a timeout, a reset)
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout} s"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {_clean(str(exc.reason or type(exc).__name__))}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, OSError) and exc.strerror:
        return _clean(exc.strerror).lower()
    return type(exc).__name__


class MailServer:
    """One SMTP connection for a run, opened when first needed and again after it broke."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.name = server_name(mail)
        self.sender = ascii_address(mail.from_address)
        self.smtp: _SMTP | None = None

    def connect(self) -> _SMTP:
        m = self.mail
        host = m.smtp_host or ""
        try:
            if m.security == "tls":
                context = ssl.create_default_context()
                smtp: _SMTP = _SMTPS(host, m.port, timeout=m.timeout_seconds, context=context)
            else:
                smtp = _SMTP(host, m.port, timeout=m.timeout_seconds)
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerError(
                f"cannot reach the mail server {self.name} "
                f"({_network_reason(exc, m.timeout_seconds)})"
            ) from None
        try:
            smtp.ehlo()
            if m.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ServerError(
                        f"cannot use the mail server {self.name} (it does not offer STARTTLS; "
                        "ARKINCTL_SMTP_SECURITY=none sends without encryption)"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if m.user:
                smtp.login(m.user, m.password or "")
        except ServerError:
            _close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise ServerError(
                f"cannot use the mail server {self.name} (it refused the login of {m.user}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)})"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(smtp)
            raise ServerError(
                f"cannot use the mail server {self.name} (it offers no login; unset "
                "ARKINCTL_SMTP_USER, or use ARKINCTL_SMTP_SECURITY=starttls or tls)"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(smtp)
            raise ServerError(
                f"cannot reach the mail server {self.name} "
                f"({_network_reason(exc, m.timeout_seconds)})"
            ) from None
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            _close(self.smtp)
            self.smtp = None

    def send(self, message: OutboxMessage) -> Outcome:
        """Hand one message to the server; what happened, as far as we can know."""
        smtp = self.smtp
        if smtp is None:  # the caller connects before it claims: a claim never waits on this
            raise ServerError(f"not connected to the mail server {self.name}")
        try:
            recipient = ascii_address(message.recipient)
        except (InvalidInputError, ValueError):  # ValueError: email-validator refused it
            return Outcome("failed", "the recipient's domain cannot be written in ASCII (IDNA)")
        if not recipient.isascii() and not smtp.has_extn("smtputf8"):
            return Outcome(
                "failed",
                "the address has non-ASCII characters before the @, and the mail server "
                "does not offer SMTPUTF8",
            )
        try:
            email = _build(message, self.mail, recipient)
        except ValueError:
            return Outcome("failed", "the message cannot be written (an unusable address)")
        smtp.handed_over = False
        try:
            return self._hand_over(smtp, email, recipient)
        finally:
            if self.smtp is not None and self.smtp.sock is None:  # smtplib closed it (421)
                self.smtp = None

    def _hand_over(self, smtp: _SMTP, email: EmailMessage, recipient: str) -> Outcome:
        try:
            smtp.send_message(email, from_addr=self.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            if code >= 500:
                return Outcome("bounced", f"recipient refused: {_reply(code, text)}")
            return Outcome("retry", f"recipient deferred: {_reply(code, text)}")
        except smtplib.SMTPSenderRefused as exc:
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code == 421:
                return Outcome(
                    "retry",
                    f"the mail server closed the session: {reply}",
                    server=f"the mail server {self.name} closed the session ({reply})",
                )
            return Outcome(
                "retry",
                f"the mail server refused the sender: {reply}",
                server=f"the mail server {self.name} refused the sender address "
                f"{self.sender} ({reply})",
            )
        except smtplib.SMTPDataError as exc:
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code >= 500:
                return Outcome("failed", f"the mail server refused the message: {reply}")
            return Outcome("retry", f"the mail server deferred the message: {reply}")
        except smtplib.SMTPNotSupportedError:
            return Outcome(
                "failed",
                "the address needs SMTPUTF8, which the mail server does not offer",
            )
        except (OSError, smtplib.SMTPException) as exc:
            handed_over = smtp.handed_over
            self.close()
            if handed_over:
                return Outcome(
                    "uncertain",
                    "the connection failed after the message was handed over, before the "
                    "server answered: it may have been accepted",
                )
            reason = _network_reason(exc, self.mail.timeout_seconds)
            return Outcome("retry", f"lost the connection to the mail server ({reason})")
        return Outcome("sent")


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _build(message: OutboxMessage, mail: MailSettings, recipient: str) -> EmailMessage:
    """`outbox.build_email`; for an address with non-ASCII before the @ (which the email
    package refuses to build as an Address, and which goes out with SMTPUTF8) the To header
    is written as text."""
    if recipient.isascii():
        return build_email(message, mail)
    stand_in = OutboxMessage(
        message_id=message.message_id,
        recipient="recipient@invalid",
        recipient_name=None,
        subject=message.subject,
        body=message.body,
        created_at=message.created_at,
    )
    email = build_email(stand_in, mail)
    del email["To"]
    name = " ".join((message.recipient_name or "").split())
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    email["To"] = f'"{quoted}" <{recipient}>' if name else recipient
    return email
