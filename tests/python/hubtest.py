"""Shared pieces of the Python client tests: where the hub is, the keys, the ASFF samples and the
expectations computed from them, and small helpers to run the AWS CLI and make boto3 clients.

The hub is started by crates/findinghub/tests/python_clients.rs, which passes everything through the
environment:

    FINDINGHUB_ENDPOINT         http://127.0.0.1:PORT
    FINDINGHUB_REGION           the Region to sign for (us-east-1)
    FINDINGHUB_ADMIN_KEY_ID     the bootstrap administrator key ...
    FINDINGHUB_ADMIN_SECRET
    FINDINGHUB_ADMIN_ACCOUNT
    FINDINGHUB_MEMBER_KEY_ID    ... and a member key from `findinghub credentials create`
    FINDINGHUB_MEMBER_SECRET
    FINDINGHUB_MEMBER_ACCOUNT
    FINDINGHUB_SAMPLES          the directory of the shared ASFF samples (one finding per file)
"""

import atexit
import copy
import datetime as dt
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import botocore.session

ENDPOINT = os.environ["FINDINGHUB_ENDPOINT"]
REGION = os.environ.get("FINDINGHUB_REGION", "us-east-1")
SAMPLES_DIR = os.environ["FINDINGHUB_SAMPLES"]

# The one sample whose ProductArn is malformed ("arn:aws::securityhub:..."): refused at request level.
MALFORMED_SAMPLE = "guardduty/typical-finding-ssh-bruteforce.guardduty-userguide.json"

# A partner product that no account may import from until it subscribes to it.
PARTNER_PRODUCT = f"arn:aws:securityhub:{REGION}::product/prowler/prowler"


# AWS integrations whose findings flow only once the account accepts them (the samples hold some).
ACCEPTANCE_PRODUCTS = [
    f"arn:aws:securityhub:{REGION}::product/aws/iot-device-defender-audit",
    f"arn:aws:securityhub:{REGION}::product/aws/iot-device-defender-detect",
]


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: str
    account: str


ADMIN = Key(
    os.environ["FINDINGHUB_ADMIN_KEY_ID"],
    os.environ["FINDINGHUB_ADMIN_SECRET"],
    os.environ["FINDINGHUB_ADMIN_ACCOUNT"],
)
MEMBER = Key(
    os.environ["FINDINGHUB_MEMBER_KEY_ID"],
    os.environ["FINDINGHUB_MEMBER_SECRET"],
    os.environ["FINDINGHUB_MEMBER_ACCOUNT"],
)


def hub_arn(account):
    return f"arn:aws:securityhub:{REGION}:{account}:hub/default"


def default_product(account):
    return f"arn:aws:securityhub:{REGION}:{account}:product/{account}/default"


# ---------------------------------------------------------------------------------------------
# Samples and the expectations computed from them
# ---------------------------------------------------------------------------------------------


def load_samples():
    """(relative path, finding) of every sample, sorted by path."""
    paths = sorted(glob.glob(os.path.join(SAMPLES_DIR, "**", "*.json"), recursive=True))
    out = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            out.append((os.path.relpath(p, SAMPLES_DIR).replace(os.sep, "/"), json.load(f)))
    if len(out) < 10:
        raise RuntimeError(f"expected the shared ASFF samples in {SAMPLES_DIR}, found {len(out)} files")
    return out


def importable_samples():
    """The samples that the hub must accept: all but the one with the malformed ProductArn."""
    return [f for (p, f) in load_samples() if p != MALFORMED_SAMPLE]


def malformed_sample():
    return dict(load_samples())[MALFORMED_SAMPLE]


def _securityhub_model():
    return botocore.session.get_session().get_service_model("securityhub")


