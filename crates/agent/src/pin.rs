//! Certificate pinning: trust exactly the collector certificate whose SHA-256 fingerprint was
//! given at enrollment, as for a collector that made its own self-signed certificate.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// The SHA-256 digest of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(certificate: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fingerprint {0:?}: expected a SHA-256 fingerprint, 64 hex digits (colons and a \
     `sha256:` prefix allowed)"
)]
pub struct InvalidFingerprint(String);

impl FromStr for Fingerprint {
    type Err = InvalidFingerprint;

    /// Accepts what tools print: `AB:CD:..`, `abcd..`, with or without a `sha256:` prefix.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidFingerprint(text.to_string());
        let trimmed = text.trim();
        let digits = match trimmed.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
            _ => trimmed,
        };
        let nibbles: Vec<u8> = digits
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
            .collect::<Option<_>>()
            .ok_or_else(invalid)?;
        if nibbles.len() != 64 {
            return Err(invalid());
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(nibbles.chunks(2)) {
            *byte = pair[0] << 4 | pair[1];
        }
        Ok(Fingerprint(bytes))
    }
}

/// Upper-case colon-separated pairs, as `openssl x509 -fingerprint -sha256` prints them.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Stored as its display form, so the identity file reads like the collector's own output.
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The collector presented another certificate than the pinned one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate fingerprint {presented} does not match the pinned {expected}")]
pub struct PinMismatch {
    pub expected: Fingerprint,
    pub presented: Fingerprint,
}

/// Accepts exactly the end-entity certificate with the pinned fingerprint, whatever its names,
/// issuer or dates: the pin replaces the chain and host name checks. The handshake signatures
/// are still verified, so the server must hold that certificate's private key.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    pub fn new(pin: Fingerprint, provider: Arc<CryptoProvider>) -> Self {
        PinnedCertVerifier { pin, provider }
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity);
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    expected: self.pin,
                    presented,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "5e0f7a1c2293ab6d7e8801c42b991347103faae00b62d7854c119af26730de05";

    #[test]
    fn fingerprints_parse_in_the_usual_spellings() {
        let plain: Fingerprint = HEX.parse().expect("plain hex");
        let colons = "5E:0F:7A:1C:22:93:AB:6D:7E:88:01:C4:2B:99:13:47:10:3F:AA:E0:0B:62:D7:85:4C:11:9A:F2:67:30:DE:05";
        assert_eq!(colons.parse::<Fingerprint>(), Ok(plain));
        assert_eq!(format!("sha256:{HEX}").parse::<Fingerprint>(), Ok(plain));
        assert_eq!(
            format!(" SHA256:{colons}\n").parse::<Fingerprint>(),
            Ok(plain)
        );
        assert_eq!(plain.to_string(), colons);
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        let signed = format!("+{}", &HEX[1..]);
        for text in [
            "",
            "abc",
            &HEX[..62],
            &format!("{HEX}00"),
            &HEX.replace('5', "g"),
            &signed,
        ] {
            assert!(text.parse::<Fingerprint>().is_err(), "{text:?}");
        }
        // Multi-byte characters must not be split inside a pair.
        let wide = format!("é{}", &HEX[2..]);
        assert!(wide.parse::<Fingerprint>().is_err());
    }

    #[test]
    fn the_fingerprint_is_sha256_of_the_der() {
        // Known answer: SHA-256 of the empty input.
        assert_eq!(
            Fingerprint::of(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                .parse()
                .expect("valid")
        );
    }
}
