"""E-mail to customers over SMTP: how an answered 留言 reaches someone who left
an address and closed the chat.

``[mail] smtp_url``: ``smtp://user:pass@host:587`` (STARTTLS, required: the
password never crosses the network in the clear) or ``smtps://…:465`` (TLS
from the start). The certificate is verified (``ca_file`` for a private CA).
Blocking: the desk runs it in its worker threads.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from faqbot.config import ConfigError, MailConfig
from faqbot.errors import FaqbotError


class MailFailed(FaqbotError):
    """The message was not accepted by the SMTP server (the text says why, for the console)."""


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    implicit_tls: bool
    user: str
    password: str
    from_address: str
    ca_file: str = ""
    timeout: float = 15.0

    @classmethod
    def from_config(cls, mail: MailConfig) -> Mailer | None:
        """The configured mailer, or ``None`` when no ``smtp_url`` is set."""
        url = mail.smtp_url.strip()
        if not url:
            return None
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"mail.smtp_url: {exc}") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("mail.smtp_url must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
        if not parseaddr(mail.from_address)[1]:
            raise ConfigError("mail.from_address is required with mail.smtp_url (e.g. 客服 <support@example.com>)")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 587),
            implicit_tls=implicit,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            from_address=mail.from_address,
            ca_file=mail.ca_file,
            timeout=mail.timeout,
        )

    def compose(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        name, address = parseaddr(self.from_address)
        message["From"] = formataddr((name, address))
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=address.rsplit("@", 1)[-1] or None)
        message.set_content(body, charset="utf-8")
        return message

    def send(self, to: str, subject: str, body: str) -> str:
        """Send one plain-text message; its Message-ID once the server accepted it."""
        message = self.compose(to, subject, body)
        context = ssl.create_default_context(cafile=self.ca_file or None)
        try:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.implicit_tls:
                    if not client.has_extn("starttls"):
                        where = f"{self.host}:{self.port}"
                        raise MailFailed(f"{where} does not offer STARTTLS; refusing to send in the clear")
                    client.starttls(context=context)
                    client.ehlo()
                if self.user:
                    client.login(self.user, self.password)
                refused = client.send_message(message)
        except MailFailed:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{type(exc).__name__}: {exc}") from None
        if refused:
            raise MailFailed(f"refused: {refused}")
        return str(message["Message-ID"])
