"""The same boto3 workload against findinghub and against moto's server, side by side.

    bench/run-boto3-vs-moto.sh                  # builds, starts both servers, runs this, stops them

or, with both servers already running:

    python bench/boto3_vs_moto.py --findinghub http://127.0.0.1:4680 --moto http://127.0.0.1:5000 \
        [--findings 20000] [--queries 100]

The workload, one boto3 client per server, one request at a time: enable Security Hub;
BatchImportFindings of N synthetic findings (about 2 KB each, one account) in batches of 100;
GetFindings, first page of 100, with no filter and with four filter types (severity label, workflow
status, resource id, title prefix), timed call by call; the paginator through every finding; and
BatchUpdateFindings (workflow status and note) in batches of 100. The two servers take turns call by
call, so that the noise of a shared machine falls on both alike. Each call is timed whole, as boto3's
caller sees it, and its HTTP exchange alone (see `Client`): boto3's own work, the same for both
servers, is most of a call, and the second figure shows the servers' difference.

Nothing is taken on trust: each import must report N successes, the paginator must return exactly
the N findings imported, and each filtered page is checked against the filter (count and content)
with the expected matches computed here from the generated findings. Where a server does not
implement an operation, or returns findings that do not match the filter (moto 5.2 ignores
GetFindings' Filters), the table says so instead of printing a ratio.

`--json-out FILE` also writes the run's figures; `--summarize FILE...` prints the medians of
several such runs (run-boto3-vs-moto.sh does this for `--runs`).

Credentials: findinghub's from FINDINGHUB_KEY_ID / FINDINGHUB_SECRET (the bootstrap key, an
administrator); moto accepts any.
"""

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import time

import boto3
import botocore
import botocore.config
import botocore.exceptions

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account; the bootstrap key's account on findinghub
PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
LABELS = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
WORKFLOW = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]
WORDS = [
    "exposed", "port", "bucket", "policy", "root", "credential", "unencrypted", "public",
    "instance", "role", "logging", "disabled", "rotation", "traffic", "anomalous", "key",
]  # fmt: skip
BATCH = 100
NOTE = "triaged by the boto3-vs-moto benchmark"
SERVERS = ("findinghub", "moto")


