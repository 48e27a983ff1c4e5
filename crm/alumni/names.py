"""Katakana <-> Latin name matching for the alumni duplicate warning.

Pure Python: no Flask, no database.  The only third-party dependency is
``pykakasi`` (PyPI, tested with 2.3.0; GPL-3.0-or-later, pure Python, ships its
dictionaries inside the wheel, so nothing is downloaded at run time).

Public API
----------
``normalise_kana(text)``
    Canonical storage/search form of a katakana name: NFKC (half-width ->
    full-width katakana, full-width ASCII -> ASCII), hiragana -> katakana,
    every separator (space, ideographic space, ・ ･ · = ＝ ゠ / , 、) -> one
    ``・``, hyphen/dash look-alikes -> ``ー``.
``romanise_katakana(kana)``
    Hepburn romaji, parts separated by one space: ``'ジョン・スミス'`` ->
    ``'jon sumisu'``.  The base syllabary comes from ``kana_romaji`` (pykakasi's
    own romanisation of every mora, generated, so that pykakasi's ~120 MB of
    dictionaries load only for kanji); the extended
    katakana combinations used for foreign sounds (ティ, ウィ, シェ, ジェ,
    トゥ, クォ, ...), which pykakasi 2.3 romanises as two syllables
    (``ティ`` -> ``'tei'``), are taken from a small table of their own.
``name_key(text)``
    Coarse phonetic key, order-insensitive: the sorted consonant skeletons of
    the name's words.  Works on a Latin name (``'John Smith'``,
    ``'Smith, John'``, ``'JÖHN SMITH'``), a katakana/hiragana name, or an
    already romanised one (``'jon sumisu'``).  All of these give ``'JN SMS'``.
``latin_name_key(family, given)`` / ``kana_name_key(kana)``
    The key to store per alumnus (indexed column).  ``latin_name_keys`` also
    returns the variants without middle names / with hyphenated parts joined.
``katakana_matches_latin(kana_name, family, given)``
    The fine check the app calls (True = warn about a possible duplicate).
``match_cost(kana_name, family, given)``
    The underlying score (lower is closer; ``MATCH_THRESHOLD`` is the cut).

Algorithm
---------
*Key* (cheap, for indexed equality).  Each word is reduced to a consonant
skeleton in a coarse alphabet: English spelling rules on the Latin side
(``l->R, r->R`` but a post-vocalic ``r`` is dropped as in non-rhotic
katakana ``ロバート``; ``v->B``; ``th/s/z/sh->S``; ``ph->F``; ``ck/c/q->K``
with ``c`` before e/i/y -> S; ``j/ch/tch/dg/soft g->J``; ``x->KS``; silent
``kn/wr/gh/mb``; ``w``, ``y`` and non-initial ``h`` dropped; ``m``/``n``
before b/p -> N; doubles collapsed; final ``NG -> N``) and plain romaji rules
on the katakana side (epenthetic vowels ``sumisu`` simply vanish with the
vowels).  A leading ``V`` marks a word that starts with a vowel.  Word
skeletons are sorted, so family/given order does not matter.

*Fine check* (``katakana_matches_latin``).  Each Latin word is segmented into
graphemes by ordered, context-sensitive rules; each grapheme lists the
romaji it may become in katakana with a cost (``'a'`` in ``Jane`` ->
``e`` 0 / ``a`` 0.5, ``ch`` -> ``ch`` 0 / ``k`` 0.15 / ``sh`` 0.35, final
silent ``e``, ``er`` -> ``a``, ...).  A dynamic programme aligns these
segments with the romanised katakana (long vowels and geminates collapsed),
where an epenthetic vowel (``u`` after most consonants, ``o`` after t/d,
``i`` after ch/j) costs 0.05, any other inserted vowel 0.5, a vowel
substitution 0.5 and a consonant insertion/deletion/substitution 0.6-1.0.
Every katakana part must align with a Latin word (family-first or
given-first, with or without middle names, hyphenated parts split or
joined) at cost <= ``MATCH_THRESHOLD``; a katakana name written without
separators is compared as one string with the whole Latin name.  A few very
irregular names (Sean, Siobhan, Stephen, Korean Lee/Choi, ...) have extra
respellings in ``_ALIASES``.

Trade-off
---------
The key ignores vowels, so it is deliberately coarse: ``John`` and ``Jane``
share ``JN``.  That is what makes it robust to katakana's vowel changes and
epenthesis, and it is why a key hit must be confirmed with
``katakana_matches_latin`` (which does look at vowels).  Conversely a key
can differ for a genuine match when the katakana changes a consonant
(``Stephen``/``スティーブン`` is special-cased, ``Hood``/``フッド``,
``Lee``/``イ`` are not), when the katakana has no separator between the
parts (``ジョンスミス``) or keeps/drops a middle name differently.  Index
lookups by key therefore find most, not all, duplicates; if full recall is
needed on a small set (e.g. one prefecture's alumni), run
``katakana_matches_latin`` over all rows as well: a new comparison costs
more than one whose words have been seen (results are cached), and the first
call also builds pykakasi's tables.  Storing
``latin_name_keys`` (a few keys per alumnus) instead of one key narrows the
middle-name gap.  ``latin_name_key`` joins hyphenated given names (Korean
``Min-jun`` is ``ミンジュン``) but splits family names (``Smith-Jones`` is
``スミス＝ジョーンズ``).  Long vowels are collapsed, so ``Joan``/``John`` both
match ``ジョン`` (the warning is advisory, so homophones are acceptable).

Measured on the labelled set in ``tests/test_alumni_names.py`` (154 same-person
pairs, 104 different-person pairs from the JET countries): recall 0.987,
precision 1.0 (no false positive); exact key equality alone finds 0.90 of the
same-person pairs.  Not modelled: French spelling (``Leblanc``/``ルブラン``),
and katakana taken from a language other than the spelling's (Afrikaans
``Botha`` as ``ボタ`` matches, but its key differs).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Iterable, Sequence

from crm.alumni.kana_romaji import MORA_ROMAJI

__all__ = [
    "MATCH_THRESHOLD",
    "normalise_kana",
    "romanise_katakana",
    "name_key",
    "latin_name_key",
    "latin_name_keys",
    "kana_name_key",
    "katakana_matches_latin",
    "match_cost",
    "split_latin_words",
]

#: A katakana part matches a Latin word when the alignment cost is <= this.
#: One unexplained vowel substitution costs 0.5, so it is always rejected.
MATCH_THRESHOLD = 0.45

# Bounds for the whole-string fallback (its cost grows with length squared);
# real names are far below them.
_MAX_PARTS = 8
_MAX_CONCAT_TOKENS = 48
_MAX_LATIN_WORDS = 8

# ---------------------------------------------------------------------------
# Kana normalisation
# ---------------------------------------------------------------------------

_SEPARATORS = set(" \t\n\r\u3000・･·•‧∙⋅=＝゠/／,，、")
_LONG_MARKS = set("-‐‑‒–—―−－ｰ～〜")
_SMALL_KANA = set("ァィゥェォャュョヮ")


def _is_katakana(ch: str) -> bool:
    return "\u30a0" < ch <= "\u30ff" and ch != "・"


def _contains_kana(text: str) -> bool:
    """True if ``text`` has kana (full/half-width) or CJK ideographs."""
    return any(
        "\u3040" <= ch <= "\u30ff" or "\uff66" <= ch <= "\uff9f"
        or "\u3400" <= ch <= "\u9fff"
        for ch in text
    )


def normalise_kana(text: str) -> str:
    """Return ``text`` as full-width katakana with ``・`` between parts.

    >>> normalise_kana('ｼﾞｮﾝ･ｽﾐｽ')
    'ジョン・スミス'
    >>> normalise_kana(' じょん　すみす ')
    'ジョン・スミス'
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if 0x3041 <= code <= 0x3096 or ch in "ゝゞ":  # hiragana -> katakana
            ch = chr(code + 0x60)
        if ch in _SEPARATORS:
            if out and out[-1] != "・":
                out.append("・")
            continue
        if ch in _LONG_MARKS:
            ch = "ー"
        out.append(ch)
    return "".join(out).strip("・")


