//! `[tls]`: the server's certificate, by rustls (ring, the one provider of the binary),
//! reloaded while serving. A new certificate or key is taken when its files change and
//! parse; a broken or half-written pair keeps the one in use (axum-server's reload keeps
//! the old configuration on error), and the log says so.

use std::time::{Duration, SystemTime};

use agent_audit::error::Error;
use axum_server::tls_rustls::RustlsConfig;

use std::sync::Arc;

use super::App;
use super::config::Tls;

/// How often the files are looked at.
const EVERY: Duration = Duration::from_secs(2);

/// Makes *ring* the process's TLS provider, once, before any TLS listener or HTTPS client
/// is built. The whole program uses one provider (the library's S3 client installs the same
/// one); a second would make rustls refuse to choose.
pub fn install_provider() {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        // Already installed (by the S3 client, or a test): that one stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The certificate and key of `files`; any problem refuses the start, naming the file.
pub async fn load(files: &Tls) -> Result<RustlsConfig, Error> {
    install_provider();
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            Error::Usage(format!(
                "`[tls]`: cannot use the certificate `{}` with the key `{}`: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })
}

fn stamp(files: &Tls) -> Option<(SystemTime, SystemTime, u64, u64)> {
    let cert = std::fs::metadata(&files.cert).ok()?;
    let key = std::fs::metadata(&files.key).ok()?;
    Some((
        cert.modified().ok()?,
        key.modified().ok()?,
        cert.len(),
        key.len(),
    ))
}

/// Reloads `config` whenever the files change, or `SERVE.toml` names other files.
pub fn keep_current(config: RustlsConfig, app: Arc<App>) {
    tokio::spawn(async move {
        let mut seen = app.settings().config.tls.as_ref().and_then(stamp);
        loop {
            tokio::time::sleep(EVERY).await;
            // `[tls]` cannot be removed while serving (ServeConfig::needs_restart).
            let Some(files) = app.settings().config.tls.clone() else {
                continue;
            };
            let now = stamp(&files);
            if now.is_none() || now == seen {
                continue;
            }
            match config.reload_from_pem_file(&files.cert, &files.key).await {
                Ok(()) => {
                    seen = now;
                    eprintln!(
                        "serve: TLS certificate reloaded from `{}`",
                        files.cert.display()
                    );
                }
                Err(e) => {
                    eprintln!("serve: TLS certificate not reloaded, keeping the one in use: {e}")
                }
            }
        }
    });
}
