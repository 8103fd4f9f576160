//! A webhook receiver for the tests that deliver events: it answers with the status the test
//! sets (200 unless told otherwise) and records what it accepted.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Receiver {
    /// (event id, the first finding's Id, its UpdatedAt, signed) of each accepted event.
    got: Mutex<Vec<(String, String, String, bool)>>,
    /// The accepted events as they came.
    envelopes: Mutex<Vec<Value>>,
    /// The status of the next answers.
    pub status: AtomicU16,
}

impl Receiver {
    pub fn events(&self) -> Vec<(String, String, String, bool)> {
        self.got.lock().expect("lock").clone()
    }

    pub fn envelopes(&self) -> Vec<Value> {
        self.envelopes.lock().expect("lock").clone()
    }
}

/// Starts the receiver on a free port (its own thread and runtime); its URL. Each request waits
/// `delay` before it is answered.
pub fn start_receiver(receiver: Arc<Receiver>, delay: Duration) -> String {
    receiver.status.store(200, Ordering::SeqCst);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = receiver.clone();
            async move {
                tokio::time::sleep(delay).await;
                let status = r.status.load(Ordering::SeqCst);
                if status == 200 {
                    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let finding = &event["detail"]["findings"][0];
                    let signed = headers.contains_key("x-findinghub-signature");
                    r.got.lock().expect("lock").push((
                        event["id"].as_str().unwrap_or_default().to_owned(),
                        finding["Id"].as_str().unwrap_or_default().to_owned(),
                        finding["UpdatedAt"].as_str().unwrap_or_default().to_owned(),
                        signed,
                    ));
                    r.envelopes.lock().expect("lock").push(event);
                }
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
            }
        }),
    );
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    format!("http://{addr}/hook")
}
