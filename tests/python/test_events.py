"""Native events posted to `POST /events` as an EventBridge API destination posts them (a JSON body,
the connection's `x-api-key` header), and the findings read back with the AWS CLI and boto3.

Extra environment (from crates/findinghub/tests/python_clients.rs):
    FINDINGHUB_API_KEY          an API key of the member account (`credentials create-api-key`)
    FINDINGHUB_NATIVE_SAMPLES   the directory of the shared native samples
"""

import copy
import glob
import json
import os
import unittest
import urllib.error
import urllib.request

import hubtest as h
from hubtest import ADMIN, MEMBER

API_KEY = os.environ["FINDINGHUB_API_KEY"]
NATIVE = os.environ["FINDINGHUB_NATIVE_SAMPLES"]


def native(name):
    with open(os.path.join(NATIVE, name), encoding="utf-8") as f:
        return json.load(f)


def eventbridge_samples():
    """Every native sample that is an EventBridge event, made the member's."""
    out = []
    for path in sorted(glob.glob(os.path.join(NATIVE, "*", "*.json"))):
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
        if isinstance(event, dict) and "source" in event and "detail-type" in event:
            out.append((os.path.relpath(path, NATIVE), as_member(event)))
    return out


def as_member(event):
    """The event as if it came from the member account (the samples name several accounts)."""
    text = json.dumps(event)
    for account in {event.get("account"), (event.get("detail") or {}).get("accountId")} - {None, MEMBER.account}:
        text = text.replace(account, MEMBER.account)
    return json.loads(text)


