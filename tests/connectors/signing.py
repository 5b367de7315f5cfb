"""How DingTalk, Feishu, Slack, Messenger and Telegram authenticate the
requests they send to a bot, written for the tests from each platform's
documentation with hashlib/hmac/cryptography only — independent of the
production code. (WeChat and WeCom: ``tests/connectors/wechat_client.py``.)

Each ``*_headers`` function returns the headers the platform sends with
``body``, so connector tests and the fuzz suite (``tests/fuzz/``) build
requests exactly as the platform does around any body they like."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import uuid

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """DingTalk's ``sign`` header: Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret))."""
    return base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()


def dingtalk_headers(secret: str, timestamp: str | None = None) -> dict[str, str]:
    """A robot message's headers (the body is not signed); ``timestamp`` in milliseconds."""
    timestamp = timestamp or str(int(time.time() * 1000))
    return {"Content-Type": "application/json", "timestamp": timestamp, "sign": dingtalk_sign(timestamp, secret)}


def feishu_encrypt(plain: bytes, encrypt_key: str) -> str:
    """Feishu's ``encrypt`` field: Base64(IV + AES-256-CBC(PKCS#7(plain))), key = SHA-256(Encrypt Key)."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(hashlib.sha256(encrypt_key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode()


def feishu_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature``: hex SHA-256 of timestamp + nonce + Encrypt Key + the raw body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def feishu_headers(body: bytes, encrypt_key: str) -> dict[str, str]:
    """An event push's headers, signed over ``body`` (the JSON that carries ``encrypt``)."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": feishu_signature(timestamp, nonce, encrypt_key, body),
    }


def slack_signature(body: bytes, timestamp: str, secret: str) -> str:
    """``X-Slack-Signature``: v0= hex HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + body)."""
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def slack_headers(body: bytes, secret: str, content_type: str = "application/json") -> dict[str, str]:
    """An Events API or interactivity request's headers, signed now over ``body``."""
    timestamp = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(body, timestamp, secret),
    }


def messenger_signature(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256``: sha256= hex HMAC-SHA256(app secret, the raw body)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def messenger_headers(body: bytes, app_secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": messenger_signature(body, app_secret)}


def telegram_headers(secret_token: str) -> dict[str, str]:
    """An update's headers: Telegram sends the ``secret_token`` given to setWebhook back as is."""
    return {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret_token}
