//! [`HubStateStore`] on SQLite.

use super::{SqliteStore, begin_write, sql_err};
use crate::AccountScope;
use crate::StoreError;
use crate::outbox::parse_json;
use crate::state::{
    AccessKey, ActionTarget, ApiKey, CustomProduct, Hub, HubStateStore, Insight, InsightChange, SealedKey,
    WORK_ITEM_RESOLVED, WorkItem, WorkItemCreated, WorkItemQuery, WorkItemUpdated,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

pub(crate) const HUB_SQL: &str = "SELECT account_id, region, subscribed_at, auto_enable_controls, \
    control_finding_generator FROM hubs WHERE account_id = ? AND region = ?";
pub(crate) const SUBSCRIPTIONS_SQL: &str =
    "SELECT product_arn FROM product_subscriptions WHERE account_id = ? AND region = ? ORDER BY product_arn";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SealedKey> {
    Ok(SealedKey {
        key: AccessKey { access_key_id: r.get(0)?, account_id: r.get(1)?, admin: r.get(2)?, created_at: r.get(3)? },
        sealed_secret: r.get(4)?,
    })
}

fn api_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        key_id: r.get(0)?,
        account_id: r.get(1)?,
        admin: r.get(2)?,
        created_at: r.get(3)?,
        secret_hash: r.get(4)?,
    })
}

const API_KEY_COLUMNS: &str = "key_id, account_id, admin, created_at, secret_hash";

fn hub_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hub> {
    Ok(Hub {
        account_id: r.get(0)?,
        region: r.get(1)?,
        subscribed_at: r.get(2)?,
        auto_enable_controls: r.get(3)?,
        control_finding_generator: r.get(4)?,
    })
}

const ACTION_TARGET_COLUMNS: &str = "account_id, region, id, name, description, created_at";