def post(body, api_key=API_KEY, raw=None):
    """POSTs like an API destination; (status, parsed JSON body)."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Amazon/EventBridge/ApiDestinations"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    req = urllib.request.Request(h.ENDPOINT + "/events", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def regional_client(key, region):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=key.key_id, aws_secret_access_key=key.secret, region_name=region)
    return session.client("securityhub", endpoint_url=h.ENDPOINT, config=Config(retries={"max_attempts": 1}))


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cli = h.Cli(MEMBER)
        cls.samples = eventbridge_samples()
        regions = {e["region"] for _, e in cls.samples if e.get("region") != "global"} | {"us-east-1"}
        for region in sorted(regions):
            regional_client(MEMBER, region).enable_security_hub()
        cls.regions = regions

    def findings(self, product_name, region=h.REGION):
        filters = {"ProductName": [{"Value": product_name, "Comparison": "EQUALS"}]}
        if region == h.REGION:
            return self.cli.ok("get-findings", "--filters", json.dumps(filters))["Findings"]
        return regional_client(MEMBER, region).get_findings(Filters=filters)["Findings"]

    def test_01_every_eventbridge_sample_is_received(self):
        self.assertGreaterEqual(len(self.samples), 10)
        for name, event in self.samples:
            status, out = post(event)
            with self.subTest(sample=name):
                self.assertEqual(status, 200, out)
                (result,) = out["Events"]
                self.assertIn(result["Outcome"], {"Imported", "NoFinding"}, result)
                if result["Outcome"] == "Imported":
                    self.assertTrue(result["Findings"], result)
                    self.assertTrue(all(f["Status"] in {"Created", "Updated", "Unchanged"} for f in result["Findings"]), result)

    def test_02_a_guardduty_finding_reads_back_with_the_cli(self):
        event = as_member(native("guardduty/sample-finding-blackholetraffic-dns.eventbridge.COMPOSED.json"))
        status, out = post(event)
        self.assertEqual(status, 200, out)
        found = [f for f in self.findings("GuardDuty") if f["Id"] == event["detail"]["arn"]]
        self.assertEqual(len(found), 1, "one finding, keyed by the GuardDuty finding ARN")
        f = found[0]
        self.assertEqual(f["ProductArn"], f"arn:aws:securityhub:{h.REGION}::product/aws/guardduty")
        self.assertEqual(f["AwsAccountId"], MEMBER.account)
        self.assertEqual(f["CompanyName"], "Amazon")
        self.assertEqual(f["Workflow"]["Status"], "NEW")
        history = self.cli.ok(
            "get-finding-history", "--finding-identifier", json.dumps({"Id": f["Id"], "ProductArn": f["ProductArn"]})
        )["Records"]
        self.assertTrue(history and history[-1]["FindingCreated"])

    def test_03_the_same_event_twice_makes_one_finding(self):
        event = as_member(native("macie/policy-finding-s3bucketencryptiondisabled.eventbridge.TRUNCATED-eventbridge-doc.json"))
        post(event)
        before = self.findings("Macie")
        status, out = post(event)
        self.assertEqual(status, 200, out)
        self.assertEqual([f["Status"] for f in out["Events"][0]["Findings"]], ["Unchanged"])
        self.assertEqual(len(self.findings("Macie")), len(before))

    def test_04_a_disabled_product_drops_its_events(self):
        sub = f"arn:aws:securityhub:{h.REGION}:{MEMBER.account}:product-subscription/aws/config"
        self.cli.ok("disable-import-findings-for-product", "--product-subscription-arn", sub)
        try:
            event = as_member(native("config/compliance-change-noncompliant.eventbridge.real-event.json"))
            event["detail"]["resourceId"] = "dropped-while-disabled"
            before = len(self.findings("Config"))
            status, out = post(event)
            self.assertEqual(status, 200, out)
            self.assertEqual(out["Events"][0]["Outcome"], "Dropped", out)
            self.assertIn("does not import findings", out["Events"][0]["Reason"])
            self.assertEqual(len(self.findings("Config")), before, "nothing half-imported")
        finally:
            self.cli.ok("enable-import-findings-for-product", "--product-arn", f"arn:aws:securityhub:{h.REGION}::product/aws/config")

    def test_05_config_failed_passed_failed(self):
        event = as_member(native("config/compliance-change-noncompliant.eventbridge.real-event.json"))
        event["detail"]["resourceId"] = "sequence-bucket"
        states = [("NON_COMPLIANT", "FAILED", "NEW"), ("COMPLIANT", "PASSED", "RESOLVED"), ("NON_COMPLIANT", "FAILED", "NEW")]
        ids = set()
        for minute, (compliance, status, workflow) in enumerate(states, start=1):
            e = copy.deepcopy(event)
            e["detail"]["newEvaluationResult"]["complianceType"] = compliance
            e["detail"]["newEvaluationResult"]["resultRecordedTime"] = f"2030-01-01T00:0{minute}:00.000Z"
            e["time"] = f"2030-01-01T00:0{minute}:00Z"
            code, out = post(e)
            self.assertEqual(code, 200, out)
            (finding,) = out["Events"][0]["Findings"]
            ids.add(finding["Id"])
            got = [f for f in self.findings("Config") if f["Id"] == finding["Id"]]
            self.assertEqual(len(got), 1)
            self.assertEqual((got[0]["Compliance"]["Status"], got[0]["Workflow"]["Status"]), (status, workflow), compliance)
        self.assertEqual(len(ids), 1, "one finding per rule and resource")

    def test_06_a_malformed_event_is_a_clear_error_and_stores_nothing(self):
        before = len(self.findings("GuardDuty"))
        event = as_member(native("guardduty/sample-finding-blackholetraffic-dns.eventbridge.COMPOSED.json"))
        del event["detail"]["arn"]
        status, out = post(event)
        self.assertEqual(status, 400, out)
        self.assertEqual(out.get("__type") or out.get("Code"), "InvalidInputException", out)
        self.assertIn("arn", out.get("Message") or out.get("message", ""))
        status, out = post(None, raw=b"{not json")
        self.assertEqual(status, 400, out)
        status, out = post({"source": "aws.nothing", "detail-type": "Unknown", "detail": {}})
        self.assertEqual(status, 400, out)
        self.assertIn("No producer", out.get("Message", ""))
        self.assertEqual(len(self.findings("GuardDuty")), before)

    def test_07_keys_are_checked(self):
        event = as_member(native("guardduty/sample-finding-blackholetraffic-dns.eventbridge.COMPOSED.json"))
        for key in (None, "fhk_nosuchkey.secret", API_KEY + "x", API_KEY.split(".")[0]):
            status, out = post(event, api_key=key)
            self.assertEqual(status, 403, (key, out))
        # An event about another account needs an administrator's key.
        other = copy.deepcopy(event)
        other["account"] = other["detail"]["accountId"] = ADMIN.account
        status, out = post(other)
        self.assertEqual(status, 400, out)
        self.assertIn("may deliver events of account", out.get("Message", ""))

    def test_08_arrays_answer_per_event(self):
        health = native("health/health-event-ec2-account-specific.eventbridge.health-doc-sample.json")
        not_security = as_member(copy.deepcopy(health))
        not_security["detail"]["eventTypeCode"] = "AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED"
        not_security["detail"]["eventTypeCategory"] = "issue"
        not_security["detail"]["service"] = "EC2"
        bad = {"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": {}}
        status, out = post([not_security, bad])
        self.assertEqual(status, 200, out)
        self.assertEqual([e["Outcome"] for e in out["Events"]], ["NoFinding", "Failed"], out)
        self.assertEqual((out["NoFinding"], out["Failed"]), (1, 1))

    def test_09_events_of_a_region_without_a_hub_are_dropped(self):
        event = as_member(native("macie/policy-finding-s3bucketencryptiondisabled.eventbridge.TRUNCATED-eventbridge-doc.json"))
        event["region"] = "ap-northeast-3"
        event["detail"]["region"] = "ap-northeast-3"
        status, out = post(event)
        self.assertEqual(status, 200, out)
        self.assertEqual(out["Events"][0]["Outcome"], "Dropped", out)
        self.assertIn("not enabled", out["Events"][0]["Reason"])

    def test_10_products_follow_the_partition(self):
        china = regional_client(MEMBER, "cn-north-1").describe_products()["Products"]
        arns = {p["ProductArn"] for p in china}
        self.assertIn("arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty", arns)
        self.assertFalse(any("trusted-advisor" in a for a in arns), "Trusted Advisor's integration is not offered in China")
        names = {p["ProductName"] for p in regional_client(MEMBER, h.REGION).describe_products()["Products"]}
        self.assertIn("Trusted Advisor", names)

    def test_11_iot_device_defender_needs_acceptance(self):
        listed = self.cli.ok("list-enabled-products-for-import")["ProductSubscriptions"]
        self.assertFalse(any("iot-device-defender" in s for s in listed))


if __name__ == "__main__":
    unittest.main()