# ---------------------------------------------------------------------------
# Romanisation (pykakasi + table for extended katakana)
# ---------------------------------------------------------------------------

# Extended (foreign-sound) katakana combinations that pykakasi 2.3 renders as
# two syllables (ティ -> 'tei', ウィ -> 'ui', シェ -> 'shie', ...).  Modified
# Hepburn, after the Cabinet notice on loanword spelling (外来語の表記, 1991).
_EXTENDED = {
    "イェ": "ye", "ウィ": "wi", "ウェ": "we", "ウォ": "wo", "ウァ": "wa",
    "ヴァ": "va", "ヴィ": "vi", "ヴェ": "ve", "ヴォ": "vo", "ヴュ": "vyu",
    "キェ": "kye", "ギェ": "gye", "クァ": "kwa", "クィ": "kwi", "クェ": "kwe",
    "クォ": "kwo", "グァ": "gwa", "グィ": "gwi", "グェ": "gwe", "グォ": "gwo",
    "シェ": "she", "ジェ": "je", "スィ": "si", "ズィ": "zi", "チェ": "che",
    "ツァ": "tsa", "ツィ": "tsi", "ツェ": "tse", "ツォ": "tso", "ティ": "ti",
    "テュ": "tyu", "トゥ": "tu", "ディ": "di", "デュ": "dyu", "ドゥ": "du",
    "ニェ": "nye", "ヒェ": "hye", "ビェ": "bye", "ピェ": "pye", "ミェ": "mye",
    "リェ": "rye", "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo",
    "フュ": "fyu", "ホゥ": "hu", "ヂェ": "je",
    "ヷ": "va", "ヸ": "vi", "ヹ": "ve", "ヺ": "vo",
}

_kakasi = None
_kakasi_lock = threading.RLock()


def _converter():
    global _kakasi
    if _kakasi is None:
        with _kakasi_lock:
            if _kakasi is None:
                import pykakasi  # imported lazily: building its tables is slow

                _kakasi = pykakasi.kakasi()
    return _kakasi


@functools.lru_cache(maxsize=4096)
def _pykakasi_hepburn(text: str) -> str:
    with _kakasi_lock:  # be conservative: pykakasi makes no thread-safety promise
        parts = _converter().convert(text)
    return "".join(p["hepburn"] for p in parts)


