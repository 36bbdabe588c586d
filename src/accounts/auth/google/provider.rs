//! The OpenID provider's side of the flow, through the `openidconnect` crate: discovery, the authorization
//! URL, the code exchange and the ID token's checks (signature against the provider's published keys, `iss`,
//! `aud`, `azp`, expiry and `nonce`). Only what is Google-specific or ours is written here.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use secrecy::ExposeSecret;

use crate::config::GoogleConfig;

/// A client made from the provider's discovery document.
pub type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/v1/auth/google/callback";

/// The HTTP client the crate calls through: our reqwest (one TLS stack, one runtime), no redirects (a
/// redirect followed on the provider's behalf is a request forgery waiting to happen), short timeouts.
pub struct ProviderHttp(reqwest::Client);

impl ProviderHttp {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .build()?,
        ))
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(Box::new)?;
            let mut built = openidconnect::http::Response::builder().status(response.status());
            if let Some(headers) = built.headers_mut() {
                headers.extend(response.headers().iter().map(|(name, value)| (name.clone(), value.clone())));
            }
            let body = response.bytes().await.map_err(Box::new)?;
            built.body(body.to_vec()).map_err(openidconnect::HttpClientError::Http)
        })
    }
}

/// What went wrong on the provider's side: `Unreachable` is the provider's trouble (503), `Refused` a token
/// or answer we do not accept (401).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Refused(String),
}

/// How long a discovery document (with the keys it points to) is used before it is read again. A token
/// signed by a key it does not hold makes the callback read it again at once ([`Discovery::Fresh`]), so the
/// provider's key rotation never waits for this.
const DISCOVERY_LIFETIME: Duration = Duration::from_secs(3600);

/// Discovery documents read, by issuer: each sign-in used to fetch the document and the keys twice (at the
/// start and at the callback), four requests to the provider on the way of every person signing in.
static DISCOVERED: LazyLock<Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>> = LazyLock::new(Default::default);

/// Whether a client may use the document read earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// One read within [`DISCOVERY_LIFETIME`].
    Cached,
    /// Read now: the provider may have published new keys.
    Fresh,
}

/// The provider's discovery document (and with it its keys), as `discovery` allows.
async fn metadata(
    issuer: &str,
    http: &ProviderHttp,
    discovery: Discovery,
) -> Result<CoreProviderMetadata, ProviderError> {
    let cached = || {
        let known = DISCOVERED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        known.get(issuer).filter(|(read, _)| read.elapsed() < DISCOVERY_LIFETIME).map(|(_, metadata)| metadata.clone())
    };
    if discovery == Discovery::Cached
        && let Some(metadata) = cached()
    {
        return Ok(metadata);
    }
    let url = IssuerUrl::new(issuer.to_owned()).map_err(|err| ProviderError::Unreachable(err.to_string()))?;
    let metadata = CoreProviderMetadata::discover_async(url, http)
        .await
        .map_err(|err| ProviderError::Unreachable(err.to_string()))?;
    let mut known = DISCOVERED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    known.insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
    Ok(metadata)
}

/// A client made from the provider's discovery document, read now or earlier as `discovery` allows.
pub async fn client(
    google: &GoogleConfig,
    http: &ProviderHttp,
    redirect: &str,
    discovery: Discovery,
) -> Result<Client, ProviderError> {
    let metadata = metadata(google.issuer.as_str().trim_end_matches('/'), http, discovery).await?;
    let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|err| ProviderError::Unreachable(err.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(google.client_id.clone()),
        Some(ClientSecret::new(google.client_secret.expose_secret().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// A new authorization request: where to send the browser, and the three single-use values to keep.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub fn authorize(client: &Client) -> Authorization {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    }
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Trades the code for tokens (with the PKCE verifier); the ID token is checked by [`verify`].
pub async fn redeem(
    client: &Client,
    http: &ProviderHttp,
    code: String,
    pkce_verifier: String,
) -> Result<CoreIdToken, ProviderError> {
    let request = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|err| ProviderError::Unreachable(format!("the provider publishes no token endpoint: {err}")))?;
    let response = request
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
        .request_async(http)
        .await
        .map_err(|err| ProviderError::Refused(format!("the code exchange failed: {err}")))?;
    response.id_token().cloned().ok_or_else(|| ProviderError::Refused("the provider sent no ID token".to_owned()))
}

/// Why an ID token was not accepted.
pub enum Unverified {
    /// Signed by a key the client's copy of the provider's keys does not hold: worth reading them again.
    UnknownKey,
    Refused(ProviderError),
}

/// Checks the ID token against the provider's keys and the nonce this flow sent. A token signed by a key the
/// provider does not publish, for another client, expired, from another issuer or carrying another flow's
/// nonce is refused here.
pub fn verify(client: &Client, id_token: &CoreIdToken, nonce: &str) -> Result<Identity, Unverified> {
    let claims =
        id_token.claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned())).map_err(|err| match err {
            ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
                Unverified::UnknownKey
            }
            err => Unverified::Refused(ProviderError::Refused(format!("the ID token was refused: {err}"))),
        })?;
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|email| email.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims.name().and_then(|name| name.get(None)).map(|name| name.as_str().to_owned()),
    })
}
