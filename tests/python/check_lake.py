"""Reads a findinghub Security Lake back with independent readers and checks it against the OCSF
events that were meant (the JSON lines that `findinghub lake export --jsonl` wrote in the same run).

    check_lake.py --jsonl EVENTS.jsonl --dir LAKE_ROOT [--readme README.md]
    check_lake.py --jsonl EVENTS.jsonl --s3-endpoint URL --bucket B --prefix P --download-to DIR [--readme …]
    check_lake.py --changes CHANGES.json --dir LAKE_ROOT

With --changes (the crash test of the lake target), CHANGES.json is {"acknowledged": [titles],
"sent": [titles]}, each title naming one finding change: pyarrow counts the rows of every Parquet
file by `finding_info.title`, and every acknowledged change must be there exactly once, no change
twice, and none that was never sent; DuckDB must count the same rows over the whole lake.

pyarrow reads every Parquet file on its own; each row, with nulls dropped, timestamps written back as
RFC 3339 and the `unmapped` map as an object, must equal the event with the same finding uid, and lie
in the partition (region, accountId, eventDay) that its own fields name. DuckDB then runs the README's
query (failed findings by account and day) over the lake, and its answer must equal the count made
from the JSON lines. From S3, the objects are listed and fetched with boto3 first. Prints a summary
line and exits non-zero on the first mismatch.
"""

import argparse
import datetime
import json
import os
import re
import sys
from collections import Counter

import pyarrow.parquet as pq


def normalize(value):
    """A row as pyarrow gives it → the JSON the event was."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {k: v for k, v in value}
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check_files(root, expected):
    files = []
    for dirpath, _, names in os.walk(root):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".parquet")]
    if not files:
        fail(f"no Parquet file under {root}")
    seen = Counter()
    for path in sorted(files):
        rel = os.path.relpath(path, root).split(os.sep)
        m = re.fullmatch(r"region=(.+)", rel[-4]), re.fullmatch(r"accountId=(.+)", rel[-3]), re.fullmatch(r"eventDay=(\d{8})", rel[-2])
        if not all(m) or rel[:3] != ["aws", "SH_FINDINGS", "2.0"]:
            fail(f"{path} is not in Security Lake's layout")
        region, account, day = (x.group(1) for x in m)
        metadata = pq.ParquetFile(path).metadata
        codecs = {metadata.row_group(g).column(c).compression for g in range(metadata.num_row_groups) for c in range(metadata.num_columns)}
        if codecs != {"ZSTD"}:
            fail(f"{path}: compression {codecs}")
        classes = set()
        for row in pq.read_table(path).to_pylist():
            got = normalize(row)
            uid = got["finding_info"]["uid"]
            want = expected.get(uid)
            if want is None:
                fail(f"{path}: a row that was not exported: {uid}")
            if got != want:
                diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
                fail(f"{path}: row {uid} differs from its event: {json.dumps(diff, default=str)[:2000]}")
            if (got["cloud"]["region"], got["cloud"]["account"]["uid"], got["time_dt"][:10].replace("-", "")) != (region, account, day):
                fail(f"{path}: row {uid} is in the wrong partition")
            classes.add(got["class_uid"])
            seen[uid] += 1
        if len(classes) != 1:
            fail(f"{path}: more than one class: {classes}")
    if seen.keys() != expected.keys() or any(n != 1 for n in seen.values()):
        missing = expected.keys() - seen.keys()
        doubled = [u for u, n in seen.items() if n > 1]
        fail(f"missing {sorted(missing)[:5]}, doubled {doubled[:5]}")
    return len(files), sum(seen.values())


def check_duckdb(root, readme, expected):
    import duckdb

    text = open(readme, encoding="utf-8").read()
    section = text[text.index("## Security Lake"):]
    query = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    query = query.replace("'lake/", "'" + root.rstrip("/") + "/")
    rows = duckdb.sql(query).fetchall()
    want = Counter()
    for e in expected.values():
        if e.get("compliance", {}).get("status") == "FAILED":
            want[(e["cloud"]["account"]["uid"], e["time_dt"][:10].replace("-", ""))] += 1
    got = {(str(a), str(d)): n for a, d, n in rows}
    if got != dict(want):
        fail(f"the README's query answers {got}, the events say {dict(want)}")
    if not got:
        fail("no FAILED finding to count: the test data should have some")
    return len(rows)


def check_changes(root, path):
    import duckdb

    with open(path, encoding="utf-8") as f:
        want = json.load(f)
    acknowledged, sent = set(want["acknowledged"]), set(want["sent"])
    files = []
    for dirpath, _, names in os.walk(root):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".parquet")]
    counts = Counter()
    for name in sorted(files):
        for info in pq.read_table(name, columns=["finding_info"]).column("finding_info").to_pylist():
            counts[info["title"]] += 1
    doubled = sorted(t for t, n in counts.items() if n > 1)
    missing = sorted(acknowledged - counts.keys())
    unknown = sorted(counts.keys() - sent)
    if doubled or missing or unknown:
        fail(f"{len(missing)} acknowledged changes missing {missing[:5]}, {len(doubled)} doubled {doubled[:5]}, "
             f"{len(unknown)} never sent {unknown[:5]}")
    pattern = os.path.join(root, "**", "*.parquet")
    total, distinct = duckdb.sql(
        f"SELECT count(*), count(DISTINCT finding_info.title) FROM read_parquet('{pattern}', union_by_name = true)"
    ).fetchall()[0]
    if (total, distinct) != (sum(counts.values()), len(counts)):
        fail(f"DuckDB counts {total} rows ({distinct} distinct), pyarrow {sum(counts.values())} ({len(counts)})")
    print(f"changes ok: {len(files)} files, {total} rows, each of {len(acknowledged)} acknowledged changes exactly once")


def download(endpoint, bucket, prefix, target):
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for key in keys:
        rel = key[len(prefix):].lstrip("/")
        path = os.path.join(target, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        s3.download_file(bucket, key, path)
    return len(keys)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jsonl")
    p.add_argument("--changes")
    p.add_argument("--dir")
    p.add_argument("--readme")
    p.add_argument("--s3-endpoint")
    p.add_argument("--bucket")
    p.add_argument("--prefix", default="")
    p.add_argument("--download-to")
    args = p.parse_args()
    if args.changes:
        check_changes(args.dir, args.changes)
        return
    expected = {}
    with open(args.jsonl, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            expected[event["finding_info"]["uid"]] = event
    root = args.dir
    if args.s3_endpoint:
        objects = download(args.s3_endpoint, args.bucket, args.prefix, args.download_to)
        print(f"fetched {objects} objects from s3://{args.bucket}/{args.prefix}")
        root = args.download_to
    files, rows = check_files(root, expected)
    groups = check_duckdb(root, args.readme, expected) if args.readme else 0
    print(f"lake ok: {files} files, {rows} rows equal to their events, README query {groups} groups")


if __name__ == "__main__":
    main()
