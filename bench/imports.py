"""Issue 4 at scale: import a generated 100,000-row CP932 CSV and a 100,000-row XLSX of JET alumni,
and export 100,000 rows streamed.

Each import runs the CLI (`flask --app crm import alumni FILE --prefecture 31`: check, then commit in
one transaction) in a child process; wall time is measured around the child, peak memory is the
child's own high-water mark of resident memory (`VmHWM`, which the child reports as it exits; the
`ru_maxrss` a parent gets from `os.wait4` also counts the parent's pages when the child is started
by fork or vfork: it showed this benchmark's own ~290 MB), i.e. the whole Python process with the
app, SQLAlchemy and the database driver loaded, not only the import's own allocations. The child's
CPU time (user + sys) and the load average around it are printed too: on a shared machine the wall
time mostly measures the wait for a CPU. The export runs the CLI export (CSV UTF-8 with BOM, and XLSX)
the same way.
Targets (issue 17): the CSV import ≤ 15 s at ≤ 300 MB peak memory, the XLSX import ≤ 25 s, the exports
≤ 8 s (CSV) and ≤ 20 s (XLSX).
"""
from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from bench.harness import Figure, bench_app, database_label

ROWS = 100_000
TOTTORI = 31
HEADERS = ["氏名", "フリガナ", "メールアドレス", "国籍", "居住国", "勤務先", "役職", "任用団体", "職種", "任用期間", "関心分野"]
FAMILY = [("Smith", "スミス"), ("Johnson", "ジョンソン"), ("Brown", "ブラウン"), ("Williams", "ウィリアムズ"), ("Jones", "ジョーンズ"),
          ("Taylor", "テイラー"), ("Miller", "ミラー"), ("Wilson", "ウィルソン"), ("Kelly", "ケリー"), ("O'Brien", "オブライエン"),
          ("Chen", "チェン"), ("Kim", "キム"), ("Santos", "サントス"), ("Dubois", "デュボア"), ("髙橋", "タカハシ"), ("山﨑", "ヤマサキ")]
GIVEN = [("John", "ジョン"), ("Emily", "エミリー"), ("Michael", "マイケル"), ("Sarah", "サラ"), ("David", "デイビッド"),
         ("Olivia", "オリビア"), ("Liam", "リアム"), ("Aoife", "イーファ"), ("Wei", "ウェイ"), ("Ana", "アナ"), ("Kezia", "ケジア")]
COUNTRIES = ["US"] * 8 + ["GB", "CA", "AU", "NZ", "IE", "JM", "アメリカ", "イギリス", "カナダ"]
ORGANISATIONS = ["鳥取市教育委員会", "米子市～境港市組合", "㈱髙橋商事", "倉吉市役所", "鳥取県国際交流財団①", "八頭町教育委員会"]
EMPLOYERS = ["JETRO", "Rakuten", "㈱髙橋商事", "University of Leeds", "Tourism NZ", "", "Self-employed"]
POSITIONS = ["ALT"] * 8 + ["CIR", "国際交流員", "外国語指導助手", "SEA"]
INTERESTS = ["①観光 ②教育", "地域振興～国際交流", "ﾎﾞﾗﾝﾃｨｱ", "", "Tourism, education"]


def rows(count: int, seed: int = 4):
    rng = random.Random(seed)
    for number in range(1, count + 1):
        (family, family_kana), (given, given_kana) = rng.choice(FAMILY), rng.choice(GIVEN)
        kana = f"{given_kana}・{family_kana}"
        if rng.random() < 0.2:  # half-width katakana, as older systems write it
            kana = _halfwidth(kana)
        start = rng.randint(1990, 2024)
        period = f"{start}～{start + rng.randint(0, 4)}" if rng.random() < 0.5 else f"{start}-{start + rng.randint(0, 4)}"
        yield [f"{family}, {given}" if not family.isascii() or rng.random() < 0.5 else f"{given} {family}", kana,
               f"{given}.{family}.{number}@example.org".lower().replace("'", "") if family.isascii() else f"alumnus{number}@example.jp",
               rng.choice(COUNTRIES), rng.choice(COUNTRIES), rng.choice(EMPLOYERS), "Manager" if rng.random() < 0.3 else "",
               rng.choice(ORGANISATIONS), rng.choice(POSITIONS), period, rng.choice(INTERESTS)]


_HALF = {}