def _morae(part: str) -> list[str]:
    """Split a normalised katakana part into morae (base + small kana)."""
    units: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if _is_katakana(ch):
            if i + 1 < len(part) and part[i + 1] in _SMALL_KANA and ch not in "ッー":
                units.append(part[i : i + 2])
                i += 2
            else:
                units.append(ch)
                i += 1
        else:  # a run of non-katakana (kanji, Latin...): hand it to pykakasi whole
            j = i
            while j < len(part) and not _is_katakana(part[j]):
                j += 1
            units.append(part[i:j])
            i = j
    return units


def _romanise_part(part: str) -> str:
    out: list[str] = []
    geminate = False
    for unit in _morae(part):
        if unit == "ッ":
            geminate = True
            continue
        if unit == "ー":
            for ch in reversed("".join(out)):
                if ch in "aiueo":
                    out.append(ch)
                    break
            continue
        roma = _EXTENDED.get(unit)
        if roma is None:
            roma = MORA_ROMAJI.get(unit)
        if roma is None:  # not katakana (kanji): pykakasi's dictionaries, loaded only now
            roma = _pykakasi_hepburn(unit)
        roma = re.sub(r"[^a-z']", "", roma.lower())
        if unit == "ン":
            roma = "n"
        elif out and out[-1] == "n" and roma[:1] in ("a", "i", "u", "e", "o", "y"):
            out[-1] = "n'"
        if geminate and roma:
            if roma.startswith("ch"):
                roma = "t" + roma
            elif roma[0] not in "aiueon":
                roma = roma[0] + roma
            geminate = False
        out.append(roma)
    # A trailing ッ (glottal stop) has no Hepburn spelling and is dropped.
    return "".join(out)


def romanise_katakana(kana: str) -> str:
    """Romanise a katakana (or hiragana) name, parts joined by one space.

    >>> romanise_katakana('ジョン・スミス')
    'jon sumisu'
    >>> romanise_katakana('ケイティー・ウィリアムズ')
    'keitii wiriamuzu'
    """
    parts = [p for p in normalise_kana(kana).split("・") if p]
    return " ".join(r for r in (_romanise_part(p) for p in parts) if r)


# ---------------------------------------------------------------------------
# Latin normalisation
# ---------------------------------------------------------------------------

_LATIN_SPECIAL = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
    "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "đ": "d",
    "Đ": "D", "ı": "i", "ħ": "h",
})


def _fold_latin(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_LATIN_SPECIAL)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower()


def split_latin_words(text: str, *, split_hyphens: bool = True) -> list[str]:
    """Lower-case ASCII words of a Latin name (accents stripped).

    Apostrophes and dots join (``O'Brien`` -> ``obrien``); spaces, commas and
    (if ``split_hyphens``) hyphens separate.
    """
    text = _fold_latin(text)
    text = re.sub(r"['’`´.]", "", text)
    if not split_hyphens:
        text = re.sub(r"[-‐‑–]", "", text)
    return [w for w in re.split(r"[^a-z]+", text) if w]


# ---------------------------------------------------------------------------
# Coarse key: consonant skeleton
# ---------------------------------------------------------------------------

_VOWELS = "aeiouy"
# Respellings used for the key only (must stay one spelling per word).
_KEY_RESPELL = {"stephen": "steven", "stephens": "stevens", "siobhan": "shivon",
                "niamh": "niv", "jose": "hose", "juan": "huan"}

_LATIN_KEY_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r) for p, r in [
        (r"^mc", "mak"),
        (r"tch", "J"), (r"sch", "S"), (r"ch(?=[rl])", "K"), (r"ch(?=ae)", "K"),
        (r"ch(?=ele$)", "S"),
        (r"ch", "J"), (r"ph", "F"), (r"^th(?=om|eres)", "T"), (r"th", "S"),
        (r"sh", "S"), (r"zh", "J"), (r"^gh", "G"), (r"gh", ""), (r"ck", "K"),
        (r"cc(?=[eiy])", "KS"), (r"c(?=[eiy])", "S"), (r"c", "K"), (r"qu", "K"),
        (r"q", "K"), (r"^x", "S"), (r"x", "KS"), (r"dg", "J"), (r"dt", "T"),
        (r"^kn", "N"), (r"^gn", "N"), (r"^wr", "R"), (r"^ps", "S"),
        (r"wh", "h"), (r"mb$", "M"), (r"rh", "R"), (r"kh", "K"), (r"mpb", "mb"),
        (r"(?<=[ao])l(?=[km])", ""),
        (r"g(?=[eiy])", "J"),
    ]
]

_CLASS = {
    "b": "B", "v": "B", "d": "D", "f": "F", "g": "G", "j": "J", "k": "K",
    "l": "R", "r": "R", "m": "M", "n": "N", "p": "P", "s": "S", "z": "S",
    "t": "T",
}


