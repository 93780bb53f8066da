//! Tokens in their providers' real formats. GitHub (`ghp_…`) and npm (`npm_…`) tokens end in a
//! CRC32 of their random part written in base62, so a string that merely looks like one is
//! told apart from a real token.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_value(text: &str) -> Option<u64> {
    text.bytes().try_fold(0u64, |acc, b| {
        let digit = BASE62.iter().position(|c| *c == b)? as u64;
        acc.checked_mul(62)?.checked_add(digit)
    })
}

/// True when `token` (`ghp_` + 36, `npm_` + 36) carries a valid checksum: the last 6 characters
/// are the base62 CRC32 of the 30 before them.
pub fn checksum_ok(token: &str) -> bool {
    let Some((_, body)) = token.split_once('_') else {
        return false;
    };
    if body.len() != 36 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62_value(check) == Some(u64::from(crc32fast::hash(random.as_bytes())))
}

/// A token with a valid checksum, for tests: `prefix` + 30 random characters + checksum.
#[cfg(test)]
pub fn with_checksum(prefix: &str, random: &str) -> String {
    let mut n = u64::from(crc32fast::hash(random.as_bytes()));
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    format!("{prefix}{random}{}", String::from_utf8_lossy(&digits))
}

/// AWS access key ids: a four-letter type prefix and 16 base32 characters.
pub fn aws_key_id_ok(id: &str) -> bool {
    id.len() == 20
        && id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_tell_real_tokens_from_lookalikes() {
        let real = with_checksum("ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123");
        assert_eq!(real.len(), 40);
        assert!(checksum_ok(&real));
        let mut fake = real.clone();
        fake.replace_range(10..11, "Q");
        assert!(!checksum_ok(&fake));
        assert!(!checksum_ok("npm_LessonOnlyNotARealToken000000000000"));
        assert!(checksum_ok(&with_checksum(
            "npm_",
            "012345678901234567890123456789"
        )));
        assert!(aws_key_id_ok("AKIAIOSFODNN7EXAMPLE"));
        assert!(!aws_key_id_ok("AKIA0000000000000000"));
    }
}
