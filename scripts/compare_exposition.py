#!/usr/bin/env python3
"""Compares pairs of Prometheus expositions line by line (scripts/compare-exposition).

Usage: compare_exposition.py [--no-mask] OLD_1 NEW_1 [OLD_2 NEW_2 ...]

Each pair must be identical byte for byte, line for line and in the same
order, except the value (and timestamp, if any) of the samples of the families
in MASKED, which is replaced by "<masked>" on both sides before comparing,
and only when both are numbers. HELP, TYPE, UNIT and EOF lines, sample names
and labels are never masked. When FILE.content-type exists (the response's
Content-Type header), it is compared too.

Prints a unified diff of every pair that differs and exits 1; else a summary
(lines compared, families compared, families whose values were masked) and
exits 0. Exits 2 when the OLD scrapes show that the exporter could not do its
job (pg_up not 1, a collector failed), which makes the comparison vacuous.
"""

import difflib
import math
import os
import re
import sys

# Families whose sample values may differ between two scrapes of a quiet
# database taken right after each other, and why: family -> reason, or
# (reason, label) to mask only the series that have this label. A family is
# named as its text-format TYPE line names it (counters with _total); the
# OpenMetrics name without _total matches too.
# A mask limited to the series with this label.
FESTIVALS = 'datname="festivals"'

MASKED = {
    # Durations of the scrape that produced the exposition.
    "pg_scrape_collector_duration_seconds": "how long each collector took in this scrape",
    "pg_exporter_last_scrape_duration_seconds": "how long this scrape took",
    # Relative to now: the age of a cached result (bloat has a 5 m interval).
    "pg_scrape_collector_cache_age_seconds": "age of a cached collector result, relative to now",
    "pg_database_size_age_seconds": "age of a measured database size, relative to now",
    # The exporter process itself, not the database (process_max_fds is compared).
    "process_cpu_seconds_total": "CPU time of the exporter process",
    "process_resident_memory_bytes": "memory of the exporter process",
    "process_virtual_memory_bytes": "memory of the exporter process",
    "process_open_fds": "open files of the exporter process (sockets come and go)",
    "process_start_time_seconds": "when the exporter process started",
    "process_network_receive_bytes_total": "bytes of the whole network namespace, moved by the other exporter too",
    "process_network_transmit_bytes_total": "bytes of the whole network namespace, moved by the other exporter too",
    "postgres_exporter_config_last_reload_success_timestamp_seconds": "when the exporter process loaded its files",
    # pg_stat_database counters of the database the exporters connect to (only
    # its series: the other databases are quiet and compared), which every
    # scrape's own queries move: catalog reads, transactions, session time. A
    # session reports them at most once a second, so two scrapes taken right
    # after each other differ now and then, by the other exporter's scrape.
    "pg_stat_database_xact_commit": ("the scrapes' own transactions", FESTIVALS),
    "pg_stat_database_blks_hit": ("catalog blocks the scrapes read", FESTIVALS),
    "pg_stat_database_tup_returned": ("catalog rows the scrapes read", FESTIVALS),
    "pg_stat_database_tup_fetched": ("catalog rows the scrapes read", FESTIVALS),
    "pg_stat_database_session_time_seconds_total": ("time the exporters' sessions have been open", FESTIVALS),
    "pg_stat_database_active_time_seconds_total": ("time the scrapes' queries ran", FESTIVALS),
    "pg_stat_database_idle_in_transaction_time_seconds_total": ("time between the statements of the scrapes' custom-query transactions", FESTIVALS),
}

SUFFIXES = ("_total", "_created", "_count", "_sum", "_bucket", "_info", "_gcount", "_gsum")
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def split_sample(line):
    """(name, labels text with braces or "", rest after the labels) or None."""
    m = NAME.match(line)
    if not m:
        return None
    name, i = m.group(0), m.end()
    labels = ""
    if i < len(line) and line[i] == "{":
        j, quoted = i + 1, False
        while j < len(line):
            c = line[j]
            if quoted:
                if c == "\\":
                    j += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "}":
                break
            j += 1
        if j >= len(line):
            return None
        labels, i = line[i:j + 1], j + 1
    if i >= len(line) or line[i] != " ":
        return None
    return name, labels, line[i + 1:]