def _skeleton(word: str, *, romaji: bool) -> str:
    """Consonant skeleton of one lower-case ASCII word (see module doc)."""
    if not word:
        return ""
    if not romaji:
        word = _KEY_RESPELL.get(word, word)
        word = re.sub(r"([b-df-hj-np-tv-z])\1+", r"\1", word)  # collapse doubles
        for pat, rep in _LATIN_KEY_RULES:
            word = pat.sub(rep, word)
    else:
        word = word.replace("'", "")
        word = word.replace("sh", "S").replace("ch", "J").replace("ts", "TS")
    # Now: lowercase = letters still to classify, uppercase = classes.
    out: list[str] = []
    n = len(word)

    def vowel(k: int) -> bool:
        return 0 <= k < n and word[k] in _VOWELS

    for i, ch in enumerate(word):
        if ch in _VOWELS or ch == "w":
            # a word starting with a vowel (or a w/y glide) is marked with V
            if i == 0 and (ch in "aeiou" or vowel(1) or ch == "y"):
                out.append("V")
            continue
        if ch == "h":
            # kept word-initially or between vowels (Hannah, Graham)
            if (i == 0 or vowel(i - 1)) and vowel(i + 1):
                out.append("H")
            continue
        if ch == "r" and not romaji and vowel(i - 1) and (
            not vowel(i + 1) or (i + 2 == n and word[i + 1] == "e")
        ):
            continue  # non-rhotic: Robert -> ロバート, Moore -> ムーア
        cls = ch if ch.isupper() else _CLASS.get(ch, "")
        if cls in ("M", "N") and i + 1 < n and word[i + 1] in "bpBP":
            cls = "N"  # Japanese ン before b/p: Campbell -> キャンベル
        out.append(cls)
    skel = re.sub(r"(.)\1+", r"\1", "".join(out))
    if skel.endswith("NG"):
        skel = skel[:-1]
    return skel


def _key_from_words(words: Iterable[str], *, romaji: bool) -> str:
    return " ".join(sorted(s for s in (_skeleton(w, romaji=romaji) for w in words) if s))


def name_key(text: str) -> str:
    """Order-insensitive phonetic key of a Latin, kana or romaji name.

    >>> name_key('Smith, John') == name_key('ジョン・スミス') == name_key('jon sumisu')
    True
    """
    if _contains_kana(text):
        return _key_from_words(romanise_katakana(text).split(), romaji=True)
    return _key_from_words(split_latin_words(text), romaji=False)


def kana_in_latin_fields(family: str, given: str) -> str:
    """The katakana name held in the Latin name fields (``'スミス'``, ``'ジョン'`` ->
    ``'ジョン・スミス'``), or ``''`` when they hold none. The forms refuse kana there; records
    stored before that are read as what the kana is, a reading of the name."""
    if not (_has_kana_letters(family or "") or _has_kana_letters(given or "")):
        return ""
    return normalise_kana(f"{given or ''}・{family or ''}").strip("・")


def _has_kana_letters(text: str) -> bool:
    """Hiragana or katakana (full- or half-width), not kanji: a reading, not a spelling."""
    return any("\u3041" <= ch <= "\u30ff" and ch != "・" or "\uff66" <= ch <= "\uff9f" for ch in text)


def has_kana_letters(text: str) -> bool:
    """Does ``text`` hold hiragana or katakana (the Latin name fields refuse them)?"""
    return _has_kana_letters(text or "")


def latin_name_key(family: str, given: str) -> str:
    """Key to store for an alumnus' Latin name (all words, order-insensitive)."""
    kana = kana_in_latin_fields(family, given)
    if kana:
        return kana_name_key(kana)
    words = split_latin_words(given, split_hyphens=False) + split_latin_words(family)
    return _key_from_words(words, romaji=False)


def latin_name_keys(family: str, given: str) -> list[str]:
    """All keys worth indexing for a Latin name, the ``latin_name_key`` first.

    Adds the key without middle names and with hyphenated/multi-word parts
    written as one word (katakana often has no separator there).
    """
    if kana_in_latin_fields(family, given):
        return [latin_name_key(family, given)]
    keys: list[str] = []
    for seq in _latin_candidates(family, given):
        k = _key_from_words(seq, romaji=False)
        if k not in keys:
            keys.append(k)
    first = latin_name_key(family, given)
    if first in keys:
        keys.remove(first)
    return [first] + keys


def kana_name_key(kana: str) -> str:
    """Key to store for an alumnus' katakana name; equals ``latin_name_key`` of
    the same person in most cases (see module doc for when it does not)."""
    return _key_from_words(romanise_katakana(kana).split(), romaji=True)


# ---------------------------------------------------------------------------
# Fine check: grapheme segmentation of Latin words + alignment DP
# ---------------------------------------------------------------------------

_V = "[aeiouy]"
_C = "[b-df-hj-np-tv-z]"
_NV = "(?:[b-df-hj-np-tv-z]|$)"  # a consonant or the end of the word

