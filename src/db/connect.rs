//! Opening one Postgres connection: TLS per `sslmode`, `application_name`, `statement_timeout` and
//! `plan_cache_mode` set; through a transaction-mode pooler, neither session settings nor cached statements.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{Config, DbTls, PgTlsVerify};

/// Everything needed to open a connection; cheap to clone into the pool's setup closure.
#[derive(Clone)]
pub struct Connector {
    tls: DbTls,
    rustls: Option<MakeRustlsConnect>,
    application_name: String,
    pooler: bool,
    plans: Plans,
}

/// How the server plans this connection's prepared statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plans {
    /// Planned for their actual parameters every time (`plan_cache_mode=force_custom_plan`): the engine's
    /// batched statements, whose best plan depends on how many rows are due right now.
    Custom,
    /// PostgreSQL's default: a statement run often enough keeps a generic plan when it is no worse than the
    /// custom ones. The api role alone uses it: its statements are keyed lookups of one user's rows, and
    /// planning each of them again cost about half of Postgres's CPU per `POST /v1/reminders`
    /// (`benches/api_load.rs`: the same SQL through `pgbench -M prepared` used half the CPU).
    Auto,
}

impl Connector {
    /// Prepares TLS settings. `prefer` encrypts opportunistically without verification, as libpq does;
    /// `require` (and `verify-*`) verifies the server unless `PG_TLS_VERIFY=none` opts out.
    pub fn new(config: &Config, tls: DbTls, application_name: &str) -> anyhow::Result<Self> {
        let rustls = match tls {
            DbTls::Disable => None,
            DbTls::Prefer => Some(insecure_client_config()),
            DbTls::Require => match config.pg_tls_verify {
                PgTlsVerify::None => Some(insecure_client_config()),
                PgTlsVerify::Full => Some(verifying_client_config(config.pg_ca_file.as_deref())?),
            },
        };
        Ok(Connector {
            tls,
            rustls: rustls.map(MakeRustlsConnect::new),
            application_name: application_name.to_owned(),
            pooler: false,
            plans: Plans::Custom,
        })
    }

    /// For a URL behind a transaction-mode pooler (pgbouncer): pgbouncer refuses the startup `options`
    /// parameter ("unsupported startup parameter"), and a session setting would stay behind on whichever
    /// server connection ran it, so timeouts come from the server side (`ALTER ROLE … SET
    /// statement_timeout`, see the README). Prepared statements go through [`super::pooler`].
    pub fn behind_pooler(mut self, pooler: bool) -> Self {
        self.pooler = pooler;
        self
    }

    pub fn with_plans(mut self, plans: Plans) -> Self {
        self.plans = plans;
        self
    }

    /// Opens one connection to `url` (a URL without `sslmode`).
    pub async fn connect(&self, url: &str) -> Result<AsyncPgConnection, ConnectionError> {
        let bad = |err: tokio_postgres::Error| ConnectionError::BadConnection(describe(&err));
        let mut pg = tokio_postgres::Config::from_str(url).map_err(bad)?;
        pg.application_name(&self.application_name);
        // The engine's prepared statements are planned for their actual parameters every time
        // (`Plans::Custom`): a generic plan trusts table statistics, which lag far behind during a burst (it
        // chose a scan of 100 000 'sending' deliveries it believed were 23 over 100 primary-key lookups).
        // Preparing still saves the parse and analysis of every call. The api role alone keeps the server's
        // default (`Plans::Auto`).
        if !self.pooler {
            let plans = match self.plans {
                Plans::Custom => "force_custom_plan",
                Plans::Auto => "auto",
            };
            pg.options(format!(
                "-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000 -c plan_cache_mode={plans}"
            ));
        }
        pg.connect_timeout(Duration::from_secs(5));
        if self.pooler {
            // The pooler stream takes TLS's place (the config refuses TLS to a pooler): with direct
            // negotiation tokio-postgres hands it the bare socket without asking the server for TLS.
            pg.ssl_mode(SslMode::Require).ssl_negotiation(SslNegotiation::Direct);
            let (client, connection) = pg.connect(super::pooler::Pooler).await.map_err(bad)?;
            return AsyncPgConnection::try_from_client_and_connection(client, connection).await;
        }
        match &self.rustls {
            None => {
                pg.ssl_mode(SslMode::Disable);
                let (client, connection) = pg.connect(tokio_postgres::NoTls).await.map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
            Some(rustls) => {
                pg.ssl_mode(if self.tls == DbTls::Require { SslMode::Require } else { SslMode::Prefer });
                let (client, connection) = pg.connect(rustls.clone()).await.map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
        }
    }
}

/// The SQLSTATE of a connection refused because its database does not exist (`invalid_catalog_name`).
const MISSING_DATABASE: &str = "SQLSTATE 3D000";

/// A connection error as an operator needs it: tokio-postgres displays a server's refusal as just "db
/// error", with the server's words ("database \"x\" does not exist") and code only in its source.
fn describe(err: &tokio_postgres::Error) -> String {
    match (err.as_db_error(), std::error::Error::source(err)) {
        (Some(db), _) => format!("{err}: {} (SQLSTATE {})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("{err}: {cause}"),
        (None, None) => err.to_string(),
    }
}

/// Whether `err` (from [`establish`]) says the database does not exist.
pub fn is_missing_database(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains(MISSING_DATABASE)
}

/// Opens a single connection outside any pool (leader election, LISTEN, migrations' lock holder).
pub async fn establish(
    config: &Config,
    target: &crate::config::DatabaseTarget,
    application_name: &str,
) -> anyhow::Result<AsyncPgConnection> {
    use secrecy::ExposeSecret;
    let connector = Connector::new(config, target.tls, application_name)?.behind_pooler(target.pooler);
    Ok(connector.connect(target.url.expose_secret()).await?)
}

fn verifying_client_config(ca_file: Option<&std::path::Path>) -> anyhow::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|err| anyhow::anyhow!("PG_CA_FILE {}: {err}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|err| anyhow::anyhow!("PG_CA_FILE {}: {err}", path.display()))?;
            roots.add(cert).map_err(|err| anyhow::anyhow!("PG_CA_FILE {}: {err}", path.display()))?;
        }
    }
    Ok(ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

fn insecure_client_config() -> ClientConfig {
    ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert))
        .with_no_client_auth()
}

/// Encrypts without authenticating the server: libpq's `sslmode=require`, used only when the operator opts in
/// with `PG_TLS_VERIFY=none` (or for opportunistic `prefer`).
#[derive(Debug)]
struct AcceptAnyServerCert;

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &supported_schemes())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &supported_schemes())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        supported_schemes().supported_schemes()
    }
}

fn supported_schemes() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}
