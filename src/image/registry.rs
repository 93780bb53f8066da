//! Registry pull and push through oci-client: anonymous, basic or bearer auth (credentials
//! from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), plain HTTP for loopback
//! registries or when TLS verification is off, index → platform resolution, retries on
//! transient errors, and every blob verified against its digest before it becomes visible.

use std::io::{Read, Write};
use std::str::FromStr;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use oci_spec::image::{Arch, Descriptor, Digest, ImageIndex, ImageManifest, MediaType, Os};

use crate::store::digest::of_bytes;
use crate::store::platform;
use crate::store::reference::Reference;
use crate::store::{ResolvedImage, Store, StoreError};

pub mod artifact;

const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Talk plain HTTP (and skip TLS verification); always on for loopback registries.
    pub insecure: bool,
    /// `os/arch` to pick from a multi-arch index (default: linux/host arch).
    pub platform: Option<String>,
    /// Attempts per request on transient errors.
    pub attempts: u32,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure: false,
            platform: None,
            attempts: 3,
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RegistryError {
    #[error("invalid image reference {0:?}")]
    Reference(String),
    #[error("{reference}: {source}")]
    Client {
        reference: String,
        #[source]
        source: OciDistributionError,
    },
    #[error("{reference}: {message}")]
    Invalid { reference: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{reference}: reading blob {digest}: {source}")]
    Io {
        reference: String,
        digest: String,
        #[source]
        source: std::io::Error,
    },
}

fn is_loopback(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    host == "localhost" || host == "127.0.0.1" || host == "[::1]"
}

/// Every HTTP client here (registries, `ADD <url>`) uses rustls with ring; install it once.
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client(registry: &str, opts: &RegistryOptions) -> Client {
    ensure_tls_provider();
    let protocol = if opts.insecure || is_loopback(registry) {
        ClientProtocol::HttpsExcept(vec![registry.to_string()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        accept_invalid_certificates: opts.insecure,
        platform_resolver: None,
        ..Default::default()
    })
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Credentials for `registry` from the docker CLI config, else anonymous.
pub fn auth_for(registry: &str) -> RegistryAuth {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| dirs_next::home_dir().map(|h| h.join(".docker")));
    match dir {
        Some(dir) => auth_from(&dir, registry),
        None => RegistryAuth::Anonymous,
    }
}

/// Credentials for `registry` from `DIR/config.json` (docker CLI format), else anonymous.
pub fn auth_from(dir: &std::path::Path, registry: &str) -> RegistryAuth {
    let Ok(cfg) = std::fs::read(dir.join("config.json")) else {
        return RegistryAuth::Anonymous;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&cfg) else {
        return RegistryAuth::Anonymous;
    };
    let keys: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            registry.into(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    for key in keys {
        let Some(entry) = json.pointer(&format!(
            "/auths/{}",
            key.replace('~', "~0").replace('/', "~1")
        )) else {
            continue;
        };
        if let Some(token) = entry.get("registrytoken").and_then(|t| t.as_str()) {
            return RegistryAuth::Bearer(token.to_string());
        }
        if let Some(decoded) = entry
            .get("auth")
            .and_then(|a| a.as_str())
            .and_then(base64_decode)
            && let Some((user, pass)) = String::from_utf8_lossy(&decoded).split_once(':')
        {
            return RegistryAuth::Basic(user.to_string(), pass.to_string());
        }
    }
    RegistryAuth::Anonymous
}

struct Session {
    client: Client,
    reference: oci_client::Reference,
    name: String,
    auth: RegistryAuth,
    opts: RegistryOptions,
}

fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(_) | OciDistributionError::IoError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        _ => false,
    }
}

impl Session {
    fn new(reference: &str, opts: &RegistryOptions) -> Result<Session, RegistryError> {
        let parsed =
            Reference::parse(reference).map_err(|_| RegistryError::Reference(reference.into()))?;
        let canonical = parsed.canonical();
        let oci_ref = oci_client::Reference::from_str(&canonical)
            .map_err(|_| RegistryError::Reference(reference.into()))?;
        Ok(Session {
            client: client(&parsed.registry, opts),
            auth: auth_for(&parsed.registry),
            reference: oci_ref,
            name: canonical,
            opts: opts.clone(),
        })
    }

    fn err(&self, source: OciDistributionError) -> RegistryError {
        RegistryError::Client {
            reference: self.name.clone(),
            source,
        }
    }

    fn invalid(&self, message: impl Into<String>) -> RegistryError {
        RegistryError::Invalid {
            reference: self.name.clone(),
            message: message.into(),
        }
    }

    async fn backoff(&self, attempt: u32) {
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
    }

    /// The manifest bytes at `reference`, verified against the digest the registry reports.
    async fn manifest(
        &self,
        reference: &oci_client::Reference,
    ) -> Result<(Vec<u8>, Digest), RegistryError> {
        let mut attempt = 0;
        loop {
            match self
                .client
                .pull_manifest_raw(reference, &self.auth, MANIFEST_TYPES)
                .await
            {
                Ok((bytes, digest)) => {
                    let actual = of_bytes(&bytes);
                    let claimed = reference.digest().map(str::to_string).unwrap_or(digest);
                    if !claimed.is_empty() && actual.to_string() != claimed {
                        return Err(self
                            .invalid(format!("manifest hashes to {actual}, expected {claimed}")));
                    }
                    return Ok((bytes.to_vec(), actual));
                }
                Err(e) if is_transient(&e) && attempt + 1 < self.opts.attempts => {
                    attempt += 1;
                    self.backoff(attempt).await;
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    async fn fetch_blob(&self, store: &Store, desc: &Descriptor) -> Result<(), RegistryError> {
        if store.has_blob(desc.digest()) {
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            match self.try_fetch_blob(store, desc).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt + 1 < self.opts.attempts && retryable(&e) => {
                    attempt += 1;
                    self.backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_fetch_blob(&self, store: &Store, desc: &Descriptor) -> Result<(), RegistryError> {
        use futures::StreamExt;
        let digest = desc.digest().to_string();
        let mut stream = self
            .client
            .pull_blob_stream(&self.reference, digest.as_str())
            .await
            .map_err(|e| self.err(e))?;
        let mut w = store.blob_writer()?;
        let io = |source| RegistryError::Io {
            reference: self.name.clone(),
            digest: digest.clone(),
            source,
        };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io)?;
            if w.count() + chunk.len() as u64 > desc.size() {
                return Err(self.invalid(format!(
                    "blob {digest} is larger than the {} bytes its descriptor says",
                    desc.size()
                )));
            }
            w.write_all(&chunk).map_err(io)?;
        }
        w.commit(Some((desc.digest(), Some(desc.size()))))?;
        Ok(())
    }

    /// Uploads the store's blob `desc` unless the registry has it (HEAD first); true when sent.
    async fn push_blob(&self, store: &Store, desc: &Descriptor) -> Result<bool, RegistryError> {
        use futures::StreamExt;
        let digest = desc.digest().to_string();
        let mut attempt = 0;
        loop {
            let exists = self
                .client
                .blob_exists(&self.reference, &digest)
                .await
                .unwrap_or(false);
            if exists {
                return Ok(false);
            }
            let file = store.open_blob(desc.digest())?;
            let stream = file_stream(file).map(|r| r.map(Into::into));
            match self
                .client
                .push_blob_stream(&self.reference, stream, &digest, Some(desc.size()))
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) if is_transient(&e) && attempt + 1 < self.opts.attempts => {
                    attempt += 1;
                    self.backoff(attempt).await;
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    fn platform(&self) -> (Os, Arch) {
        self.opts
            .platform
            .as_deref()
            .and_then(platform::parse)
            .unwrap_or((Os::Linux, platform::host_arch()))
    }
}

fn retryable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Client { source, .. } => is_transient(source),
        RegistryError::Io { .. } => true,
        _ => false,
    }
}

/// Pulls `reference` into the store (verifying every blob) and tags it under its canonical name.
pub async fn pull(
    store: &Store,
    reference: &str,
    opts: &RegistryOptions,
) -> Result<ResolvedImage, RegistryError> {
    let mut s = Session::new(reference, opts)?;
    let (mut bytes, mut digest) = s.manifest(&s.reference.clone()).await?;
    let probe: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| s.invalid(format!("manifest: {e}")))?;
    if probe.get("manifests").is_some() {
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| s.invalid(format!("index: {e}")))?;
        let (os, arch) = s.platform();
        let chosen = index
            .manifests()
            .iter()
            .find(|m| {
                m.platform()
                    .as_ref()
                    .is_some_and(|p| p.os() == &os && p.architecture() == &arch)
            })
            .ok_or_else(|| s.invalid(format!("no image for {os}/{arch} in the index")))?;
        let by_digest = oci_client::Reference::with_digest(
            s.reference.registry().to_string(),
            s.reference.repository().to_string(),
            chosen.digest().to_string(),
        );
        (bytes, digest) = s.manifest(&by_digest).await?;
        s.reference = by_digest;
    }
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| s.invalid(format!("manifest: {e}")))?;
    for desc in std::iter::once(manifest.config()).chain(manifest.layers()) {
        s.fetch_blob(store, desc).await?;
    }
    let manifest_desc = store.put_blob(MediaType::ImageManifest, &bytes)?;
    debug_assert_eq!(manifest_desc.digest(), &digest);
    let resolved = store.load_image(&manifest_desc)?;
    store.set_tag(&s.name, &resolved.descriptor)?;
    Ok(resolved)
}

fn file_stream(
    file: std::fs::File,
) -> impl futures::Stream<Item = Result<Vec<u8>, OciDistributionError>> + Send + 'static {
    futures::stream::unfold(Some(file), |state| async move {
        let mut f = state?;
        let mut buf = vec![0u8; 8 << 20];
        let mut filled = 0;
        while filled < buf.len() {
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Some((Err(OciDistributionError::IoError(e)), None)),
            }
        }
        if filled == 0 {
            return None;
        }
        buf.truncate(filled);
        Some((Ok(buf), Some(f)))
    })
}

/// Pushes `image` (config, layers, manifest) to `reference`; returns the manifest digest.
pub async fn push(
    store: &Store,
    image: &ResolvedImage,
    reference: &str,
    opts: &RegistryOptions,
) -> Result<Digest, RegistryError> {
    let s = Session::new(reference, opts)?;
    s.client
        .auth(&s.reference, &s.auth, RegistryOperation::Push)
        .await
        .map_err(|e| s.err(e))?;
    for desc in std::iter::once(image.manifest.config()).chain(image.manifest.layers()) {
        s.push_blob(store, desc).await?;
    }
    let bytes = store.read_blob(image.digest())?;
    let content_type = image
        .manifest
        .media_type()
        .as_ref()
        .map_or_else(|| MediaType::ImageManifest.to_string(), |m| m.to_string());
    let header = http_header(&content_type).ok_or_else(|| s.invalid("bad manifest media type"))?;
    s.client
        .push_manifest_raw(&s.reference, bytes, header)
        .await
        .map_err(|e| s.err(e))?;
    Ok(image.digest().clone())
}

fn http_header<T: TryFrom<String>>(s: &str) -> Option<T> {
    T::try_from(s.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(auth: RegistryAuth) -> String {
        match auth {
            RegistryAuth::Anonymous => "anonymous".into(),
            RegistryAuth::Basic(u, p) => format!("basic {u}:{p}"),
            RegistryAuth::Bearer(t) => format!("bearer {t}"),
        }
    }

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
                "127.0.0.1:5000":{"registrytoken":"tok"}}}"#,
        )
        .expect("write config");
        assert_eq!(creds(auth_from(dir.path(), "docker.io")), "basic user:pass");
        assert_eq!(creds(auth_from(dir.path(), "127.0.0.1:5000")), "bearer tok");
        assert_eq!(creds(auth_from(dir.path(), "quay.io")), "anonymous");
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(
            base64_decode("dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert!(base64_decode("!!").is_none());
    }
}
