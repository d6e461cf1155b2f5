//! TLS: the peer channel's mutual TLS with the cluster CA, and optional client-facing TLS.
//!
//! Every node mints its own certificate at start, signed by the cluster CA, with two DNS names:
//! `member.reservoir` (what every peer checks: "this is a member of my cluster") and
//! `node-<id>.reservoir` (which member). A peer listener accepts only clients whose certificate
//! chains to the CA; a peer client accepts only servers whose certificate does. The handshake
//! happens before a single byte of any request is read, so a stranger never reaches a decoder.
//! Both sides speak HTTP/2 (ALPN `h2`) over the connection.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{Secrets, SecretsError};

/// The DNS name every member's certificate carries.
pub const MEMBER_NAME: &str = "member.reservoir";

/// The DNS name naming one member.
pub fn node_name(id: u64) -> String {
    format!("node-{id}.reservoir")
}

/// The DNS name naming a member's incarnation (its data dir).
pub fn incarnation_name(incarnation: u64) -> String {
    format!("inc-{incarnation:016x}.reservoir")
}

/// Who a verified peer certificate names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The member's node id.
    pub id: u64,
    /// The incarnation of its data dir.
    pub incarnation: u64,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> SecretsError {
    SecretsError::Invalid {
        path: what.to_string(),
        reason: e.to_string(),
    }
}

/// A new cluster CA: (certificate PEM, key PEM).
///
/// # Errors
/// If key generation or signing fails.
pub fn new_ca() -> Result<(String, String), SecretsError> {
    let key = KeyPair::generate().map_err(|e| invalid("CA key", e))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| invalid("CA", e))?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "reservoir cluster CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).map_err(|e| invalid("CA", e))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The rustls configurations of a node's peer channel.
#[derive(Clone)]
pub struct PeerTls {
    /// For the peer listener: requires a client certificate from the cluster CA.
    pub server: Arc<ServerConfig>,
    /// For calls to peers: presents this node's certificate, trusts only the cluster CA.
    pub client: Arc<ClientConfig>,
    /// The name a peer client expects every member's certificate to carry.
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerTls")
    }
}

impl PeerTls {
    /// Mints this node's certificate (naming its id and incarnation) from the cluster CA and
    /// builds both configurations.
    ///
    /// # Errors
    /// If the CA files are invalid.
    pub fn new(secrets: &Secrets, id: u64, incarnation: u64) -> Result<PeerTls, SecretsError> {
        let ca_key = KeyPair::from_pem(&secrets.ca_key_pem).map_err(|e| invalid("ca.key", e))?;
        let ca_params = CertificateParams::from_ca_cert_pem(&secrets.ca_cert_pem)
            .map_err(|e| invalid("ca.pem", e))?;
        let ca = ca_params
            .self_signed(&ca_key)
            .map_err(|e| invalid("ca.pem", e))?;
        let key = KeyPair::generate().map_err(|e| invalid("node key", e))?;
        let mut params = CertificateParams::new(vec![
            MEMBER_NAME.to_string(),
            node_name(id),
            incarnation_name(incarnation),
        ])
        .map_err(|e| invalid("node certificate", e))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, node_name(id));
        params.distinguished_name = name;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .map_err(|e| invalid("node certificate", e))?;

        let ca_der = CertificateDer::from_pem_slice(secrets.ca_cert_pem.as_bytes())
            .map_err(|e| invalid("ca.pem", e))?;
        let mut roots = RootCertStore::empty();
        roots
            .add(ca_der.clone())
            .map_err(|e| invalid("ca.pem", e))?;
        let roots = Arc::new(roots);
        let chain = vec![cert.der().clone(), ca_der];
        let key_der =
            PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| invalid("node key", e))?;

        let provider = Arc::new(default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| invalid("ca.pem", e))?;
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key_der.clone_key())
            .map_err(|e| invalid("node certificate", e))?;
        server.alpn_protocols = vec![b"h2".to_vec()];
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key_der)
            .map_err(|e| invalid("node certificate", e))?;
        client.alpn_protocols = vec![b"h2".to_vec()];
        let server_name =
            ServerName::try_from(MEMBER_NAME.to_string()).map_err(|e| invalid("tls", e))?;
        Ok(PeerTls {
            server: Arc::new(server),
            client: Arc::new(client),
            server_name,
        })
    }
}

/// The node id and incarnation a verified peer certificate names (`node-<id>.reservoir`,
/// `inc-<hex>.reservoir`), if it names both.
pub fn peer_identity(cert: &CertificateDer<'_>) -> Option<PeerIdentity> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let san = parsed.subject_alternative_name().ok()??;
    let names = || {
        san.value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    dns.strip_suffix(".reservoir")
                }
                _ => None,
            })
    };
    let id = names().find_map(|n| n.strip_prefix("node-").and_then(|id| id.parse().ok()))?;
    let incarnation = names().find_map(|n| {
        n.strip_prefix("inc-")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
    })?;
    Some(PeerIdentity { id, incarnation })
}

/// Client-facing TLS for the public listener (`--tls-cert`, `--tls-key`).
#[derive(Clone)]
pub struct PublicTls {
    /// HTTP/1.1 over TLS, no client certificates.
    pub server: Arc<ServerConfig>,
}

impl std::fmt::Debug for PublicTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicTls")
    }
}

impl PublicTls {
    /// Loads a certificate chain and key (PEM files).
    ///
    /// # Errors
    /// If either file is unreadable or not valid PEM of the right kind.
    pub fn load(cert: &Path, key: &Path) -> Result<PublicTls, SecretsError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| invalid(&cert.display().to_string(), e))?
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(&cert.display().to_string(), e))?;
        if chain.is_empty() {
            return Err(invalid(
                &cert.display().to_string(),
                "no certificate in the file",
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| invalid(&key.display().to_string(), e))?;
        let mut server = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(&cert.display().to_string(), e))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(PublicTls {
            server: Arc::new(server),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_certificate_names_its_node_and_chains_to_the_ca() {
        let dir = tempfile::tempdir().expect("temp dir");
        super::super::keygen(dir.path()).expect("keygen");
        let secrets = Secrets::load(dir.path()).expect("load");
        let tls = PeerTls::new(&secrets, 7, 0xfeed).expect("tls");
        assert!(tls.client.alpn_protocols.contains(&b"h2".to_vec()));
        let ca_params = CertificateParams::from_ca_cert_pem(&secrets.ca_cert_pem).expect("ca");
        let ca_key = KeyPair::from_pem(&secrets.ca_key_pem).expect("key");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let key = KeyPair::generate().expect("key");
        let params =
            CertificateParams::new(vec![node_name(42), incarnation_name(0xbeef)]).expect("params");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("sign");
        assert_eq!(
            peer_identity(cert.der()),
            Some(PeerIdentity {
                id: 42,
                incarnation: 0xbeef
            })
        );
        let other = CertificateParams::new(vec!["example.com".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("self-signed");
        assert_eq!(peer_identity(other.der()), None);
    }
}
