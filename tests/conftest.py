"""Shared fixtures: real settings in temporary folders, the real default embedder,
and tiny real KBs written as editors write them."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from faqbot.config import PROJECT_ROOT, Settings, load_settings

SAMPLE_KB = PROJECT_ROOT / "kb_content"


@pytest.fixture(scope="session")
def embedder():
    from indexer.embedders import make_embedder

    return make_embedder(load_settings(env={}).embedder)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the KB and all data in a temporary folder."""
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    return load_settings(env={}).replace(kb_dir=kb_dir, data_dir=tmp_path / "var")


def write_kb(kb_dir: Path, name: str, text: str) -> Path:
    path = kb_dir / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


TINY_KB = """
category: 交易所/充值与提现
entries:
  - id: withdraw-fee
    question: 提现手续费是多少？
    similar:
      - 提币要收多少手续费
      - 提现收费吗
      - 提現手續費怎麼算
      - 取款的费用是多少
    answer: |
      提现手续费按币种和网络收取，以提现页面显示为准。
    tags: [提现, 手续费]
    handoff: never
    enabled: true
  - id: account-frozen
    question: 账户被冻结了怎么办？
    similar:
      - 我的账号被锁了
      - 账户为什么被冻结
      - 帳戶凍結怎麼解除
      - 号被封了怎么解封
    answer: |
      账户冻结需要人工核实身份。
    tags: [冻结]
    handoff: always
    handoff_notice: 正在为您转接人工客服。
  - id: pos-apply
    question: 个人可以申请POS机吗？
    similar:
      - 没有营业执照能办pos机吗
      - 个体户怎么申请刷卡机
      - 個人能辦POS機嗎
      - 私人能不能装pos
    answer: |
      可以，准备身份证和银行卡即可在线申请。详见[申请页](https://www.example.com/pos)。
    tags: [POS机]
"""


@pytest.fixture
def tiny_kb(settings: Settings) -> Settings:
    write_kb(settings.kb_dir, "tiny.yml", TINY_KB)
    return settings


@pytest.fixture
def sample_kb(settings: Settings) -> Settings:
    """A copy of the real sample KB in kb_content/."""
    shutil.copytree(SAMPLE_KB, settings.kb_dir, dirs_exist_ok=True)
    return settings


@pytest.fixture(scope="session")
def sample_searcher(tmp_path_factory, embedder):
    """A real index of the sample KB (its confidence model fitted), shared read-only by every test."""
    from indexer.service import build_and_publish, open_current

    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(SAMPLE_KB, root / "kb")
    settings = load_settings(env={}).replace(kb_dir=root / "kb", data_dir=root / "var")
    build_and_publish(settings, embedder=embedder)
    return open_current(settings, embedder)


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium (see tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import chromium_path, launch_chromium

    if not chromium_path().exists():
        pytest.fail(f"Chromium not found at {chromium_path()}: apt-get install chromium (or set FAQBOT_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
