"""boto3 (`boto3.client('securityhub', endpoint_url=...)`) against a fresh hub.

The checks run in order (test_NN_...) and build on each other. Expected results come from the
samples themselves or, for values the hub derives, from the hub's unfiltered answer.
"""

import datetime as dt
import json
import unittest
import urllib.error
import urllib.request
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import hubtest as h
from hubtest import ADMIN, MEMBER

SEVERITY_THEN_TITLE = [
    {"Field": "SeverityNormalized", "SortOrder": "desc"},
    {"Field": "Title", "SortOrder": "asc"},
]


def by_id(fid):
    return {"Id": [{"Value": fid, "Comparison": "EQUALS"}]}


class Boto3AgainstTheHub(unittest.TestCase):
    imported = None  # every finding the administrator imported, as sent
    everything = None  # every finding, as the hub answers (sorted by severity, then title)

    @classmethod
    def setUpClass(cls):
        cls.admin = h.client(ADMIN)
        cls.member = h.client(MEMBER)
        cls.fresh = h.own_finding(ADMIN.account, "boto3-fresh", "A fresh finding of the administrator")

    def assertClientError(self, code, call, *args, status=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            call(*args, **kwargs)
        self.assertEqual(h.error_code(ctx.exception), code, ctx.exception)
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return ctx.exception.response["Error"].get("Message", "")

    def get_all(self, client=None, **kwargs):
        """Every finding through the get_findings paginator: (findings, number of pages)."""
        pages = (client or self.admin).get_paginator("get_findings").paginate(**kwargs)
        findings, n = [], 0
        for page in pages:
            n += 1
            findings += page["Findings"]
        return findings, n

    # -- the hub itself ---------------------------------------------------------------------

    def test_01_finding_operations_need_an_enabled_hub(self):
        msg = self.assertClientError("InvalidAccessException", self.admin.get_findings, status=401)
        self.assertIn(ADMIN.account, msg)

    def test_02_enable_describe_update_the_hub(self):
        self.admin.enable_security_hub(EnableDefaultStandards=False, Tags={"owner": "boto3"})
        for product in h.ACCEPTANCE_PRODUCTS:
            self.admin.enable_import_findings_for_product(ProductArn=product)
        hub = self.admin.describe_hub()
        self.assertEqual(hub["HubArn"], h.hub_arn(ADMIN.account))
        self.assertLess(abs((h.now_utc() - h.parse_time(hub["SubscribedAt"])).total_seconds()), 600)
        self.assertIs(hub["AutoEnableControls"], True)
        self.admin.update_security_hub_configuration(AutoEnableControls=False, ControlFindingGenerator="STANDARD_CONTROL")
        hub = self.admin.describe_hub()
        self.assertIs(hub["AutoEnableControls"], False)
        self.assertEqual(hub["ControlFindingGenerator"], "STANDARD_CONTROL")
        self.assertClientError("ResourceConflictException", self.admin.enable_security_hub, status=409)

    # -- import ------------------------------------------------------------------------------

    def test_03_batch_import_the_samples(self):
        findings, dropped = h.pruned_importable_samples()
        if dropped:
            print(f"\n[boto3] members unknown to botocore's model, dropped before import: {dropped}")
        success = 0
        for batch in h.batches(findings, 10):
            out = self.admin.batch_import_findings(Findings=batch)
            self.assertEqual((out["FailedCount"], out["FailedFindings"]), (0, []))
            success += out["SuccessCount"]
        self.assertEqual(success, len(findings))
        type(self).imported = findings

    def test_04_a_batch_with_one_invalid_finding_imports_the_rest(self):
        invalid = h.own_finding(ADMIN.account, "boto3-invalid", "x" * 300)
        out = self.admin.batch_import_findings(Findings=[self.fresh, invalid])
        self.assertEqual((out["SuccessCount"], out["FailedCount"]), (1, 1))
        self.assertEqual(out["FailedFindings"][0]["Id"], "boto3-invalid")
        self.assertIn("Title", out["FailedFindings"][0]["ErrorMessage"])
        type(self).imported = self.imported + [self.fresh]

    def test_05_a_malformed_product_arn_refuses_the_request(self):
        msg = self.assertClientError(
            "InvalidInputException", self.admin.batch_import_findings, Findings=[h.malformed_sample()], status=400
        )
        self.assertIn("ProductArn", msg)

    # -- reading: the paginator, sorting, filters ---------------------------------------------

    def test_06_paginator_to_the_end_in_sort_order(self):
        findings, pages = self.get_all(SortCriteria=SEVERITY_THEN_TITLE, PaginationConfig={"PageSize": 4})
        self.assertEqual(len(findings), len(self.imported), "each finding once")
        self.assertEqual(h.ids(findings), h.ids(self.imported))
        self.assertEqual(pages, -(-len(self.imported) // 4))
        keys = [(-f["Severity"]["Normalized"], f["Title"]) for f in findings]
        self.assertEqual(keys, sorted(keys))
        labels = {f["Id"]: f["Severity"]["Label"] for f in findings}
        for sent in self.imported:
            self.assertEqual(labels[sent["Id"]], sent["Severity"]["Label"])
        type(self).everything = findings

    def test_07_paginator_max_items_and_starting_token(self):
        paginator = self.admin.get_paginator("get_findings")
        first = paginator.paginate(
            SortCriteria=SEVERITY_THEN_TITLE, PaginationConfig={"MaxItems": 9, "PageSize": 4}
        ).build_full_result()
        self.assertEqual(len(first["Findings"]), 9)
        self.assertIn("NextToken", first)
        rest = paginator.paginate(
            SortCriteria=SEVERITY_THEN_TITLE, PaginationConfig={"PageSize": 4, "StartingToken": first["NextToken"]}
        ).build_full_result()
        self.assertNotIn("NextToken", rest)
        self.assertEqual(
            [f["Id"] for f in first["Findings"] + rest["Findings"]], [f["Id"] for f in self.everything]
        )

    def check_filter(self, filters, want, client=None):
        got, _ = self.get_all(client, Filters=filters, PaginationConfig={"PageSize": 7})
        self.assertTrue(want, "a filter check that expects nothing proves little")
        self.assertEqual(h.ids(got), want, json.dumps(filters))
        self.assertEqual(len(got), len(want))

    def test_08_string_filters(self):
        self.check_filter(
            {"Title": [{"Value": "S3", "Comparison": "CONTAINS"}]},
            h.ids_where(self.imported, lambda f: "S3" in f["Title"]),
        )
        self.check_filter(
            {"Title": [{"Value": "AwsS3Bucket/", "Comparison": "PREFIX_NOT_EQUALS"}]},
            h.ids_where(self.imported, lambda f: not f["Title"].startswith("AwsS3Bucket/")),
        )
        self.check_filter(
            {"RecordState": [{"Value": "ARCHIVED", "Comparison": "EQUALS"}]},
            h.ids_where(self.imported, lambda f: f.get("RecordState") == "ARCHIVED"),
        )

    def test_09_date_filters(self):
        # Only the fresh finding was updated within the last day.
        self.check_filter({"UpdatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS"}}]}, {self.fresh["Id"]})
        start, end = "2020-01-01T00:00:00Z", "2020-12-31T23:59:59.999Z"
        lo, hi = h.parse_time(start), h.parse_time(end)
        self.check_filter(
            {"UpdatedAt": [{"Start": start, "End": end}]},
            h.ids_where(self.imported, lambda f: lo <= h.parse_time(f["UpdatedAt"]) <= hi),
        )

    def test_10_number_and_map_filters(self):
        self.check_filter(
            {"SeverityNormalized": [{"Gte": 1, "Lt": 40}]},
            h.ids_where(self.everything, lambda f: 1 <= f["Severity"]["Normalized"] < 40),
        )
        self.check_filter(
            {"ResourceTags": [{"Key": "env", "Value": "pro", "Comparison": "CONTAINS"}]},
            h.ids_where(self.imported, lambda f: any(k == "env" and "pro" in v for k, v in h.resource_tags(f))),
        )
        key = "aws/guardduty/service/action/actionType"
        self.check_filter(
            {"ProductFields": [{"Key": key, "Value": "DNS_REQUEST", "Comparison": "EQUALS"}]},
            h.ids_where(self.imported, lambda f: (f.get("ProductFields") or {}).get(key) == "DNS_REQUEST"),
        )

    # -- updates and history ------------------------------------------------------------------

    def test_11_batch_update_findings(self):
        ident = {"Id": self.fresh["Id"], "ProductArn": self.fresh["ProductArn"]}
        out = self.admin.batch_update_findings(
            FindingIdentifiers=[ident, {"Id": "no-such-finding", "ProductArn": self.fresh["ProductArn"]}],
            Severity={"Label": "CRITICAL"},
            Confidence=80,
            Criticality=50,
            VerificationState="TRUE_POSITIVE",
            UserDefinedFields={"ticket": "SEC-42"},
            Workflow={"Status": "RESOLVED"},
            Note={"Text": "handled by boto3", "UpdatedBy": "boto3-e2e"},
        )
        self.assertEqual(out["ProcessedFindings"], [ident])
        self.assertEqual([u["ErrorCode"] for u in out["UnprocessedFindings"]], ["FindingNotFound"])
        f = self.admin.get_findings(Filters=by_id(ident["Id"]))["Findings"][0]
        self.assertEqual(f["Severity"]["Label"], "CRITICAL")
        self.assertEqual(f["Severity"]["Normalized"], 90)
        self.assertEqual((f["Confidence"], f["Criticality"]), (80, 50))
        self.assertEqual(f["VerificationState"], "TRUE_POSITIVE")
        self.assertEqual(f["UserDefinedFields"], {"ticket": "SEC-42"})
        self.assertEqual(f["Workflow"]["Status"], "RESOLVED")
        self.assertEqual(f["Note"]["Text"], "handled by boto3")
        self.check_filter({"Confidence": [{"Eq": 80}]}, {ident["Id"]})
        self.check_filter(
            {"UserDefinedFields": [{"Key": "ticket", "Value": "SEC-42", "Comparison": "EQUALS"}]}, {ident["Id"]}
        )

    def test_12_get_finding_history(self):
        ident = {"Id": self.fresh["Id"], "ProductArn": self.fresh["ProductArn"]}
        records = self.admin.get_finding_history(FindingIdentifier=ident)["Records"]
        self.assertEqual([r["UpdateSource"]["Type"] for r in records], ["BATCH_UPDATE_FINDINGS", "BATCH_IMPORT_FINDINGS"])
        self.assertEqual([r["FindingCreated"] for r in records], [False, True])
        fields = {u["UpdatedField"] for u in records[0]["Updates"]}
        for expected in ("Severity.Label", "Confidence", "Criticality", "Workflow.Status", "Note"):
            self.assertIn(expected, fields)
        for r in records:
            # boto3 parses UpdateTime (a timestamp in the model) into a datetime.
            self.assertIsInstance(r["UpdateTime"], dt.datetime)
            self.assertLess(abs((h.now_utc() - r["UpdateTime"]).total_seconds()), 600)
        self.assertIn(ADMIN.key_id, records[0]["UpdateSource"]["Identity"])

    def test_13_update_findings_legacy(self):
        target = next(f for f in self.imported if f.get("RecordState", "ACTIVE") == "ACTIVE" and f["AwsAccountId"] == MEMBER.account)
        self.admin.update_findings(
            Filters=by_id(target["Id"]), RecordState="ARCHIVED", Note={"Text": "archived by boto3", "UpdatedBy": "boto3-e2e"}
        )
        f = self.admin.get_findings(Filters=by_id(target["Id"]))["Findings"][0]
        self.assertEqual(f["RecordState"], "ARCHIVED")
        self.assertEqual(f["Note"]["Text"], "archived by boto3")
        self.check_filter(
            {"RecordState": [{"Value": "ARCHIVED", "Comparison": "EQUALS"}]},
            h.ids_where(self.imported, lambda f: f.get("RecordState") == "ARCHIVED") | {target["Id"]},
        )

    # -- a member account ----------------------------------------------------------------------

    def test_14_member_before_enabling_its_hub(self):
        msg = self.assertClientError("InvalidAccessException", self.member.describe_hub, status=401)
        self.assertIn(MEMBER.account, msg)

    def test_15_member_sees_only_its_account(self):
        self.member.enable_security_hub()
        want = h.ids_where(self.imported, lambda f: f["AwsAccountId"] == MEMBER.account)
        self.check_filter({}, want, client=self.member)
        # Even when it asks for another account's findings by name.
        found = self.member.get_findings(Filters={"AwsAccountId": [{"Value": ADMIN.account, "Comparison": "EQUALS"}]})
        self.assertEqual(found["Findings"], [])

    def test_16_member_may_not_import_another_accounts_finding(self):
        foreign = h.own_finding(ADMIN.account, "boto3-member-foreign", "Not the member's", product=h.default_product(MEMBER.account))
        msg = self.assertClientError("AccessDeniedException", self.member.batch_import_findings, Findings=[foreign], status=403)
        self.assertIn(ADMIN.account, msg)
        self.assertEqual(self.admin.get_findings(Filters=by_id(foreign["Id"]))["Findings"], [])

    def test_17_member_may_not_update_another_accounts_finding(self):
        ident = {"Id": self.fresh["Id"], "ProductArn": self.fresh["ProductArn"]}
        out = self.member.batch_update_findings(FindingIdentifiers=[ident], Note={"Text": "not mine", "UpdatedBy": "member"})
        self.assertEqual(out["ProcessedFindings"], [])
        self.assertEqual([u["ErrorCode"] for u in out["UnprocessedFindings"]], ["FindingNotFound"])
        f = self.admin.get_findings(Filters=by_id(ident["Id"]))["Findings"][0]
        self.assertEqual(f["Note"]["Text"], "handled by boto3")

    def test_18_product_subscriptions_gate_imports(self):
        partner = h.own_finding(MEMBER.account, "boto3-partner", "A partner finding", product=h.PARTNER_PRODUCT)
        self.assertClientError("AccessDeniedException", self.member.batch_import_findings, Findings=[partner], status=403)
        sub = self.member.enable_import_findings_for_product(ProductArn=h.PARTNER_PRODUCT)["ProductSubscriptionArn"]
        self.assertTrue(sub.startswith(f"arn:aws:securityhub:{h.REGION}:{MEMBER.account}:product-subscription/"), sub)
        listed = self.member.get_paginator("list_enabled_products_for_import").paginate().build_full_result()
        self.assertIn(sub, listed["ProductSubscriptions"])
        self.assertNotIn(sub, self.admin.list_enabled_products_for_import()["ProductSubscriptions"], "per account")
        out = self.member.batch_import_findings(Findings=[partner])
        self.assertEqual((out["SuccessCount"], out["FailedCount"]), (1, 0))
        stored = self.member.get_findings(Filters={"Id": [{"Value": "boto3-partner", "Comparison": "EQUALS"}]})["Findings"]
        self.assertEqual([(f["ProductName"], f["CompanyName"]) for f in stored], [("Prowler", "Prowler")], "the catalog's names")
        self.member.disable_import_findings_for_product(ProductSubscriptionArn=sub)
        self.assertClientError("AccessDeniedException", self.member.batch_import_findings, Findings=[partner])
        self.assertClientError(
            "ResourceNotFoundException", self.member.disable_import_findings_for_product, ProductSubscriptionArn=sub, status=404
        )

    # -- products and tags ---------------------------------------------------------------------

    def test_19_describe_products_paginator(self):
        whole = self.admin.describe_products()["Products"]
        paged = self.admin.get_paginator("describe_products").paginate(PaginationConfig={"PageSize": 3}).build_full_result()
        self.assertEqual(paged["Products"], whole)
        self.assertGreater(len(whole), 3)
        one = self.admin.describe_products(ProductArn=f"arn:aws:securityhub:{h.REGION}::product/aws/guardduty")["Products"]
        self.assertEqual([p["ProductName"] for p in one], ["GuardDuty"])
        by_name = {p["ProductName"]: p for p in whole}
        self.assertEqual(by_name["Chatbot"]["IntegrationTypes"], ["RECEIVE_FINDINGS_FROM_SECURITY_HUB"])
        self.assertIn("UPDATE_FINDINGS_IN_SECURITY_HUB", by_name["Systems Manager Explorer and OpsCenter"]["IntegrationTypes"])
        self.assertEqual(by_name["IoT Device Defender - Detect"]["CompanyName"], "AWS")

    def test_19b_an_aws_integration_can_be_turned_off_and_on(self):
        product = f"arn:aws:securityhub:{h.REGION}::product/aws/macie"
        sub = f"arn:aws:securityhub:{h.REGION}:{MEMBER.account}:product-subscription/aws/macie"
        finding = h.own_finding(MEMBER.account, "macie-toggle", "toggle", product=product)
        self.assertEqual(self.member.batch_import_findings(Findings=[finding])["SuccessCount"], 1)
        self.member.disable_import_findings_for_product(ProductSubscriptionArn=sub)
        self.assertClientError("AccessDeniedException", self.member.batch_import_findings, Findings=[finding], status=403)
        self.assertEqual(self.member.enable_import_findings_for_product(ProductArn=product)["ProductSubscriptionArn"], sub)
        chatbot = f"arn:aws:securityhub:{h.REGION}::product/aws/chatbot"
        self.assertClientError("InvalidInputException", self.member.enable_import_findings_for_product, ProductArn=chatbot, status=400)
        for unknown in (f"arn:aws:securityhub:{h.REGION}::product/aws/no-such-service", f"arn:aws:securityhub:{h.REGION}::product/nobody/nothing"):
            self.assertClientError("ResourceNotFoundException", self.member.enable_import_findings_for_product, ProductArn=unknown, status=404)

    def test_20_tag_list_untag_the_hub(self):
        arn = h.hub_arn(ADMIN.account)
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)["Tags"], {"owner": "boto3"})
        self.admin.tag_resource(ResourceArn=arn, Tags={"team": "blue", "env": "test"})
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)["Tags"], {"owner": "boto3", "team": "blue", "env": "test"})
        self.admin.untag_resource(ResourceArn=arn, TagKeys=["env", "owner"])
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)["Tags"], {"team": "blue"})

    def test_21_member_may_not_tag_another_accounts_hub(self):
        arn = h.hub_arn(ADMIN.account)
        try:
            with self.assertRaises(ClientError):
                self.member.tag_resource(ResourceArn=arn, Tags={"intruder": "member"})
        finally:
            self.admin.untag_resource(ResourceArn=arn, TagKeys=["intruder"])

    # -- errors --------------------------------------------------------------------------------

    def test_22_invalid_input(self):
        unvalidated = h.client(ADMIN, parameter_validation=False)
        msg = self.assertClientError("InvalidInputException", unvalidated.get_findings, MaxResults=0, status=400)
        self.assertIn("MaxResults", msg)
        self.assertClientError("InvalidInputException", unvalidated.get_findings, MaxResults=101)
        self.assertClientError("InvalidInputException", self.admin.get_findings, NextToken="not-a-token")
        self.assertClientError(
            "InvalidInputException", self.admin.get_findings, Filters={"UpdatedAt": [{"Start": "yesterday"}]}
        )
        self.assertClientError(
            "InvalidInputException", self.admin.get_findings, SortCriteria=[{"Field": "Title", "SortOrder": "sideways"}]
        )

    def test_23_unknown_key_and_wrong_secret(self):
        stranger = h.client(h.Key("AKIAUNKNOWNUNKNOWN00", ADMIN.secret, ADMIN.account))
        self.assertClientError("UnrecognizedClientException", stranger.describe_hub, status=403)
        wrong = h.client(h.Key(ADMIN.key_id, "not-the-secret-" + ADMIN.secret, ADMIN.account))
        self.assertClientError("InvalidSignatureException", wrong.describe_hub, status=403)

    def test_24_expired_signature_with_a_patched_clock(self):
        past = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=20)
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=past) as clock:
            msg = self.assertClientError("InvalidSignatureException", self.admin.describe_hub, status=403)
        self.assertTrue(clock.called, "botocore signed with the patched clock")
        self.assertIn("Signature expired", msg)

    def raw_signed(self, minutes):
        """DescribeHub (GET /accounts) signed by SigV4Auth with a clock `minutes` off: (status, code, message)."""
        request = AWSRequest(method="GET", url=f"{h.ENDPOINT}/accounts", data=b"")
        when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=minutes)
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            SigV4Auth(Credentials(ADMIN.key_id, ADMIN.secret), "securityhub", h.REGION).add_auth(request)
        prepared = request.prepare()
        self.assertTrue(prepared.headers["X-Amz-Date"].startswith(when.strftime("%Y%m%dT%H%M")))
        req = urllib.request.Request(prepared.url, headers=dict(prepared.headers.items()), method="GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, None, r.read().decode()
        except urllib.error.HTTPError as e:
            body = json.loads(e.read().decode() or "{}")
            return e.code, e.headers.get("x-amzn-ErrorType"), body.get("Message", body.get("message", ""))

    def test_25_sigv4auth_request_dated_20_minutes_off(self):
        status, code, msg = self.raw_signed(0)
        self.assertEqual(status, 200, msg)
        self.assertEqual(json.loads(msg)["HubArn"], h.hub_arn(ADMIN.account))
        status, code, msg = self.raw_signed(-20)
        self.assertEqual((status, code), (403, "InvalidSignatureException"))
        self.assertIn("Signature expired", msg)
        status, code, msg = self.raw_signed(+20)
        self.assertEqual((status, code), (403, "InvalidSignatureException"))
        self.assertIn("not yet current", msg)

    def test_26_an_operation_not_supported_yet(self):
        msg = self.assertClientError("UnsupportedOperation", self.admin.list_members, status=400)
        self.assertIn("ListMembers", msg)

    # -- last: disabling the hub ----------------------------------------------------------------

    def test_99_disable_security_hub(self):
        self.admin.disable_security_hub()
        self.assertClientError("InvalidAccessException", self.admin.describe_hub)
        self.assertClientError("InvalidAccessException", self.admin.get_findings)
        # The member's hub is its own.
        self.assertEqual(self.member.describe_hub()["HubArn"], h.hub_arn(MEMBER.account))


if __name__ == "__main__":
    unittest.main(verbosity=2)
