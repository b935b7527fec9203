//! Certificates for the tests, made by the `openssl` command in a test's directory: a CA, leaves
//! it signs (server and client use), an already expired leaf, and a self-signed pair.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `openssl` with `args` in `dir`; its output is shown only when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the openssl command (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed EC P-256 `name.crt` / `name.key` in `dir` for `cn`, valid `days`, with the
/// further `req` arguments `extra` (extensions, serial): the CA and the plain self-signed pair
/// differ only in those.
fn self_signed_ec(dir: &Path, name: &str, cn: &str, days: &str, extra: &[&str]) {
    let (subj, key, crt) = (
        format!("/CN={cn}"),
        format!("{name}.key"),
        format!("{name}.crt"),
    );
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        days,
        "-subj",
        &subj,
        "-keyout",
        &key,
        "-out",
        &crt,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
}

/// A CA `name.crt` / `name.key` in `dir`.
pub fn ca(dir: &Path, name: &str) -> PathBuf {
    self_signed_ec(
        dir,
        name,
        name,
        "30",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(format!("{name}.crt"))
}

/// A leaf `name.crt` / `name.key` in `dir` signed by CA `ca`, for server and client use.
pub fn leaf(
    dir: &Path,
    ca: &str,
    name: &str,
    cn: &str,
    serial: u32,
    days: u32,
) -> (PathBuf, PathBuf) {
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("ext file");
    csr(dir, name, cn);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &format!("0x{serial:X}"),
            "-days",
            &days.to_string(),
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// A server leaf `name.crt` / `name.key` signed by `ca` that expired in 2020 (`openssl ca`, the
/// one OpenSSL 3.0 command that sets explicit validity dates).
pub fn expired_leaf(dir: &Path, ca: &str, name: &str) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n[ext]\nbasicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ca.cnf");
    std::fs::write(dir.join("index.txt"), "").expect("index");
    std::fs::write(dir.join("serial"), "7001\n").expect("serial");
    csr(dir, name, "localhost");
    openssl(
        dir,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-batch",
            "-notext",
            "-cert",
            &format!("{ca}.crt"),
            "-keyfile",
            &format!("{ca}.key"),
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.crt"),
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-extensions",
            "ext",
        ],
    );
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// A new EC P-256 key `name.key` and a request `name.csr` for it with common name `cn`.
fn csr(dir: &Path, name: &str, cn: &str) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
}

/// A self-signed `name.crt` / `name.key` in `dir` (EC P-256, serial `BEEF`) for `cn`, with `san`
/// as subjectAltName.
pub fn self_signed(dir: &Path, name: &str, cn: &str, san: &str) {
    let san = format!("subjectAltName={san}");
    self_signed_ec(
        dir,
        name,
        cn,
        "3",
        &["-set_serial", "0xBEEF", "-addext", &san],
    );
}
