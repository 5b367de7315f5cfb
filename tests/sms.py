"""Tencent Cloud SMS (API 3.0 SendSms, 2021-01-11) on loopback for the SMS tests: a real
HTTP server that checks every request as Tencent does and answers in Tencent's shapes.

It verifies the TC3-HMAC-SHA256 signature with its own implementation (written from
Tencent's "签名方法 v3", sharing nothing with ``bot/handoff/sms.py``): the Authorization
header's form, the SecretId, SignedHeaders, the credential scope's date against
X-TC-Timestamp (UTC), a timestamp within five minutes, the action, version and region,
then the body against the application, signature (签名) and template it "approved".
Every request is recorded with the error code it got ("" when accepted)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from faqbot.config import SmsConfig

# Test credentials and console settings: made up, valid nowhere but here.
SECRET_ID = "AKIDfaqbotTest0000000000000000000000"
SECRET_KEY = "faqbot-test-secret-key-0000000000"
SDK_APP_ID = "1400000001"
SIGN_NAME = "示例客服"
TEMPLATE_ID = "1234567"
TEMPLATE_VARIABLES = 1  # "您的留言{1}已有回复，请打开网站客服聊天查看。"
REGIONS = {"ap-guangzhou", "ap-beijing", "ap-nanjing"}
MAX_SKEW = 300  # seconds, as Tencent allows

# Tencent's own messages for the errors this fake gives.
MESSAGES = {
    "AuthFailure.InvalidAuthorization": "Authorization in the request header is invalid.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found, please ensure that your SecretId is correct.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time cannot differ by more than 5 minutes.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. "
    "Please check your signature is correct.",
    "InvalidAction": "The requested action is invalid.",
    "NoSuchVersion": "The requested version does not exist.",
    "UnsupportedRegion": "The requested region is not supported.",
    "InvalidParameter": "The request body could not be parsed.",
    "InvalidParameterValue.IncorrectPhoneNumber": "incorrect number format",
    "InvalidParameterValue.SdkAppIdNotExist": "the SdkAppId does not exist",
    "FailedOperation.SignatureIncorrectOrUnapproved": "signature format is incorrect or signature is not approved",
    "FailedOperation.TemplateIncorrectOrUnapproved": "template is not approved or request content does not match "
    "the approved template content",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "the number of template parameters does not match",
    "LimitExceeded.PhoneNumberDailyLimit": "the number of sms messages sent from a single mobile number every day "
    "exceeds the upper limit",
}
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tencent_signature(
    key: str, timestamp: str, service: str, method: str, headers: dict[str, str], signed: str, body: bytes
) -> str:
    """The signature Tencent expects, computed from the request as received (``headers``:
    lower-case names) — independently of the client's code."""
    lines = [f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed.split(";")]
    canonical = f"{method}\n/\n\n{''.join(lines)}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    day = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{day}/{service}/tc3_request\n"
        + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    )
    derived = ("TC3" + key).encode("utf-8")
    for part in (day, service, "tc3_request"):
        derived = hmac.digest(derived, part.encode("utf-8"), "sha256")
    return hmac.digest(derived, to_sign.encode("utf-8"), "sha256").hex()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    error: str  # the error code answered, "" when the message was accepted

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TencentSmsServer:
    """``phone_errors[number] = code``: that number's send fails (SendStatusSet) with ``code``,
    e.g. "LimitExceeded.PhoneNumberDailyLimit". ``raw = (status, body)``: every request gets
    that instead (a proxy's error page). ``stall``: requests go unanswered until it is set."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.phone_errors: dict[str, str] = {}
        self.raw: tuple[int, bytes] | None = None
        self.stall: threading.Event | None = None
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if owner.stall is not None:  # the client gives up first; nobody reads an answer
                    owner.stall.wait(30)
                    return
                if owner.raw is not None:
                    self._answer(owner.raw[0], owner.raw[1], "text/html")
                    return
                try:
                    response, error = owner._send_sms(self.path, headers, body)
                except Refused as refused:
                    error = refused.code
                    response = {"Error": {"Code": error, "Message": MESSAGES[error]}}
                with owner._lock:
                    owner.received.append(Received(headers, body, error))
                response["RequestId"] = str(uuid.uuid4())
                data = json.dumps({"Response": response}, ensure_ascii=False).encode("utf-8")
                self._answer(200, data, "application/json")  # Tencent answers errors with 200 too

            def _answer(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def config(self, **changes: Any) -> SmsConfig:
        """``[sms]`` pointing at this server with its credentials and approved template."""
        values: dict[str, Any] = {
            "provider": "tencent",
            "endpoint": self.url,
            "secret_id": SECRET_ID,
            "secret_key": SECRET_KEY,
            "sdk_app_id": SDK_APP_ID,
            "sign_name": SIGN_NAME,
            "template_id": TEMPLATE_ID,
            **changes,
        }
        return SmsConfig(**values)

    def accepted(self) -> list[dict[str, Any]]:
        """The bodies of the messages it accepted."""
        with self._lock:
            return [r.json for r in self.received if not r.error]

    def errors(self) -> list[str]:
        with self._lock:
            return [r.error for r in self.received]

    def _send_sms(self, path: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], str]:
        """The answer to a request Tencent accepted, and the first number's error code ("" if none):
        numbers it refuses are in SendStatusSet, not an Error."""
        self._check_request(path, headers, body)
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError:
            raise Refused("InvalidParameter") from None
        if not isinstance(data, dict):
            raise Refused("InvalidParameter")
        phones, params = data.get("PhoneNumberSet"), data.get("TemplateParamSet", [])
        if (
            not isinstance(phones, list)
            or not phones
            or not all(isinstance(p, str) and _E164.fullmatch(p) for p in phones)
        ):
            raise Refused("InvalidParameterValue.IncorrectPhoneNumber")
        if data.get("SmsSdkAppId") != SDK_APP_ID:
            raise Refused("InvalidParameterValue.SdkAppIdNotExist")
        if data.get("SignName") != SIGN_NAME:
            raise Refused("FailedOperation.SignatureIncorrectOrUnapproved")
        if data.get("TemplateId") != TEMPLATE_ID:
            raise Refused("FailedOperation.TemplateIncorrectOrUnapproved")
        if (
            not isinstance(params, list)
            or len(params) != TEMPLATE_VARIABLES
            or not all(isinstance(p, str) for p in params)
        ):
            raise Refused("FailedOperation.TemplateParamSetNotMatchApprovedTemplate")
        statuses = []
        for phone in phones:
            code = self.phone_errors.get(phone)
            statuses.append(
                {
                    "SerialNo": "" if code else f"2640:{uuid.uuid4().int % 10**28:028d}",
                    "PhoneNumber": phone,
                    "Fee": 0 if code else 1,
                    "SessionContext": "",
                    "Code": code or "Ok",
                    "Message": MESSAGES[code] if code else "send success",
                    "IsoCode": "CN" if phone.startswith("+86") else "DEF",
                }
            )
        refused = [s["Code"] for s in statuses if s["Code"] != "Ok"]
        return {"SendStatusSet": statuses}, refused[0] if refused else ""

    def _check_request(self, path: str, headers: dict[str, str], body: bytes) -> None:
        """What Tencent checks before it reads the body."""
        found = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if path != "/" or found is None:
            raise Refused("AuthFailure.InvalidAuthorization")
        if found["id"] != SECRET_ID:
            raise Refused("AuthFailure.SecretIdNotFound")
        stamp = headers.get("x-tc-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW:
            raise Refused("AuthFailure.SignatureExpire")
        day = datetime.fromtimestamp(int(stamp), UTC).date().isoformat()
        if found["signed"] != "content-type;host" or found["service"] != "sms" or found["date"] != day:
            raise Refused("AuthFailure.SignatureFailure")
        expected = tencent_signature(SECRET_KEY, stamp, "sms", "POST", headers, found["signed"], body)
        if not hmac.compare_digest(expected, found["signature"]):
            raise Refused("AuthFailure.SignatureFailure")
        if headers.get("x-tc-action") != "SendSms":
            raise Refused("InvalidAction")
        if headers.get("x-tc-version") != "2021-01-11":
            raise Refused("NoSuchVersion")
        if headers.get("x-tc-region") not in REGIONS:
            raise Refused("UnsupportedRegion")

    def __enter__(self) -> TencentSmsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        if self.stall is not None:
            self.stall.set()
        self._server.shutdown()
        self._server.server_close()
