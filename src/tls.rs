//! TLS of the client listener and the private CAs of upstreams (issue 13).
//!
//! - **Listener** (`[server] tls`): rustls through Pingora's `TlsSettings`, ALPN `h2` then
//!   `http/1.1`. The certificate is not handed to Pingora as files (it would read them once, at
//!   start) but through a [`ResolvesServerCert`] backed by an `ArcSwap`: every new handshake
//!   reads the current pair, so a rotation swaps one pointer and connections already open keep
//!   the pair they started with.
//! - **Rotation** ([`ListenerCerts::spawn_watcher`]): the certificate and key files are polled
//!   like the config file ([`FileWatcher`], which follows the Kubernetes Secret `..data` symlink
//!   swap). A changed pair is loaded and checked (PEM, key matches the leaf) before it is
//!   stored; a broken one is logged and counted (`patchbay_tls_reloads_total{result="error"}`)
//!   and the old pair keeps serving. The leaf's expiry is exported as
//!   `patchbay_tls_certificate_expiry_timestamp_seconds`.
//! - **Client certificates** (`client_ca_file`): required and verified by rustls' WebPKI
//!   verifier during the handshake (an unknown issuer never reaches HTTP); the handshake
//!   callback records the leaf's common name and subject alternative names as a
//!   [`ClientIdentity`] on the connection, which routes' `clients.cert_names` are matched
//!   against ([`crate::proxy::auth`]).
//! - **Upstream CAs** (`[[upstream]] ca_file`): the bundle plus the platform roots, parsed once
//!   per config generation into the per-peer CA list Pingora's connector verifies with
//!   ([`UpstreamCa`]); SNI and host name checks stay on.
//!
//! Everything here works on files and rustls types only, so it does not depend on which
//! Pingora app (proxy phases or a custom `HttpServerApp`) serves the listener.

use crate::config::{FileWatcher, ListenerTls};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::TlsAccept;
use pingora::protocols::tls::TlsRef;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{
    CertificateDer, ClientHello, CryptoProvider, PrivateKeyDer, ResolvesServerCert, RootCertStore,
    WebPkiClientVerifier,
};
use pingora::utils::tls::WrappedX509;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the certificate and key files are looked at (as often as the config file).
pub const POLL_INTERVAL: Duration = crate::config::reload::POLL_INTERVAL;

// === PEM files ===

fn read_pem(path: &Path) -> Result<Vec<rustls_pemfile::Item>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    rustls_pemfile::read_all(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM file: {e}", path.display()))
}

/// Every certificate of a PEM file, each checked to parse as X.509 (Pingora's CA list would
/// panic on one that does not). At least one.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = read_pem(path)?
        .into_iter()
        .filter_map(|item| match item {
            rustls_pemfile::Item::X509Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(c.as_ref()) {
            return Err(format!(
                "{}: certificate {} is not valid X.509: {e}",
                path.display(),
                i + 1
            ));
        }
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    read_pem(path)?
        .into_iter()
        .find_map(|item| match item {
            rustls_pemfile::Item::Pkcs1Key(k) => Some(PrivateKeyDer::Pkcs1(k)),
            rustls_pemfile::Item::Pkcs8Key(k) => Some(PrivateKeyDer::Pkcs8(k)),
            rustls_pemfile::Item::Sec1Key(k) => Some(PrivateKeyDer::Sec1(k)),
            _ => None,
        })
        .ok_or_else(|| format!("{}: no PEM private key found", path.display()))
}

fn provider() -> Result<Arc<CryptoProvider>, String> {
    // Pingora's rustls backend uses the process-wide `ring` provider; installing it first (a
    // no-op when already installed) means there is always a default to take.
    pingora::tls::install_default_crypto_provider();
    CryptoProvider::get_default()
        .cloned()
        .ok_or_else(|| "no rustls crypto provider is installed".to_string())
}

/// A loaded listener pair and what is exported about it.
#[derive(Clone, Debug)]
pub struct Pair {
    /// What the resolver hands to rustls.
    pub key: Arc<CertifiedKey>,
    /// The leaf's `notAfter`, Unix seconds.
    pub not_after: i64,
    /// The leaf's serial number, hex (as `openssl x509 -serial` prints it).
    pub serial: String,
}

/// Loads a certificate chain and its key and checks that the key belongs to the leaf.
pub fn load_pair(cert_file: &Path, key_file: &Path) -> Result<Pair, String> {
    let certs = load_certs(cert_file)?;
    let key = load_key(key_file)?;
    let (not_after, serial) = {
        let leaf = certs.first().map(|c| c.as_ref()).unwrap_or_default();
        let (_, x) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| format!("{}: {e}", cert_file.display()))?;
        (
            x.validity().not_after.timestamp(),
            serial_hex(x.raw_serial()),
        )
    };
    let key = CertifiedKey::from_der(certs, key, provider()?.as_ref()).map_err(|e| {
        format!(
            "{} and {} do not make a usable pair: {e}",
            cert_file.display(),
            key_file.display()
        )
    })?;
    Ok(Pair {
        key: Arc::new(key),
        not_after,
        serial,
    })
}

