//! The admin listener: metrics, probes, effective config and reload (SPEC §5, §7).
//!
//! It is a Pingora [`ServeHttp`] app, so it runs as one more service of the same `Server`
//! ([`admin_service`]) and shares its graceful shutdown and upgrade. Routing is a small pure
//! function ([`AdminApp::handle`]) so it is tested without sockets.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/metrics` | Prometheus text |
//! | GET | `/healthz` | 200 `ok` (the process is alive) |
//! | GET | `/readyz` | 200 JSON with the generation (a snapshot is loaded) and, with `[cluster]`, the Redis state |
//! | GET | `/config` | the effective configuration, secrets redacted |
//! | POST | `/reload` | 200 / 422 (invalid file) / 409 (restart required), JSON |
//! | GET | `/openapi.json` | the document registered with [`set_openapi`], else 404 |

use crate::config::Store;
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::services::listening::Service;
use serde_json::json;
use std::sync::{Arc, OnceLock};

static OPENAPI: OnceLock<&'static str> = OnceLock::new();

/// Registers the OpenAPI document served at `GET /openapi.json` (first call wins).
pub fn set_openapi(doc: &'static str) {
    let _ = OPENAPI.set(doc);
}

/// The admin application.
pub struct AdminApp {
    store: Arc<Store>,
}

/// A routed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra headers (`Allow` on 405).
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Vec<u8>,
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

impl AdminResponse {
    fn json(status: u16, v: serde_json::Value) -> Self {
        let mut body = serde_json::to_vec_pretty(&v).unwrap_or_default();
        body.push(b'\n');
        AdminResponse {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
        }
    }

