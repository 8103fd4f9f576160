//! Checks the filter field table against the official Security Hub API model: the 107 names and
//! their filter kinds, every path walked through the model's shapes to a leaf of a fitting type,
//! and the automation-rules field set with its limits.
//!
//! The model is read from `$FINDINGHUB_SERVICE_MODEL`, or from `shared/spec/` beside the checkout
//! (`../../../shared` from this crate) or inside it (`../../shared`).

use std::path::PathBuf;

use findinghub_hub::filter::{
    AUTOMATION_RULES_FIELDS, FILTER_FIELDS, FieldKind, FilterField, FilterSet, IpFamily, field,
};
use serde_json::Value;

const MODEL_FILE: &str = "securityhub-2018-10-26.service-2.json";

fn model() -> Value {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("FINDINGHUB_SERVICE_MODEL") {
        candidates.push(p.into());
    }
    candidates.push(format!("{dir}/../../../shared/spec/{MODEL_FILE}").into());
    candidates.push(format!("{dir}/../../shared/spec/{MODEL_FILE}").into());
    for c in &candidates {
        if let Ok(text) = std::fs::read_to_string(c) {
            return serde_json::from_str(&text).expect("the service model is JSON");
        }
    }
    panic!("service model not found; tried {candidates:?} (set FINDINGHUB_SERVICE_MODEL)");
}

fn shape<'a>(model: &'a Value, name: &str) -> &'a Value {
    &model["shapes"][name]
}

fn kind_of_list_shape(list_shape: &str) -> Option<FieldKind> {
    Some(match list_shape {
        "StringFilterList" => FieldKind::String,
        "DateFilterList" => FieldKind::Date,
        "NumberFilterList" => FieldKind::Number,
        "IpFilterList" => FieldKind::Ip,
        "MapFilterList" => FieldKind::Map,
        "KeywordFilterList" => FieldKind::Keyword,
        "BooleanFilterList" => FieldKind::Boolean,
        _ => return None,
    })
}

/// (member name, filter kind) of a filters structure, sorted by name.
fn filter_members(model: &Value, structure: &str) -> Vec<(String, FieldKind)> {
    let members = shape(model, structure)["members"].as_object().expect("structure members");
    members
        .iter()
        .map(|(name, m)| {
            let list = m["shape"].as_str().expect("member shape");
            (name.clone(), kind_of_list_shape(list).unwrap_or_else(|| panic!("{name}: {list}")))
        })
        .collect()
}

#[test]
fn names_and_kinds_equal_the_model() {
    let model = model();
    // serde_json's map is sorted by key, so compare as sorted lists.
    let expected = filter_members(&model, "AwsSecurityFindingFilters");
    assert_eq!(expected.len(), 107);
    let mut ours: Vec<(String, FieldKind)> = FILTER_FIELDS.iter().map(|f| (f.name.to_owned(), f.kind)).collect();
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(ours, expected);
    for f in FILTER_FIELDS {
        assert!(std::ptr::eq(field(f.name).expect("lookup"), f), "{}", f.name);
    }
    assert!(field("title").is_none());
    assert!(field("").is_none());
}

/// Walks `path` from `AwsSecurityFinding` and returns the leaf shape.
fn walk<'a>(model: &'a Value, f: &FilterField) -> Result<&'a Value, String> {
    let mut current = shape(model, "AwsSecurityFinding");
    for segment in f.path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (segment, false),
        };
        if current["type"] != "structure" {
            return Err(format!("'{segment}': parent is not a structure"));
        }
        let member = current["members"].get(name).ok_or_else(|| format!("no member '{name}'"))?;
        current = shape(model, member["shape"].as_str().ok_or("member without shape")?);
        if each {
            if current["type"] != "list" {
                return Err(format!("'{segment}' is not a list"));
            }
            current = shape(model, current["member"]["shape"].as_str().ok_or("list without member")?);
        } else if current["type"] == "list" {
            return Err(format!("'{segment}' is a list but the path lacks []"));
        }
    }
    Ok(current)
}

