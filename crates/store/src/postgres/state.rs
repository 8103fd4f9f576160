//! [`HubStateStore`] on PostgreSQL: each call one statement (or one transaction), so that every
//! instance sees the others' keys, hubs, subscriptions and tags at once.

use super::{PostgresStore, pg_err};
use crate::AccountScope;
use crate::StoreError;
use crate::state::{
    AccessKey, ActionTarget, ApiKey, CustomProduct, Hub, HubStateStore, Insight, InsightChange, SealedKey,
    WORK_ITEM_RESOLVED, WorkItem, WorkItemCreated, WorkItemQuery, WorkItemUpdated,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use std::collections::BTreeMap;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

fn err(e: tokio_postgres::Error) -> StoreError {
    pg_err(&e)
}

fn key_row(r: &Row) -> Result<SealedKey, StoreError> {
    Ok(SealedKey {
        key: AccessKey {
            access_key_id: r.try_get(0).map_err(err)?,
            account_id: r.try_get(1).map_err(err)?,
            admin: r.try_get(2).map_err(err)?,
            created_at: r.try_get(3).map_err(err)?,
        },
        sealed_secret: r.try_get(4).map_err(err)?,
    })
}

fn api_key_row(r: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        key_id: r.try_get(0).map_err(err)?,
        account_id: r.try_get(1).map_err(err)?,
        admin: r.try_get(2).map_err(err)?,
        created_at: r.try_get(3).map_err(err)?,
        secret_hash: r.try_get(4).map_err(err)?,
    })
}

fn hub_row(r: &Row) -> Result<Hub, StoreError> {
    Ok(Hub {
        account_id: r.try_get(0).map_err(err)?,
        region: r.try_get(1).map_err(err)?,
        subscribed_at: r.try_get(2).map_err(err)?,
        auto_enable_controls: r.try_get(3).map_err(err)?,
        control_finding_generator: r.try_get(4).map_err(err)?,
    })
}

const KEY_COLUMNS: &str = "access_key_id, account_id, admin, created_at, sealed_secret";
const API_KEY_COLUMNS: &str = "key_id, account_id, admin, created_at, secret_hash";
const HUB_COLUMNS: &str = "account_id, region, subscribed_at, auto_enable_controls, control_finding_generator";

impl PostgresStore {
    pub(super) async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(err)?;
        client.execute(&stmt, params).await.map_err(err)
    }

    pub(super) async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(err)?;
        client.query(&stmt, params).await.map_err(err)
    }
}

fn product_row(r: &Row) -> Result<CustomProduct, StoreError> {
    Ok(CustomProduct {
        account_id: r.try_get(0).map_err(err)?,
        product_id: r.try_get(1).map_err(err)?,
        name: r.try_get(2).map_err(err)?,
        company: r.try_get(3).map_err(err)?,
        description: r.try_get(4).map_err(err)?,
    })
}

const PRODUCT_COLUMNS: &str = "account_id, product_id, name, company, description";

const ACTION_TARGET_COLUMNS: &str = "account_id, region, id, name, description, created_at";

fn action_target_row(r: &Row) -> Result<ActionTarget, StoreError> {
    Ok(ActionTarget {
        account_id: r.try_get(0).map_err(err)?,
        region: r.try_get(1).map_err(err)?,
        id: r.try_get(2).map_err(err)?,
        name: r.try_get(3).map_err(err)?,
        description: r.try_get(4).map_err(err)?,
        created_at: r.try_get(5).map_err(err)?,
    })
}

const INSIGHT_COLUMNS: &str = "account_id, region, id, name, filters, group_by, created_at";

fn insight_row(r: &Row) -> Result<Insight, StoreError> {
    Ok(Insight {
        account_id: r.try_get(0).map_err(err)?,
        region: r.try_get(1).map_err(err)?,
        id: r.try_get(2).map_err(err)?,
        name: r.try_get(3).map_err(err)?,
        filters: r.try_get(4).map_err(err)?,
        group_by: r.try_get(5).map_err(err)?,
        created_at: r.try_get(6).map_err(err)?,
    })
}