/// A serial number as `openssl x509 -serial` prints it: hex bytes, without the leading zero
/// byte DER adds to keep a positive number positive.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    raw.get(start..)
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

// === the listener ===

/// The listener's current pair, read by every handshake.
#[derive(Debug)]
struct Resolver(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The listener's certificate files and the pair serving now.
#[derive(Debug)]
pub struct ListenerCerts {
    cert_file: PathBuf,
    key_file: PathBuf,
    resolver: Arc<Resolver>,
    serial: parking_lot::Mutex<String>,
}

impl ListenerCerts {
    /// Loads the pair (an error refuses the start) and exports its expiry.
    pub fn open(conf: &ListenerTls) -> Result<Arc<ListenerCerts>, String> {
        let pair = load_pair(&conf.cert_file, &conf.key_file)?;
        let m = crate::metrics::metrics();
        m.init_tls();
        m.set_tls_expiry(pair.not_after);
        Ok(Arc::new(ListenerCerts {
            cert_file: conf.cert_file.clone(),
            key_file: conf.key_file.clone(),
            resolver: Arc::new(Resolver(ArcSwap::new(pair.key))),
            serial: parking_lot::Mutex::new(pair.serial),
        }))
    }

    /// The serial number of the leaf serving new connections.
    pub fn serial(&self) -> String {
        self.serial.lock().clone()
    }

    /// Reads the files again: a good pair serves the next handshakes; a broken one is refused
    /// (logged, counted) and the old pair keeps serving. Returns whether the pair was replaced.
    pub fn reload(&self) -> bool {
        let m = crate::metrics::metrics();
        match load_pair(&self.cert_file, &self.key_file) {
            Ok(pair) => {
                self.resolver.0.store(pair.key);
                m.set_tls_expiry(pair.not_after);
                m.tls_reload("ok");
                log::info!(
                    "TLS certificate {} reloaded (serial {}, expires at {})",
                    self.cert_file.display(),
                    pair.serial,
                    pair.not_after
                );
                *self.serial.lock() = pair.serial;
                true
            }
            Err(e) => {
                m.tls_reload("error");
                log::error!("TLS certificate reload refused, the previous pair keeps serving: {e}");
                false
            }
        }
    }

    /// Polls both files every `interval` and reloads when either changed. The thread lives
    /// as long as the process unless `stop` is set.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        interval: Duration,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<JoinHandle<()>> {
        let certs = Arc::clone(self);
        let mut cert = FileWatcher::new(&self.cert_file);
        let mut key = FileWatcher::new(&self.key_file);
        std::thread::Builder::new()
            .name("patchbay-tls-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    // Both polled every time (no short-circuit) so that one reload covers a
                    // cert and key that changed together.
                    let (c, k) = (cert.changed(), key.changed());
                    if c || k {
                        certs.reload();
                    }
                }
            })
    }
}

/// The Pingora settings of the HTTPS listener: the rotating pair, ALPN `h2` + `http/1.1`, and
/// when `client_ca_file` is set a verifier that requires a client certificate from those CAs.
pub fn listener_settings(conf: &ListenerTls, certs: &ListenerCerts) -> Result<TlsSettings, String> {
    let mut settings = TlsSettings::with_callbacks(Box::new(IdentityCallback))
        .map_err(|e| format!("TLS settings: {e}"))?;
    settings.set_cert_resolver(certs.resolver.clone());
    settings.enable_h2();
    if let Some(ca) = &conf.client_ca_file {
        let mut roots = RootCertStore::empty();
        for c in load_certs(ca)? {
            roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()?)
            .build()
            .map_err(|e| format!("{}: {e}", ca.display()))?;
        settings.set_client_cert_verifier(verifier);
    }
    Ok(settings)
}