#[test]
fn every_path_exists_in_the_model_with_a_fitting_leaf() {
    let model = model();
    for f in FILTER_FIELDS {
        if f.kind == FieldKind::Keyword {
            assert_eq!(f.path, "**", "Keyword searches the whole finding");
            continue;
        }
        let leaf = walk(&model, f).unwrap_or_else(|e| panic!("{}: {}: {e}", f.name, f.path));
        let ty = leaf["type"].as_str().unwrap_or("");
        let fits = match f.kind {
            FieldKind::String | FieldKind::Date | FieldKind::Ip => ty == "string",
            FieldKind::Number => matches!(ty, "integer" | "long" | "double" | "float"),
            FieldKind::Boolean => ty == "boolean",
            FieldKind::Map => {
                ty == "map" && shape(&model, leaf["value"]["shape"].as_str().unwrap_or(""))["type"] == "string"
            }
            FieldKind::Keyword => false,
        };
        assert!(fits, "{} ({:?}) reaches a {ty} at {}", f.name, f.kind, f.path);
    }
}

#[test]
fn paths_follow_the_member_documentation_where_it_is_easy_to_get_wrong() {
    let path = |n: &str| field(n).map(|f| f.path);
    assert_eq!(path("Type"), Some("Types[]"));
    assert_eq!(path("SeverityLabel"), Some("Severity.Label"));
    assert_eq!(path("RecommendationText"), Some("Remediation.Recommendation.Text"));
    assert_eq!(path("WorkflowStatus"), Some("Workflow.Status"));
    assert_eq!(path("WorkflowState"), Some("WorkflowState"));
    assert_eq!(path("ResourceOwnerAccountId"), Some("Resources[].Owner.Account.Id"));
    assert_eq!(path("ResourceOwnerOrgId"), Some("Resources[].Owner.Org.Id"));
    assert_eq!(path("ResourceAwsIamAccessKeyUserName"), Some("Resources[].Details.AwsIamAccessKey.UserName"));
    assert_eq!(path("ResourceContainerImageId"), Some("Resources[].Details.Container.ImageId"));
    assert_eq!(
        path("ComplianceSecurityControlParametersValue"),
        Some("Compliance.SecurityControlParameters[].Value[]")
    );
    assert_eq!(path("ResourceDetailsOther"), Some("Resources[].Details.Other"));
}

#[test]
fn ip_fields_know_their_family() {
    let ip: Vec<_> = FILTER_FIELDS.iter().filter(|f| f.kind == FieldKind::Ip).collect();
    assert_eq!(ip.len(), 6);
    for f in ip {
        let expected = if f.name.contains("V4") { IpFamily::V4 } else { IpFamily::V6 };
        assert_eq!(f.ip_family(), Some(expected), "{}", f.name);
    }
    assert_eq!(field("Title").and_then(|f| f.ip_family()), None);
}

#[test]
fn automation_rules_fields_and_limits_equal_the_model() {
    let model = model();
    let members = filter_members(&model, "AutomationRulesFindingFilters");
    assert_eq!(members.len(), 41);
    let docs = shape(&model, "AutomationRulesFindingFilters")["members"].as_object().expect("members");
    for (name, kind) in &members {
        let f = field(name).unwrap_or_else(|| panic!("{name} is not a findings filter field"));
        assert_eq!(f.kind, *kind, "{name}");
        let doc = docs[name.as_str()]["documentation"].as_str().unwrap_or("");
        let documented = doc
            .split("Maximum number of ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(20);
        assert_eq!(FilterSet::AutomationRules.max_values(f), Some(documented), "{name}");
    }
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    let mut ours: Vec<&str> = AUTOMATION_RULES_FIELDS.iter().map(|(n, _)| *n).collect();
    ours.sort_unstable();
    assert_eq!(ours, names);
    let allowed = FILTER_FIELDS.iter().filter(|f| FilterSet::AutomationRules.allows(f)).count();
    assert_eq!(allowed, 41);
    assert!(FILTER_FIELDS.iter().all(|f| FilterSet::Findings.allows(f)));
}
