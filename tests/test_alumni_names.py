"""Tests for crm.alumni.names (katakana <-> Latin duplicate matching).

The labelled set below is the tuning/evaluation set: realistic JET-country
names (US, UK, Canada, Australia, NZ, Ireland, Jamaica, South Africa,
Philippines, Singapore, France, Germany, Brazil, China, Korea) with their
usual katakana, and pairs of *different* people that must not match.
Run with ``-s`` to see the precision/recall report.
"""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("crm") is None:  # running the file from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pykakasi
import pytest

from crm.alumni import names
from crm.alumni.names import (
    kana_name_key,
    katakana_matches_latin,
    latin_name_key,
    latin_name_keys,
    name_key,
    normalise_kana,
    romanise_katakana,
)

# (katakana, family, given) -- same person.
POSITIVE = [
    ('ジョン・スミス', 'Smith', 'John'),
    ('スミス・ジョン', 'Smith', 'John'),
    ('ｼﾞｮﾝ･ｽﾐｽ', 'Smith', 'John'),
    ('ジョン\u3000スミス', 'SMITH', 'JOHN'),
    ('じょん・すみす', 'Smith', 'Jöhn'),
    ('ジョン＝スミス', 'Smith', 'Jon'),
    # Decision: Smyth sounds like Smith and is usually written スミス -> same.
    ('ジョン・スミス', 'Smyth', 'John'),
    ('エミリー・ジョンソン', 'Johnson', 'Emily'),
    ('マイケル・ブラウン', 'Brown', 'Michael'),
    ('サラ・ウィリアムズ', 'Williams', 'Sarah'),
    ('デイビッド・ジョーンズ', 'Jones', 'David'),
    ('デービッド・ジョーンズ', 'Jones', 'David'),
    ('デイヴィッド・ジョーンズ', 'Jones', 'David'),
    ('クリストファー・テイラー', 'Taylor', 'Christopher'),
    ('ジェシカ・ミラー', 'Miller', 'Jessica'),
    ('マシュー・ウィルソン', 'Wilson', 'Matthew'),
    ('ケイティ・アンダーソン', 'Anderson', 'Katie'),
    ('ケイティー・トンプソン', 'Thompson', 'Katie'),
    ('ロバート・マクドナルド', 'MacDonald', 'Robert'),
    ('ロバート・マクドナルド', 'McDonald', 'Robert'),
    ('オリビア・マーティン', 'Martin', 'Olivia'),
    ('オリヴィア・マーティン', 'Martin', 'Olivia'),
    ('ソフィー・ダッシュウッド', 'Dashwood', 'Sophie'),
    ('チャン・ウェイ', 'Zhang', 'Wei'),
    ('ジャン・ウェイ', 'Zhang', 'Wei'),
    ('キム・ミンジュン', 'Kim', 'Min-jun'),
    ('パク・ジヨン', 'Park', 'Ji-yeon'),
    ('ショーン・オサリバン', "O'Sullivan", 'Sean'),
    ('シボーン・ケリー', 'Kelly', 'Siobhan'),
    ('トーマス・ヒューズ', 'Hughes', 'Thomas'),
    ('ジェームズ・ウォーカー', 'Walker', 'James'),
    ('ウィリアム・ハリス', 'Harris', 'William'),
    ('エリザベス・クラーク', 'Clark', 'Elizabeth'),
    ('ジェニファー・ルイス', 'Lewis', 'Jennifer'),
    ('ダニエル・ロビンソン', 'Robinson', 'Daniel'),
    ('アンドリュー・キング', 'King', 'Andrew'),
    ('エマ・ライト', 'Wright', 'Emma'),
    ('ヘザー・グリーン', 'Green', 'Heather'),
    ('レイチェル・ホール', 'Hall', 'Rachel'),
    ('ジェームズ・ヤング', 'Young', 'James'),
    ('キャサリン・ベイカー', 'Baker', 'Catherine'),
    ('アレクサンダー・スコット', 'Scott', 'Alexander'),
    ('ニコラス・ミッチェル', 'Mitchell', 'Nicholas'),
    ('ルーシー・エヴァンズ', 'Evans', 'Lucy'),
    ('ベンジャミン・ムーア', 'Moore', 'Benjamin'),
    ('チャールズ・ターナー', 'Turner', 'Charles'),
    ('ハンナ・フィリップス', 'Phillips', 'Hannah'),
    ('ジャック・ロバーツ', 'Roberts', 'Jack'),
    ('グレース・エドワーズ', 'Edwards', 'Grace'),
    ('ライアン・オブライエン', "O'Brien", 'Ryan'),
    ('ケイト・マーフィー', 'Murphy', 'Kate'),
    ('パトリック・ケリー', 'Kelly', 'Patrick'),
    ('ジャマール・キャンベル', 'Campbell', 'Jamal'),
    ('アリシア・ウィリアムズ', 'Williams', 'Alicia'),
    ('タボ・ンコシ', 'Nkosi', 'Thabo'),
    ('ヨハン・ボタ', 'Botha', 'Johan'),
    ('マリア・サントス', 'Santos', 'Maria'),
    ('ホセ・デラクルス', 'Dela Cruz', 'Jose'),
    ('ウェイ・リン・タン', 'Tan', 'Wei Ling'),
    ('タン・ウェイリン', 'Tan', 'Wei Ling'),
    ('マリー・デュボワ', 'Dubois', 'Marie'),
    ('クロエ・ルソー', 'Rousseau', 'Chloé'),
    ('ハンス・ミュラー', 'Müller', 'Hans'),
    ('ユルゲン・シュミット', 'Schmidt', 'Jürgen'),
    ('ガブリエル・シルバ', 'Silva', 'Gabriel'),
    ('ルーカス・オリヴェイラ', 'Oliveira', 'Lucas'),
    ('リー・ナ', 'Li', 'Na'),
    ('ワン・ファン', 'Wang', 'Fang'),
    ('イ・ソヨン', 'Lee', 'So-yeon'),
    ('チェ・ジウ', 'Choi', 'Ji-woo'),
    ('パク・ソジュン', 'Park', 'Seo-jun'),
    ('キム・ジス', 'Kim', 'Ji-soo'),
    ('ジョンスミス', 'Smith', 'John'),
    ('メアリー・ジェーン・ワトソン', 'Watson', 'Mary Jane'),
    ('ジョン・スミス', 'Smith', 'John Paul'),
    ('スティーブン・ホワイト', 'White', 'Stephen'),
    ('ケリー・ジョンストン', 'Johnston', 'Kelly'),
    ('シャーロット・グリーン', 'Green', 'Charlotte'),
    ('ミシェル・リー', 'Lee', 'Michelle'),
    ('マーク・ブラウン', 'Brown', 'Mark'),
    ('ジェーン・スミス', 'Smith', 'Jane'),
    ('ブライアン・ウォルシュ', 'Walsh', 'Brian'),
    ('エイミー・ライアン', 'Ryan', 'Amy'),
    ('ジョージ・ハリソン', 'Harrison', 'George'),
    ('ピーター・パーカー', 'Parker', 'Peter'),
    ('ダグラス・ホワイト', 'White', 'Douglas'),
    ('スーザン・クーパー', 'Cooper', 'Susan'),
    # Unseen when the rules were first written (second round):
    ('アシュリー・ロジャース', 'Rogers', 'Ashley'),
    ('ブランドン・リード', 'Reed', 'Brandon'),
    ('ジョシュア・クック', 'Cook', 'Joshua'),
    ('ローレン・モーガン', 'Morgan', 'Lauren'),
    ('ケビン・ベル', 'Bell', 'Kevin'),
    ('アマンダ・マーフィー', 'Murphy', 'Amanda'),
    ('ジャスティン・ベイリー', 'Bailey', 'Justin'),
    ('ステファニー・クーパー', 'Cooper', 'Stephanie'),
    ('ニコール・リチャードソン', 'Richardson', 'Nicole'),
    ('ティモシー・コックス', 'Cox', 'Timothy'),
    ('レベッカ・ハワード', 'Howard', 'Rebecca'),
    ('ジェイソン・ワード', 'Ward', 'Jason'),
    ('ブリタニー・トーレス', 'Torres', 'Brittany'),
    ('ザカリー・ピーターソン', 'Peterson', 'Zachary'),
    ('サマンサ・グレイ', 'Gray', 'Samantha'),
    ('ジョナサン・ラミレス', 'Ramirez', 'Jonathan'),
    ('アンソニー・ジェームズ', 'James', 'Anthony'),
    ('ヴィクトリア・ワトソン', 'Watson', 'Victoria'),
    ('ティファニー・ブルックス', 'Brooks', 'Tiffany'),
    ('ネイサン・ケリー', 'Kelly', 'Nathan'),
    ('ダニエル・サンダース', 'Sanders', 'Danielle'),
    ('カイル・プライス', 'Price', 'Kyle'),
    ('ミーガン・ベネット', 'Bennett', 'Megan'),
    ('リチャード・ウッド', 'Wood', 'Richard'),
    ('ジェフリー・バーンズ', 'Barnes', 'Jeffrey'),
    ('ヘレン・ロス', 'Ross', 'Helen'),
    ('ショーン・ヘンダーソン', 'Henderson', 'Shaun'),
    ('コートニー・コールマン', 'Coleman', 'Courtney'),
    ('エリック・ジェンキンス', 'Jenkins', 'Eric'),
    ('ローラ・ペリー', 'Perry', 'Laura'),
    ('クレア・パウエル', 'Powell', 'Claire'),
    ('フィオナ・ロング', 'Long', 'Fiona'),
    ('リアム・パターソン', 'Patterson', 'Liam'),
    ('イアン・ヒューズ', 'Hughes', 'Ian'),
    ('ナオミ・フローレス', 'Flores', 'Naomi'),
    ('ジェイコブ・バトラー', 'Butler', 'Jacob'),
    ('ケネス・シモンズ', 'Simmons', 'Kenneth'),
    ('ジリアン・フォスター', 'Foster', 'Gillian'),
    ('ダンカン・ゴンザレス', 'Gonzales', 'Duncan'),
    ('キーラ・ブライアント', 'Bryant', 'Keira'),
    ('ウェンディ・アレクサンダー', 'Alexander', 'Wendy'),
    ('ルーク・ラッセル', 'Russell', 'Luke'),
    ('ゾーイ・グリフィン', 'Griffin', 'Zoe'),
    ('ディラン・ディアス', 'Diaz', 'Dylan'),
    ('エイデン・ヘイズ', 'Hayes', 'Aiden'),
    ('リウ・ヤン', 'Liu', 'Yang'),
    ('チェン・ジン', 'Chen', 'Jing'),
    ('ホアン・ミン', 'Huang', 'Ming'),
    ('シュー・リー', 'Xu', 'Li'),
    ('ジョウ・ジエ', 'Zhou', 'Jie'),
    ('チャオ・レイ', 'Zhao', 'Lei'),
    ('カン・ミンス', 'Kang', 'Min-su'),
    ('ユン・ソヒ', 'Yoon', 'So-hee'),
    ('チョン・ウソン', 'Jung', 'Woo-sung'),
    ('ハン・ジミン', 'Han', 'Ji-min'),
    ('マリア・クララ・レイエス', 'Reyes', 'Maria Clara'),
    ('ホセ・リサール', 'Rizal', 'Jose'),
    ('シュテファン・ヴァーグナー', 'Wagner', 'Stefan'),
    ('ステファン・ワグナー', 'Wagner', 'Stefan'),
    ('ラファエル・ソウザ', 'Souza', 'Rafael'),
    ('ブルーノ・フェレイラ', 'Ferreira', 'Bruno'),
    ('ベアトリス・コスタ', 'Costa', 'Beatriz'),
    ('シェリー＝アン・フレイザー', 'Fraser', 'Shelly-Ann'),
    ('ウサイン・ボルト', 'Bolt', 'Usain'),
    ('シフォ・ドラミニ', 'Dlamini', 'Sipho'),
    # Known misses, kept to keep the figures honest: French spelling
    # (e muet -> u, silent final consonants) is not modelled.
    ('ニコラ・ルブラン', 'Leblanc', 'Nicolas'),
    ('ジュリアン・ルフェーブル', 'Lefebvre', 'Julien'),
]