# ---------------------------------------------------------------------------------------------
# The findings
# ---------------------------------------------------------------------------------------------


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_findings(n, seed=20240501):
    """N deterministic findings shaped like a configuration scanner's (as crates/bench makes them)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = []
    for i in range(n):
        updated = now - dt.timedelta(days=60) + dt.timedelta(seconds=i * (60 * 86400 // max(n, 1)))
        instance = f"i-{rng.randrange(n // 2 + 1):017x}"
        title_words = [rng.choice(WORDS) for _ in range(5)]
        out.append(
            {
                "SchemaVersion": "2018-10-08",
                "Id": f"bench-{i:010d}",
                "ProductArn": PRODUCT,
                "GeneratorId": f"bench-rule-{rng.randrange(500)}",
                "AwsAccountId": ACCOUNT,
                "Types": ["Software and Configuration Checks/AWS Security Best Practices", "Effects/Data Exposure"],
                "FirstObservedAt": stamp(updated - dt.timedelta(days=1)),
                "LastObservedAt": stamp(updated),
                "CreatedAt": stamp(updated - dt.timedelta(days=1)),
                "UpdatedAt": stamp(updated),
                "Severity": {"Label": rng.choice(LABELS), "Original": "5.0"},
                "Confidence": rng.randrange(101),
                "Title": f"{' '.join(title_words)} {i}",
                "Description": (
                    "This control checks whether the resource is configured according to the organisation's "
                    "baseline. The finding was produced by the benchmark generator of findinghub to look like the "
                    "findings of real configuration scanners: a few hundred characters of prose, a remediation, "
                    "resources with details, product fields and compliance information."
                ),
                "Remediation": {
                    "Recommendation": {
                        "Text": "Follow the remediation steps in the documentation of the control.",
                        "Url": "https://docs.example.com/controls/remediation",
                    }
                },
                "SourceUrl": "https://scanner.example.com/findings",
                "ProductFields": {
                    "scanner/version": "1.2.3",
                    "scanner/rule": f"R{rng.randrange(500)}",
                    "scanner/category": "configuration",
                    "scanner/run": f"run-{i // 1000}",
                },
                "Resources": [
                    {
                        "Type": "AwsEc2Instance",
                        "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}",
                        "Partition": "aws",
                        "Region": REGION,
                        "Tags": {"env": rng.choice(["prod", "dev", "dev"]), "team": f"team-{rng.randrange(20)}"},
                        "Details": {
                            "AwsEc2Instance": {
                                "Type": "t3.medium",
                                "ImageId": "ami-0abcdef1234567890",
                                "IpV4Addresses": [f"10.0.{i % 250}.{i % 200}"],
                                "KeyName": "ops",
                                "VpcId": "vpc-0123456789abcdef0",
                                "SubnetId": "subnet-0123456789abcdef0",
                                "LaunchedAt": stamp(updated - dt.timedelta(days=7)),
                            }
                        },
                    }
                ],
                "Compliance": {
                    "Status": rng.choice(["FAILED", "PASSED"]),
                    "RelatedRequirements": ["CIS AWS Foundations 4.1"],
                },
                "Workflow": {"Status": rng.choice(WORKFLOW)},
                "RecordState": "ACTIVE",
            }
        )
    return out


def queries(findings, count):
    """(name, [(filters, predicate)] * count) for each query type, the values varied call by call."""
    rng = random.Random(7)
    resource_ids = [f["Resources"][0]["Id"] for f in findings]

    def severity(k):
        label = LABELS[k % len(LABELS)]
        return {"SeverityLabel": [{"Value": label, "Comparison": "EQUALS"}]}, lambda f: f["Severity"]["Label"] == label

    def workflow(k):
        status = WORKFLOW[k % len(WORKFLOW)]
        return {"WorkflowStatus": [{"Value": status, "Comparison": "EQUALS"}]}, lambda f: f["Workflow"]["Status"] == status

    def resource(k):
        rid = rng.choice(resource_ids)
        return {"ResourceId": [{"Value": rid, "Comparison": "EQUALS"}]}, lambda f: any(r["Id"] == rid for r in f["Resources"])

    def title(k):
        prefix = f"{WORDS[k % len(WORDS)]} {WORDS[(k // len(WORDS)) % len(WORDS)]}"
        return {"Title": [{"Value": prefix, "Comparison": "PREFIX"}]}, lambda f: f["Title"].startswith(prefix)

    def none(k):
        return {}, lambda f: True

    kinds = [
        ("no filter", none),
        ("SeverityLabel EQUALS", severity),
        ("WorkflowStatus EQUALS", workflow),
        ("ResourceId EQUALS", resource),
        ("Title PREFIX (two words)", title),
    ]
    return [(name, [make(k) for k in range(count)]) for name, make in kinds]


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


class Client:
    """A boto3 Security Hub client that also times each call's HTTP exchange: from the moment the
    signed request is sent to the moment the whole response has been read, before botocore parses it
    (botocore's `before-send` and `before-parse` events). What is left of a call's time beside that
    is boto3's own work: validating and serialising the request, parsing the response."""

    def __init__(self, endpoint, key_id, secret):
        self.boto = boto3.session.Session().client(
            "securityhub",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=300),
        )
        self.wire = 0.0  # seconds of HTTP exchange since the last reset
        self._sent = None
        self.boto.meta.events.register("before-send.securityhub.*", self._on_send)
        self.boto.meta.events.register("before-parse.securityhub.*", self._on_response)

    def _on_send(self, **kwargs):
        self._sent = time.perf_counter()
        # None: botocore sends the request itself.

    def _on_response(self, **kwargs):
        if self._sent is not None:
            self.wire += time.perf_counter() - self._sent
            self._sent = None

    def timed(self, method, **params):
        """(answer, seconds of the whole call, seconds of its HTTP exchange)."""
        self.wire = 0.0
        t = time.perf_counter()
        out = getattr(self.boto, method)(**params)
        return out, time.perf_counter() - t, self.wire


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def error_text(e):
    if isinstance(e, botocore.exceptions.ClientError):
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = " ".join(re.sub(r"<[^>]*>", " ", str(err.get("Message", ""))).split())
        if status == 404 and "Not Found" in message:
            return "HTTP 404 Not Found (the server has no route for the operation)"
        return f"HTTP {status} {err.get('Code', '')}: {message[:100]}"
    return f"{type(e).__name__}: {e}"[:120]