def is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_float(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


class Exposition:
    """The lines of one file, each with its family and whether its value is masked."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        # Byte-exact: decode so that every byte survives, split on \n only.
        text = raw.decode("utf-8", errors="surrogateescape")
        self.lines = text.split("\n")
        self.ends_with_newline = text.endswith("\n")
        if self.ends_with_newline:
            self.lines.pop()
        self.families = []          # in order of appearance
        self.masked_lines = []      # the lines as compared
        self.masked_count = {}      # family -> samples whose value was masked
        self.samples = []           # (family, name, labels, value text)
        family, family_type = None, None
        for line in self.lines:
            shown = line
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    family, family_type = parts[2], parts[3]
                    if family not in self.families:
                        self.families.append(family)
                elif len(parts) >= 3 and parts[1] == "HELP":
                    if parts[2] != family:
                        family, family_type = parts[2], None
                        if family not in self.families:
                            self.families.append(family)
            else:
                sample = split_sample(line)
                if sample:
                    name, labels, rest = sample
                    fam = family if family and self._belongs(name, family) else name
                    if fam not in self.families:
                        self.families.append(fam)
                    fields = rest.split(" ")
                    self.samples.append((fam, name, labels, fields[0]))
                    key = self._mask_key(fam, family_type if fam == family else None, labels)
                    if key and all(is_number(x) for x in fields[:2]) and len(fields) <= 2:
                        shown = f"{name}{labels} <masked>"
                        self.masked_count[key] = self.masked_count.get(key, 0) + 1
            self.masked_lines.append(shown)
        if not self.ends_with_newline:
            self.masked_lines.append("<no newline at end of file>")

    @staticmethod
    def _belongs(name, family):
        return name == family or (name.startswith(family + "_") and name[len(family):] in SUFFIXES)

    @staticmethod
    def _mask_key(fam, family_type, labels):
        key = fam if fam in MASKED else None
        if key is None and family_type == "counter" and fam + "_total" in MASKED:
            key = fam + "_total"
        if key is None:
            return None
        if isinstance(MASKED[key], tuple):
            label = MASKED[key][1]
            # The label exactly, between "{" or "," and "," or "}".
            if not re.search(r"[{,]" + re.escape(label) + r"[,}]", labels):
                return None
        return key


def content_type(path):
    try:
        with open(path + ".content-type", encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def main(argv):
    global MASKED
    if argv[:1] == ["--no-mask"]:
        MASKED, argv = {}, argv[1:]
    if len(argv) < 2 or len(argv) % 2:
        sys.exit("usage: compare_exposition.py [--no-mask] OLD_1 NEW_1 [OLD_2 NEW_2 ...]")
    differ = 0
    lines = 0
    families = set()
    masked = {}
    problems = []
    for old_path, new_path in zip(argv[0::2], argv[1::2]):
        old, new = Exposition(old_path), Exposition(new_path)
        a, b = list(old.masked_lines), list(new.masked_lines)
        ct_old, ct_new = content_type(old_path), content_type(new_path)
        if ct_old is not None or ct_new is not None:
            a.insert(0, f"<Content-Type: {ct_old}>")
            b.insert(0, f"<Content-Type: {ct_new}>")
        lines += max(len(old.lines), len(new.lines))
        families.update(old.families)
        families.update(new.families)
        for key, n in old.masked_count.items():
            masked[key] = masked.get(key, 0) + n
        if a != b:
            differ += 1
            sys.stdout.writelines(
                line + "\n" for line in difflib.unified_diff(
                    a, b, f"OLD {os.path.basename(old_path)}", f"NEW {os.path.basename(new_path)}",
                    n=3, lineterm=""))
        # The OLD exposition must show a working exporter, else equality says little.
        values = {(name, labels): value for _, name, labels, value in old.samples}
        if parse_float(values.get(("pg_up", ""), "nan")) != 1:
            problems.append(f"{old_path}: pg_up is not 1")
        for (name, labels), value in values.items():
            if name == "pg_scrape_collector_success" and parse_float(value) != 1:
                problems.append(f"{old_path}: {name}{labels} {value}")
    pairs = len(argv) // 2
    if differ:
        print(f"compare-exposition: {differ} of {pairs} pair(s) of scrapes differ (diff above; "
              f"masked values show as <masked>)")
        return 1
    if problems:
        print("compare-exposition: the expositions agree, but OLD did not collect everything:")
        for p in problems:
            print("  " + p)
        return 2
    print(f"compare-exposition: identical: {pairs} pair(s) of scrapes, {lines} lines compared, "
          f"{len(families)} families compared")
    print(f"families whose values were masked ({len(masked)}):")
    for key in sorted(masked):
        reason, only = MASKED[key] if isinstance(MASKED[key], tuple) else (MASKED[key], None)
        print(f"  {key}{'{' + only + '}' if only else ''} ({masked[key]} samples): {reason}")
    absent = sorted(set(MASKED) - set(masked))
    if absent:
        print("listed in MASKED but not exposed here: " + ", ".join(absent))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        print(f"compare-exposition: {e}", file=sys.stderr)
        sys.exit(2)
