//! [`HubStateStore`] on PostgreSQL: each call one statement (or one transaction), so that every
//! instance sees the others' keys, hubs, subscriptions and tags at once.

use super::{PostgresStore, pg_err};
use crate::StoreError;
use crate::state::{AccessKey, ApiKey, CustomProduct, Hub, HubStateStore, SealedKey};
use async_trait::async_trait;
use std::collections::BTreeMap;
use tokio_postgres::Row;
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

#[async_trait]
impl HubStateStore for PostgresStore {
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