def rate_figure(count, spent, wire):
    return {"rate": count / spent, "secs": spent, "wire_rate": count / wire, "wire_secs": wire}


def latency_figure(times, wires):
    times, wires = sorted(times), sorted(wires)
    return {
        "p50": percentile(times, 0.5) * 1000,
        "p99": percentile(times, 0.99) * 1000,
        "wire_p50": percentile(wires, 0.5) * 1000,
        "wire_p99": percentile(wires, 0.99) * 1000,
        "calls": len(times),
    }


def run(args):
    clients = {
        "findinghub": Client(args.findinghub, os.environ["FINDINGHUB_KEY_ID"], os.environ["FINDINGHUB_SECRET"]),
        "moto": Client(args.moto, "AKIAMOTOBENCH0000000", "moto-accepts-any-secret"),
    }
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    rows = {}  # name -> {server: figure dict}
    notes = {s: {} for s in SERVERS}  # name -> why the figure is missing or not comparable

    log(f"making {args.findings} findings ...")
    findings = make_findings(args.findings)
    for s in SERVERS:
        clients[s].boto.enable_security_hub()
        hub = clients[s].boto.describe_hub()
        assert hub.get("HubArn"), f"{s}: DescribeHub returned no HubArn: {hub}"

    # BatchImportFindings, batches of 100, the servers taking turns.
    log("BatchImportFindings ...")
    spent = {s: 0.0 for s in SERVERS}
    wire = {s: 0.0 for s in SERVERS}
    for start in range(0, len(findings), BATCH):
        batch = findings[start : start + BATCH]
        for s in SERVERS:
            out, secs, w = clients[s].timed("batch_import_findings", Findings=batch)
            spent[s] += secs
            wire[s] += w
            if out["SuccessCount"] != len(batch) or out["FailedCount"] != 0:
                raise SystemExit(f"{s}: BatchImportFindings did not take every finding: {out.get('FailedFindings')[:3]}")
    name = f"BatchImportFindings, {args.findings} in batches of {BATCH}"
    rows[name] = {s: rate_figure(len(findings), spent[s], wire[s]) for s in SERVERS}

    # GetFindings, first page of 100, timed call by call; each answer checked against the filter.
    log("GetFindings ...")
    for qname, calls in queries(findings, args.queries):
        times = {s: [] for s in SERVERS}
        wires = {s: [] for s in SERVERS}
        for filters, predicate in calls:
            expected = sum(1 for f in findings if predicate(f))
            for s in SERVERS:
                out, secs, w = clients[s].timed("get_findings", Filters=filters, MaxResults=BATCH)
                times[s].append(secs)
                wires[s].append(w)
                got = out["Findings"]
                wrong = [f["Id"] for f in got if not predicate(f)]
                if wrong or len(got) != min(expected, BATCH):
                    why = (
                        f"filter not applied: returned {len(got)} findings, {len(wrong)} of them not matching "
                        f"(expected {min(expected, BATCH)} matching)"
                    )
                    if s == "findinghub":
                        raise SystemExit(f"findinghub answered {qname} {filters} wrongly: {why}")
                    notes[s].setdefault(f"GetFindings, {qname}", why)
        rows[f"GetFindings, {qname}"] = {s: latency_figure(times[s], wires[s]) for s in SERVERS}

    # The paginator through every finding (no filter, pages of 100), the servers taking turns page by page.
    log("paginator ...")
    pages = {
        s: iter(clients[s].boto.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": BATCH}))
        for s in SERVERS
    }
    seen = {s: set() for s in SERVERS}
    spent = {s: 0.0 for s in SERVERS}
    wire = {s: 0.0 for s in SERVERS}
    page_count = {s: 0 for s in SERVERS}
    active = set(SERVERS)
    while active:
        for s in SERVERS:
            if s not in active:
                continue
            clients[s].wire = 0.0
            t = time.perf_counter()
            page = next(pages[s], None)
            spent[s] += time.perf_counter() - t
            wire[s] += clients[s].wire
            if page is None:
                active.discard(s)
                continue
            page_count[s] += 1
            seen[s].update(f["Id"] for f in page["Findings"])
    for s in SERVERS:
        if len(seen[s]) != len(findings) or page_count[s] < len(findings) // BATCH:
            raise SystemExit(
                f"{s}: the paginator returned {len(seen[s])} distinct findings in {page_count[s]} pages, "
                f"not {len(findings)}"
            )
    rows[f"GetFindings paginator, all {args.findings} (pages of {BATCH})"] = {
        s: rate_figure(len(findings), spent[s], wire[s]) for s in SERVERS
    }

    # BatchUpdateFindings, batches of 100.
    log("BatchUpdateFindings ...")
    todo = findings[: args.updates]
    name = f"BatchUpdateFindings, {len(todo)} in batches of {BATCH}"
    spent = {s: 0.0 for s in SERVERS}
    wire = {s: 0.0 for s in SERVERS}
    supported = set(SERVERS)
    for start in range(0, len(todo), BATCH):
        ids = [{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in todo[start : start + BATCH]]
        for s in SERVERS:
            if s not in supported:
                continue
            try:
                out, secs, w = clients[s].timed(
                    "batch_update_findings",
                    FindingIdentifiers=ids,
                    Workflow={"Status": "NOTIFIED"},
                    Note={"Text": NOTE, "UpdatedBy": "bench"},
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                if s == "findinghub":
                    raise
                supported.discard(s)
                notes[s][name] = f"not implemented: {error_text(e)}"
                continue
            spent[s] += secs
            wire[s] += w
            if len(out.get("ProcessedFindings", [])) != len(ids) or out.get("UnprocessedFindings"):
                raise SystemExit(
                    f"{s}: BatchUpdateFindings did not process every finding: {out.get('UnprocessedFindings', [])[:3]}"
                )
    # The update took effect where it was accepted.
    for s in supported:
        probe = todo[len(todo) // 2]
        got = clients[s].boto.get_findings(Filters={"Id": [{"Value": probe["Id"], "Comparison": "EQUALS"}]})
        got = got["Findings"]
        if len(got) != 1 or got[0]["Workflow"]["Status"] != "NOTIFIED" or got[0].get("Note", {}).get("Text") != NOTE:
            raise SystemExit(f"{s}: BatchUpdateFindings was not applied to {probe['Id']}: {got[:1]}")
    rows[name] = {s: rate_figure(len(todo), spent[s], wire[s]) for s in supported}

    # Peak resident memory of each server, where its process id was given.
    for s, pid in (("findinghub", args.findinghub_pid), ("moto", args.moto_pid)):
        if pid:
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as f:
                    kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
                rows.setdefault("server peak resident memory", {})[s] = {"mb": kb / 1024}
            except (OSError, StopIteration, ValueError):
                pass

    return {
        "findings": args.findings,
        "queries": args.queries,
        "versions": {"boto3": boto3.__version__, "botocore": botocore.__version__, "moto": moto_version()},
        "rows": rows,
        "notes": notes,
    }


def moto_version():
    try:
        from importlib.metadata import version

        return version("moto")
    except Exception:  # noqa: BLE001 - only a label
        return "unknown"


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


MARKS = "¹²³⁴⁵⁶⁷⁸⁹"


def figure(d, wire=False):
    pre = "wire_" if wire else ""
    if d is None:
        return "—"
    if "rate" in d:
        return f"{d[pre + 'rate']:,.0f} findings/s"
    if "p50" in d:
        return f"p50 {d[pre + 'p50']:.1f} / p99 {d[pre + 'p99']:.1f} ms"
    if "mb" in d:
        return f"{d['mb']:.0f} MB"
    return "?"


def ratio(fh, mo, wire=False):
    """How many times faster (or smaller) findinghub is: above 1 favours findinghub."""
    pre = "wire_" if wire else ""
    if fh is None or mo is None:
        return "n/a"
    if "rate" in fh:
        return f"{fh[pre + 'rate'] / mo[pre + 'rate']:.1f}×"
    if "p50" in fh:
        return f"{mo[pre + 'p50'] / fh[pre + 'p50']:.1f}× (p50)"
    if "mb" in fh:
        return f"{mo['mb'] / fh['mb']:.1f}× smaller"
    return "?"


def table(result, runs=1):
    rows, notes = result["rows"], result["notes"]
    footnotes = []

    def mark(name):
        why = notes["moto"].get(name)
        if not why:
            return None
        if why not in footnotes:
            footnotes.append(why)
        k = footnotes.index(why)
        return MARKS[k] if k < len(MARKS) else f"[{k + 1}]"

    out = [
        f"{result['findings']} findings, {result['queries']} GetFindings calls per query type, one boto3 client per "
        f"server, one call at a time (boto3 {result['versions']['boto3']}, moto {result['versions']['moto']})"
        + (f"; medians of {runs} runs" if runs > 1 else "")
    ]
    for wire in (False, True):
        out += [
            "",
            "HTTP exchange only (request sent to response read; boto3's own work left out):"
            if wire
            else "As boto3 sees it (the whole call, boto3's validation, serialisation and parsing included):",
            "",
            "| operation | findinghub | moto | findinghub faster by |",
            "|---|---|---|---|",
        ]
        for name, figs in rows.items():
            fh, mo = figs.get("findinghub"), figs.get("moto")
            if wire and fh is not None and "mb" in fh:
                continue
            m = mark(name)
            if m:
                moto_cell = f"({figure(mo, wire)}) {m}" if mo else f"not implemented {m}"
                out.append(f"| {name} | {figure(fh, wire)} | {moto_cell} | n/a |")
            else:
                out.append(f"| {name} | {figure(fh, wire)} | {figure(mo, wire)} | {ratio(fh, mo, wire)} |")
    if footnotes:
        out.append("")
        for k, why in enumerate(footnotes):
            out.append(f"{MARKS[k] if k < len(MARKS) else f'[{k + 1}]'} moto: {why}")
    return "\n".join(out)


def median_of(results):
    """One result whose every figure is the median of the runs' figures."""
    first = results[0]
    rows = {}
    for name in first["rows"]:
        rows[name] = {}
        for s in SERVERS:
            figs = [r["rows"].get(name, {}).get(s) for r in results]
            if any(f is None for f in figs):
                continue
            rows[name][s] = {k: statistics.median(f[k] for f in figs) for k in figs[0]}
    notes = {s: {} for s in SERVERS}
    for r in results:
        for s in SERVERS:
            for k, v in r["notes"].get(s, {}).items():
                notes[s].setdefault(k, v)
    return {**first, "rows": rows, "notes": notes}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--findinghub", help="findinghub's endpoint, http://127.0.0.1:PORT")
    p.add_argument("--moto", help="moto server's endpoint, http://127.0.0.1:PORT")
    p.add_argument("--findings", type=int, default=20_000, help="findings to import (default 20000)")
    p.add_argument("--queries", type=int, default=100, help="GetFindings calls per query type (default 100)")
    p.add_argument("--updates", type=int, help="findings to update with BatchUpdateFindings (default: all)")
    p.add_argument("--findinghub-pid", type=int, help="findinghub's process id, for its peak memory")
    p.add_argument("--moto-pid", type=int, help="moto server's process id, for its peak memory")
    p.add_argument("--json-out", help="also write the figures to this JSON file")
    p.add_argument("--summarize", nargs="+", metavar="FILE", help="print the medians of runs written by --json-out")
    args = p.parse_args(argv)

    if args.summarize:
        results = []
        for path in args.summarize:
            with open(path, encoding="utf-8") as f:
                results.append(json.load(f))
        print(table(median_of(results), runs=len(results)))
        return 0
    if not args.findinghub or not args.moto:
        p.error("--findinghub and --moto are required (or --summarize)")
    if args.findings < BATCH or args.findings % BATCH:
        p.error(f"--findings must be a multiple of {BATCH}")
    args.updates = args.findings if args.updates is None else min(args.updates, args.findings)

    result = run(args)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    print(table(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
