//! For tests: a fresh schema per test on a real PostgreSQL, dropped when the test ends, so that
//! tests run in parallel without seeing each other.
//!
//! The server is `FINDINGHUB_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When the variable is set (as CI sets it), an unreachable server fails the test; when it is not
//! set and the default server does not answer, the PostgreSQL tests say so on standard error and
//! pass without running, so that the test command passes on a machine without PostgreSQL.

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::NoTls;

/// The variable that points the tests at a server.
pub const URL_VARIABLE: &str = "FINDINGHUB_TEST_POSTGRES";
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema that lives as long as the value.
pub struct TestSchema {
    base: String,
    name: String,
}

impl TestSchema {
    /// Creates a fresh schema, or returns `None` (after saying so once per process) when no
    /// server is configured and the default one does not answer. `suite` names the tests that
    /// are then not run.
    pub async fn create(suite: &str) -> Option<TestSchema> {
        let configured = std::env::var(URL_VARIABLE).ok().filter(|v| !v.trim().is_empty());
        let base = configured.clone().unwrap_or_else(|| DEFAULT_URL.to_owned());
        let client = match tokio::time::timeout(Duration::from_secs(10), connect(&base)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) if configured.is_none() => return skipped(suite, &base, &e),
            Err(_) if configured.is_none() => return skipped(suite, &base, &"no answer within 10 s"),
            Ok(Err(e)) => panic!("{URL_VARIABLE}={base}: PostgreSQL is not reachable: {e}"),
            Err(_) => panic!("{URL_VARIABLE}={base}: PostgreSQL did not answer within 10 s"),
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let name = format!(
            "fh_test_{}_{}_{}",
            std::process::id(),
            nanos % 1_000_000_000_000,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        if let Err(e) = client.batch_execute(&format!("CREATE SCHEMA {name}")).await {
            panic!("creating the test schema {name}: {e:?}");
        }
        Some(TestSchema { base, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL with the schema as the only entry of `search_path`.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn skipped(suite: &str, url: &str, why: &dyn std::fmt::Display) -> Option<TestSchema> {
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Written past the test harness's capture, so that it shows in the test command's output.
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN: {suite}: no PostgreSQL at {url} ({why}); set {URL_VARIABLE} to run these tests \
             (an unreachable server is then a failure)"
        );
    });
    None
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // A runtime of its own on a thread of its own: drop may run inside or outside a runtime.
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(client) = connect(&base).await {
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await;
                }
            });
        });
        let _ = dropped.join();
    }
}