def prune_to_model(finding):
    """The finding without the members that botocore's model of AwsSecurityFinding does not know.

    botocore (and so the AWS CLI) refuses unknown members before sending (one sample carries
    FindingProviderFields.Severity.Normalized, which the ASFF model lacks), so a user of these
    clients has to drop them. Returns (pruned finding, dotted paths of what was dropped).
    """
    shape = _securityhub_model().shape_for("AwsSecurityFinding")
    dropped = []

    def walk(value, shape, path):
        if shape.type_name == "structure" and isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k in shape.members:
                    out[k] = walk(v, shape.members[k], f"{path}.{k}" if path else k)
                else:
                    dropped.append(f"{path}.{k}" if path else k)
            return out
        if shape.type_name == "list" and isinstance(value, list):
            return [walk(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
        if shape.type_name == "map" and isinstance(value, dict):
            return {k: walk(v, shape.value, f"{path}.{k}") for k, v in value.items()}
        return value

    return walk(copy.deepcopy(finding), shape, ""), dropped


def pruned_importable_samples():
    out, dropped = [], []
    for f in importable_samples():
        p, d = prune_to_model(f)
        out.append(p)
        dropped.extend(f"{f['Id']}: {x}" for x in d)
    return out, dropped


def parse_time(s):
    """An ASFF timestamp (RFC 3339, optional fraction, Z or offset) as an aware datetime."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", s)
    if m and m.group(2):
        s = m.group(1) + (m.group(2) + "000000")[:7] + m.group(3)
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def ids(findings):
    return {f["Id"] for f in findings}


def ids_where(findings, predicate):
    return {f["Id"] for f in findings if predicate(f)}


def resource_tags(f):
    """Every (key, value) of the finding's resources' tags."""
    pairs = set()
    for r in f.get("Resources") or []:
        for k, v in (r.get("Tags") or {}).items():
            pairs.add((k, v))
    return pairs


def now_utc():
    return dt.datetime.now(dt.timezone.utc)


def own_finding(account, finding_id, title, updated_at=None, product=None, label="LOW"):
    """A small valid finding of the account's default product."""
    stamp = (updated_at or now_utc()).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": product or default_product(account),
        "GeneratorId": "python-clients-e2e",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": stamp,
        "UpdatedAt": stamp,
        "Severity": {"Label": label},
        "Title": title,
        "Description": "A finding made by the Python client tests",
        "Resources": [{"Type": "Other", "Id": f"resource-{finding_id}"}],
    }


def batches(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------
# The AWS CLI
# ---------------------------------------------------------------------------------------------

AWS_BIN = os.path.join(os.path.dirname(sys.executable), "aws")
CLI_ERROR = re.compile(r"An error occurred \((?P<code>[A-Za-z0-9_.]+)\) when calling the (?P<op>\w+) operation(?: \(reached max retries: \d+\))?: (?P<msg>.*)")


class CliError(AssertionError):
    pass


class Cli:
    """`aws securityhub ...` in a subprocess, with only the given key: the machine's AWS config,
    credentials and AWS_* variables never reach it."""

    def __init__(self, key, parameter_validation=True):
        self.key = key
        self._dir = tempfile.mkdtemp(prefix="findinghub-cli-")
        atexit.register(shutil.rmtree, self._dir, True)
        config = os.path.join(self._dir, "config")
        with open(config, "w", encoding="utf-8") as f:
            if not parameter_validation:
                # botocore's own switch, so that the server (not the client) judges the input.
                f.write("[default]\nparameter_validation = false\n")
        credentials = os.path.join(self._dir, "credentials")
        open(credentials, "w", encoding="utf-8").close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=key.key_id,
            AWS_SECRET_ACCESS_KEY=key.secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=config,
            AWS_SHARED_CREDENTIALS_FILE=credentials,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
        )
        self.env = env
        self.calls = 0

    def file_arg(self, name, value):
        """A `file://` argument holding value as JSON."""
        path = os.path.join(self._dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f)
        return "file://" + path

    def run(self, *args):
        cmd = [AWS_BIN, "securityhub", *args, "--endpoint-url", ENDPOINT, "--region", REGION, "--output", "json"]
        self.calls += 1
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)

    def ok(self, *args):
        """Runs the command, which must succeed; its JSON output ({} when it prints nothing)."""
        p = self.run(*args)
        if p.returncode != 0:
            raise CliError(f"aws securityhub {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
        out = p.stdout.strip()
        return json.loads(out) if out else {}

    def fails(self, code, *args):
        """Runs the command, which must fail with the service error `code`; the error message."""
        p = self.run(*args)
        if p.returncode == 0:
            raise CliError(f"aws securityhub {' '.join(args)} succeeded, expected {code}:\n{p.stdout}")
        m = CLI_ERROR.search(p.stderr)
        if not m:
            raise CliError(f"aws securityhub {' '.join(args)}: no service error in:\n{p.stderr}")
        if m.group("code") != code:
            raise CliError(f"aws securityhub {' '.join(args)}: expected {code}, got {m.group('code')}: {m.group('msg')}")
        if p.returncode != 255:
            raise CliError(f"a service error exits 255 in the AWS CLI v1, got {p.returncode}")
        return m.group("msg")


# ---------------------------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------------------------


def client(key, **config):
    """boto3's securityhub client for the hub, with the key given explicitly (no profile or
    environment credentials) and no retries, so an error surfaces at once."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=key.key_id, aws_secret_access_key=key.secret, region_name=REGION
    )
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, **config)
    return session.client("securityhub", endpoint_url=ENDPOINT, config=cfg)


def error_code(exc):
    return exc.response.get("Error", {}).get("Code")
