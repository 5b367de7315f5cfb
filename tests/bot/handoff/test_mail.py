"""E-mail to customers over a real SMTP server on loopback (aiosmtpd): STARTTLS is
required and verified against the test's certificate, the login is checked, and
the message that arrives is read back."""

from __future__ import annotations

import pytest

from bot.handoff.mail import Mailer, MailFailed
from faqbot.config import ConfigError, MailConfig
from tests.smtp import SmtpServer


def mailer_for(server: SmtpServer, url: str | None = None, ca: str | None = None) -> Mailer:
    config = MailConfig(
        smtp_url=url or server.url(), from_address="客服中心 <support@example.com>", ca_file=ca or str(server.cert)
    )
    mailer = Mailer.from_config(config)
    assert mailer is not None
    return mailer


def test_a_message_arrives_over_starttls_after_login(tmp_path):
    with SmtpServer(tmp_path) as server:
        message_id = mailer_for(server).send("kehu@example.cn", "您的留言有回复了", "客服 小李 的回复：\n已为您处理。")
    [(sender, rcpt, message, tls, authed)] = server.inbox.messages
    assert sender == "support@example.com" and rcpt == ["kehu@example.cn"] and tls and authed
    assert message["Subject"] == "您的留言有回复了" and message["Message-ID"] == message_id
    assert message["From"].addresses[0].display_name == "客服中心"
    assert message.get_content().replace("\r\n", "\n").strip() == "客服 小李 的回复：\n已为您处理。"


def test_a_wrong_password_an_untrusted_certificate_or_no_starttls_fail_clearly(tmp_path):
    with SmtpServer(tmp_path / "a") as server:
        with pytest.raises(MailFailed, match="SMTPAuthenticationError"):
            mailer_for(server, url=server.url(password="guess")).send("a@example.cn", "s", "b")
        other = SmtpServer(tmp_path / "b")  # a certificate the client was not told to trust
        with pytest.raises(MailFailed, match="CERTIFICATE_VERIFY_FAILED"):
            mailer_for(server, ca=str(other.cert)).send("a@example.cn", "s", "b")
    with SmtpServer(tmp_path / "c", starttls=False) as plain:
        with pytest.raises(MailFailed, match="does not offer STARTTLS"):
            mailer_for(plain).send("a@example.cn", "s", "b")
        assert plain.inbox.messages == []
    assert server.inbox.messages == []


def test_nothing_is_sent_where_nothing_can_be_reached(tmp_path):
    server = SmtpServer(tmp_path)  # never started: nothing listens on its port
    with pytest.raises(MailFailed, match="ConnectionRefusedError"):
        mailer_for(server).send("a@example.cn", "s", "b")


def test_the_mail_configuration_is_checked():
    assert Mailer.from_config(MailConfig()) is None  # no smtp_url: no e-mail
    with pytest.raises(ConfigError, match="smtp://user:pass@host:587"):
        Mailer.from_config(MailConfig(smtp_url="http://host", from_address="a@b.cn"))
    with pytest.raises(ConfigError, match="from_address is required"):
        Mailer.from_config(MailConfig(smtp_url="smtp://host:587"))
    mailer = Mailer.from_config(MailConfig(smtp_url="smtps://a%40b:p%3Ass@mail.example.com", from_address="a@b.cn"))
    assert mailer is not None and mailer.implicit_tls and mailer.port == 465
    assert (mailer.user, mailer.password, mailer.host) == ("a@b", "p:ss", "mail.example.com")
