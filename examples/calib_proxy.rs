//! Calibration for `bench/run.sh` (row `pingora-proxy`): the smallest Pingora `ProxyHttp`
//! passthrough — the request prefix `/v1/customers/` swapped for `/api/resources/customers/`,
//! sent to the benchmark's stub, its answer streamed back unchanged. Nothing else: no
//! translation, no logging, no metrics. It is the floor of Pingora's proxy machinery (its
//! phases, its upstream pool) on this machine, printed beside patchbay and nginx.
//!
//!   calib_proxy LISTEN_PORT UPSTREAM_PORT        (one worker thread, 127.0.0.1 only)

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::configuration::ServerConf;

struct Passthrough {
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Passthrough {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _s: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }

    async fn upstream_request_filter(
        &self,
        _s: &mut Session,
        req: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        let path = req.uri.path_and_query().map_or("/", |p| p.as_str());
        if let Some(rest) = path.strip_prefix("/v1/customers/") {
            let swapped = format!("/api/resources/customers/{rest}");
            req.set_uri(swapped.parse().map_err(|_| {
                Error::explain(ErrorType::InternalError, "path does not make a URI")
            })?);
        }
        Ok(())
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "19022".into());
    let upstream = args.next().unwrap_or_else(|| "19001".into());
    let conf = ServerConf {
        threads: 1,
        pid_file: format!("/tmp/patchbay-calib-proxy-{listen}.pid"),
        upgrade_sock: format!("/tmp/patchbay-calib-proxy-{listen}.sock"),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(0),
        ..ServerConf::default()
    };
    let mut server =
        Server::new_with_opt_and_conf(None::<pingora::server::configuration::Opt>, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Passthrough {
            upstream: format!("127.0.0.1:{upstream}"),
        },
    );
    proxy.add_tcp(&format!("127.0.0.1:{listen}"));
    server.add_service(proxy);
    server.run_forever();
}