# Each rule: (regex matched at the current position, kind, alternatives).
# Alternatives: "romaji tokens separated by spaces:cost", "" = silent.
_RULES_SRC: list[tuple[str, str, str]] = [
    # --- consonant clusters -------------------------------------------------
    (r"tch", "C", "ch:0"),
    (r"sch", "C", "sh:0|s k:0.1"),
    (r"ch(?=[rl])", "C", "k:0"),
    (r"^ch(?=ar|er|an|ey|ery)", "C", "ch:0|sh:0.1"),
    (r"ch(?=el$|ell?e$)", "C", "sh:0|ch:0.1"),
    (r"ch(?=ae)", "C", "k:0|ch:0.2"),
    (r"ch", "C", "ch:0|k:0.15|sh:0.35"),
    (r"ph", "C", "f:0|b:0.3"),
    (r"^th(?=om|eres)", "C", "t:0"),
    (r"(?<=s)th", "C", "t:0|s:0.1"),
    (r"th", "C", "s:0|z:0|sh:0.1|t:0.3"),
    (r"sh", "C", "sh:0"),
    (r"zh", "C", "j:0|ch:0|sh:0.2"),
    (r"^gh", "C", "g:0"),
    (r"gh(?=t)", "C", ":0"),
    (r"gh$", "C", ":0|f:0.1"),
    (r"gh", "C", "g:0.1|:0.1|f:0.2"),
    (r"ck", "C", "k:0"),
    (r"cc(?=[eiy])", "C", "k s:0|ch:0.2"),
    (r"c(?=[eiy])", "C", "s:0|sh:0.05|ch:0.3"),
    (r"c", "C", "k:0"),
    (r"qu", "C", "k w:0|k:0"),
    (r"q", "C", "k:0|ch:0"),
    (r"^x", "C", "s:0|sh:0|z:0"),
    (r"x", "C", "k s:0|g z:0.1"),
    (r"dg", "C", "j:0"),
    (r"dt", "C", "t:0"),
    (r"ds$", "C", "z:0|d z:0|d s:0"),
    (r"t[sz]", "C", "ts:0|t s:0|z:0.2"),
    (r"ng(?![eiy])", "C", "n g:0|n:0"),
    (r"^kn", "C", "n:0"),
    (r"^gn", "C", "n:0"),
    (r"gn", "C", "n y:0|g n:0|n:0.1"),
    (r"^wr", "C", "r:0"),
    (r"^wh", "C", "h o w:0|h w:0|w:0|h:0"),
    (r"wh", "C", "w:0|h:0"),
    (r"mb$", "C", "m:0"),
    (r"mn$", "C", "m:0"),
    (r"^ps", "C", "s:0"),
    (r"^pn", "C", "n:0"),
    (r"(?<=m)p(?=b)", "C", ":0|p:0"),
    (r"(?<=[aeiou])lh(?=[aeiou])", "C", "r y:0|r:0"),
    (r"(?<=[aeiou])nh(?=[aeiou])", "C", "n y:0|n:0"),
    (r"rh", "C", "r:0"),
    (r"kh", "C", "k:0|h:0.2"),
    (r"bh", "C", "b:0"),
    (r"dh", "C", "d:0"),
    (r"gu(?=[aeiy])", "C", "g:0|g w:0"),
    # --- vowel digraphs -----------------------------------------------------
    (r"eau", "V", "o:0"),
    (r"a(?:i|y(?![aeiou]))", "V", "e:0|a i:0"),
    (r"ae", "V", "e:0|a i:0.1|a e:0"),
    (r"a[uw]", "V", "o:0|a u:0|a:0.2"),
    (r"ao$", "V", "a n:0.1|a o:0|a u:0|o:0.1"),
    (r"ao", "V", "a o:0|a u:0|o:0.1"),
    (r"ea(?=r" + _NV + ")", "V", "a:0|e a:0|i a:0"),
    (r"ea", "V", "i:0|e:0|i a:0|e a:0.1|a:0.3"),
    (r"ee", "V", "i:0|e:0.1"),
    (r"e(?:i|y(?![aeiou]))", "V", "e:0|a i:0|i:0"),
    (r"eo", "V", "e o:0|o:0.1|i o:0.1"),
    (r"e[uw]", "V", "y u:0|u:0.1|o i:0.1"),
    (r"ie", "V", "i:0|i e:0|a i:0.1|a i e:0.1|i a:0.2"),
    (r"oa", "V", "o:0|o a:0"),
    (r"oe", "V", "o:0|o e:0|o i:0|i:0.2"),
    (r"o(?:i|y(?![aeiou]))", "V", "o i:0|w a:0.1|o w a:0.1"),
    (r"oo", "V", "u:0|o:0.1"),
    (r"ou", "V", "a u:0|u:0|o:0|a:0.1"),
    (r"ow(?=[aeiou])", "V", "a w:0|a u:0|o w:0|o:0"),
    (r"ow", "V", "a u:0|o:0"),
    (r"(?<=[b-df-hj-np-tv-z])ua", "V", "u a:0|w a:0|a:0.1|o a:0.1"),
    (r"ue", "V", "u:0|u e:0|y u:0.1|y u e:0.1|e:0.2"),
    (r"ui", "V", "u i:0|w i:0|i:0.1|u:0.1"),
    (r"(?<=[b-df-hj-np-tv-z])uo", "V", "u o:0|w o:0|o:0.1"),
    (r"uy", "V", "a i:0"),
    # --- single consonants --------------------------------------------------
    (r"b", "C", "b:0"),
    (r"d$", "C", "d:0|:0.3"),
    (r"d", "C", "d:0"),
    (r"f", "C", "f:0"),
    (r"g(?=[eiy])", "C", "j:0|g:0.1"),
    (r"g", "C", "g:0"),
    (r"^h(?=u)", "C", "h:0|f:0|:0.3"),
    (r"^h", "C", "h:0|:0.3"),
    (r"(?<=[aeiouy])h(?=[aeiouy])", "C", "h:0|:0.1"),
    (r"h", "C", ":0|h:0.3"),
    (r"j", "C", "j:0|y:0.1|h:0.3"),
    (r"k", "C", "k:0"),
    (r"(?<=[ao])l(?=[km])", "C", ":0|r:0.1"),
    (r"l", "C", "r:0"),
    (r"m(?=[bp])", "C", "m:0|n:0"),
    (r"m", "C", "m:0"),
    (r"n(?=[bpm])", "C", "n:0|m:0"),
    (r"n", "C", "n:0"),
    (r"p", "C", "p:0"),
    (r"(?<=[aeiouy])r(?=[b-df-hj-np-tv-z]|$)", "C", ":0|r:0.05|a:0.1"),
    (r"(?<=[aeiouy])r(?=e$)", "C", ":0|a:0.1|r:0.1"),
    (r"r", "C", "r:0"),
    (r"s(?=[iy])", "C", "s:0|sh:0|z:0"),
    (r"s$", "C", "s:0|z:0|:0.3"),
    (r"s", "C", "s:0|z:0|sh:0.2"),
    (r"t$", "C", "t:0|:0.3"),
    (r"t(?=i[aeiou])", "C", "t:0|ch:0.1|sh:0.2"),
    (r"t", "C", "t:0|ch:0.3"),
    (r"v", "C", "b:0|f:0.3"),
    (r"w(?=[aeiouy])", "C", "w:0|:0|u:0.1|b:0.3"),
    (r"w", "C", ":0"),
    (r"x", "C", "k s:0"),
    (r"^y(?=[aeiou])", "C", "y:0|:0"),
    (r"(?<=[aeiou])y(?=[aeiou])", "C", "y:0|i:0|:0.1"),
    (r"z", "C", "z:0|s:0|ts:0.1|j:0.1"),
    # --- single vowels ------------------------------------------------------
    (r"(?<=w)a", "V", "a:0|o:0"),
    (r"a(?=l" + _NV + ")", "V", "a:0|o:0"),
    (r"a(?=r" + _V + ")", "V", "e a:0|a:0|e:0.1"),
    (r"a(?=(?:" + _C + "|ch|th|ph|sh)e$)", "V", "e:0|a:0.5"),
    (r"a(?=(?:" + _C + "|ch|th|ph|sh)es$)", "V", "e:0|a:0.2"),
    (r"a(?=(?:" + _C + "|ch|th|ph|sh)" + _V + ")", "V", "a:0|e:0"),
    (r"a", "V", "a:0|e:0.5"),
    (r"(?<=" + _C + ")e$", "V", ":0|e:0.2|i:0.35"),
    (r"(?<=" + _C + ")e(?=s$)", "V", ":0|e:0.1|i:0.3"),
    (r"e(?=r" + _NV + ")", "V", "a:0|e:0.1|:0.2"),
    (r"e(?=r" + _V + ")", "V", "e:0|a:0.1|i:0.1"),
    (r"e(?=(?:" + _C + "|ch|th|ph|sh)" + _V + ")", "V", "e:0|i:0.1|:0.3"),
    (r"e", "V", "e:0|i:0.5|a:0.5"),
    (r"i(?=[aeiou])", "V", "i:0|y:0.05|a i:0.1|:0.1"),
    (r"i(?=r" + _NV + ")", "V", "a:0|i:0.1"),
    (r"i(?=gh)", "V", "a i:0"),
    (r"i(?=ne$)", "V", "i:0|a i:0"),
    (r"i(?=(?:" + _C + "|ch|th|ph|sh)e$)", "V", "a i:0|i:0.4"),
    (r"i(?=nd|ld)", "V", "a i:0|i:0"),
    (r"i(?=(?:" + _C + "|ch|th|ph|sh)" + _V + ")", "V", "i:0|a i:0.1"),
    (r"i", "V", "i:0|a i:0.3|e:0.5"),
    (r"o(?=r" + _NV + ")", "V", "o:0|a:0"),
    (r"o", "V", "o:0|a:0.5|u:0.5"),
    (r"u(?=r" + _NV + ")", "V", "a:0|u:0.1"),
    (r"u(?=ng$)", "V", "a:0|u:0|o:0.2"),
    (r"u(?=(?:" + _C + "|ch|th|ph|sh)" + _V + ")", "V", "u:0|y u:0|a:0.2"),
    (r"u", "V", "a:0|u:0|y u:0.1"),
    (r"y$", "V", "i:0"),
    (r"y(?=(?:" + _C + ")(?:e$|" + _V + "))", "V", "a i:0|i:0.1"),
    (r"y", "V", "i:0|a i:0.2"),
]


