//! Pingora's graceful upgrade (`patchbay serve -u`): a new process takes over the listening
//! sockets of a running one without refusing a single connection. This is how listener changes
//! (which hot reload refuses as `restart_required`) and binary upgrades are rolled out on a host.

use crate::support::{try_request, Gateway};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills the new process when the test ends, whatever happens.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn upgrade_hands_over_the_listeners_without_refusing_connections() {
    let mut old = Gateway::start();
    let port = old.port;
    let admin = old.admin;

    // Clients keep opening new connections through the whole hand-over.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let client = {
        let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match try_request(
                    port,
                    "GET",
                    "/t/crunch/crunch/v1/customers/12345",
                    &[],
                    None,
                ) {
                    Ok(r) if r.status == 200 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => failed.lock().expect("lock").push(format!(
                        "status {}: {}",
                        r.status,
                        r.text()
                    )),
                    Err(e) => failed.lock().expect("lock").push(e.to_string()),
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));

    // The new process waits on the upgrade socket for the old one's listeners.
    let new = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["serve", "-u", "-c"])
        .arg(&old.config)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(old.dir.join("new-stdout.log")).expect("log"))
        .stderr(std::fs::File::create(old.dir.join("new-stderr.log")).expect("log"))
        .spawn()
        .expect("spawn the new process");
    let mut new = Kill(new);
    std::thread::sleep(Duration::from_millis(800));
    let quit = Command::new("kill")
        .args(["-QUIT", &old.pid().to_string()])
        .status()
        .expect("kill -QUIT");
    assert!(quit.success());

    // The old process hands its sockets over, drains and exits; the new one serves.
    let exited = old.wait_exit(Duration::from_secs(40));
    assert!(
        exited.is_some(),
        "the old process did not exit after SIGQUIT"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let served_after = ok.load(Ordering::Relaxed);
    while ok.load(Ordering::Relaxed) < served_after + 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    client.join().expect("client thread");

    assert!(
        matches!(new.0.try_wait(), Ok(None)),
        "the new process is running"
    );
    let ready = try_request(admin, "GET", "/readyz", &[], None).expect("admin after upgrade");
    assert_eq!(ready.status, 200, "the admin listener moved too");
    let failures = failed.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the upgrade: {:?}",
        failures.len(),
        failures.len() + ok.load(Ordering::Relaxed),
        &failures[..failures.len().min(5)]
    );
    assert!(
        ok.load(Ordering::Relaxed) >= served_after + 50,
        "the new process answered requests after the old one exited"
    );
}
