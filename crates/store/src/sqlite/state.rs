//! [`HubStateStore`] on SQLite.

use super::{SqliteStore, sql_err};
use crate::StoreError;
use crate::state::{AccessKey, ApiKey, CustomProduct, Hub, HubStateStore, SealedKey};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

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

#[async_trait]
impl HubStateStore for SqliteStore {
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
        let id = key_id.to_owned();
        self.read(move |conn| {
            conn.query_row(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?"), [id], api_key_row)
                .optional()
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
        let id = access_key_id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT access_key_id, account_id, admin, created_at, sealed_secret FROM access_keys WHERE access_key_id = ?",
                [id],
                key_row,
            )
            .optional()
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
        let (account, region) = (account_id.to_owned(), region.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT account_id, region, subscribed_at, auto_enable_controls, control_finding_generator FROM hubs \
                 WHERE account_id = ? AND region = ?",
                [account, region],
                hub_row,
            )
            .optional()
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
        let args = [account_id.to_owned(), region.to_owned()];
        self.read(move |conn| {
            let mut stmt = conn
                .prepare("SELECT product_arn FROM product_subscriptions WHERE account_id = ? AND region = ? ORDER BY product_arn")
                .map_err(sql_err)?;
            let rows = stmt.query_map(args, |r| r.get(0)).map_err(sql_err)?;
            rows.map(|r| r.map_err(sql_err)).collect()
        })
        .await
    }

    async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), StoreError> {
        let arn = arn.to_owned();
        self.write(move |conn, _| {
            let tx = conn.transaction().map_err(sql_err)?;
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
            let tx = conn.transaction().map_err(sql_err)?;
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
