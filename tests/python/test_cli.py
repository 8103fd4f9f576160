"""The AWS CLI (v1, `aws securityhub ...` in a subprocess) against a fresh hub.

The checks run in order (test_NN_...) and build on each other: the hub is enabled, the shared ASFF
samples imported, then read back, filtered, sorted, paged, updated, and so on. Expected results are
computed from the samples themselves (or, for values the hub derives, from the hub's unfiltered
answer), never copied from the hub's output.
"""

import json
import unittest

import hubtest as h
from hubtest import ADMIN, MEMBER, Cli


class AwsCliAgainstTheHub(unittest.TestCase):
    admin = None
    imported = None  # the findings imported, as sent
    everything = None  # GetFindings without filters, as the hub answers

    @classmethod
    def setUpClass(cls):
        cls.admin = Cli(ADMIN)
        cls.member = Cli(MEMBER)
        cls.unvalidated = Cli(ADMIN, parameter_validation=False)

    @classmethod
    def tearDownClass(cls):
        calls = cls.admin.calls + cls.member.calls + cls.unvalidated.calls
        print(f"\n[aws cli] {calls} aws invocations", flush=True)

    # -- the hub itself ---------------------------------------------------------------------

    def test_01_finding_operations_need_an_enabled_hub(self):
        msg = self.admin.fails("InvalidAccessException", "describe-hub")
        self.assertIn(ADMIN.account, msg)

    def test_02_enable_security_hub_and_describe_hub(self):
        self.assertEqual(self.admin.ok("enable-security-hub", "--tags", "owner=cli"), {})
        hub = self.admin.ok("describe-hub")
        self.assertEqual(hub["HubArn"], h.hub_arn(ADMIN.account))
        subscribed = h.parse_time(hub["SubscribedAt"])
        self.assertLess(abs((h.now_utc() - subscribed).total_seconds()), 600, hub["SubscribedAt"])
        self.assertIs(hub["AutoEnableControls"], True)
        for product in h.ACCEPTANCE_PRODUCTS:
            self.admin.ok("enable-import-findings-for-product", "--product-arn", product)

    def test_03_enabling_twice_is_a_conflict(self):
        self.admin.fails("ResourceConflictException", "enable-security-hub")

    # -- import ------------------------------------------------------------------------------

    def test_04_batch_import_the_samples_from_files(self):
        findings, dropped = h.pruned_importable_samples()
        if dropped:
            print(f"\n[aws cli] members unknown to the CLI's model, dropped before import: {dropped}")
        success = 0
        for i, batch in enumerate(h.batches(findings, 8)):
            out = self.admin.ok("batch-import-findings", "--findings", self.admin.file_arg(f"batch{i}.json", batch))
            self.assertEqual(out["FailedCount"], 0, out.get("FailedFindings"))
            self.assertEqual(out["FailedFindings"], [])
            success += out["SuccessCount"]
        self.assertEqual(success, len(findings))
        type(self).imported = findings

    def test_05_a_malformed_product_arn_refuses_the_request(self):
        bad = h.malformed_sample()
        msg = self.admin.fails(
            "InvalidInputException", "batch-import-findings", "--findings", self.admin.file_arg("bad.json", [bad])
        )
        self.assertIn("ProductArn", msg)
        # That it stored nothing is checked by the next check, which reads every finding back.

    def test_06_get_findings_returns_every_sample_as_imported(self):
        out = self.admin.ok("get-findings")
        self.assertNotIn("NextToken", out, "the CLI pages to the end by itself")
        found = {f["Id"]: f for f in out["Findings"]}
        self.assertEqual(set(found), h.ids(self.imported))
        self.assertEqual(len(out["Findings"]), len(self.imported), "no finding twice")
        for sent in self.imported:
            got = found[sent["Id"]]
            for field in ("ProductArn", "AwsAccountId", "Title", "Description", "GeneratorId", "CreatedAt"):
                self.assertEqual(got[field], sent[field], f"{field} of {sent['Id']}")
            self.assertEqual(got["Severity"]["Label"], sent["Severity"]["Label"], sent["Id"])
            self.assertEqual([r["Id"] for r in got["Resources"]], [r["Id"] for r in sent["Resources"]])
            for k, v in (sent.get("ProductFields") or {}).items():
                if k.startswith("aws/securityhub/"):
                    continue  # reserved: Security Hub sets these itself
                self.assertEqual(got.get("ProductFields", {}).get(k), v, f"ProductFields[{k}] of {sent['Id']}")
        type(self).everything = out["Findings"]

    # -- filters ------------------------------------------------------------------------------

    def filtered(self, filters, *extra):
        out = self.admin.ok("get-findings", "--filters", json.dumps(filters), *extra)
        return out["Findings"]

    def test_07_string_filter_equals(self):
        got = self.filtered({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}]})
        want = h.ids_where(self.imported, lambda f: f["Severity"]["Label"] == "CRITICAL")
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    def test_08_string_filter_prefix(self):
        prefix = "arn:aws:securityhub:eu-west-1::product/aws/"
        got = self.filtered({"ProductArn": [{"Value": prefix, "Comparison": "PREFIX"}]})
        want = h.ids_where(self.imported, lambda f: f["ProductArn"].startswith(prefix))
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    def test_09_string_filter_not_equals(self):
        got = self.filtered({"AwsAccountId": [{"Value": MEMBER.account, "Comparison": "NOT_EQUALS"}]})
        want = h.ids_where(self.imported, lambda f: f["AwsAccountId"] != MEMBER.account)
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    def test_10_date_filter_start_end(self):
        start, end = "2022-01-01T00:00:00Z", "2022-12-31T23:59:59Z"
        got = self.filtered({"UpdatedAt": [{"Start": start, "End": end}]})
        lo, hi = h.parse_time(start), h.parse_time(end)
        want = h.ids_where(self.imported, lambda f: lo <= h.parse_time(f["UpdatedAt"]) <= hi)
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    def test_11_number_filter(self):
        got = self.filtered({"SeverityNormalized": [{"Gte": 70}]})
        want = h.ids_where(self.everything, lambda f: f["Severity"].get("Normalized", -1) >= 70)
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)
        for f in got:
            self.assertIn(f["Severity"]["Label"], ("HIGH", "CRITICAL"))

    def test_12_map_filters_on_resource_tags_and_product_fields(self):
        got = self.filtered({"ResourceTags": [{"Key": "env", "Value": "prod", "Comparison": "EQUALS"}]})
        want = h.ids_where(self.imported, lambda f: ("env", "prod") in h.resource_tags(f))
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)
        key = "aws/inspector/FindingStatus"
        got = self.filtered({"ProductFields": [{"Key": key, "Value": "ACTIVE", "Comparison": "EQUALS"}]})
        want = h.ids_where(self.imported, lambda f: (f.get("ProductFields") or {}).get(key) == "ACTIVE")
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    def test_13_several_filters_are_anded(self):
        got = self.filtered(
            {
                "AwsAccountId": [{"Value": MEMBER.account, "Comparison": "EQUALS"}],
                "SeverityLabel": [
                    {"Value": "LOW", "Comparison": "EQUALS"},
                    {"Value": "HIGH", "Comparison": "EQUALS"},
                ],
            }
        )
        want = h.ids_where(
            self.imported, lambda f: f["AwsAccountId"] == MEMBER.account and f["Severity"]["Label"] in ("LOW", "HIGH")
        )
        self.assertTrue(want)
        self.assertEqual(h.ids(got), want)

    # -- sorting and the CLI's pagination ------------------------------------------------------

    SORT = json.dumps([{"Field": "Title", "SortOrder": "asc"}])

    def test_14_sort_criteria(self):
        out = self.admin.ok("get-findings", "--sort-criteria", json.dumps([{"Field": "UpdatedAt", "SortOrder": "desc"}]))
        stamps = [h.parse_time(f["UpdatedAt"]) for f in out["Findings"]]
        self.assertEqual(stamps, sorted(stamps, reverse=True))

    def test_15_sort_criteria_with_page_size_pages_to_the_end(self):
        out = self.admin.ok("get-findings", "--sort-criteria", self.SORT, "--page-size", "5")
        self.assertNotIn("NextToken", out)
        self.assertEqual([f["Title"] for f in out["Findings"]], sorted(f["Title"] for f in self.imported))

    def test_16_max_items_and_starting_token(self):
        titles, pages, token = [], 0, None
        while True:
            args = ["get-findings", "--sort-criteria", self.SORT, "--max-items", "10", "--page-size", "4"]
            if token:
                args += ["--starting-token", token]
            out = self.admin.ok(*args)
            pages += 1
            self.assertLessEqual(len(out["Findings"]), 10)
            titles += [f["Title"] for f in out["Findings"]]
            token = out.get("NextToken")
            if not token:
                break
            self.assertEqual(len(out["Findings"]), 10, "a page with a NextToken is full")
            self.assertLess(pages, 20, "pagination does not end")
        self.assertEqual(titles, sorted(f["Title"] for f in self.imported))
        self.assertEqual(pages, -(-len(self.imported) // 10))

    # -- updates and history -------------------------------------------------------------------

    def target(self):
        """The one HIGH sample: its identifier."""
        f = next(f for f in self.imported if f["Severity"]["Label"] == "HIGH")
        return f["Id"], f["ProductArn"]

    def test_17_batch_update_findings_workflow_and_note(self):
        fid, arn = self.target()
        out = self.admin.ok(
            "batch-update-findings",
            "--finding-identifiers",
            json.dumps([{"Id": fid, "ProductArn": arn}, {"Id": "no-such-finding", "ProductArn": arn}]),
            "--workflow",
            "Status=NOTIFIED",
            "--note",
            "Text=looked at from the CLI,UpdatedBy=cli-e2e",
        )
        self.assertEqual(out["ProcessedFindings"], [{"Id": fid, "ProductArn": arn}])
        self.assertEqual(len(out["UnprocessedFindings"]), 1)
        self.assertEqual(out["UnprocessedFindings"][0]["FindingIdentifier"]["Id"], "no-such-finding")
        self.assertEqual(out["UnprocessedFindings"][0]["ErrorCode"], "FindingNotFound")
        notified = self.filtered({"WorkflowStatus": [{"Value": "NOTIFIED", "Comparison": "EQUALS"}]})
        want = h.ids_where(self.imported, lambda f: f.get("Workflow", {}).get("Status") == "NOTIFIED") | {fid}
        self.assertEqual(h.ids(notified), want)
        got = next(f for f in notified if f["Id"] == fid)
        self.assertEqual(got["Note"]["Text"], "looked at from the CLI")
        self.assertEqual(got["Note"]["UpdatedBy"], "cli-e2e")

    def test_18_get_finding_history(self):
        fid, arn = self.target()
        out = self.admin.ok("get-finding-history", "--finding-identifier", f"Id={fid},ProductArn={arn}")
        records = out["Records"]
        self.assertEqual(len(records), 2, records)
        latest, first = records
        self.assertEqual(latest["UpdateSource"]["Type"], "BATCH_UPDATE_FINDINGS")
        self.assertIs(latest["FindingCreated"], False)
        updates = {u["UpdatedField"]: u for u in latest["Updates"]}
        self.assertEqual(updates["Workflow.Status"].get("OldValue"), "NEW")
        self.assertEqual(updates["Workflow.Status"]["NewValue"], "NOTIFIED")
        self.assertIn("Note", updates)
        self.assertIs(first["FindingCreated"], True)
        self.assertEqual(first["UpdateSource"]["Type"], "BATCH_IMPORT_FINDINGS")
        self.assertGreaterEqual(h.parse_time(latest["UpdateTime"]), h.parse_time(first["UpdateTime"]))

    # -- product subscriptions -----------------------------------------------------------------

    def test_19_describe_products_lists_the_aws_integrations(self):
        out = self.admin.ok("describe-products")
        arns = {p["ProductArn"] for p in out["Products"]}
        self.assertIn(f"arn:aws:securityhub:{h.REGION}::product/aws/guardduty", arns)
        self.assertIn(h.default_product(ADMIN.account), arns)

    def test_20_enable_list_disable_import_findings_for_product(self):
        out = self.admin.ok("enable-import-findings-for-product", "--product-arn", h.PARTNER_PRODUCT)
        sub = out["ProductSubscriptionArn"]
        self.assertEqual(
            sub, f"arn:aws:securityhub:{h.REGION}:{ADMIN.account}:product-subscription/prowler/prowler"
        )
        listed = self.admin.ok("list-enabled-products-for-import")["ProductSubscriptions"]
        self.assertIn(sub, listed)
        # AWS's integrations are subscribed with the hub; those that need acceptance once accepted.
        prefix = f"arn:aws:securityhub:{h.REGION}:{ADMIN.account}:product-subscription/aws/"
        self.assertIn(prefix + "guardduty", listed)
        self.assertIn(prefix + "iot-device-defender-audit", listed)
        self.admin.fails("ResourceConflictException", "enable-import-findings-for-product", "--product-arn", h.PARTNER_PRODUCT)
        # The subscription ARN travels in a greedy URI label (it holds '/').
        self.assertEqual(self.admin.ok("disable-import-findings-for-product", "--product-subscription-arn", sub), {})

    def test_20b_a_registered_product_is_listed_enabled_imported_and_disabled(self):
        product = f"arn:aws:securityhub:{h.REGION}:{ADMIN.account}:product/{ADMIN.account}/in-house-scanner"
        listed = {p["ProductArn"]: p for p in self.admin.ok("describe-products")["Products"]}
        self.assertEqual((listed[product]["ProductName"], listed[product]["CompanyName"]), ("In-house Scanner", "Example Corp"))
        finding = h.own_finding(ADMIN.account, "in-house-1", "From the in-house scanner", product=product)
        findings = self.admin.file_arg("in-house.json", [finding])
        self.admin.fails("AccessDeniedException", "batch-import-findings", "--findings", findings)
        sub = self.admin.ok("enable-import-findings-for-product", "--product-arn", product)["ProductSubscriptionArn"]
        self.assertIn(sub, self.admin.ok("list-enabled-products-for-import")["ProductSubscriptions"])
        self.assertEqual(self.admin.ok("batch-import-findings", "--findings", findings)["SuccessCount"], 1)
        self.admin.ok("disable-import-findings-for-product", "--product-subscription-arn", sub)
        self.admin.fails("AccessDeniedException", "batch-import-findings", "--findings", findings)
        # A product nobody registered cannot be enabled.
        missing = f"arn:aws:securityhub:{h.REGION}:{ADMIN.account}:product/{ADMIN.account}/never-registered"
        self.admin.fails("ResourceNotFoundException", "enable-import-findings-for-product", "--product-arn", missing)

    def test_21_disabling_it_again_is_not_found(self):
        sub = f"arn:aws:securityhub:{h.REGION}:{ADMIN.account}:product-subscription/prowler/prowler"
        self.admin.fails("ResourceNotFoundException", "disable-import-findings-for-product", "--product-subscription-arn", sub)

    # -- tags ----------------------------------------------------------------------------------

    def test_22_tag_list_untag_the_hub(self):
        # The ARN travels in a plain (non-greedy) URI label: its '/' must arrive percent-encoded.
        arn = h.hub_arn(ADMIN.account)
        self.assertEqual(self.admin.ok("tag-resource", "--resource-arn", arn, "--tags", "team=blue,env=test"), {})
        tags = self.admin.ok("list-tags-for-resource", "--resource-arn", arn)["Tags"]
        self.assertEqual(tags, {"owner": "cli", "team": "blue", "env": "test"})
        self.assertEqual(self.admin.ok("untag-resource", "--resource-arn", arn, "--tag-keys", "env", "owner"), {})
        self.assertEqual(self.admin.ok("list-tags-for-resource", "--resource-arn", arn)["Tags"], {"team": "blue"})

    def test_23_tags_of_a_missing_resource_are_not_found(self):
        self.admin.fails("ResourceNotFoundException", "list-tags-for-resource", "--resource-arn", h.hub_arn("999999999999"))

    # -- errors --------------------------------------------------------------------------------

    def test_24_invalid_input(self):
        # The CLI itself refuses MaxResults 0 (the model's minimum is 1), so the server is asked
        # with botocore's parameter validation off.
        msg = self.unvalidated.fails("InvalidInputException", "get-findings", "--max-results", "0")
        self.assertIn("MaxResults", msg)
        msg = self.admin.fails(
            "InvalidInputException",
            "get-findings",
            "--filters",
            json.dumps({"SeverityLabel": [{"Value": "HIGH", "Comparison": "BOGUS"}]}),
        )
        self.assertIn("BOGUS", msg)

    def test_25_unknown_access_key(self):
        stranger = Cli(h.Key("AKIAUNKNOWNUNKNOWN00", ADMIN.secret, ADMIN.account))
        stranger.fails("UnrecognizedClientException", "describe-hub")

    def test_26_wrong_secret(self):
        wrong = Cli(h.Key(ADMIN.key_id, "not-the-secret-" + ADMIN.secret, ADMIN.account))
        msg = wrong.fails("InvalidSignatureException", "describe-hub")
        self.assertIn("signature", msg.lower())

    def test_27_an_operation_not_supported_yet(self):
        msg = self.admin.fails("UnsupportedOperation", "list-members")
        self.assertIn("ListMembers", msg)

    # -- a member account ----------------------------------------------------------------------

    def test_28_member_before_enabling_its_hub(self):
        msg = self.member.fails("InvalidAccessException", "get-findings")
        self.assertIn(MEMBER.account, msg)

    def test_29_member_enables_and_sees_only_its_account(self):
        self.assertEqual(self.member.ok("enable-security-hub"), {})
        out = self.member.ok("get-findings")
        want = h.ids_where(self.imported, lambda f: f["AwsAccountId"] == MEMBER.account)
        self.assertTrue(want)
        self.assertEqual(h.ids(out["Findings"]), want)

    def test_30_member_may_not_import_another_accounts_finding(self):
        foreign = next(f for f in self.imported if f["AwsAccountId"] not in (MEMBER.account,))
        foreign = dict(foreign, Id="member-import-of-" + foreign["Id"])
        self.member.fails(
            "AccessDeniedException", "batch-import-findings", "--findings", self.member.file_arg("foreign.json", [foreign])
        )
        self.assertEqual(self.filtered({"Id": [{"Value": foreign["Id"], "Comparison": "EQUALS"}]}), [])
        mine = h.own_finding(MEMBER.account, "cli-member-own", "Imported by the member through the CLI")
        out = self.member.ok("batch-import-findings", "--findings", self.member.file_arg("mine.json", [mine]))
        self.assertEqual((out["SuccessCount"], out["FailedCount"]), (1, 0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