# (katakana, family, given) -- different people: must NOT match.
NEGATIVE = [
    ('ジョン・スミス', 'Smith', 'Jane'),
    ('ジョン・スミス', 'Smart', 'John'),
    ('マイク・ブラウン', 'Brown', 'Mark'),
    ('サラ・ジョーンズ', 'Jones', 'Sean'),
    ('エミリー・ジョンソン', 'Johnson', 'Emma'),
    ('デイビッド・ジョーンズ', 'Jones', 'Daniel'),
    ('ジェシカ・ミラー', 'Miller', 'Jennifer'),
    ('マシュー・ウィルソン', 'Wilson', 'Michael'),
    ('クリストファー・テイラー', 'Taylor', 'Christina'),
    ('ロバート・マクドナルド', 'McDowell', 'Robert'),
    ('オリビア・マーティン', 'Murphy', 'Olivia'),
    ('ソフィー・ダッシュウッド', 'Dashwood', 'Sophia'),
    ('チャン・ウェイ', 'Chen', 'Wei'),
    ('キム・ミンジュン', 'Kang', 'Min-jun'),
    ('パク・ジヨン', 'Park', 'Ji-hoon'),
    ('マイケル・ブラウン', 'Brown', 'Michelle'),
    ('ミシェル・ブラウン', 'Brown', 'Michael'),
    ('サラ・ウィリアムズ', 'Williamson', 'Sarah'),
    ('ジェームズ・ウォーカー', 'Walker', 'Jane'),
    ('トーマス・ヒューズ', 'Hughes', 'Timothy'),
    ('ウィリアム・ハリス', 'Harrison', 'William'),
    ('エリザベス・クラーク', 'Clark', 'Eliza'),
    ('ジェニファー・ルイス', 'Lewis', 'Jessica'),
    ('ダニエル・ロビンソン', 'Robertson', 'Daniel'),
    ('アンドリュー・キング', 'King', 'Andrea'),
    ('エマ・ライト', 'White', 'Emma'),
    ('ヘザー・グリーン', 'Grant', 'Heather'),
    ('レイチェル・ホール', 'Hill', 'Rachel'),
    ('ジェームズ・ヤング', 'King', 'James'),
    ('キャサリン・ベイカー', 'Baker', 'Caroline'),
    ('アレクサンダー・スコット', 'Scott', 'Alexandra'),
    ('ニコラス・ミッチェル', 'Mitchell', 'Nicole'),
    ('ルーシー・エヴァンズ', 'Evans', 'Lucas'),
    ('ベンジャミン・ムーア', 'Moore', 'Brian'),
    ('チャールズ・ターナー', 'Turner', 'Charlotte'),
    ('ハンナ・フィリップス', 'Phillips', 'Anna'),
    ('ジャック・ロバーツ', 'Roberts', 'Jake'),
    ('グレース・エドワーズ', 'Edwards', 'Greg'),
    ('ライアン・オブライエン', "O'Brien", 'Ronan'),
    ('パトリック・ケリー', 'Kelly', 'Patricia'),
    ('マリア・サントス', 'Santos', 'Mario'),
    ('ウェイ・リン・タン', 'Tan', 'Wei Ming'),
    ('ガブリエル・シルバ', 'Silva', 'Gabriela'),
    ('ハンス・ミュラー', 'Miller', 'Hans'),
    ('キム・ジス', 'Kim', 'Ji-hye'),
    ('ジョン・スミス', 'Jones', 'Simon'),
    ('サラ・ウィリアムズ', 'Wilson', 'Sarah'),
    ('マーク・ブラウン', 'Brown', 'Mike'),
    ('ジェーン・スミス', 'Smith', 'John'),
    ('ピーター・パーカー', 'Parker', 'Patrick'),
    ('スーザン・クーパー', 'Cooper', 'Sarah'),
    ('ジョージ・ハリソン', 'Harrison', 'Gregory'),
    ('エイミー・ライアン', 'Ryan', 'Emily'),
    ('ケリー・ジョンストン', 'Johnson', 'Kelly'),
    ('ダグラス・ホワイト', 'Wright', 'Douglas'),
    ('ブライアン・ウォルシュ', 'Welsh', 'Bryony'),
    # second round:
    ('ケビン・ベル', 'Bell', 'Kelvin'),
    ('ローラ・ペリー', 'Perry', 'Lara'),
    ('ヘレン・ロス', 'Ross', 'Ellen'),
    ('ルーク・ラッセル', 'Russell', 'Lucas'),
    ('イアン・ヒューズ', 'Hughes', 'Ivan'),
    ('エリック・ジェンキンス', 'Jenkins', 'Erica'),
    ('カイル・プライス', 'Price', 'Kylie'),
    ('ミーガン・ベネット', 'Bennett', 'Morgan'),
    ('クレア・パウエル', 'Powell', 'Clara'),
    ('フィオナ・ロング', 'Long', 'Finn'),
    ('リアム・パターソン', 'Peterson', 'Liam'),
    ('ナオミ・フローレス', 'Flores', 'Nora'),
    ('ジェイコブ・バトラー', 'Butler', 'Jack'),
    ('ケネス・シモンズ', 'Simmons', 'Kenny'),
    ('ジリアン・フォスター', 'Foster', 'Julian'),
    ('ダンカン・ゴンザレス', 'Gonzales', 'Donovan'),
    ('キーラ・ブライアント', 'Bryant', 'Kara'),
    ('ウェンディ・アレクサンダー', 'Alexander', 'Wanda'),
    ('ゾーイ・グリフィン', 'Griffin', 'Zara'),
    ('ディラン・ディアス', 'Diaz', 'Dillon'),
    ('エイデン・ヘイズ', 'Hayes', 'Ethan'),
    ('リウ・ヤン', 'Lu', 'Yang'),
    ('チェン・ジン', 'Chen', 'Jun'),
    ('ホアン・ミン', 'Wang', 'Ming'),
    ('シュー・リー', 'Xu', 'Lin'),
    ('ジョウ・ジエ', 'Zhou', 'Jia'),
    ('カン・ミンス', 'Kang', 'Min-seo'),
    ('ハン・ジミン', 'Han', 'Ji-won'),
    ('ユン・ソヒ', 'Yoon', 'Soo-jin'),
    ('ラファエル・ソウザ', 'Souza', 'Rafaela'),
    ('ブルーノ・フェレイラ', 'Ferreira', 'Bruna'),
    ('ウサイン・ボルト', 'Bolt', 'Austin'),
    ('シフォ・ドラミニ', 'Dlamini', 'Sizwe'),
    ('アシュリー・ロジャース', 'Rodgers', 'Ashton'),
    ('ブランドン・リード', 'Reid', 'Brendan'),
    ('ジョシュア・クック', 'Cook', 'Joseph'),
    ('ローレン・モーガン', 'Morgan', 'Laura'),
    ('ステファニー・クーパー', 'Cooper', 'Stephen'),
    ('ニコール・リチャードソン', 'Richardson', 'Nicholas'),
    ('ティモシー・コックス', 'Cox', 'Tammy'),
    ('レベッカ・ハワード', 'Hayward', 'Rebecca'),
    ('ジェイソン・ワード', 'Ward', 'Jackson'),
    ('ブリタニー・トーレス', 'Torres', 'Bethany'),
    ('サマンサ・グレイ', 'Grey', 'Sandra'),
    ('ジョナサン・ラミレス', 'Ramirez', 'Jonas'),
    ('アンソニー・ジェームズ', 'James', 'Antonio'),
    ('ヴィクトリア・ワトソン', 'Watson', 'Victor'),
    ('ティファニー・ブルックス', 'Brooks', 'Stephanie'),
]


