"""Prowler, unchanged, sends its findings to the hub.

moto's server stands in for the AWS account that Prowler scans (S3, IAM, STS and whatever else
Prowler asks: `AWS_ENDPOINT_URL`), the hub receives the findings (`AWS_ENDPOINT_URL_SECURITYHUB`).
Both are reached with the hub's bootstrap key: the hub accepts only its own keys, moto any key, and
the hub's account is moto's account (`MOTO_ACCOUNT_ID`), so that the account that Prowler learns from
STS is the one that owns the hub.

The flow is Prowler's own (prowler/providers/aws/lib/security_hub/security_hub.py): DescribeHub,
ListEnabledProductsForImport (it looks for its product subscription), BatchImportFindings in batches
of 100, then GetFindings filtered on ProductName, RecordState, AwsAccountId and Region, and the
findings that this run did not produce imported back as GetFindings returned them, with
RecordState ARCHIVED.

Checks: every FAILED finding that Prowler wrote to its own ASFF file is ACTIVE in the hub; after
one scanned bucket is deleted, a second scan archives that bucket's findings in the hub.

Started by crates/findinghub/tests/python_clients.rs with the Prowler virtual environment
(tests/python/prowler-requirements.txt); `python run.py test_prowler`.
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import boto3
from botocore.config import Config

import hubtest as h
from hubtest import ADMIN

PRODUCT = f"arn:aws:securityhub:{h.REGION}::product/prowler/prowler"
# A few checks of two services: enough for findings that fail and pass, on S3 (regional) and IAM
# (global, reported in the audited Region), and a scan that takes seconds.
CHECKS = [
    "s3_bucket_default_encryption",
    "s3_bucket_level_public_access_block",
    "s3_bucket_public_access",
    "s3_bucket_secure_transport_policy",
    "s3_bucket_object_versioning",
    "iam_user_mfa_enabled_console_access",
    "iam_user_hardware_mfa_enabled",
    "iam_policy_attached_only_to_group_or_roles",
]
KEPT_BUCKET = "findinghub-prowler-kept"
GONE_BUCKET = "findinghub-prowler-gone"
PROWLER_TIMEOUT = 300


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


class Prowler(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="findinghub-prowler-")
        cls.moto_log = open(os.path.join(cls.work, "moto.log"), "wb")
        port = free_port()
        cls.moto_endpoint = f"http://127.0.0.1:{port}"
        env = dict(os.environ, MOTO_ACCOUNT_ID=ADMIN.account)
        cls.moto = subprocess.Popen(
            [venv_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=cls.moto_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{cls.moto_endpoint}/moto-api/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or cls.moto.poll() is not None:
                    raise RuntimeError(f"moto_server did not start: {cls.moto_log_text()}")
                time.sleep(0.2)
        cls.session = boto3.session.Session(
            aws_access_key_id=ADMIN.key_id, aws_secret_access_key=ADMIN.secret, region_name=h.REGION
        )
        cls.hub = h.client(ADMIN)
        cls.make_account()
        cls.hub.enable_security_hub(EnableDefaultStandards=False)
        cls.hub.enable_import_findings_for_product(ProductArn=PRODUCT)
        cls.runs = []

    @classmethod
    def tearDownClass(cls):
        cls.moto.terminate()
        try:
            cls.moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.moto.kill()
        cls.moto_log.close()
        if os.environ.get("FINDINGHUB_PROWLER_KEEP"):
            print(f"kept {cls.work}")
        else:
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def moto_log_text(cls):
        cls.moto_log.flush()
        with open(os.path.join(cls.work, "moto.log"), encoding="utf-8", errors="replace") as f:
            return f.read()[-4000:]

    @classmethod
    def aws(cls, service):
        """A boto3 client of the fake account (moto)."""
        cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
        return cls.session.client(service, endpoint_url=cls.moto_endpoint, config=cfg)

    @classmethod
    def make_account(cls):
        """The fake account: two buckets without encryption, public access block or TLS policy (so
        that their checks FAIL), one of them public; an IAM user with a console password and no MFA
        and a policy attached to it."""
        sts = cls.aws("sts").get_caller_identity()
        assert sts["Account"] == ADMIN.account, f"moto answers as account {sts['Account']}, not {ADMIN.account}"
        s3 = cls.aws("s3")
        for bucket in (KEPT_BUCKET, GONE_BUCKET):
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
        s3.put_bucket_acl(Bucket=GONE_BUCKET, ACL="public-read")
        iam = cls.aws("iam")
        iam.create_user(UserName="findinghub-prowler-user")
        iam.create_login_profile(UserName="findinghub-prowler-user", Password="N0t-a-real-Passw0rd!")
        policy = iam.create_policy(
            PolicyName="findinghub-prowler-read",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
            ),
        )
        iam.attach_user_policy(UserName="findinghub-prowler-user", PolicyArn=policy["Policy"]["Arn"])

    def prowler(self, name):
        """Runs Prowler's CLI once; returns (the findings of its own ASFF file, its output)."""
        out_dir = os.path.join(self.work, name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=ADMIN.key_id,
            AWS_SECRET_ACCESS_KEY=ADMIN.secret,
            AWS_DEFAULT_REGION=h.REGION,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL=self.moto_endpoint,
            AWS_ENDPOINT_URL_SECURITYHUB=h.ENDPOINT,
            HOME=self.work,
        )
        cmd = [
            venv_bin("prowler"),
            "aws",
            "--region",
            h.REGION,
            "--checks",
            *CHECKS,
            "--security-hub",
            "--output-formats",
            "json-asff",
            "--output-directory",
            out_dir,
            "--output-filename",
            name,
            "--no-banner",
            "--log-level",
            "INFO",
        ]
        started = time.monotonic()
        p = subprocess.run(
            cmd, env=env, cwd=self.work, capture_output=True, text=True, timeout=PROWLER_TIMEOUT
        )
        took = time.monotonic() - started
        output = f"$ {' '.join(cmd)}\nexit {p.returncode} after {took:.1f}s\n--- stdout ---\n{p.stdout[-6000:]}\n--- stderr ---\n{p.stderr[-12000:]}"
        with open(os.path.join(self.work, f"{name}.log"), "w", encoding="utf-8") as f:
            f.write(f"{p.stdout}\n--- stderr ---\n{p.stderr}")
        print(f"prowler {name}: exit {p.returncode} after {took:.1f}s", flush=True)
        # Prowler exits 3 when some check fails: that is the point here.
        self.assertIn(p.returncode, (0, 3), output)
        files = glob.glob(os.path.join(out_dir, "**", f"{name}*.asff.json"), recursive=True)
        self.assertEqual(len(files), 1, f"no single ASFF file in {out_dir}: {files}\n{output}")
        with open(files[0], encoding="utf-8") as f:
            text = f.read()
        # With --security-hub and -M json-asff, Prowler 5.46 writes its findings to the file twice (one
        # JSON array after the other): every array is read, each finding once.
        findings, decoder, at = {}, json.JSONDecoder(), 0
        while text[at:].strip():
            array, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
            for finding in array:
                findings.setdefault(finding["Id"], finding)
        self.printed = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout)
        return list(findings.values()), output

    def hub_findings(self, record_state=None):
        filters = {"ProductName": [{"Value": "Prowler", "Comparison": "EQUALS"}]}
        if record_state:
            filters["RecordState"] = [{"Value": record_state, "Comparison": "EQUALS"}]
        found = []
        for page in self.hub.get_paginator("get_findings").paginate(Filters=filters):
            found.extend(page["Findings"])
        return {f["Id"]: f for f in found}

    def test_prowler_scans_imports_and_archives(self):
        # The first scan: every FAILED finding of Prowler's own file is ACTIVE in the hub.
        first, output = self.prowler("first")
        failed = {f["Id"] for f in first if f["Compliance"]["Status"] == "FAILED"}
        gone = {f["Id"] for f in first if any(GONE_BUCKET in r["Id"] for r in f["Resources"])}
        print(f"first scan: {len(first)} findings, {len(failed)} FAILED, {len(gone)} of the bucket to delete")
        self.assertTrue(failed, f"the scan found nothing FAILED\n{output}")
        self.assertTrue(gone & failed, f"no FAILED finding names {GONE_BUCKET}\n{output}")
        self.assertTrue(any(f["GeneratorId"].startswith("prowler-iam_") for f in first), f"no IAM finding\n{output}")
        # Prowler counts what the hub accepted (SuccessCount): all of it.
        self.assertIn(f"{len(first)} findings sent to AWS Security Hub!", self.printed, output)
        active = self.hub_findings("ACTIVE")
        missing = failed - set(active)
        self.assertFalse(missing, f"FAILED findings of Prowler's file not ACTIVE in the hub: {sorted(missing)}\n{output}")
        # Prowler sends every finding (it was not told --send-sh-only-fails): all of them are there.
        self.assertEqual(set(active), {f["Id"] for f in first}, output)
        sample = active[sorted(failed)[0]]
        self.assertEqual(sample["ProductName"], "Prowler")
        self.assertEqual(sample["CompanyName"], "Prowler")
        self.assertEqual(sample["AwsAccountId"], ADMIN.account)
        self.assertEqual(sample["Region"], h.REGION)

        # One scanned resource goes away; the second scan archives its findings, through Prowler's
        # own GetFindings and re-import.
        s3 = self.aws("s3")
        s3.delete_object(Bucket=GONE_BUCKET, Key="hello.txt")
        s3.delete_bucket(Bucket=GONE_BUCKET)
        second, output = self.prowler("second")
        self.assertFalse(any(GONE_BUCKET in r["Id"] for f in second for r in f["Resources"]), output)
        self.assertIn(f"{len(second)} findings sent to AWS Security Hub!", self.printed, output)
        self.assertIn(f"{len(gone)} findings archived in AWS Security Hub!", self.printed, output)
        after = self.hub_findings()
        archived = {i for i, f in after.items() if f["RecordState"] == "ARCHIVED"}
        self.assertEqual(archived, gone, f"the deleted bucket's findings are not (only) ARCHIVED\n{output}")
        second_failed = {f["Id"] for f in second if f["Compliance"]["Status"] == "FAILED"}
        still = {i for i, f in after.items() if f["RecordState"] == "ACTIVE"}
        self.assertFalse(second_failed - still, output)
        print(f"second scan: {len(second)} findings; {len(archived)} archived in the hub, {len(still)} active")


if __name__ == "__main__":
    unittest.main()