// === client identity ===

/// The names of a verified client certificate, kept on its connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The subject's common names.
    pub common_names: Vec<String>,
    /// Subject alternative names: DNS names, e-mail addresses, URIs, IP addresses.
    pub alt_names: Vec<String>,
}

impl ClientIdentity {
    /// The names of a DER certificate (`None` when it does not parse).
    pub fn from_der(der: &[u8]) -> Option<ClientIdentity> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let common_names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_string))
            .collect();
        let mut alt_names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                        alt_names.push((*s).to_string())
                    }
                    GeneralName::IPAddress(b) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*b) {
                            alt_names.push(std::net::IpAddr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                            alt_names.push(std::net::IpAddr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(ClientIdentity {
            common_names,
            alt_names,
        })
    }

    /// Whether one of `accepted` is this certificate's common name or one of its alternative
    /// names (exact, case-sensitive: names are configured, not typed by clients).
    pub fn matches(&self, accepted: &[String]) -> bool {
        accepted
            .iter()
            .any(|a| self.common_names.contains(a) || self.alt_names.contains(a))
    }
}

/// Records the verified client certificate's names on the connection (Pingora keeps them in
/// the TLS digest's extension, shared by every request of an h1 or h2 connection).
struct IdentityCallback;

#[async_trait]
impl TlsAccept for IdentityCallback {
    async fn handshake_complete_callback(
        &self,
        tls: &TlsRef,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        let der = tls.peer_certificate_der()?;
        let identity = ClientIdentity::from_der(der)?;
        Some(Arc::new(identity))
    }
}

/// The client certificate's names of a downstream connection, when it presented one.
pub fn client_identity(digest: Option<&pingora::protocols::Digest>) -> Option<&ClientIdentity> {
    digest?
        .ssl_digest
        .as_ref()?
        .extension
        .get::<ClientIdentity>()
}

// === upstream CAs ===

/// The roots that verify one upstream: the platform's plus its `ca_file` bundle, as Pingora's
/// per-peer CA list (which replaces the connector's roots for that peer, hence the platform
/// roots are included).
#[derive(Clone)]
pub struct UpstreamCa {
    /// The bundle file as configured (resolved), for `/config`.
    pub file: PathBuf,
    /// The roots, parsed once per config generation.
    pub roots: Arc<pingora::protocols::tls::CaType>,
    /// A digest of the roots: part of the connection-pool key, so that a pooled connection
    /// verified under an old bundle is not reused after the bundle changed.
    pub digest: u64,
}

impl std::fmt::Debug for UpstreamCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamCa")
            .field("file", &self.file)
            .field("roots", &self.roots.len())
            .finish()
    }
}

/// The platform roots, loaded once per process (an empty list in an image without any).
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut store = Vec::new();
        match pingora::tls::load_native_certs() {
            Ok(certs) => {
                for c in certs {
                    // Pingora's CA list parses each certificate and panics on a bad one.
                    if x509_parser::parse_x509_certificate(c.as_ref()).is_ok() {
                        store.push(c);
                    }
                }
            }
            Err(e) => log::warn!("cannot load the platform CA certificates: {e}"),
        }
        store
    })
}

/// Loads an upstream's `ca_file`.
pub fn upstream_ca(file: &Path) -> Result<UpstreamCa, String> {
    use std::hash::{Hash, Hasher};
    let bundle = load_certs(file)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for c in &bundle {
        c.as_ref().hash(&mut hasher);
    }
    let roots: Vec<WrappedX509> = bundle
        .iter()
        .chain(platform_roots())
        .map(|c| WrappedX509::new(c.as_ref().to_vec(), pingora::utils::tls::parse_x509))
        .collect();
    Ok(UpstreamCa {
        file: file.to_path_buf(),
        roots: Arc::from(roots.into_boxed_slice()),
        digest: hasher.finish(),
    })
}

#[cfg(test)]
mod tests;