def _halfwidth(value: str) -> str:
    if not _HALF:
        import unicodedata  # noqa: PLC0415
        for code in range(0xFF61, 0xFFA0):
            char = chr(code)
            _HALF.setdefault(unicodedata.normalize("NFKC", char), char)
        for code in range(0xFF61, 0xFFA0):
            for mark, combined in (("ﾞ", "\u3099"), ("ﾟ", "\u309a")):
                full = unicodedata.normalize("NFKC", chr(code) + mark)
                if len(full) == 1:
                    _HALF.setdefault(full, chr(code) + mark)
    return "".join(_HALF.get(char, char) for char in value)


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="cp932", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows(rows(count))


def write_xlsx(path: Path, count: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("卒業生")
    sheet.append(HEADERS)
    for row in rows(count, seed=5):
        sheet.append(row)
    book.save(path)


# The CLI, reporting its own peak resident memory as it exits (after `flask`'s sys.exit).
_REPORTING_CLI = """
import atexit, sys
from flask.cli import main

def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"peak-resident-kib {kib}", file=sys.stderr)

atexit.register(_peak)
sys.argv = ["flask", *sys.argv[1:]]
main()
"""


def _child(args: list[str], database_url: str) -> tuple[float, float, str]:
    """Run `flask --app crm …` in a child process → (wall seconds, peak RSS in MB, output); its CPU
    time and the load average are printed."""
    load = os.getloadavg()[0]
    environment = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_SECRET_KEY": "bench"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _REPORTING_CLI, "--app", "crm", *args], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{args} failed: {output[-2000:]}")
    peak_kib = int(re.search(r"^peak-resident-kib (\d+)$", output, re.MULTILINE).group(1))
    output = re.sub(r"^peak-resident-kib \d+\n?", "", output, flags=re.MULTILINE)
    what = args[5] if args[0] == "export" else Path(args[2]).suffix[1:]
    print(f"  {args[0]} {what}: wall {seconds:.1f} s, "
          f"CPU {usage.ru_utime + usage.ru_stime:.1f} s (user {usage.ru_utime:.1f} + sys {usage.ru_stime:.1f}), "
          f"peak RSS {peak_kib / 1024:.0f} MB, load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    return seconds, peak_kib / 1024, output


def _seconds_figure(database: str, what: str, n: int, seconds: float, megabytes: float, target_s: float | None = None,
                    target_mb: float | None = None) -> Figure:
    # The harness's Figure holds milliseconds; a whole import is one measurement (p50 = p95 = max).
    ms = round(seconds * 1000, 1)
    return Figure("imports", database, what, n, ms, ms, ms, None, target_s * 1000 if target_s else None,
                  peak_mb=round(megabytes, 1), target_mb=target_mb)


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    count = max(1, int(ROWS * scale))
    app = bench_app(database_url, reuse=False)  # an import needs an empty registry to create every row
    label = database_label(app)
    figures = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-imports-") as folder:
        folder = Path(folder)
        csv_path, xlsx_path = folder / "alumni-cp932.csv", folder / "alumni.xlsx"
        write_csv(csv_path, count)
        write_xlsx(xlsx_path, count)
        seconds, megabytes, output = _child(["import", "alumni", str(csv_path), "--prefecture", str(TOTTORI)], database_url)
        print(f"{label}: {output.strip().splitlines()[-1]}")
        figures.append(_seconds_figure(label, f"import CSV CP932, {count} rows (CLI: checked and committed in one pass)", count, seconds, megabytes, 15, 300))
        bench_app(database_url, reuse=False)  # empty again: the XLSX creates its rows too
        seconds, megabytes, output = _child(["import", "alumni", str(xlsx_path), "--prefecture", str(TOTTORI)], database_url)
        print(f"{label}: {output.strip().splitlines()[-1]}")
        figures.append(_seconds_figure(label, f"import XLSX, {count} rows (CLI: checked and committed in one pass)", count, seconds, megabytes, 25))
        for fmt in ("csv", "xlsx"):
            out = folder / f"export.{fmt}"
            seconds, megabytes, output = _child(["export", "alumni", "--prefecture", str(TOTTORI), "--format", fmt, "-o", str(out)], database_url)
            print(f"{label}: {output.strip().splitlines()[-1]}")
            figures.append(_seconds_figure(label, f"export {fmt.upper()}, {count} rows (CLI, streamed)", count, seconds, megabytes,
                                            {"csv": 8, "xlsx": 20}[fmt]))
    return figures
