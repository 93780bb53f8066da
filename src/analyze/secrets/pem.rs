//! PEM private keys that are real keys: a BEGIN line, a body whose base64 decodes, and the
//! matching END line. A bare `-----BEGIN PRIVATE KEY-----` (a string constant in gnutls, openssl or
//! a test suite's binary) is no key and yields nothing.

use std::sync::LazyLock;

use base64::Engine as _;
use regex::bytes::Regex;

use super::Confidence;

/// Longest PEM body looked at (an RSA-16384 key is about 12 KiB).
const MAX_BODY: usize = 32 << 10;

static BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----").expect("PEM begin regex")
});

/// A complete private key block in `content`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemKey {
    /// `RSA `, `OPENSSH `, `EC `, `ENCRYPTED `, or empty (PKCS#8).
    pub label: String,
    /// Byte range of the whole block, BEGIN to END.
    pub start: usize,
    pub end: usize,
    pub confidence: Confidence,
}

/// The first complete private key block (BEGIN, decodable body, matching END).
pub fn find_key(content: &[u8]) -> Option<PemKey> {
    BEGIN.captures_iter(content).find_map(|c| {
        let whole = c.get(0)?;
        let label = String::from_utf8_lossy(c.get(1)?.as_bytes()).into_owned();
        let rest = &content[whole.end()..];
        let end_line = format!("-----END {label}PRIVATE KEY-----");
        let window = &rest[..rest.len().min(MAX_BODY + end_line.len())];
        let at = memchr::memmem::find(window, end_line.as_bytes())?;
        let confidence = body_confidence(&label, &window[..at])?;
        Some(PemKey {
            label,
            start: whole.start(),
            end: whole.end() + at + end_line.len(),
            confidence,
        })
    })
}

/// How sure the body is a key: `None` when it is not base64 of a plausible key at all.
fn body_confidence(label: &str, body: &[u8]) -> Option<Confidence> {
    let text = std::str::from_utf8(body).ok()?;
    // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`) end at the first blank line.
    let data = match text.find(':') {
        Some(_) => {
            text.split_once("\n\n")
                .or_else(|| text.split_once("\r\n\r\n"))?
                .1
        }
        None => text,
    };
    let b64: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if b64.len() < 32 {
        return None;
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let der = engine.decode(b64.as_bytes()).ok()?;
    let known = if label == "OPENSSH " {
        der.starts_with(b"openssh-key-v1\0")
    } else {
        der_sequence_fits(&der)
    };
    Some(if known {
        Confidence::High
    } else {
        Confidence::Medium
    })
}

/// PKCS#1, PKCS#8 and SEC1 keys are one DER SEQUENCE spanning the whole decoded body.
fn der_sequence_fits(der: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (der.first(), der.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    header + len == der.len()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A PEM block around `der` with 64-column lines, as openssl writes it.
    pub(crate) fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN {label}PRIVATE KEY-----\n{}\n-----END {label}PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    fn sequence(len: usize) -> Vec<u8> {
        let mut der = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
        der.extend((0..len).map(|i| (i * 7) as u8));
        der
    }

    #[test]
    fn only_complete_decodable_blocks_are_keys() {
        let key = pem("RSA ", &sequence(600));
        let found = find_key(key.as_bytes()).expect("a key");
        assert_eq!(
            (found.label.as_str(), found.confidence),
            ("RSA ", Confidence::High)
        );
        assert_eq!(
            &key.as_bytes()[found.start..found.end],
            key.trim_end().as_bytes()
        );
        // gnutls' strings: markers with no body, or a format string.
        let lib = b"\0-----BEGIN PRIVATE KEY-----\0-----END PRIVATE KEY-----\0%s\0";
        assert_eq!(find_key(lib), None);
        let fmt = b"-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----";
        assert_eq!(find_key(fmt), None);
        // No END, or an END of another type: not a block.
        let cut = &key[..key.find("-----END").unwrap_or(0)];
        assert_eq!(find_key(cut.as_bytes()), None);
        assert_eq!(find_key(key.replace("END RSA", "END EC").as_bytes()), None);
        // Decodes, but no DER sequence: still reported, with less confidence.
        let odd = pem("", &[7u8; 48]);
        assert_eq!(
            find_key(odd.as_bytes()).map(|k| k.confidence),
            Some(Confidence::Medium)
        );
        let ssh = pem(
            "OPENSSH ",
            b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01",
        );
        assert_eq!(
            find_key(ssh.as_bytes()).map(|k| k.confidence),
            Some(Confidence::High)
        );
    }
}
