//! Calibration for `bench/run.sh` (row `pingora-serve`): Pingora's plain HTTP server
//! (`ServeHttp`) answering every request with a fixed body — the benchmark stub's 811-byte
//! Reach envelope, read from a file at start. No upstream, no proxy phases: the floor of
//! Pingora's downstream side (accept, HTTP/1 parse, body read, answer write) on this machine,
//! printed beside nginx answering the same body with `return 200`.
//!
//!   calib_serve LISTEN_PORT BODY_FILE        (one worker thread, 127.0.0.1 only)

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::ServerConf;
use pingora::server::Server;
use pingora::services::listening::Service;

struct Fixed {
    body: Vec<u8>,
}

#[async_trait]
impl ServeHttp for Fixed {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        // The request body is read (and dropped) like a proxy would have to.
        while let Ok(Some(_)) = session.read_request_body().await {}
        http::Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .header("Content-Length", self.body.len())
            .body(self.body.clone())
            .unwrap_or_default()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "19023".into());
    let body_file = args
        .next()
        .unwrap_or_else(|| "/work/shared/bench/conf/stub-body.json".into());
    let text = std::fs::read_to_string(&body_file).expect("the body file can be read");
    // One line, as the stub's nginx `return` sends it.
    let body = text.trim_end_matches('\n').replace('\n', "").into_bytes();
    let conf = ServerConf {
        threads: 1,
        pid_file: format!("/tmp/patchbay-calib-serve-{listen}.pid"),
        upgrade_sock: format!("/tmp/patchbay-calib-serve-{listen}.sock"),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(0),
        ..ServerConf::default()
    };
    let mut server =
        Server::new_with_opt_and_conf(None::<pingora::server::configuration::Opt>, conf);
    server.bootstrap();
    let mut service = Service::new("calib-serve".to_string(), Fixed { body });
    service.add_tcp(&format!("127.0.0.1:{listen}"));
    server.add_service(service);
    server.run_forever();
}
