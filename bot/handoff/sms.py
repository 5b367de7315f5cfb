"""Text messages by Tencent Cloud SMS (API 3.0 ``SendSms``, version 2021-01-11): how a
customer who left a mobile number learns that their 留言 has an answer.

A text message to a mainland number can only use a template the platform approved in
advance, with numbered variables of a few characters each, so it cannot carry a
free-text answer. The approved template takes the 留言 number as ``{1}`` and says where
to read the answer, e.g.

    您的留言{1}已有回复，请打开网站客服聊天查看。

so the SMS only *notifies*: the ticket is delivered when the customer sees the answer
in the chat (``bot/handoff/tickets.py``, outcome ``notified``).

Each request is signed with TC3-HMAC-SHA256 (Tencent Cloud's "签名方法 v3"): a
canonical request (POST, URI "/", no query, the signed headers content-type and
host, the body's SHA-256), a string to sign (algorithm, timestamp, credential scope
``<UTC date>/sms/tc3_request``, the canonical request's SHA-256), and a key derived
by HMAC from ``"TC3" + SecretKey`` through the date, the service and
``tc3_request``. The secret key itself never leaves this process.

Blocking (the desk runs it in its worker threads), and never retried: a retry after
a timeout could text the customer twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from faqbot.config import ConfigError, SmsConfig
from faqbot.errors import FaqbotError

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
ACTION, VERSION = "SendSms", "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"
# Plain http is accepted only for a test server on this machine.
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_REQUIRED = ("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id")
# A mainland mobile, with or without +86 / 0086 / 86; any other country's number with + or 00.
_MAINLAND = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_INTERNATIONAL = re.compile(r"(?:\+|00)([1-9][0-9]{6,14})")


class SmsFailed(FaqbotError):
    """The SMS was not sent (the text says why, in Chinese, for the console)."""


# -- TC3-HMAC-SHA256 (签名方法 v3) ------------------------------------------------


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def utc_date(timestamp: int) -> str:
    """The credential scope's date: the UTC day of ``timestamp`` (the local day in China is
    a day ahead from 00:00 to 08:00, and every request signed then would fail)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(host: str, payload: bytes, content_type: str = CONTENT_TYPE) -> str:
    """TC3's canonical form of a POST to "/" that signs content-type and host."""
    headers = f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    return "\n".join(("POST", "/", "", headers, SIGNED_HEADERS, _sha256_hex(payload)))


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return "\n".join((ALGORITHM, str(timestamp), scope, _sha256_hex(canonical.encode("utf-8"))))


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """The hex signature of ``string_to_sign``: HMAC-SHA256 under the key derived from
    ``secret_key`` for that date (YYYY-MM-DD, UTC) and service."""
    secret_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(secret_id: str, secret_key: str, service: str, host: str, timestamp: int, payload: bytes) -> str:
    """The Authorization header of a JSON POST with ``payload`` to ``host`` at ``timestamp``."""
    to_sign = string_to_sign(timestamp, service, canonical_request(host, payload))
    signature = tc3_signature(secret_key, utc_date(timestamp), service, to_sign)
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"


# -- phone numbers ----------------------------------------------------------------


def mobile_e164(phone: str) -> str | None:
    """``phone`` in E.164 ("+8613800138000") if it may take a text message: a mainland
    mobile (11 digits, with or without +86), or another country's number written with
    + or 00. None for a mainland landline (0755-…), which cannot receive SMS."""
    number = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", phone))
    mainland = _MAINLAND.fullmatch(number)
    if mainland:
        return "+86" + mainland.group(1)
    other = _INTERNATIONAL.fullmatch(number)
    if other and not other.group(1).startswith("86"):
        return "+" + other.group(1)
    return None


# -- the client ---------------------------------------------------------------------


