//! FNV-1a, 64 bits: the one non-cryptographic hash gridmap uses where a value must be the same on
//! every machine and every run (ETags, tile ids of text keys, declaration checksums, the sample
//! generator's seeds, tile cache keys). Not for secrets: tokens use SHA-256 (`access::token`).

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// The FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    /// The published test vectors (Fowler, Noll, Vo: FNV-1a 64-bit).
    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
