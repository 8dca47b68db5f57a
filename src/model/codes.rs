//! Administrative codes (NBS statistical division codes): town = 9 digits, village = 12 digits
//! (town + 3), grid = 15 digits (village + 3).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeLevel {
    Town,
    Village,
    Grid,
}

impl CodeLevel {
    pub fn digits(self) -> usize {
        match self {
            CodeLevel::Town => 9,
            CodeLevel::Village => 12,
            CodeLevel::Grid => 15,
        }
    }
}

/// The digits a county's code has: the prefix every code inside it shares.
pub const COUNTY_DIGITS: usize = 6;

/// The name of the county a six-digit code names, for the counties gridmap has data of; `None`
/// for others (their statistics name the county by its code).
pub fn county_name(code: &str) -> Option<&'static str> {
    match code {
        "321181" => Some("丹阳市"),
        _ => None,
    }
}

/// The level a code belongs to, or `None` when it is not 9, 12 or 15 ASCII digits.
pub fn code_level(code: &str) -> Option<CodeLevel> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        9 => Some(CodeLevel::Town),
        12 => Some(CodeLevel::Village),
        15 => Some(CodeLevel::Grid),
        _ => None,
    }
}

/// The town code a village code nests in (its first 9 digits). Callers validate the code first;
/// a short code yields itself.
pub fn village_town_code(code: &str) -> &str {
    code.get(..9).unwrap_or(code)
}

/// The village code a grid code nests in (its first 12 digits).
pub fn grid_village_code(code: &str) -> &str {
    code.get(..12).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_told_by_digit_count() {
        assert_eq!(code_level("321181001"), Some(CodeLevel::Town));
        assert_eq!(code_level("321181001001"), Some(CodeLevel::Village));
        assert_eq!(code_level("321181001001007"), Some(CodeLevel::Grid));
        assert_eq!(code_level("32118100100"), None);
        assert_eq!(code_level("32118100100a"), None);
        assert_eq!(code_level(""), None);
    }

    #[test]
    fn codes_nest_by_prefix() {
        assert_eq!(grid_village_code("321181001001007"), "321181001001");
        assert_eq!(village_town_code("321181001001"), "321181001");
    }
}
