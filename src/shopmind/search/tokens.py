"""The words of a text as search compares them: English folded and stemmed, Chinese segmented.

Latin-script text is case-folded, split on anything that is not a letter or digit, stripped
of stop words and stemmed with the Snowball English stemmer (PyStemmer), so "cameras" finds
"camera". Runs of Chinese characters are segmented with jieba's search mode, which also
yields the shorter words inside a long one ("数码相机" → 数码, 相机, 数码相机), so a query for
相机 finds a 数码相机.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

#: Runs of CJK ideographs (the unified block and its first extension, compatibility forms).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: Latin-script words and numbers (letters or digits; "f/1.8" gives "f", "1", "8").
WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOP = """a an and are as at be by for from has have in into is it its of on or our so than that
the their them these this those to was were will with without you your i me my we us want need
looking look some something thing things any"""
STOP_WORDS = frozenset(_STOP.split())
#: Chinese function words and the filler of shopping queries (想要, 一个 ...).
_STOP_ZH = """的 了 和 与 或 及 在 是 有 我 你 要 想 想要 一个 一款 一些 个 款 用 用的 给 买 求
推荐 适合 什么"""
STOP_WORDS_ZH = frozenset(_STOP_ZH.split())

_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def words(text: str) -> list[str]:
    """The text's words before stemming: Latin words folded, Chinese segmented (search mode),
    stop words kept (the query parser reads them)."""
    out: list[str] = []
    at = 0
    folded = text.casefold()
    for run in CJK.finditer(folded):
        out += WORD.findall(folded[at : run.start()])
        out += [w for w in _jieba().cut_for_search(run.group()) if w.strip()]
        at = run.end()
    out += WORD.findall(folded[at:])
    return out


def stem(word: str) -> str:
    """A Latin word's stem; a Chinese word as it is."""
    if has_cjk(word):
        return word
    stemmed: str = _stemmer().stemWord(word)
    return stemmed


def tokens(text: str) -> list[str]:
    """The terms a text is indexed and searched by: :func:`words` without stop words, stemmed."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and w not in STOP_WORDS_ZH]