def _evaluate():
    tp = sum(katakana_matches_latin(k, f, g) for k, f, g in POSITIVE)
    fp_pairs = [(k, f, g) for k, f, g in NEGATIVE if katakana_matches_latin(k, f, g)]
    fp = len(fp_pairs)
    recall = tp / len(POSITIVE)
    precision = tp / (tp + fp) if tp + fp else 1.0
    key_hits = sum(kana_name_key(k) == latin_name_key(f, g) for k, f, g in POSITIVE)
    return recall, precision, fp_pairs, key_hits / len(POSITIVE)


def test_labelled_set_is_big_enough():
    assert len(POSITIVE) >= 40 and len(NEGATIVE) >= 40
    assert not set(POSITIVE) & set(NEGATIVE)


def test_precision_recall_on_labelled_set():
    recall, precision, fp_pairs, key_recall = _evaluate()
    print(
        f"\nkatakana_matches_latin: {len(POSITIVE)} positive / {len(NEGATIVE)} negative pairs: "
        f"recall={recall:.3f} precision={precision:.3f} false positives={len(fp_pairs)}; "
        f"exact key equality finds {key_recall:.3f} of the positives"
    )
    assert fp_pairs == []
    assert recall >= 0.9


def test_key_equality_finds_most_matches():
    *_, key_recall = _evaluate()
    assert key_recall >= 0.8