const WORK_ITEM_COLUMNS: &str =
    "id, account_id, region, finding_id, product_arn, dedup_key, status, severity, created_at, updated_at, item";

fn work_item_row(r: &Row) -> Result<WorkItem, StoreError> {
    let severity: i16 = r.try_get(7).map_err(err)?;
    Ok(WorkItem {
        id: r.try_get(0).map_err(err)?,
        account_id: r.try_get(1).map_err(err)?,
        region: r.try_get(2).map_err(err)?,
        finding_id: r.try_get(3).map_err(err)?,
        product_arn: r.try_get(4).map_err(err)?,
        dedup_key: r.try_get(5).map_err(err)?,
        status: r.try_get(6).map_err(err)?,
        severity: u8::try_from(severity).unwrap_or(u8::MAX),
        created_at: r.try_get(8).map_err(err)?,
        updated_at: r.try_get(9).map_err(err)?,
        item: r.try_get(10).map_err(err)?,
    })
}

impl PostgresStore {
    /// The open work item of an account and dedup key, other than `except`.
    async fn open_duplicate(
        &self,
        account_id: &str,
        dedup_key: &str,
        except: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows = self
            .rows(
                "SELECT id FROM work_items WHERE account_id = $1 AND dedup_key = $2 AND status <> $3 AND id <> $4",
                &[&account_id, &dedup_key, &WORK_ITEM_RESOLVED, &except],
            )
            .await?;
        rows.first().map(|r| r.try_get(0).map_err(err)).transpose()
    }
}

