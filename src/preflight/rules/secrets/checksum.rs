//! Checksums some token formats carry, so a random string with the right prefix is not taken
//! for a real token: CRC-32 (IEEE) encoded in base62, as used by GitHub and npm tokens.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Base62 of `n`, left-padded with `0` to `width` digits.
pub(crate) fn base62(mut n: u32, width: usize) -> String {
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ascii")
}

/// Whether the last six characters of `body` are the base62 CRC-32 of the characters before.
pub(crate) fn crc32_base62_valid(body: &str) -> bool {
    if body.len() < 7 || !body.is_ascii() {
        return false;
    }
    let (data, check) = body.split_at(body.len() - 6);
    base62(crc32(data.as_bytes()), 6) == check
}

/// A body of `random` followed by its checksum: for tests.
#[cfg(test)]
pub(crate) fn with_checksum(random: &str) -> String {
    format!("{random}{}", base62(crc32(random.as_bytes()), 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip() {
        let body = with_checksum("abcdefghijklmnopqrstuvwxyz0123");
        assert!(crc32_base62_valid(&body));
        let mut broken = body.clone();
        broken.replace_range(0..1, "b");
        assert!(!crc32_base62_valid(&broken));
    }
}
