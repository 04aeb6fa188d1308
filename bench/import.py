"""Import benchmark: `broadsheet import-subscribers` on a Mailchimp-shaped export of
`--rows` readers (default 1,000,000), into a fresh PostgreSQL database (the real migrations;
dropped afterwards), beside PostgreSQL's own COPY of the same file into a bare table.

The export is written first (one reader in a hundred unsubscribed there, so the suppressed
path runs too; addresses spread over domains as a real list's are: 60% at ten large
providers, 35% at 50,000 companies, 5% each at a domain of its own); then the command runs
as an editor runs it, in a process of its own, timed from its start to its exit (the rows
committed) with its peak RSS, which must not grow with the file: every row is read,
validated and written a batch at a time. To show that it does not, the command first imports
a tenth of the file (`--rows` / 10) into a database of its own, and both peaks are printed
side by side. Then, in the same run,
COPY loads the same file into a table with the file's columns and no index, key or check:
the floor for moving these bytes into PostgreSQL. The issue's target: 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from _stack import Database, code_line, machine_line, stop_on_signals

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
HEADER = ["Email Address", "First Name", "Last Name", "MEMBER_RATING", "OPTIN_TIME",
          "CONFIRM_TIME", "LEID", "TAGS", "UNSUB_TIME"]  # fmt: skip
TARGET = 20_000
# Flat memory: the whole file's peak RSS within this many times a tenth of it.
FLAT_WITHIN = 1.25
PROVIDERS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
             "gmx.de", "web.de", "proton.me", "orange.fr"]  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the export")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server; a fresh database is made on it and dropped after",
    )
    return parser.parse_args()


def domain_of(n: int, rng: random.Random) -> str:
    """A reader's domain as a real list spreads them: most at a few large mailbox providers,
    many at one of tens of thousands of companies and ISPs, some at a domain of their own."""
    draw = rng.random()
    if draw < 0.6:
        return rng.choice(PROVIDERS)
    if draw < 0.95:
        return f"firm{rng.randrange(50_000)}.example.com"
    return f"home{n}.example.net"


def write_export(path: Path, rows: int) -> None:
    """A Mailchimp export: every hundredth reader unsubscribed there (UNSUB_TIME filled)."""
    rng = random.Random(20261207)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(rows):
            gone = "2024-06-01 12:00:00" if n % 100 == 99 else ""
            out.writerow([f"reader.{n}@{domain_of(n, rng)}", "Reader", str(n), "2",
                          "2024-01-02 10:00:00", "2024-01-02 10:05:00", str(n),
                          '"weekly"', gone])  # fmt: skip


def run_command(export: Path, url: str, workdir: Path) -> tuple[float, float, str]:
    """`broadsheet import-subscribers` in a child process: seconds, peak RSS (MiB), output."""
    env = dict(os.environ, DATABASE_URL=url, BROADSHEET_INSTANCE=str(workdir / "instance"))
    output = workdir / "output.txt"
    with output.open("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "cli", "import-subscribers", str(export)],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        # This child's own peak (RUSAGE_CHILDREN would give the largest of every child).
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the import failed:\n{text}")
    return seconds, usage.ru_maxrss / 1024, text


def copy_file(export: Path, url: str) -> float:
    """PostgreSQL's COPY of the file into a bare table (text columns, no index): seconds."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE copy_floor ({columns})")
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            export.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet import benchmark ==")
    print(machine_line())
    print(code_line())
    database = Database(None, args.database_url)
    with tempfile.TemporaryDirectory(prefix="bs-import-") as folder:
        workdir = Path(folder)
        export = workdir / "members.csv"
        tenth = workdir / "tenth.csv"
        write_export(export, args.rows)
        write_export(tenth, args.rows // 10)
        size_mib = export.stat().st_size / (1 << 20)
        print(f"export: {args.rows:,} rows, {size_mib:.0f} MiB (Mailchimp-shaped)")
        small = Database(None, args.database_url)
        small.create()
        try:
            _, small_peak, _ = run_command(tenth, small.url, workdir)
        finally:
            small.drop()
        database.create()
        try:
            url = make_url(database.url).set(drivername="postgresql")
            plain = url.render_as_string(hide_password=False)
            seconds, peak, output = run_command(export, database.url, workdir)
            copy_s = copy_file(export, plain)
        finally:
            database.drop()
    print(output.rstrip())
    rate = args.rows / seconds
    print()
    print(f"{'':<28} {'seconds':>8} {'rows/s':>10}")
    print(f"{'import-subscribers':<28} {seconds:>8.2f} {rate:>10,.0f}")
    print(f"{'COPY into a bare table':<28} {copy_s:>8.2f} {args.rows / copy_s:>10,.0f}")
    print(f"import takes {seconds / copy_s:.1f} times COPY's time")
    flat = peak <= small_peak * FLAT_WITHIN
    print(f"{'OK  ' if flat else 'FAIL'} peak RSS {peak:.0f} MiB for {args.rows:,} rows, "
          f"{small_peak:.0f} MiB for {args.rows // 10:,} ({peak / small_peak:.2f} times; "
          f"flat: within {FLAT_WITHIN})")  # fmt: skip
    ok = rate >= TARGET
    print(f"{'OK  ' if ok else 'FAIL'} {rate:,.0f} rows/s from file to committed rows "
          f"(target: {TARGET:,})")  # fmt: skip
    return 0 if ok and flat else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the bench database was dropped", file=sys.stderr)
        sys.exit(130)