#[async_trait]
impl HubStateStore for PostgresStore {
    async fn create_action_target(&self, t: ActionTarget) -> Result<bool, StoreError> {
        let n = self
            .exec(
                &format!(
                    "INSERT INTO action_targets ({ACTION_TARGET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT DO NOTHING"
                ),
                &[&t.account_id, &t.region, &t.id, &t.name, &t.description, &t.created_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn action_targets(&self, account_id: &str, region: &str) -> Result<Vec<ActionTarget>, StoreError> {
        self.rows(
            &format!(
                "SELECT {ACTION_TARGET_COLUMNS} FROM action_targets WHERE account_id = $1 AND region = $2 ORDER BY id"
            ),
            &[&account_id, &region],
        )
        .await?
        .iter()
        .map(action_target_row)
        .collect()
    }

    async fn update_action_target(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE action_targets SET name = coalesce($1, name), description = coalesce($2, description) \
                 WHERE account_id = $3 AND region = $4 AND id = $5",
                &[&name, &description, &account_id, &region, &id],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_action_target(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM action_targets WHERE account_id = $1 AND region = $2 AND id = $3";
        Ok(self.exec(sql, &[&account_id, &region, &id]).await? == 1)
    }

    async fn create_insight(&self, i: Insight) -> Result<bool, StoreError> {
        let n = self
            .exec(
                &format!(
                    "INSERT INTO insights ({INSIGHT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
                ),
                &[&i.account_id, &i.region, &i.id, &i.name, &i.filters, &i.group_by, &i.created_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn insights(&self, account_id: &str, region: &str) -> Result<Vec<Insight>, StoreError> {
        self.rows(
            &format!(
                "SELECT {INSIGHT_COLUMNS} FROM insights WHERE account_id = $1 AND region = $2 ORDER BY created_at, id"
            ),
            &[&account_id, &region],
        )
        .await?
        .iter()
        .map(insight_row)
        .collect()
    }

    async fn update_insight(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        change: InsightChange,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE insights SET name = coalesce($1, name), filters = coalesce($2, filters), \
                 group_by = coalesce($3, group_by) WHERE account_id = $4 AND region = $5 AND id = $6",
                &[&change.name, &change.filters, &change.group_by, &account_id, &region, &id],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_insight(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM insights WHERE account_id = $1 AND region = $2 AND id = $3";
        Ok(self.exec(sql, &[&account_id, &region, &id]).await? == 1)
    }

    async fn create_work_item(&self, w: WorkItem) -> Result<WorkItemCreated, StoreError> {
        let severity = i16::from(w.severity);
        // The partial unique index decides between instances; a duplicate that is resolved
        // between the insert and the look-up lets the insert try again.
        for _ in 0..3 {
            let n = self
                .exec(
                    &format!(
                        "INSERT INTO work_items ({WORK_ITEM_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
                    ),
                    &[
                        &w.id,
                        &w.account_id,
                        &w.region,
                        &w.finding_id,
                        &w.product_arn,
                        &w.dedup_key,
                        &w.status,
                        &severity,
                        &w.created_at,
                        &w.updated_at,
                        &w.item,
                    ],
                )
                .await?;
            if n == 1 {
                return Ok(WorkItemCreated::Created);
            }
            if let Some(existing) = self.open_duplicate(&w.account_id, &w.dedup_key, &w.id).await? {
                return Ok(WorkItemCreated::Duplicate(existing));
            }
        }
        Err(StoreError::Backend(format!("the work item {} cannot be created", w.id)))
    }

    async fn work_item(&self, id: &str) -> Result<Option<WorkItem>, StoreError> {
        let rows = self.rows(&format!("SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE id = $1"), &[&id]).await?;
        rows.first().map(work_item_row).transpose()
    }

    async fn work_items(&self, query: WorkItemQuery) -> Result<Vec<WorkItem>, StoreError> {
        let accounts: Option<Vec<String>> = match &query.accounts {
            AccountScope::All => None,
            AccountScope::Only(set) => Some(set.iter().cloned().collect()),
        };
        let (after_created, after_id) = match &query.after {
            Some((c, i)) => (Some(*c), Some(i.clone())),
            None => (None, None),
        };
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.rows(
            &format!(
                "SELECT {WORK_ITEM_COLUMNS} FROM work_items \
                 WHERE ($1::text[] IS NULL OR account_id = ANY($1)) AND ($2::text IS NULL OR region = $2) \
                 AND ($3::text IS NULL OR status = $3) \
                 AND ($4::bigint IS NULL OR (created_at, id) > ($4, $5::text)) \
                 ORDER BY created_at, id LIMIT $6"
            ),
            &[&accounts, &query.region, &query.status, &after_created, &after_id, &limit],
        )
        .await?
        .iter()
        .map(work_item_row)
        .collect()
    }

    async fn update_work_item(
        &self,
        id: &str,
        status: Option<&str>,
        severity: Option<u8>,
        now: Micros,
    ) -> Result<WorkItemUpdated, StoreError> {
        let severity = severity.map(i16::from);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "UPDATE work_items SET status = coalesce($1, status), severity = coalesce($2, severity), \
                 updated_at = $3 WHERE id = $4 RETURNING {WORK_ITEM_COLUMNS}"
            ))
            .await
            .map_err(err)?;
        match client.query(&stmt, &[&status, &severity, &now, &id]).await {
            Ok(rows) => Ok(match rows.first() {
                Some(r) => WorkItemUpdated::Updated(work_item_row(r)?),
                None => WorkItemUpdated::NotFound,
            }),
            // Reopening while another work item of the finding is open.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                drop(client);
                let Some(current) = self.work_item(id).await? else { return Ok(WorkItemUpdated::NotFound) };
                match self.open_duplicate(&current.account_id, &current.dedup_key, id).await? {
                    Some(other) => Ok(WorkItemUpdated::Conflict(other)),
                    None => Err(err(e)),
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn create_product(&self, p: CustomProduct) -> Result<bool, StoreError> {
        let n = self
            .exec(
                &format!(
                    "INSERT INTO custom_products ({PRODUCT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                ),
                &[&p.account_id, &p.product_id, &p.name, &p.company, &p.description],
            )
            .await?;
        Ok(n == 1)
    }

    async fn products(&self, account_id: Option<&str>) -> Result<Vec<CustomProduct>, StoreError> {
        self.rows(
            &format!(
                "SELECT {PRODUCT_COLUMNS} FROM custom_products WHERE $1::text IS NULL OR account_id = $1 \
                 ORDER BY account_id, product_id"
            ),
            &[&account_id],
        )
        .await?
        .iter()
        .map(product_row)
        .collect()
    }

    async fn delete_product(&self, account_id: &str, product_id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM custom_products WHERE account_id = $1 AND product_id = $2";
        Ok(self.exec(sql, &[&account_id, &product_id]).await? == 1)
    }

    async fn create_key(&self, key: SealedKey) -> Result<bool, StoreError> {
        let k = &key.key;
        let n = self
            .exec(
                &format!("INSERT INTO access_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"),
                &[&k.access_key_id, &k.account_id, &k.admin, &k.created_at, &key.sealed_secret],
            )
            .await?;
        Ok(n == 1)
    }

    async fn list_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        self.rows(&format!("SELECT {KEY_COLUMNS} FROM access_keys ORDER BY account_id, created_at, access_key_id"), &[])
            .await?
            .iter()
            .map(|r| key_row(r).map(|k| k.key))
            .collect()
    }

    async fn revoke_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        Ok(self.exec("DELETE FROM access_keys WHERE access_key_id = $1", &[&access_key_id]).await? == 1)
    }

    async fn find_key(&self, access_key_id: &str) -> Result<Option<SealedKey>, StoreError> {
        let rows = self
            .rows(&format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key_id = $1"), &[&access_key_id])
            .await?;
        rows.first().map(key_row).transpose()
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<bool, StoreError> {
        let n = self
            .exec(
                &format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"),
                &[&key.key_id, &key.account_id, &key.admin, &key.created_at, &key.secret_hash],
            )
            .await?;
        Ok(n == 1)
    }

    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        let rows = self.rows(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_id = $1"), &[&key_id]).await?;
        rows.first().map(api_key_row).transpose()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.rows(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY account_id, created_at, key_id"), &[])
            .await?
            .iter()
            .map(api_key_row)
            .collect()
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool, StoreError> {
        Ok(self.exec("DELETE FROM api_keys WHERE key_id = $1", &[&key_id]).await? == 1)
    }

    async fn enable_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        let n = self
            .exec(
                &format!("INSERT INTO hubs ({HUB_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"),
                &[
                    &hub.account_id,
                    &hub.region,
                    &hub.subscribed_at,
                    &hub.auto_enable_controls,
                    &hub.control_finding_generator,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn hub(&self, account_id: &str, region: &str) -> Result<Option<Hub>, StoreError> {
        let rows = self
            .rows(
                &format!("SELECT {HUB_COLUMNS} FROM hubs WHERE account_id = $1 AND region = $2"),
                &[&account_id, &region],
            )
            .await?;
        rows.first().map(hub_row).transpose()
    }

    async fn update_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE hubs SET auto_enable_controls = $1, control_finding_generator = $2 \
                 WHERE account_id = $3 AND region = $4",
                &[&hub.auto_enable_controls, &hub.control_finding_generator, &hub.account_id, &hub.region],
            )
            .await?;
        Ok(n == 1)
    }

    async fn disable_hub(&self, account_id: &str, region: &str) -> Result<bool, StoreError> {
        Ok(self.exec("DELETE FROM hubs WHERE account_id = $1 AND region = $2", &[&account_id, &region]).await? == 1)
    }

    async fn subscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO product_subscriptions (account_id, region, product_arn) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&account_id, &region, &product_arn],
            )
            .await?;
        Ok(n == 1)
    }

    async fn unsubscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM product_subscriptions WHERE account_id = $1 AND region = $2 AND product_arn = $3",
                &[&account_id, &region, &product_arn],
            )
            .await?;
        Ok(n == 1)
    }

    async fn subscriptions(&self, account_id: &str, region: &str) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT product_arn FROM product_subscriptions WHERE account_id = $1 AND region = $2 ORDER BY product_arn",
            &[&account_id, &region],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(err))
        .collect()
    }

    async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), StoreError> {
        let (keys, values): (Vec<String>, Vec<String>) = tags.into_iter().unzip();
        self.exec(
            "INSERT INTO resource_tags (arn, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v) \
             ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
            &[&arn, &keys, &values],
        )
        .await?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        self.exec("DELETE FROM resource_tags WHERE arn = $1 AND key = ANY($2::text[])", &[&arn, &keys]).await?;
        Ok(())
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.rows("SELECT key, value FROM resource_tags WHERE arn = $1 ORDER BY key", &[&arn])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?)))
            .collect()
    }
}
