//! `[cluster]`: validation (every rule with a negative case), the redacted view, and the
//! restart rule (static except the password).

use super::*;

/// The shared base config with its route; `[cluster]` cases append their table.
fn base() -> String {
    format!("{}{}", super::tests::BASE, super::tests::ROUTE)
}

fn dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s"), "the-secret-value\n").expect("write");
    std::fs::write(dir.path().join("redis-pw"), "redis-password-1\n").expect("write");
    dir
}

fn load_cluster(table: &str) -> Result<Snapshot, String> {
    let d = dir();
    load_str(&format!("{}\n[cluster]\n{table}", base()), d.path(), 1)
        .map(|l| l.snapshot)
        .map_err(|e| e.to_string())
}

fn errors(table: &str) -> String {
    match load_cluster(table) {
        Ok(_) => panic!("accepted: {table}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_and_url_parts() {
    let s = load_cluster("redis_url = \"redis://redis:6379\"\n").expect("valid");
    let c = s.cluster.expect("cluster");
    assert_eq!(c.fallback, ClusterFallback::Refuse);
    assert_eq!(c.timeout, std::time::Duration::from_millis(250));
    assert_eq!(c.lease, std::time::Duration::from_millis(10_000));
    assert_eq!(c.key_prefix, "patchbay");
    assert!(c.password.is_none());
    assert_eq!(
        (
            c.endpoint.tls,
            c.endpoint.host.as_str(),
            c.endpoint.port,
            c.endpoint.db
        ),
        (false, "redis", 6379, 0)
    );
    let s = load_cluster(
        "redis_url = \"rediss://app@[::1]:6380/3\"\npassword_file = \"redis-pw\"\nfallback = \"local\"\n",
    )
    .expect("valid");
    let c = s.cluster.expect("cluster");
    assert_eq!(
        (
            c.endpoint.tls,
            c.endpoint.host.as_str(),
            c.endpoint.port,
            c.endpoint.db,
            c.endpoint.username.as_deref()
        ),
        (true, "::1", 6380, 3, Some("app"))
    );
    assert_eq!(c.fallback, ClusterFallback::Local);
    assert_eq!(
        c.password.as_ref().map(Secret::expose),
        Some("redis-password-1")
    );
    assert!(load_cluster("redis_url = \"redis://h\"\n")
        .expect("valid")
        .cluster
        .is_some_and(|c| c.endpoint.port == 6379));
    // Without the table, nothing is shared.
    let d = dir();
    let plain = load_str(&base(), d.path(), 1).expect("valid").snapshot;
    assert!(plain.cluster.is_none());
}

#[test]
fn every_rule_has_its_error() {
    let cases = [
        ("fallback = \"local\"\n", "cluster.redis_url: required"),
        (
            "redis_url = \"http://redis:6379\"\n",
            "must start with redis://",
        ),
        (
            "redis_url = \"redis://:hunter2@redis:6379\"\n",
            "a password in the URL is not allowed",
        ),
        ("redis_url = \"redis://redis:99999\"\n", "is not a port"),
        (
            "redis_url = \"redis://redis/x\"\n",
            "is not a database number",
        ),
        ("redis_url = \"redis://:6379\"\n", "no host"),
        (
            "redis_url = \"redis://r\"\nfallback = \"open\"\n",
            "cluster.fallback: \"open\" is not one of refuse|local",
        ),
        (
            "redis_url = \"redis://r\"\npassword_env = \"A\"\npassword_file = \"redis-pw\"\n",
            "set only one of password_env and password_file",
        ),
        (
            "redis_url = \"redis://r\"\npassword_env = \"PATCHBAY_TEST_UNSET_REDIS_PW\"\n",
            "environment variable PATCHBAY_TEST_UNSET_REDIS_PW is not set",
        ),
        (
            "redis_url = \"redis://r\"\nca_file = \"s\"\n",
            "cluster.ca_file: only used with a rediss://",
        ),
        (
            "redis_url = \"rediss://r\"\nca_file = \"missing.pem\"\n",
            "cluster.ca_file: cannot read file",
        ),
        (
            "redis_url = \"redis://r\"\ntimeout_ms = 5\n",
            "cluster.timeout_ms: 5 is out of range",
        ),
        (
            "redis_url = \"redis://r\"\ntimeout_ms = 1000\nlease_ms = 2000\n",
            "cluster.lease_ms: 2000 must be at least three times",
        ),
        (
            "redis_url = \"redis://r\"\nkey_prefix = \"a b\"\n",
            "cluster.key_prefix",
        ),
        (
            "redis_url = \"redis://r\"\nredis = 1\n",
            "cluster.redis: unknown key",
        ),
        ("redis_url = 6379\n", "cluster.redis_url:"),
    ];
    for (table, want) in cases {
        let got = errors(table);
        assert!(got.contains(want), "{table}: want {want:?} in\n{got}");
        assert!(!got.contains("hunter2"), "a secret in the report: {got}");
    }
}

#[test]
fn all_problems_of_the_table_are_reported_at_once() {
    let got = errors("redis_url = \"tcp://x\"\nfallback = \"x\"\ntimeout_ms = 0\nextra = 1\n");
    for want in [
        "cluster.redis_url",
        "cluster.fallback",
        "cluster.timeout_ms",
        "cluster.extra",
    ] {
        assert!(got.contains(want), "{want} missing in\n{got}");
    }
}

#[test]
fn redacted_view_never_shows_the_password() {
    let s = load_cluster("redis_url = \"redis://r\"\npassword_file = \"redis-pw\"\n").expect("ok");
    let v = s.redacted_json().to_string();
    assert!(v.contains("\"redis_url\":\"redis://r\""), "{v}");
    assert!(!v.contains("redis-password-1"), "{v}");
    assert!(v.contains(REDACTED), "{v}");
}

#[test]
fn cluster_changes_need_a_restart_but_a_rotated_password_does_not() {
    let a = load_cluster("redis_url = \"redis://r\"\npassword_file = \"redis-pw\"\n").expect("ok");
    let d = dir();
    std::fs::write(d.path().join("redis-pw"), "rotated\n").expect("write");
    let rotated = load_str(
        &format!(
            "{}\n[cluster]\nredis_url = \"redis://r\"\npassword_file = \"redis-pw\"\n",
            base()
        ),
        d.path(),
        2,
    )
    .expect("ok")
    .snapshot;
    assert!(static_changes(&a, &rotated).is_empty());
    for other in [
        "redis_url = \"redis://other\"\npassword_file = \"redis-pw\"\n",
        "redis_url = \"redis://r\"\npassword_file = \"redis-pw\"\nfallback = \"local\"\n",
    ] {
        let b = load_cluster(other).expect("ok");
        assert_eq!(static_changes(&a, &b), ["cluster"], "{other}");
    }
    let d = dir();
    let none = load_str(&base(), d.path(), 2).expect("ok").snapshot;
    assert_eq!(static_changes(&a, &none), ["cluster"]);
}
