//! findinghub's own routes, under `/findinghub/`: what Security Hub does in its console or hands
//! to other services (sending findings to a custom action, OpsCenter work items, Detective's
//! pivots and related findings, Trusted Advisor's checks). They are reached only after the
//! signature is verified, like the operations, take their input from the query string and a
//! JSON body, and fail with the same AWS errors.
//!
//! | route | what |
//! |---|---|
//! | `POST /findinghub/actionTargets/send` | `{ActionTargetArn, FindingIdentifiers}` (≤ 20) |
//! | `GET /findinghub/opsitems[?Status=&MaxResults=&NextToken=]` | the caller's work items |
//! | `GET /findinghub/opsitems/{id}` | one work item |
//! | `PATCH /findinghub/opsitems/{id}` | `{Status, Severity}`: the work item, then its finding |
//! | `GET /findinghub/findings/pivots?ProductArn=&Id=` | Detective links |
//! | `GET /findinghub/findings/related?ProductArn=&Id=[&MaxResults=]` | findings sharing an entity |
//! | `GET /findinghub/advisor` | Trusted Advisor checks over the caller's ACTIVE findings |

use crate::error::{ApiError, ApiResult};
use crate::handlers::Input;
use crate::server::{App, Principal};
use crate::{actions, receiver_reports, wire, workitems};
use serde_json::Value;

/// The path prefix of findinghub's own routes.
pub const PREFIX: &str = "/findinghub/";

/// The input: the JSON body's members, then the query's parameters (`MaxResults` as a number).
fn input(raw_query: Option<&str>, body: &[u8]) -> ApiResult<Input> {
    let mut input = if body.iter().all(u8::is_ascii_whitespace) {
        Input::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ApiError::InvalidInput("The request body must be a JSON object".into())),
            Err(e) => return Err(ApiError::InvalidInput(format!("The request body is not valid JSON: {e}"))),
        }
    };
    for (k, v) in wire::query_pairs(raw_query) {
        let value = match k.as_str() {
            "MaxResults" => Value::from(
                v.parse::<i64>().map_err(|_| ApiError::InvalidInput("MaxResults must be an integer".into()))?,
            ),
            _ => Value::String(v),
        };
        input.insert(k, value);
    }
    Ok(input)
}

/// Runs the route `path` (after the prefix); `operation` gets its name, for metrics.
pub async fn dispatch(
    app: &App,
    who: &Principal,
    method: &str,
    path: &str,
    raw_query: Option<&str>,
    body: &[u8],
    operation: &mut &'static str,
) -> ApiResult<Value> {
    let unknown = || ApiError::UnknownOperation(format!("{method} {PREFIX}{path}"));
    let segments: Vec<&str> = path.split('/').collect();
    let input = input(raw_query, body)?;
    match (method, segments.as_slice()) {
        ("POST", ["actionTargets", "send"]) => {
            *operation = "SendToActionTarget";
            actions::send(app, who, input).await
        }
        ("GET", ["opsitems"]) => {
            *operation = "ListOpsItems";
            workitems::list(app, who, input).await
        }
        (_, ["opsitems", raw_id]) => {
            // One segment, percent-decoded once, never empty.
            let id = wire::percent_decode(raw_id).filter(|s| !s.is_empty()).ok_or_else(unknown)?;
            match method {
                "GET" => {
                    *operation = "GetOpsItem";
                    workitems::get(app, who, &id).await
                }
                "PATCH" => {
                    *operation = "UpdateOpsItem";
                    workitems::patch(app, who, &id, input).await
                }
                _ => Err(unknown()),
            }
        }
        ("GET", ["findings", "pivots"]) => {
            *operation = "GetFindingPivots";
            receiver_reports::pivots(app, who, input).await
        }
        ("GET", ["findings", "related"]) => {
            *operation = "GetRelatedFindings";
            receiver_reports::related(app, who, input).await
        }
        ("GET", ["advisor"]) => {
            *operation = "GetAdvisorChecks";
            receiver_reports::advisor(app, who).await
        }
        _ => Err(unknown()),
    }
}
