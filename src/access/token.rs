//! Bearer tokens: 32 random bytes from the operating system, written `gm_` + base64url (46
//! characters). Only their SHA-256 is stored: a token has 256 bits of entropy, so a fast hash
//! cannot be reversed by guessing (a password would need a slow one), and a copy of the store
//! reveals no token.

use base64::Engine;
use sha2::{Digest, Sha256};

/// A token in clear: printed once when made, then only its hash is kept.
pub struct Token(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Token, String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("the system has no random numbers to make a token: {e}"))?;
        Ok(Token(format!(
            "gm_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Whether `text` has the form of a token (`gm_` and 43 base64url characters): only such a
    /// text is worth looking for in the store.
    pub fn well_formed(text: &str) -> bool {
        text.len() == 46
            && text.starts_with("gm_")
            && (text.bytes().skip(3)).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

/// The SHA-256 of a token: what the store keeps and what a request's token is looked up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<TokenHash> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(TokenHash(out))
    }

    /// Equal, compared in constant time (every byte is looked at whatever differs).
    pub fn same(&self, other: &TokenHash) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for TokenHash {
    /// Never the hash itself in logs: its first bytes are enough to tell two apart.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_as_sha256() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), 46);
        assert!(a.as_str().starts_with("gm_"));
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let h = a.hash();
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
        assert!(h.same(&a.hash()) && !h.same(&b.hash()));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }
}