@pytest.mark.parametrize("kana,family,given", NEGATIVE[:12])
def test_negative_examples(kana, family, given):
    assert not katakana_matches_latin(kana, family, given)


# --- the examples from the brief ---------------------------------------------


def test_john_smith_examples():
    assert katakana_matches_latin("ジョン・スミス", "Smith", "John")
    assert katakana_matches_latin("スミス・ジョン", "Smith", "John")
    assert katakana_matches_latin("ｽﾐｽ ｼﾞｮﾝ", "SMITH", "JOHN")
    assert katakana_matches_latin("ジョン＝スミス", "Smith", "Jöhn")
    assert not katakana_matches_latin("ジョン・スミス", "Smith", "Jane")
    assert not katakana_matches_latin("マイク・スミス", "Smith", "Mark")
    assert not katakana_matches_latin("サラ・スミス", "Smith", "Sean")
    # Decision: Smyth is pronounced like Smith and is often written スミス, and
    # the warning is advisory, so it matches.
    assert katakana_matches_latin("ジョン・スミス", "Smyth", "John")


def test_separator_missing_and_middle_names():
    assert katakana_matches_latin("ジョンスミス", "Smith", "John")
    assert katakana_matches_latin("ジョン・スミス", "Smith", "John Paul")
    assert katakana_matches_latin("ジョン・ポール・スミス", "Smith", "John Paul")
    assert katakana_matches_latin("メアリージェーン・ワトソン", "Watson", "Mary-Jane")
    assert katakana_matches_latin("キム・ミンジュン", "Kim", "Min-jun")
    assert not katakana_matches_latin("ジョンスミス", "Smith", "Jane")


