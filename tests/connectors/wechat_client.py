"""The WeChat/WeCom servers' side of a callback, written for the tests from
the platform documentation (sha1 over sorted strings; AES-256-CBC, IV = key[:16],
PKCS#7 to 32 bytes, plaintext = 16 random bytes + 4-byte big-endian length +
XML + AppID/CorpID) — independent of the production code and of wechatpy."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.http import send


def new_aes_key() -> str:
    """An EncodingAESKey as the admin console makes one: 43 base64 characters."""
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


def sha1_sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _cipher(aes_key: str) -> Cipher:
    key = base64.b64decode(aes_key + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(aes_key: str, plaintext: str, receiver: str) -> str:
    return encrypt_bytes(aes_key, plaintext.encode(), receiver)


def encrypt_bytes(aes_key: str, body: bytes, receiver: str) -> str:
    """``encrypt`` for any bytes (the fuzz suite sends plaintexts that are not UTF-8 or not XML)."""
    raw = os.urandom(16) + struct.pack(">I", len(body)) + body + receiver.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    encryptor = _cipher(aes_key).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def decrypt(aes_key: str, data: str) -> tuple[str, str]:
    """(plaintext, receiver id)"""
    decryptor = _cipher(aes_key).decryptor()
    raw = decryptor.update(base64.b64decode(data)) + decryptor.finalize()
    raw = raw[: -raw[-1]]
    (length,) = struct.unpack(">I", raw[16:20])
    return raw[20 : 20 + length].decode(), raw[20 + length :].decode()


def xml_of(**fields: object) -> str:
    parts = [f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


def fields_of(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


@dataclass
class Answer:
    status: int
    body: str
    seconds: float


def http(method: str, url: str, body: str | None = None) -> Answer:
    reply = send(url, body.encode() if body is not None else None, {"Content-Type": "text/xml"}, method=method)
    return Answer(reply.status, reply.text, reply.seconds)


def with_query(url: str, **params: str) -> str:
    return url + "?" + urllib.parse.urlencode(params)


def stamp() -> tuple[str, str]:
    """(timestamp, nonce) for a new callback."""
    return str(int(time.time())), str(int.from_bytes(os.urandom(4), "big"))


# "提现手续费是多少" as a text menu: the feedback pair, then the entry's 猜你想问 (related questions).
FEE_MENU = "1. 有帮助\n2. 没帮助\n3. 提现多久能到账？\n4. 提现有额度限制吗？\n（回复数字即可选择）"
