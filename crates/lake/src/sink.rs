//! Where the files go: any `object_store` store under a root prefix, a local directory
//! (`LocalFileSystem`) or an S3-compatible server (`AmazonS3`).
//!
//! A file becomes visible whole or not at all: `LocalFileSystem` writes a staging file
//! (`<name>#<n>`) and renames it into place (with fsync, so that a returned put is durable); an
//! S3 PUT is atomic. A staging file left by a crash does not end in `.parquet`, so readers that
//! glob `*.parquet` never see it, and `object_store` lists never return it.

use crate::LakeError;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::future::Future;
use std::sync::Arc;

/// What the lake writer needs of a store. Paths are relative to the lake's root, `/`-separated.
pub trait LakeSink: Send + Sync {
    /// Writes a whole object, visible at once.
    fn put(&self, path: &str, bytes: Bytes) -> impl Future<Output = Result<(), LakeError>> + Send;
    /// Every object under `prefix`, as paths relative to the root.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, LakeError>> + Send;
    fn delete(&self, path: &str) -> impl Future<Output = Result<(), LakeError>> + Send;
}

/// An S3-compatible object store.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// A key prefix inside the bucket (may be empty).
    pub prefix: String,
    /// `http://127.0.0.1:9000` for MinIO, moto and the like; `None` for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
}

/// A `LakeSink` over an `object_store` store.
#[derive(Debug, Clone)]
pub struct ObjectStoreSink {
    store: Arc<dyn ObjectStore>,
    root: String,
}

impl ObjectStoreSink {
    pub fn new(store: Arc<dyn ObjectStore>, root: &str) -> ObjectStoreSink {
        ObjectStoreSink { store, root: root.trim_matches('/').to_owned() }
    }

    /// A lake in a local directory, created if absent.
    pub fn local(dir: &std::path::Path) -> Result<ObjectStoreSink, LakeError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| LakeError::BadLocation { location: dir.display().to_string(), reason: e.to_string() })?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(ObjectStoreSink::new(Arc::new(store), ""))
    }

    /// A lake in an S3 bucket.
    pub fn s3(settings: &S3Settings) -> Result<ObjectStoreSink, LakeError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(ObjectStoreSink::new(Arc::new(builder.build()?), &settings.prefix))
    }

    /// The lake at `location`: a directory, or `s3://BUCKET[/PREFIX]` on AWS or at `endpoint` (an
    /// S3-compatible server; plain HTTP when it says `http://`), in `region` (else `AWS_REGION`,
    /// else us-east-1), with the credentials of `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub fn at(location: &str, endpoint: Option<&str>, region: Option<&str>) -> Result<ObjectStoreSink, LakeError> {
        let Some(rest) = location.strip_prefix("s3://") else {
            if location.is_empty() {
                return Err(LakeError::BadLocation { location: String::new(), reason: "it is empty".into() });
            }
            return ObjectStoreSink::local(std::path::Path::new(location));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LakeError::BadLocation {
                location: location.to_owned(),
                reason: "s3://BUCKET[/PREFIX] names no bucket".into(),
            });
        }
        let settings = S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: endpoint.map(str::to_owned),
            region: region
                .map(str::to_owned)
                .or_else(|| std::env::var("AWS_REGION").ok())
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID").ok(),
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
            allow_http: endpoint.is_some_and(|e| e.starts_with("http://")),
        };
        ObjectStoreSink::s3(&settings)
    }

    /// The store under the sink, for readers.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn full(&self, path: &str) -> Path {
        if self.root.is_empty() { Path::from(path) } else { Path::from(format!("{}/{path}", self.root)) }
    }
}

impl LakeSink for ObjectStoreSink {
    async fn put(&self, path: &str, bytes: Bytes) -> Result<(), LakeError> {
        self.store.put(&self.full(path), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, LakeError> {
        let full = self.full(prefix);
        let objects: Vec<_> = self.store.list(Some(&full)).try_collect().await?;
        let root = if self.root.is_empty() { String::new() } else { format!("{}/", self.root) };
        Ok(objects
            .into_iter()
            .map(|o| o.location.to_string())
            .map(|p| p.strip_prefix(&root).map(str::to_owned).unwrap_or(p))
            .collect())
    }

    async fn delete(&self, path: &str) -> Result<(), LakeError> {
        self.store.delete(&self.full(path)).await?;
        Ok(())
    }
}
