//! The explicit Arrow schema of each class: the OCSF structures of `ocsf.rs`, one column per
//! attribute, objects as structs and arrays as lists (never JSON text, except the two OCSF `data`
//! attributes, whose shape depends on the source). `*_dt` are timestamps in milliseconds at offset `+00:00` (UTC; a named zone would need chrono-tz) and
//! `time` an int64 of epoch milliseconds, the column types of Security Lake's `SH_FINDINGS` 2.0
//! table. A schema inferred from the data would make `*_dt` strings and change with every batch.
//!
//! `unmapped` is a `map<string,string>`, as in Security Lake's table: its keys are open-ended
//! (every ProductFields key of every product), so they cannot be columns, and a map keeps them
//! addressable in SQL (`unmapped['Severity.Normalized']`) where a JSON string would need parsing.

use crate::ocsf::FindingClass;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int32(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

fn timestamp(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())), true)
}

fn structure(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

fn list(name: &str, item: DataType) -> Field {
    Field::new(name, DataType::List(Arc::new(Field::new("item", item, true))), true)
}

fn list_of_structs(name: &str, fields: Vec<Field>) -> Field {
    list(name, DataType::Struct(Fields::from(fields)))
}

fn required(field: Field) -> Field {
    field.with_nullable(false)
}

fn remediation_fields() -> Vec<Field> {
    vec![utf8("desc"), list("references", DataType::Utf8)]
}

fn resource_fields() -> Vec<Field> {
    vec![utf8("type"), utf8("uid"), utf8("cloud_partition"), utf8("region"), utf8("criticality"), utf8("data")]
}

fn vulnerability_fields() -> Vec<Field> {
    vec![
        structure(
            "cve",
            vec![
                utf8("uid"),
                list_of_structs(
                    "cvss",
                    vec![Field::new("base_score", DataType::Float64, true), utf8("version"), utf8("vector_string")],
                ),
                timestamp("created_time_dt"),
                timestamp("modified_time_dt"),
                list("references", DataType::Utf8),
                structure("epss", vec![utf8("score")]),
            ],
        ),
        structure("cwe", vec![utf8("uid")]),
        list("references", DataType::Utf8),
        list("related_vulnerabilities", DataType::Utf8),
        utf8("vendor_name"),
        boolean("is_fix_available"),
        boolean("is_exploit_available"),
        list_of_structs(
            "affected_packages",
            vec![
                utf8("name"),
                utf8("version"),
                int32("epoch"),
                utf8("release"),
                utf8("architecture"),
                utf8("path"),
                utf8("fixed_in_version"),
                utf8("package_manager"),
                structure("remediation", remediation_fields()),
            ],
        ),
        list_of_structs(
            "affected_code",
            vec![
                structure("file", vec![utf8("name"), int32("type_id"), utf8("path"), utf8("uid")]),
                int32("start_line"),
                int32("end_line"),
            ],
        ),
        structure("remediation", remediation_fields()),
    ]
}

fn endpoint_fields() -> Vec<Field> {
    vec![utf8("ip"), int32("port"), structure("location", vec![utf8("city"), utf8("country")])]
}

fn evidence_fields() -> Vec<Field> {
    vec![
        structure("api", vec![utf8("operation"), structure("service", vec![utf8("name")])]),
        structure("src_endpoint", endpoint_fields()),
        structure("dst_endpoint", endpoint_fields()),
        structure("query", vec![utf8("hostname")]),
        utf8("data"),
    ]
}

fn base_fields() -> Vec<Field> {
    vec![
        required(int32("activity_id")),
        utf8("activity_name"),
        required(int32("category_uid")),
        utf8("category_name"),
        required(int32("class_uid")),
        utf8("class_name"),
        required(int64("type_uid")),
        utf8("type_name"),
        required(int32("severity_id")),
        utf8("severity"),
        int32("status_id"),
        utf8("status"),
        required(int64("time")),
        timestamp("time_dt"),
        int32("confidence_score"),
        utf8("message"),
        required(structure(
            "metadata",
            vec![
                utf8("version"),
                list("profiles", DataType::Utf8),
                utf8("log_version"),
                timestamp("processed_time_dt"),
                int64("sequence"),
                structure(
                    "product",
                    vec![
                        utf8("name"),
                        utf8("uid"),
                        utf8("vendor_name"),
                        structure("feature", vec![utf8("uid"), utf8("name")]),
                    ],
                ),
            ],
        )),
        required(structure("cloud", vec![utf8("provider"), utf8("region"), structure("account", vec![utf8("uid")])])),
        required(structure(
            "finding_info",
            vec![
                utf8("uid"),
                utf8("title"),
                utf8("desc"),
                utf8("src_url"),
                list("types", DataType::Utf8),
                timestamp("created_time_dt"),
                timestamp("modified_time_dt"),
                timestamp("first_seen_time_dt"),
                timestamp("last_seen_time_dt"),
                list_of_structs("related_events", vec![utf8("uid"), utf8("product_uid")]),
            ],
        )),
        list_of_structs("observables", vec![utf8("name"), utf8("type"), int32("type_id"), utf8("value")]),
        Field::new(
            "unmapped",
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", DataType::Utf8, true),
                    ])),
                    false,
                )),
                false,
            ),
            true,
        ),
    ]
}

fn build(class: FindingClass) -> Schema {
    let mut fields = base_fields();
    match class {
        FindingClass::Vulnerability => {
            fields.push(structure("resource", resource_fields()));
            fields.push(list_of_structs("vulnerabilities", vulnerability_fields()));
        }
        FindingClass::Compliance => {
            fields.push(structure("resource", resource_fields()));
            fields.push(structure(
                "compliance",
                vec![
                    utf8("control"),
                    list("standards", DataType::Utf8),
                    list("requirements", DataType::Utf8),
                    utf8("status"),
                    utf8("status_code"),
                    utf8("status_detail"),
                ],
            ));
            fields.push(structure("remediation", remediation_fields()));
        }
        FindingClass::Detection => {
            fields.push(list_of_structs("resources", resource_fields()));
            fields.push(structure("remediation", remediation_fields()));
            fields.push(list_of_structs("evidences", evidence_fields()));
        }
    }
    Schema::new(fields)
}

/// The Arrow schema of a class's Parquet files.
pub fn arrow_schema(class: FindingClass) -> SchemaRef {
    static SCHEMAS: OnceLock<[SchemaRef; 3]> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| FindingClass::ALL.map(|c| Arc::new(build(c))));
    match class {
        FindingClass::Vulnerability => all[0].clone(),
        FindingClass::Compliance => all[1].clone(),
        FindingClass::Detection => all[2].clone(),
    }
}