@dataclass(frozen=True)
class TencentSms:
    endpoint: str
    region: str
    secret_id: str
    secret_key: str = field(repr=False)
    sdk_app_id: str
    sign_name: str
    template_id: str
    timeout: float = 10.0
    ca_file: str = ""

    @classmethod
    def from_config(cls, sms: SmsConfig) -> TencentSms | None:
        """The configured provider, or ``None`` when ``[sms] provider`` is empty."""
        provider = sms.provider.strip().lower()
        if not provider:
            return None
        if provider != "tencent":
            raise ConfigError(f'sms.provider must be "" (no SMS) or "tencent", not {sms.provider!r}')
        missing = [f"sms.{name}" for name in _REQUIRED if not getattr(sms, name).strip()]
        if missing:
            raise ConfigError(f'{", ".join(missing)}: required with sms.provider = "tencent" (see the SMS console)')
        try:
            parts = urlsplit(sms.endpoint.strip())
            _ = parts.port  # a bad port raises ValueError
        except ValueError as exc:
            raise ConfigError(f"sms.endpoint: {exc}") from None
        plain_ok = parts.scheme == "http" and parts.hostname in _LOOPBACK
        if not parts.hostname or parts.username or not (parts.scheme == "https" or plain_ok):
            raise ConfigError("sms.endpoint must be https://host (plain http only for a test server on 127.0.0.1)")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ConfigError("sms.endpoint is the API's address without a path, e.g. https://sms.tencentcloudapi.com")
        if not sms.region.strip():
            raise ConfigError("sms.region is required, e.g. ap-guangzhou")
        if sms.timeout <= 0:
            raise ConfigError(f"sms.timeout must be above 0 seconds, not {sms.timeout}")
        return cls(
            endpoint=f"{parts.scheme}://{parts.netloc.lower()}",
            region=sms.region.strip(),
            secret_id=sms.secret_id.strip(),
            secret_key=sms.secret_key.strip(),
            sdk_app_id=sms.sdk_app_id.strip(),
            sign_name=sms.sign_name.strip(),
            template_id=sms.template_id.strip(),
            timeout=sms.timeout,
            ca_file=sms.ca_file,
        )

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc

    def request(self, phone: str, params: list[str], timestamp: int) -> tuple[dict[str, str], bytes]:
        """The headers and body of one SendSms call, signed for ``timestamp`` (Unix seconds)."""
        number = mobile_e164(phone)
        if number is None:
            raise SmsFailed(f"{phone} 不是手机号码，不能接收短信")
        body = {
            "PhoneNumberSet": [number],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": self.template_id,
            "TemplateParamSet": [str(p) for p in params],
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Host": self.host,
            "Content-Type": CONTENT_TYPE,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
            "Authorization": authorization(self.secret_id, self.secret_key, SERVICE, self.host, timestamp, payload),
        }
        return headers, payload

    def send(self, phone: str, params: list[str]) -> str:
        """Text ``phone`` the approved template filled with ``params``; the provider's SerialNo
        once it accepted the message (delivery to the handset is reported later, not here)."""
        headers, payload = self.request(phone, params, int(time.time()))
        context = ssl.create_default_context(cafile=self.ca_file or None)
        try:
            with httpx.Client(verify=context, timeout=self.timeout) as client:
                reply = client.post(self.endpoint, content=payload, headers=headers)
        except httpx.TimeoutException:
            raise SmsFailed(f"腾讯云短信 {self.host} 在 {self.timeout:g} 秒内没有应答") from None
        except (httpx.HTTPError, OSError) as exc:
            raise SmsFailed(f"无法连接腾讯云短信 {self.host}：{type(exc).__name__}: {exc}") from None
        return serial_no(reply)


def serial_no(reply: httpx.Response) -> str:
    """The SerialNo of an accepted SendSms answer; SmsFailed saying why for any other."""
    try:
        answer = reply.json()["Response"]
        if not isinstance(answer, dict):
            raise TypeError(answer)
    except (ValueError, KeyError, TypeError):
        if reply.is_error:
            raise SmsFailed(f"腾讯云短信应答 HTTP {reply.status_code}：{reply.text[:200]}") from None
        raise SmsFailed(
            f"腾讯云短信的应答不是 API 3.0 的 JSON（HTTP {reply.status_code}）：{reply.text[:200]}"
        ) from None
    error = answer.get("Error")
    if error:
        code, message = (error.get("Code"), error.get("Message")) if isinstance(error, dict) else (error, "")
        hint = "；请检查 [sms] secret_id、secret_key 和本机时间" if str(code).startswith("AuthFailure") else ""
        raise SmsFailed(f"腾讯云短信拒绝了请求：{code}（{message}）{hint}")
    statuses = answer.get("SendStatusSet")
    if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
        raise SmsFailed("腾讯云短信的应答里没有发送结果（SendStatusSet）")
    status = statuses[0]
    if status.get("Code") != "Ok":
        raise SmsFailed(f"短信未发出：{status.get('Code')}（{status.get('Message')}）")
    return str(status.get("SerialNo") or "")