def test_degenerate_inputs():
    assert not katakana_matches_latin("", "Smith", "John")
    assert not katakana_matches_latin("ジョン・スミス", "", "")
    assert not katakana_matches_latin("・", "Smith", "John")
    assert not katakana_matches_latin("スミス", "Smith", "John")  # family name only
    assert katakana_matches_latin("ジョン", "", "John")
    assert names.match_cost("", "Smith", "John") == float("inf")


# --- normalise_kana / romanise_katakana ------------------------------------


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("ジョン・スミス", "ジョン・スミス"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),
        ("ｼﾞｮﾝ ｽﾐｽ", "ジョン・スミス"),
        ("じょん　すみす", "ジョン・スミス"),
        ("ジョン＝スミス", "ジョン・スミス"),
        ("ジョン=スミス", "ジョン・スミス"),
        ("ジョン゠スミス", "ジョン・スミス"),
        ("  ・スミス・・ジョン・ ", "スミス・ジョン"),
        ("ｹｲﾃｨｰ", "ケイティー"),
        ("ジョ-ンズ", "ジョーンズ"),
        ("", ""),
    ],
)
def test_normalise_kana(raw, expected):
    assert normalise_kana(raw) == expected


@pytest.mark.parametrize(
    "kana,expected",
    [
        ("ジョン・スミス", "jon sumisu"),
        ("スミス　ジョン", "sumisu jon"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "jon sumisu"),  # pykakasi alone duplicates half-width input
        ("デービッド", "deebiddo"),
        ("ケイティー", "keitii"),  # pykakasi alone: 'keiteii'
        ("ウィリアムズ", "wiriamuzu"),  # pykakasi alone: 'uiriamuzu'
        ("ジェシカ", "jeshika"),  # pykakasi alone: 'jieshika'
        ("シェリル", "sheriru"),
        ("ヴィクトリア", "vikutoria"),
        ("マッチ", "matchi"),
        ("ケンブリッジ", "kenburijji"),
        ("シンイチ", "shin'ichi"),
        ("ドゥ", "du"),
        ("クォン", "kwon"),
    ],
)
def test_romanise_katakana(kana, expected):
    assert romanise_katakana(kana) == expected


