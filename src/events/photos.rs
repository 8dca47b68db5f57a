//! Photos of an event (a report's picture, the handler's proof): JPEG, PNG or WebP, recognised
//! by their bytes (never by a file name or a Content-Type a client chose), at most
//! `MAX_PHOTO_BYTES` each and `MAX_PHOTOS` per event. Stored in the store beside the event log,
//! append-only like it.

/// Largest photo taken: 5 MiB.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// Most photos one event holds.
pub const MAX_PHOTOS: u32 = 9;

/// The image formats taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
}

impl MediaType {
    pub const ALL: [MediaType; 3] = [MediaType::Jpeg, MediaType::Png, MediaType::Webp];

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
        }
    }

    pub fn parse(mime: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.mime() == mime)
    }
}

/// One stored photo, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Photo {
    pub event_id: u64,
    /// 1 for the event's first photo, up to `MAX_PHOTOS` (given by the store).
    pub n: u32,
    pub media_type: MediaType,
    pub size_bytes: u64,
    pub width_px: u32,
    pub height_px: u32,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The account that added it, or `reporter`.
    pub actor: String,
    /// Hex SHA-256 of the bytes (the photo's ETag).
    pub sha256: String,
}

/// What is wrong with bytes sent as a photo.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Empty,
    TooLarge(usize),
    NotAnImage,
    /// An image, but not one taken (GIF, BMP, …).
    Format(&'static str),
    /// The header says JPEG, PNG or WebP but the size cannot be read from it.
    Damaged(MediaType),
    /// Wider or taller than `MAX_SIDE_PX` (no camera makes one; a crafted header does).
    TooManyPixels(u64, u64),
}

/// The longest side taken, in pixels (JPEG's own limit).
pub const MAX_SIDE_PX: u32 = 65_535;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let taken = "send a JPEG, PNG or WebP photo";
        match self {
            Refused::Empty => write!(f, "the body is empty; {taken} as the request body"),
            Refused::TooLarge(n) => write!(
                f,
                "the photo is {n} bytes, over the {MAX_PHOTO_BYTES} (5 MiB) taken; send it smaller (resize or recompress it)"
            ),
            Refused::NotAnImage => write!(f, "the bytes are not an image; {taken}"),
            Refused::Format(name) => write!(f, "a {name} image is not taken; {taken}"),
            Refused::TooManyPixels(w, h) => write!(
                f,
                "the photo is {w}×{h} px; send one at most {MAX_SIDE_PX} px a side"
            ),
            Refused::Damaged(m) => write!(
                f,
                "the bytes start like {} but its size cannot be read (cut short?); send the whole file",
                m.mime()
            ),
        }
    }
}

/// Recognise a photo by its bytes: its format and size in pixels.
pub fn sniff(bytes: &[u8]) -> Result<(MediaType, u32, u32), Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(Refused::TooLarge(bytes.len()));
    }
    let media_type = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        MediaType::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        MediaType::Png
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        MediaType::Webp
    } else if bytes.starts_with(b"GIF8") {
        return Err(Refused::Format("GIF"));
    } else if bytes.starts_with(b"BM") {
        return Err(Refused::Format("BMP"));
    } else {
        return Err(Refused::NotAnImage);
    };
    let size = imagesize::blob_size(bytes).map_err(|_| Refused::Damaged(media_type))?;
    let (w, h) = (size.width as u64, size.height as u64);
    if w == 0 || h == 0 {
        return Err(Refused::Damaged(media_type));
    }
    if w > u64::from(MAX_SIDE_PX) || h > u64::from(MAX_SIDE_PX) {
        return Err(Refused::TooManyPixels(w, h));
    }
    Ok((media_type, w as u32, h as u32))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A 2×3 PNG (one IHDR, no pixels needed for the size).
    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn photos_are_recognised_by_their_bytes() {
        assert_eq!(sniff(&png(2, 3)), Ok((MediaType::Png, 2, 3)));
        assert_eq!(sniff(&png(65_535, 1)), Ok((MediaType::Png, 65_535, 1)));
        // A header claiming more than any store column or camera holds.
        assert_eq!(
            sniff(&png(1, 3_000_000_000)),
            Err(Refused::TooManyPixels(1, 3_000_000_000))
        );
        assert_eq!(
            sniff(&png(70_000, 2)),
            Err(Refused::TooManyPixels(70_000, 2))
        );
        // A JPEG: SOI, then a SOF0 segment giving height 7 and width 5.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 7, 0, 5, 1, 1, 0x11, 0, 0xFF, 0xD9,
        ];
        assert_eq!(sniff(&jpeg), Ok((MediaType::Jpeg, 5, 7)));
        // A lossless WebP (VP8L): 14-bit width-1 and height-1 after the signature byte.
        let (w, h) = (4u32, 6u32);
        let bits = (w - 1) | ((h - 1) << 14);
        let mut webp = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        webp.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(sniff(&webp), Ok((MediaType::Webp, 4, 6)));
    }

    #[test]
    fn what_is_not_a_photo_is_refused_with_its_reason() {
        assert_eq!(sniff(b""), Err(Refused::Empty));
        assert_eq!(sniff(b"%PDF-1.7"), Err(Refused::NotAnImage));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Err(Refused::Format("GIF")));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Err(Refused::Damaged(MediaType::Jpeg))
        );
        let mut big = png(1, 1);
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(sniff(&big), Err(Refused::TooLarge(MAX_PHOTO_BYTES + 1)));
        big.truncate(MAX_PHOTO_BYTES);
        assert_eq!(sniff(&big), Ok((MediaType::Png, 1, 1)));
    }

    #[test]
    fn sha256_matches_the_published_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