def _parse_alts(src: str) -> tuple[tuple[tuple[str, ...], float], ...]:
    alts = []
    for item in src.split("|"):
        toks, cost = item.rsplit(":", 1)
        alts.append((tuple(toks.split()), float(cost)))
    return tuple(alts)


_RULES = [(re.compile(p), kind, _parse_alts(a)) for p, kind, a in _RULES_SRC]

# Irregular names: extra spellings to try (the plain spelling is always tried).
_ALIASES: dict[str, tuple[str, ...]] = {
    "sean": ("shon",), "shaun": ("shon",), "shawn": ("shon",),
    "siobhan": ("shivon",), "niamh": ("niv", "niav"), "aoife": ("ifa",),
    "saoirse": ("sersha", "sasha"), "sinead": ("shinaid",), "eoin": ("owen",),
    "stephen": ("stivn",), "stephens": ("stivns",), "steven": ("stivn",),
    "jose": ("hose",), "juan": ("fuan", "huan"), "joao": ("joan",),
    "jean": ("jan",), "camille": ("kamiyu",),
    "lee": ("i", "yi"), "yi": ("i",), "rhee": ("i",), "lim": ("im",),
    "choi": ("che", "choe"), "jung": ("jong", "chong"), "jeong": ("jong", "chong"),
    "ng": ("n", "un"), "wong": ("won",),
}


