"""Reading a file's column headers the way offices write them.

A header is normalised (NFKC, so full-width brackets and letters become half-width; lower case;
spaces and line breaks inside the cell dropped), its bracketed qualifiers are taken out as hints
(氏名（姓） → 氏名 + family, 名前（英字） → 名前 + Latin script, フリガナ（名） → フリガナ + given) and
prefixes or suffixes such as 現在の, 現, 欄 and 名 are tried away. Each way of reading the header has a
score saying how sure the match is: the wizard shows it, so a guess is never taken for a certainty.

Some columns the CRM does not keep on purpose (生年月日, 性別, マイナンバー …): they are not needed for
the purpose of use, so under the APPI's data minimisation they are recognised and reported as not
kept, never offered for mapping.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Scores: how sure a match is.
EXACT, QUALIFIED, AFFIXED, CONTAINED = 1.0, 0.9, 0.8, 0.6
SURE = QUALIFIED  # at or above: "sure"; below: "likely" (affixes) or "a guess" (a name inside the header)

_BRACKETS = re.compile(r"[(\[<【「『〈《〔]([^)\]>】」』〉》〕]*)[)\]>】」』〉》〕]")
_PUNCTUATION = re.compile(r"[\s_\-・/()\[\]<>【】「」『』〈〉《》〔〕:：.,、。*※#'\"]+")
_PREFIXES = ("現在の", "現在", "現", "最新の", "current", "present")
_SUFFIXES = ("欄", "名", "等", "など")

# Qualifier words → hint. Compared after the same normalisation as headers.
_HINT_WORDS = {
    "family": ("姓", "苗字", "名字", "family", "familyname", "last", "lastname", "surname"),
    "given": ("名", "first", "firstname", "given", "givenname", "forename"),
    "latin": ("ローマ字", "英字", "英語", "英文", "アルファベット", "romaji", "roman", "latin", "english", "alphabet"),
    "kana": ("カナ", "かな", "フリガナ", "ふりがな", "カタカナ", "katakana", "kana", "furigana"),
}


def header_key(text: str) -> str:
    """A header as compared for suggestions: NFKC, lower case, no spaces, line breaks or punctuation."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    return _PUNCTUATION.sub("", text)


_HINTS = {header_key(word): hint for hint, words in _HINT_WORDS.items() for word in words}
# Words that are a name part in katakana on their own (セイ | メイ: the readings of 姓 and 名).
_KANA_PARTS = {"セイ": {"kana", "family"}, "メイ": {"kana", "given"}, "せい": {"kana", "family"}, "めい": {"kana", "given"}}
_PART_WORDS = sorted({**{word: {hint} for word, hint in _HINTS.items()}, **_KANA_PARTS}.items(), key=lambda item: -len(item[0]))


def hint_words(key: str) -> set[str] | None:
    """The hints of a header made of qualifier words alone (姓カナ, メイ, 名(ローマ字) without brackets),
    else None."""
    hints: set[str] = set()
    while key:
        word = next((word for word, _ in _PART_WORDS if key.startswith(word)), None)
        if word is None:
            return None
        hints |= dict(_PART_WORDS)[word]
        key = key[len(word):]
    return hints


def split_qualifiers(header: str) -> tuple[str, set[str]]:
    """(the header without its bracketed qualifiers, as a key; the hints the qualifiers give)."""
    text = unicodedata.normalize("NFKC", str(header))
    hints = set()
    for qualifier in _BRACKETS.findall(text):
        for word in re.split(r"[\s・/,、]+", qualifier):
            hints |= hint_words(header_key(word)) or set()
    return header_key(_BRACKETS.sub(" ", text)), hints


def _without_affixes(key: str) -> list[str]:
    """The key with one known prefix and/or suffix taken away (longest first), never to nothing."""
    found = []
    for prefix in ("", *_PREFIXES):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        for suffix in ("", *_SUFFIXES):
            if (prefix or suffix) and rest.endswith(suffix) and len(rest) > len(suffix):
                found.append(rest[:len(rest) - len(suffix)] if suffix else rest)
    return found


def _distinctive(name: str) -> bool:
    return len(name) >= (5 if name.isascii() else 2)


@dataclass(frozen=True)
class Match:
    key: str | None  # the column key, None when the column is not kept on purpose
    score: float
    hints: frozenset[str] = frozenset()


class HeaderMatcher:
    """Header → the best column key with a score, from each column's names and how qualifiers
    redirect them (`resolve`: (column key, hints) → column key)."""

    def __init__(self, names: dict[str, str], not_kept: set[str], resolve=None, special: dict[str, str] | None = None,
                 named_by_parts: str | None = None):
        self.names = names  # normalised name → column key
        # The column a header of qualifier words alone stands for (姓カナ: the 氏名's katakana, family part).
        self.named_by_parts = named_by_parts
        self.not_kept = not_kept  # normalised names of columns not kept on purpose
        self.resolve = resolve or (lambda key, hints: key)
        self.special = special or {}
        # A name found inside a longer header: only names long enough not to be found by chance
        # ("end" is inside "gender").
        self._contained = sorted((name for name in names if _distinctive(name)), key=len, reverse=True)
        self._not_kept_contained = [name for name in not_kept if _distinctive(name)]

    def match(self, header: str) -> Match | None:
        key = header_key(header)
        if key in self.special:
            return Match(self.special[key], EXACT)
        if key in self.names:
            return Match(self.names[key], EXACT)
        base, hints = split_qualifiers(header)
        if hints:  # 姓（カナ）: the family part of the katakana name
            hints |= hint_words(base) or set()
        candidates = [(base, QUALIFIED if hints or base != key else EXACT)]
        candidates += [(stripped, AFFIXED) for stripped in _without_affixes(base)]
        for name, score in candidates:
            if name in self.not_kept:
                return Match(None, score)
            if name in self.names:
                return Match(self.resolve(self.names[name], frozenset(hints)), score, frozenset(hints))
        parts = hint_words(base) if self.named_by_parts else None
        if parts and parts & {"family", "given"}:  # not "English" alone
            return Match(self.resolve(self.named_by_parts, frozenset(parts | hints)), QUALIFIED, frozenset(parts | hints))
        if any(name in base for name in self._not_kept_contained):
            return Match(None, CONTAINED)
        for name in self._contained:
            if name in base:
                return Match(self.resolve(self.names[name], frozenset(hints)), CONTAINED, frozenset(hints))
        return None


def assign(matches: dict[str, Match | None], joinable: set[str]) -> dict[str, str]:
    """Header → column key: the surest matches first, each column once (except `joinable` columns,
    whose parts (family, given) come in separate headers and are joined)."""
    ranked = sorted(((match.score, index, header, match) for index, (header, match) in enumerate(matches.items())
                     if match and match.key), key=lambda item: (-item[0], item[1]))
    mapping, taken = {}, set()
    for _score, _index, header, match in ranked:
        part = frozenset(match.hints & {"family", "given"}) if match.key in joinable else frozenset()
        # A whole column excludes every part of it, and a part excludes the whole and the same part.
        if (match.key, frozenset()) in taken or (match.key, part) in taken or (not part and any(key == match.key for key, _ in taken)):
            continue
        taken.add((match.key, part))
        mapping[header] = match.key
    return {header: mapping[header] for header in matches if header in mapping}