def test_the_mora_table_is_pykakasi():
    """crm/alumni/kana_romaji.py holds pykakasi's own romanisation of every katakana mora (generated),
    so katakana names need none of pykakasi's dictionaries (~120 MB)."""
    from crm.alumni.kana_romaji import MORA_ROMAJI

    converter = pykakasi.kakasi()
    morae = [ch + small for ch in map(chr, range(0x30A1, 0x3100)) if names._is_katakana(ch)
             for small in ("", *(sorted(names._SMALL_KANA) if ch not in "ッー" else ()))]
    expected = {mora: "".join(part["hepburn"] for part in converter.convert(mora)) for mora in morae
                if mora not in names._EXTENDED}
    assert MORA_ROMAJI == expected


def test_katakana_names_are_romanised_without_pykakasi(monkeypatch):
    def no_pykakasi(_text):
        raise AssertionError("pykakasi was asked")

    monkeypatch.setattr(names, "_pykakasi_hepburn", no_pykakasi)
    assert romanise_katakana("ジョン・スミス") == "jon sumisu"
    assert romanise_katakana("ケイティー・ヴァン・デル・ヴェルフ") == "keitii van deru verufu"
    assert name_key("ｼﾞｮﾝ･ｽﾐｽ") == name_key("John Smith")


def test_romanisation_uses_pykakasi():
    assert isinstance(names._converter(), pykakasi.kakasi)
    # Kanji are left to pykakasi as well (Japanese reading).
    assert romanise_katakana("東京") == "toukyou"