def _latin_segments(word: str):
    segs = []
    i = 0
    while i < len(word):
        for pat, kind, alts in _RULES:
            m = pat.match(word, i)
            if m and m.end() > i:
                segs.append((kind, alts))
                i = m.end()
                break
        else:  # not a-z (cannot happen after split_latin_words): skip it
            i += 1
    return tuple(segs)


def _collapse(m: re.Match[str], word: str) -> str:
    """Collapse a doubled consonant, except ``cc`` before e/i/y (= ``ks``)."""
    if m.group(1) == "c" and word[m.end() : m.end() + 1] in ("e", "i", "y"):
        return m.group(0)
    return m.group(1)


@functools.lru_cache(maxsize=8192)
def _prepare_latin(word: str):
    if word.startswith("mc"):
        word = "mac" + word[2:]
    word = re.sub(r"([b-df-hj-np-tv-z])\1+", lambda m: _collapse(m, word), word)
    return _latin_segments(word)


_ROMAJI_TOKEN = re.compile(r"sh|ch|ts|[a-z]")


@functools.lru_cache(maxsize=8192)
def _kana_tokens(romaji: str) -> tuple[str, ...]:
    """Canonical phoneme tokens of a romaji word: long vowels, ``ei``/``ou``
    and geminates collapsed, ``v`` -> ``b``."""
    romaji = re.sub(r"[^a-z]", "", romaji).replace("v", "b")
    toks: list[str] = []
    for t in _ROMAJI_TOKEN.findall(romaji):
        if toks:
            last = toks[-1]
            if t == last and t in "aiueo":
                continue  # long vowel
            if (last, t) in (("e", "i"), ("o", "u")):
                continue  # ei ~ long e, ou ~ long o
            if last == t or (last == "t" and t in ("ch", "ts")) or (last == "s" and t == "sh"):
                toks[-1] = t  # geminate (kk, tch, tts, ssh)
                continue
        toks.append(t)
    return tuple(toks)


_VOWEL_TOKENS = frozenset("aiueo")
_SIMILAR = {
    frozenset(p) for p in [
        ("k", "g"), ("t", "d"), ("s", "z"), ("sh", "j"), ("sh", "ch"), ("ch", "j"),
        ("s", "sh"), ("z", "j"), ("p", "b"), ("f", "h"), ("b", "m"), ("ts", "s"),
        ("ts", "t"), ("ch", "t"), ("d", "j"), ("n", "m"), ("r", "d"), ("y", "j"),
    ]
}


def _epenthesis_cost(prev: str | None, vowel: str) -> float:
    """Cost of a katakana vowel with no Latin counterpart after ``prev``."""
    if prev is None or prev in _VOWEL_TOKENS or prev == "y" or prev == "w":
        return 0.5
    if prev == "n":
        return 0.35
    if prev in ("t", "d"):
        return 0.05 if vowel == "o" else 0.3 if vowel == "u" else 0.5
    if prev in ("ch", "j"):
        return 0.05 if vowel in "iu" else 0.5
    if prev == "sh":
        return 0.05 if vowel in "iu" else 0.5
    if prev == "h":
        return 0.1 if vowel in "uo" else 0.5
    if prev == "k" and vowel == "i":
        return 0.3
    return 0.05 if vowel == "u" else 0.5


def _sub_cost(kind: str, alts, tok: str) -> float:
    tok_is_vowel = tok in _VOWEL_TOKENS
    if kind == "V":
        return 0.5 if tok_is_vowel else 1.5
    if tok_is_vowel:
        return 1.5
    best = 1.0
    for toks, _ in alts:
        if toks and frozenset((toks[0], tok)) in _SIMILAR:
            best = 0.6
    return best


def _match_with_epenthesis(toks, kana, j):
    """Match a multi-token alternative (``k s``) at ``kana[j]`` allowing an
    epenthetic vowel between two consonants (``ku s``); (end, extra cost)."""
    p, extra = j, 0.0
    for idx, tok in enumerate(toks):
        if p < len(kana) and kana[p] == tok:
            p += 1
            continue
        prev = toks[idx - 1] if idx else None
        if (prev and prev not in _VOWEL_TOKENS and tok not in _VOWEL_TOKENS
                and p + 1 < len(kana) and kana[p] in _VOWEL_TOKENS and kana[p + 1] == tok):
            extra += _epenthesis_cost(prev, kana[p])
            p += 2
            continue
        return None
    return p, extra


