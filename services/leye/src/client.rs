//! Connecting to leye as a client: a channel (plain on loopback, or TLS
//! trusting a given CA) and the bearer token on every request. For `leye`'s
//! own tools (benchmarks) and tests.

use anyhow::Context;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig},
};

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Bearer {
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {token}").parse().context("a token is printable ASCII")?;
        Ok(Self(value))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A channel with its token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Connects to `host:port`: over TLS trusting `ca_pem` (the server's name
/// checked as `server_name`) when given, else in plain text.
pub async fn channel(host_port: &str, tls: Option<(&[u8], &str)>) -> anyhow::Result<Channel> {
    let channel = match tls {
        Some((ca_pem, server_name)) => Channel::from_shared(format!("https://{host_port}"))?.tls_config(
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)).domain_name(server_name),
        )?,
        None => Channel::from_shared(format!("http://{host_port}"))?,
    };
    Ok(channel.connect().await?)
}