fn action_target_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionTarget> {
    Ok(ActionTarget {
        account_id: r.get(0)?,
        region: r.get(1)?,
        id: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const INSIGHT_COLUMNS: &str = "account_id, region, id, name, filters, group_by, created_at";

/// An insight row, its filters still as text.
fn insight_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Insight, String)> {
    Ok((
        Insight {
            account_id: r.get(0)?,
            region: r.get(1)?,
            id: r.get(2)?,
            name: r.get(3)?,
            filters: serde_json::Value::Null,
            group_by: r.get(5)?,
            created_at: r.get(6)?,
        },
        r.get(4)?,
    ))
}

const WORK_ITEM_COLUMNS: &str =
    "id, account_id, region, finding_id, product_arn, dedup_key, status, severity, created_at, updated_at, item";

/// A work item row, its `item` still as text (parsed outside rusqlite's error type).
type WorkItemRow = (WorkItem, String);

fn work_item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WorkItemRow> {
    Ok((
        WorkItem {
            id: r.get(0)?,
            account_id: r.get(1)?,
            region: r.get(2)?,
            finding_id: r.get(3)?,
            product_arn: r.get(4)?,
            dedup_key: r.get(5)?,
            status: r.get(6)?,
            severity: r.get(7)?,
            created_at: r.get(8)?,
            updated_at: r.get(9)?,
            item: serde_json::Value::Null,
        },
        r.get(10)?,
    ))
}

fn work_item_of((mut item, json): WorkItemRow) -> Result<WorkItem, StoreError> {
    item.item = parse_json(&json)?;
    Ok(item)
}

fn find_work_item(conn: &rusqlite::Connection, id: &str) -> Result<Option<WorkItem>, StoreError> {
    conn.query_row(&format!("SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE id = ?"), [id], work_item_row)
        .optional()
        .map_err(sql_err)?
        .map(work_item_of)
        .transpose()
}

/// The open work item of an account and dedup key, other than `except`.
fn open_duplicate(
    conn: &rusqlite::Connection,
    account_id: &str,
    dedup_key: &str,
    except: &str,
) -> Result<Option<String>, StoreError> {
    conn.query_row(
        "SELECT id FROM work_items WHERE account_id = ? AND dedup_key = ? AND status <> ? AND id <> ?",
        params![account_id, dedup_key, WORK_ITEM_RESOLVED, except],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql_err)
}

#[async_trait]
impl HubStateStore for SqliteStore {
    async fn create_action_target(&self, t: ActionTarget) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    &format!(
                        "INSERT OR IGNORE INTO action_targets ({ACTION_TARGET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    params![t.account_id, t.region, t.id, t.name, t.description, t.created_at],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn action_targets(&self, account_id: &str, region: &str) -> Result<Vec<ActionTarget>, StoreError> {
        let args = [account_id.to_owned(), region.to_owned()];
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ACTION_TARGET_COLUMNS} FROM action_targets WHERE account_id = ? AND region = ? ORDER BY id"
                ))
                .map_err(sql_err)?;
            let rows = stmt.query_map(args, action_target_row).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }

    async fn update_action_target(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (account_id, region, id) = (account_id.to_owned(), region.to_owned(), id.to_owned());
        let (name, description) = (name.map(str::to_owned), description.map(str::to_owned));
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "UPDATE action_targets SET name = coalesce(?, name), description = coalesce(?, description) \
                     WHERE account_id = ? AND region = ? AND id = ?",
                    params![name, description, account_id, region, id],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_action_target(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        let args = [account_id.to_owned(), region.to_owned(), id.to_owned()];
        self.write(move |conn, _| {
            let n = conn
                .execute("DELETE FROM action_targets WHERE account_id = ? AND region = ? AND id = ?", args)
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_insight(&self, i: Insight) -> Result<bool, StoreError> {
        let filters = i.filters.to_string();
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    &format!("INSERT OR IGNORE INTO insights ({INSIGHT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                    params![i.account_id, i.region, i.id, i.name, filters, i.group_by, i.created_at],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn insights(&self, account_id: &str, region: &str) -> Result<Vec<Insight>, StoreError> {
        let args = [account_id.to_owned(), region.to_owned()];
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {INSIGHT_COLUMNS} FROM insights WHERE account_id = ? AND region = ? \
                     ORDER BY created_at, id"
                ))
                .map_err(sql_err)?;
            let rows = stmt.query_map(args, insight_row).map_err(sql_err)?;
            rows.map(|r| {
                let (mut insight, filters) = r.map_err(sql_err)?;
                insight.filters = parse_json(&filters)?;
                Ok(insight)
            })
            .collect()
        })
        .await
    }

    async fn update_insight(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        change: InsightChange,
    ) -> Result<bool, StoreError> {
        let (account_id, region, id) = (account_id.to_owned(), region.to_owned(), id.to_owned());
        let filters = change.filters.map(|f| f.to_string());
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "UPDATE insights SET name = coalesce(?, name), filters = coalesce(?, filters), \
                     group_by = coalesce(?, group_by) WHERE account_id = ? AND region = ? AND id = ?",
                    params![change.name, filters, change.group_by, account_id, region, id],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_insight(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        let args = [account_id.to_owned(), region.to_owned(), id.to_owned()];
        self.write(move |conn, _| {
            let n = conn
                .execute("DELETE FROM insights WHERE account_id = ? AND region = ? AND id = ?", args)
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_work_item(&self, w: WorkItem) -> Result<WorkItemCreated, StoreError> {
        self.write(move |conn, _| {
            // One writer: the check and the insert cannot interleave with another's.
            if w.status != WORK_ITEM_RESOLVED
                && let Some(existing) = open_duplicate(conn, &w.account_id, &w.dedup_key, &w.id)?
            {
                return Ok(WorkItemCreated::Duplicate(existing));
            }
            conn.execute(
                &format!("INSERT INTO work_items ({WORK_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                params![
                    w.id,
                    w.account_id,
                    w.region,
                    w.finding_id,
                    w.product_arn,
                    w.dedup_key,
                    w.status,
                    w.severity,
                    w.created_at,
                    w.updated_at,
                    w.item.to_string()
                ],
            )
            .map_err(sql_err)?;
            Ok(WorkItemCreated::Created)
        })
        .await
    }

    async fn work_item(&self, id: &str) -> Result<Option<WorkItem>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| find_work_item(conn, &id)).await
    }

    async fn work_items(&self, query: WorkItemQuery) -> Result<Vec<WorkItem>, StoreError> {
        self.read(move |conn| {
            let mut sql = format!("SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let AccountScope::Only(accounts) = &query.accounts {
                sql.push_str(&format!(" AND account_id IN ({})", vec!["?"; accounts.len()].join(", ")));
                args.extend(accounts.iter().cloned().map(rusqlite::types::Value::Text));
                if accounts.is_empty() {
                    return Ok(Vec::new());
                }
            }
            if let Some(region) = &query.region {
                sql.push_str(" AND region = ?");
                args.push(rusqlite::types::Value::Text(region.clone()));
            }
            if let Some(status) = &query.status {
                sql.push_str(" AND status = ?");
                args.push(rusqlite::types::Value::Text(status.clone()));
            }
            if let Some((created, id)) = &query.after {
                sql.push_str(" AND (created_at, id) > (?, ?)");
                args.push(rusqlite::types::Value::Integer(*created));
                args.push(rusqlite::types::Value::Text(id.clone()));
            }
            sql.push_str(" ORDER BY created_at, id LIMIT ?");
            args.push(rusqlite::types::Value::Integer(i64::try_from(query.limit).unwrap_or(i64::MAX)));
            let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), work_item_row).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err).and_then(work_item_of)).collect()
        })
        .await
    }

    async fn update_work_item(
        &self,
        id: &str,
        status: Option<&str>,
        severity: Option<u8>,
        now: Micros,
    ) -> Result<WorkItemUpdated, StoreError> {
        let (id, status) = (id.to_owned(), status.map(str::to_owned));
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            let Some(current) = find_work_item(&tx, &id)? else { return Ok(WorkItemUpdated::NotFound) };
            if let Some(s) = status.as_deref().filter(|s| *s != WORK_ITEM_RESOLVED)
                && current.status == WORK_ITEM_RESOLVED
                && s != current.status
                && let Some(other) = open_duplicate(&tx, &current.account_id, &current.dedup_key, &id)?
            {
                return Ok(WorkItemUpdated::Conflict(other));
            }
            tx.execute(
                "UPDATE work_items SET status = coalesce(?, status), severity = coalesce(?, severity), \
                 updated_at = ? WHERE id = ?",
                params![status, severity, now, id],
            )
            .map_err(sql_err)?;
            let updated = find_work_item(&tx, &id)?;
            tx.commit().map_err(sql_err)?;
            Ok(updated.map_or(WorkItemUpdated::NotFound, WorkItemUpdated::Updated))
        })
        .await
    }

    async fn create_product(&self, product: CustomProduct) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO custom_products (account_id, product_id, name, company, description) \
                     VALUES (?, ?, ?, ?, ?)",
                    params![product.account_id, product.product_id, product.name, product.company, product.description],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn products(&self, account_id: Option<&str>) -> Result<Vec<CustomProduct>, StoreError> {
        let account = account_id.map(str::to_owned);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT account_id, product_id, name, company, description FROM custom_products \
                     WHERE ?1 IS NULL OR account_id = ?1 ORDER BY account_id, product_id",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([account], |r| {
                    Ok(CustomProduct {
                        account_id: r.get(0)?,
                        product_id: r.get(1)?,
                        name: r.get(2)?,
                        company: r.get(3)?,
                        description: r.get(4)?,
                    })
                })
                .map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }

    async fn delete_product(&self, account_id: &str, product_id: &str) -> Result<bool, StoreError> {
        let args = [account_id.to_owned(), product_id.to_owned()];
        self.write(move |conn, _| {
            let n = conn
                .execute("DELETE FROM custom_products WHERE account_id = ? AND product_id = ?", args)
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    &format!("INSERT OR IGNORE INTO api_keys ({API_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
                    params![key.key_id, key.account_id, key.admin, key.created_at, key.secret_hash],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.read_now(|conn| {
            conn.prepare_cached(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?"))
                .and_then(|mut s| s.query_row([key_id], api_key_row).optional())
                .map_err(sql_err)
        })
        .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY account_id, created_at, key_id"))
                .map_err(sql_err)?;
            let rows = stmt.query_map([], api_key_row).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let id = key_id.to_owned();
        self.write(
            move |conn, _| Ok(conn.execute("DELETE FROM api_keys WHERE key_id = ?", [id]).map_err(sql_err)? == 1),
        )
        .await
    }

    async fn create_key(&self, key: SealedKey) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO access_keys (access_key_id, account_id, admin, created_at, sealed_secret) \
                     VALUES (?, ?, ?, ?, ?)",
                    params![
                        key.key.access_key_id,
                        key.key.account_id,
                        key.key.admin,
                        key.key.created_at,
                        key.sealed_secret
                    ],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT access_key_id, account_id, admin, created_at, sealed_secret FROM access_keys \
                     ORDER BY account_id, created_at, access_key_id",
                )
                .map_err(sql_err)?;
            let rows = stmt.query_map([], key_row).map_err(sql_err)?;
            rows.map(|r| r.map(|k| k.key).map_err(sql_err)).collect()
        })
        .await
    }

    async fn revoke_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        let id = access_key_id.to_owned();
        self.write(move |conn, _| {
            Ok(conn.execute("DELETE FROM access_keys WHERE access_key_id = ?", [id]).map_err(sql_err)? == 1)
        })
        .await
    }

    async fn find_key(&self, access_key_id: &str) -> Result<Option<SealedKey>, StoreError> {
        self.read_now(|conn| {
            conn.prepare_cached(
                "SELECT access_key_id, account_id, admin, created_at, sealed_secret FROM access_keys WHERE access_key_id = ?",
            )
            .and_then(|mut s| s.query_row([access_key_id], key_row).optional())
            .map_err(sql_err)
        })
        .await
    }

    async fn enable_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO hubs (account_id, region, subscribed_at, auto_enable_controls, control_finding_generator) \
                     VALUES (?, ?, ?, ?, ?)",
                    params![hub.account_id, hub.region, hub.subscribed_at, hub.auto_enable_controls, hub.control_finding_generator],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn hub(&self, account_id: &str, region: &str) -> Result<Option<Hub>, StoreError> {
        self.read_now(|conn| {
            conn.prepare_cached(HUB_SQL)
                .and_then(|mut s| s.query_row([account_id, region], hub_row).optional())
                .map_err(sql_err)
        })
        .await
    }

    async fn update_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "UPDATE hubs SET auto_enable_controls = ?, control_finding_generator = ? WHERE account_id = ? AND region = ?",
                    params![hub.auto_enable_controls, hub.control_finding_generator, hub.account_id, hub.region],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn disable_hub(&self, account_id: &str, region: &str) -> Result<bool, StoreError> {
        let (account, region) = (account_id.to_owned(), region.to_owned());
        self.write(move |conn, _| {
            let n = conn
                .execute("DELETE FROM hubs WHERE account_id = ? AND region = ?", [account, region])
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn subscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        let args = [account_id.to_owned(), region.to_owned(), product_arn.to_owned()];
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO product_subscriptions (account_id, region, product_arn) VALUES (?, ?, ?)",
                    args,
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn unsubscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        let args = [account_id.to_owned(), region.to_owned(), product_arn.to_owned()];
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "DELETE FROM product_subscriptions WHERE account_id = ? AND region = ? AND product_arn = ?",
                    args,
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn subscriptions(&self, account_id: &str, region: &str) -> Result<Vec<String>, StoreError> {
        self.read_now(|conn| {
            let mut stmt = conn.prepare_cached(SUBSCRIPTIONS_SQL).map_err(sql_err)?;
            let rows = stmt.query_map([account_id, region], |r| r.get(0)).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }

    async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), StoreError> {
        let arn = arn.to_owned();
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            for (k, v) in tags {
                tx.execute(
                    "INSERT OR REPLACE INTO resource_tags (arn, key, value) VALUES (?, ?, ?)",
                    params![arn, k, v],
                )
                .map_err(sql_err)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        let (arn, keys) = (arn.to_owned(), keys.to_vec());
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            for k in keys {
                tx.execute("DELETE FROM resource_tags WHERE arn = ? AND key = ?", params![arn, k]).map_err(sql_err)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare("SELECT key, value FROM resource_tags WHERE arn = ? ORDER BY key").map_err(sql_err)?;
            let rows = stmt.query_map([arn], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }
}