    fn text(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        AdminResponse {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

impl AdminApp {
    /// An admin app reading and reloading `store`.
    pub fn new(store: Arc<Store>) -> Self {
        AdminApp { store }
    }

    /// Routes one request. `path` excludes the query string.
    pub async fn handle(&self, method: &str, path: &str) -> AdminResponse {
        let allowed = match path {
            "/metrics" | "/healthz" | "/readyz" | "/config" | "/openapi.json" => "GET, HEAD",
            "/reload" => "POST",
            _ => return AdminResponse::text(404, TEXT, "not found\n"),
        };
        let get = method == "GET" || method == "HEAD";
        match (path, get, method == "POST") {
            ("/metrics", true, _) => {
                AdminResponse::text(200, crate::metrics::CONTENT_TYPE, crate::metrics::render())
            }
            ("/healthz", true, _) => AdminResponse::text(200, TEXT, "ok\n"),
            ("/readyz", true, _) => {
                // The store cannot exist without a snapshot, so reaching here means ready. The
                // cluster's Redis is detail, never a reason to be unready: stateless requests
                // keep flowing without it, and an unready fleet would stop those too.
                let s = self.store.current();
                let mut body = json!({ "ready": true, "generation": s.generation });
                if let Some(c) = crate::cluster::installed() {
                    body["cluster"] = c.status_json();
                }
                AdminResponse::json(200, body)
            }
            ("/config", true, _) => AdminResponse::json(200, self.store.current().redacted_json()),
            ("/openapi.json", true, _) => match OPENAPI.get() {
                Some(doc) => AdminResponse::text(200, JSON, doc.as_bytes().to_vec()),
                None => AdminResponse::text(404, TEXT, "not found\n"),
            },
            ("/reload", _, true) => {
                let store = self.store.clone();
                // Reload reads files and may take a moment: keep it off the async workers.
                match tokio::task::spawn_blocking(move || store.reload()).await {
                    Ok(outcome) => AdminResponse::json(outcome.http_status(), outcome.to_json()),
                    Err(e) => {
                        log::error!("admin reload task failed: {e}");
                        AdminResponse::json(
                            500,
                            json!({ "result": "error", "errors": ["reload task failed"] }),
                        )
                    }
                }
            }
            _ => {
                let mut r = AdminResponse::text(405, TEXT, "method not allowed\n");
                r.headers.push(("Allow", allowed.to_string()));
                r
            }
        }
    }
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let method = session.req_header().method.as_str().to_string();
        let path = session.req_header().uri.path().to_string();
        // Nothing here reads a body; drain it so the connection can be reused.
        if let Err(e) = session.drain_request_body().await {
            log::debug!("admin: could not drain request body: {e}");
        }
        let r = self.handle(&method, &path).await;
        let body = if method == "HEAD" { Vec::new() } else { r.body };
        let mut b = Response::builder()
            .status(r.status)
            .header("Content-Type", r.content_type)
            .header("Content-Length", body.len().to_string())
            .header("Cache-Control", "no-store");
        for (k, v) in &r.headers {
            b = b.header(*k, v.as_str());
        }
        b.body(body).unwrap_or_else(|e| {
            log::error!("admin: building response failed: {e}");
            let mut fallback = Response::new(Vec::new());
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}

/// The admin listener as a Pingora service for `Server::add_service`, listening on `addr`
/// (`server.admin`).
pub fn admin_service(store: Arc<Store>, addr: &str) -> Service<AdminApp> {
    let mut svc = Service::new("patchbay admin".to_string(), AdminApp::new(store));
    svc.add_tcp(addr);
    svc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Store;

    fn store_with(dir: &std::path::Path, listen: &str) -> Arc<Store> {
        let path = dir.join("gateway.toml");
        std::fs::write(dir.join("s"), "topsecret-value\n").expect("write");
        let text = crate::config::tests::reach_config(listen, "");
        std::fs::write(&path, text).expect("write");
        let (store, _) = Store::open(&path).expect("valid config");
        Arc::new(store)
    }

    /// An admin app over a fresh store, and the directory that must outlive it.
    fn app() -> (tempfile::TempDir, AdminApp) {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = AdminApp::new(store_with(dir.path(), "127.0.0.1:18080"));
        (dir, app)
    }

    fn body(r: &AdminResponse) -> String {
        String::from_utf8(r.body.clone()).expect("utf8")
    }

    /// Runs an async test body on a small runtime while holding the log-level test lock
    /// (opening a store applies `server.log_level` globally).
    fn run<F: std::future::Future<Output = ()>>(f: F) {
        let _g = crate::logging::TEST_LEVEL_LOCK.lock();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f);
    }

    #[test]
    fn probes_metrics_and_config() {
        run(async {
            let (_dir, app) = app();
            let h = app.handle("GET", "/healthz").await;
            assert_eq!((h.status, body(&h).as_str()), (200, "ok\n"));
            let r = app.handle("GET", "/readyz").await;
            assert_eq!(r.status, 200);
            assert!(body(&r).contains("\"generation\": 1"));
            let m = app.handle("GET", "/metrics").await;
            assert_eq!(m.status, 200);
            assert_eq!(m.content_type, crate::metrics::CONTENT_TYPE);
            assert!(body(&m).contains("patchbay_config_generation"));
            let c = app.handle("GET", "/config").await;
            let text = body(&c);
            assert!(!text.contains("topsecret"), "secret leaked: {text}");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["generation"], 1);
            assert_eq!(v["upstreams"][0]["auth"]["secret"], "<redacted>");
        });
    }

    #[test]
    fn unknown_paths_and_methods() {
        run(async {
            let (_dir, app) = app();
            assert_eq!(app.handle("GET", "/nope").await.status, 404);
            let r = app.handle("POST", "/metrics").await;
            assert_eq!(r.status, 405);
            assert_eq!(r.headers, vec![("Allow", "GET, HEAD".to_string())]);
            assert_eq!(app.handle("GET", "/reload").await.status, 405);
        });
    }

    #[test]
    fn reload_answers_with_generation_or_errors() {
        run(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = store_with(dir.path(), "127.0.0.1:18080");
            let app = AdminApp::new(store.clone());
            let ok = app.handle("POST", "/reload").await;
            assert_eq!(ok.status, 200, "{}", body(&ok));
            assert!(body(&ok).contains("\"generation\": 2"));

            let path = dir.path().join("gateway.toml");
            let moved = crate::config::tests::reach_config("127.0.0.1:18081", "");
            std::fs::write(&path, moved).expect("write");
            let moved = app.handle("POST", "/reload").await;
            assert_eq!(moved.status, 409);
            assert!(body(&moved).contains("server.listen"));

            std::fs::write(&path, "[server]\nlisten = 5\n").expect("write");
            let bad = app.handle("POST", "/reload").await;
            assert_eq!(bad.status, 422);
            assert!(body(&bad).contains("server.listen"), "{}", body(&bad));
            assert_eq!(store.generation(), 2);
        });
    }
}