# --- keys ---------------------------------------------------------------------


def test_name_key_variants_agree():
    expected = name_key("John Smith")
    assert expected == "JN SMS"
    for text in ["Smith, John", "JOHN SMITH", "Jöhn Smith", "jon sumisu",
                 "ジョン・スミス", "スミス・ジョン", "ｼﾞｮﾝ ｽﾐｽ", "じょん・すみす"]:
        assert name_key(text) == expected, text


def test_key_is_coarse_and_needs_the_fine_check():
    # John and Jane share a key: a key hit is only a candidate.
    assert latin_name_key("Smith", "Jane") == kana_name_key("ジョン・スミス")
    assert not katakana_matches_latin("ジョン・スミス", "Smith", "Jane")


@pytest.mark.parametrize(
    "kana,family,given",
    [
        ("ジョン・スミス", "Smith", "John"),
        ("エミリー・ジョンソン", "Johnson", "Emily"),
        ("マイケル・ブラウン", "Brown", "Michael"),
        ("サラ・ウィリアムズ", "Williams", "Sarah"),
        ("デービッド・ジョーンズ", "Jones", "David"),
        ("クリストファー・テイラー", "Taylor", "Christopher"),
        ("ロバート・マクドナルド", "McDonald", "Robert"),
        ("オリヴィア・マーティン", "Martin", "Olivia"),
        ("ソフィー・ダッシュウッド", "Dashwood", "Sophie"),
        ("チャン・ウェイ", "Zhang", "Wei"),
        ("ジャン・ウェイ", "Zhang", "Wei"),
        ("キム・ミンジュン", "Kim", "Min-jun"),
        ("パク・ジヨン", "Park", "Ji-yeon"),
        ("スティーブン・ホワイト", "White", "Stephen"),
        ("ジャマール・キャンベル", "Campbell", "Jamal"),
        ("ベンジャミン・ムーア", "Moore", "Benjamin"),
    ],
)
def test_latin_and_kana_keys_agree(kana, family, given):
    assert kana_name_key(kana) == latin_name_key(family, given)


def test_latin_name_keys_variants():
    keys = latin_name_keys("Smith", "John Paul")
    assert keys[0] == latin_name_key("Smith", "John Paul")
    assert kana_name_key("ジョン・スミス") in keys
    assert kana_name_key("デラクルス・ホセ") in latin_name_keys("Dela Cruz", "Jose")


def test_keys_are_order_insensitive():
    assert kana_name_key("スミス・ジョン") == kana_name_key("ジョン・スミス")
    assert latin_name_key("Smith", "John") == name_key("Smith John")


def test_doctests():
    result = doctest.testmod(names)
    assert result.attempted > 0 and result.failed == 0