@functools.lru_cache(maxsize=65536)
def _align_cost(word: str, kana: tuple[str, ...]) -> float:
    """Minimum alignment cost of one Latin word against kana tokens."""
    segs = _prepare_latin(word)
    n, m = len(segs), len(kana)
    inf = float("inf")
    dp = [[inf] * (m + 1) for _ in range(n + 1)]
    dp[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            cur = dp[i][j]
            if cur == inf:
                continue
            if j < m:  # katakana token with no Latin counterpart
                tok = kana[j]
                if tok in _VOWEL_TOKENS:
                    c = _epenthesis_cost(kana[j - 1] if j else None, tok)
                elif tok in ("y", "w"):
                    c = 0.1 if j and kana[j - 1] not in _VOWEL_TOKENS else 0.5
                else:
                    c = 1.0
                if cur + c < dp[i][j + 1]:
                    dp[i][j + 1] = cur + c
            if i == n:
                continue
            kind, alts = segs[i]
            silent = 0.5 if kind == "V" else 1.0
            for toks, cost in alts:
                k = len(toks)
                if k == 0:
                    silent = min(silent, cost)
                elif kana[j : j + k] == toks:
                    if cur + cost < dp[i + 1][j + k]:
                        dp[i + 1][j + k] = cur + cost
                elif k > 1 and j < m and kana[j] == toks[0]:
                    hit = _match_with_epenthesis(toks, kana, j)
                    if hit and cur + cost + hit[1] < dp[i + 1][hit[0]]:
                        dp[i + 1][hit[0]] = cur + cost + hit[1]
                elif kind == "V" and j and kana[j - 1] == toks[0] and k == 1:
                    silent = min(silent, cost + 0.05)  # merges into a long vowel
            if cur + silent < dp[i + 1][j]:
                dp[i + 1][j] = cur + silent
            if j < m:
                c = _sub_cost(kind, alts, kana[j])
                if cur + c < dp[i + 1][j + 1]:
                    dp[i + 1][j + 1] = cur + c
    return dp[n][m]


def _word_cost(word: str, kana: tuple[str, ...]) -> float:
    best = _align_cost(word, kana)
    for alias in _ALIASES.get(word, ()):
        best = min(best, _align_cost(alias, kana))
    return best


def _name_variants(text: str) -> list[list[str]]:
    split = split_latin_words(text)
    joined = split_latin_words(text, split_hyphens=False)
    out = [split]
    if joined != split:
        out.append(joined)
    if len(split) > 1:
        out.append(["".join(split)])
    return out


def _latin_candidates(family: str, given: str) -> list[list[str]]:
    """Word sequences the katakana may follow, given-first and family-first."""
    fams = [v[:_MAX_LATIN_WORDS] for v in _name_variants(family) if v]
    givs = [v[:_MAX_LATIN_WORDS] for v in _name_variants(given) if v]
    if givs:
        first = split_latin_words(given)[:1]
        if first not in givs:
            givs.append(first)
    cands: list[list[str]] = []
    for f in fams or [[]]:
        for g in givs or [[]]:
            for seq in (g + f, f + g):
                if seq and seq not in cands:
                    cands.append(seq)
    return cands


def match_cost(kana_name: str, family: str, given: str) -> float:
    """Lowest per-part alignment cost between a katakana name and a Latin
    (family, given) name; ``inf`` when nothing can be compared."""
    parts = [p for p in romanise_katakana(kana_name).split() if p]
    kana_parts = [_kana_tokens(p) for p in parts]
    kana_parts = [p for p in kana_parts if p]
    if not kana_parts:
        return float("inf")
    best = float("inf")
    cands = _latin_candidates(family, given)
    for seq in cands:
        if len(seq) == len(kana_parts):
            cost = max(_word_cost(w, k) for w, k in zip(seq, kana_parts, strict=True))
            best = min(best, cost)
    if (best > MATCH_THRESHOLD and len(kana_parts) <= _MAX_PARTS
            and sum(map(len, kana_parts)) <= _MAX_CONCAT_TOKENS
            and not any(len(s) == len(kana_parts) for s in cands)):
        # Separator missing or words split differently: align the whole
        # katakana string with the Latin words one after another.  The total
        # may exceed the per-word threshold by 0.1 per extra word.
        whole = tuple(t for p in kana_parts for t in p)
        for seq in cands:
            extra = 0.1 * (max(len(seq), len(kana_parts)) - 1)
            best = min(best, _concat_cost(tuple(seq), whole) - extra)
    return best


def _concat_cost(words: Sequence[str], kana: tuple[str, ...]) -> float:
    # Align the words one after another against the whole katakana string.
    m = len(kana)
    inf = float("inf")
    frontier = {0: 0.0}
    for w in words:
        nxt: dict[int, float] = {}
        for start, c0 in frontier.items():
            for end in range(start, m + 1):
                c = c0 + _word_cost(w, kana[start:end])
                if c < nxt.get(end, inf):
                    nxt[end] = c
        frontier = nxt
    return frontier.get(m, inf)


def katakana_matches_latin(kana_name: str, family: str, given: str) -> bool:
    """True when ``kana_name`` plausibly transcribes ``given family`` (either
    order), e.g. ``('ジョン・スミス', 'Smith', 'John')``.  Use it to confirm
    candidates found by key equality before warning about a duplicate."""
    if not kana_name or not (family or given):
        return False
    kana_written = kana_in_latin_fields(family, given)
    if kana_written:
        # Kana on both sides: the same parts in either order (ジョン・スミス, スミス・ジョン).
        return sorted(normalise_kana(kana_name).split("・")) == sorted(kana_written.split("・"))
    return match_cost(kana_name, family, given) <= MATCH_THRESHOLD
