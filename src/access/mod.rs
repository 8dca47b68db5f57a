//! Who may see and change what: accounts with a role and an area, their tokens, and how much of
//! a feature each caller sees. Rules and data only: the store keeps the accounts and the audit
//! log, `index::access` tells whether an account's area holds a feature, `http::auth` finds the
//! caller of a request.
//!
//! The area is a code-prefix rule, as grid platforms have it: an account of town `321181100`
//! holds every village and grid whose code starts with it (the level above sees the levels
//! below). City and admin accounts hold everything; an alliance account holds its alliance, its
//! members and their villages.

pub mod audit;
mod registry;
mod token;

use std::fmt;

pub use registry::{FAILURE_WINDOW, MAX_FAILURES, Refusal, Registry};
pub use token::{Token, TokenHash};

/// What an account may do, from `admin` down to `viewer`. The public (no token) is not a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, and manages accounts (the audit log, the store's location in `/health`).
    Admin,
    /// The city command centre: reads and edits everything.
    City,
    /// A town's (镇/街道) staff: reads and edits their town.
    Town,
    /// A village's (村/社区) staff: reads and edits their village.
    Village,
    /// A grid worker (网格员): reads their grids, edits the attributes of their grids and posts.
    GridWorker,
    /// A functional alliance (功能型联合体): its members and their villages; edits its members'
    /// attributes.
    Alliance,
    /// Reads staff fields in its area (personal ones masked), edits nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::City,
        Role::Town,
        Role::Village,
        Role::GridWorker,
        Role::Alliance,
        Role::Viewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::City => "city",
            Role::Town => "town",
            Role::Village => "village",
            Role::GridWorker => "grid_worker",
            Role::Alliance => "alliance",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                format!(
                    "role '{name}' is unknown; use one of {}",
                    Role::ALL.map(Role::name).join(", ")
                )
            })
    }

    /// Whether the role's area is the whole store.
    pub fn everywhere(self) -> bool {
        matches!(self, Role::Admin | Role::City)
    }

    /// What the role may change inside its area.
    pub fn edits(self) -> Edits {
        match self {
            Role::Admin | Role::City | Role::Town | Role::Village => Edits::Everything,
            Role::GridWorker | Role::Alliance => Edits::Attributes,
            Role::Viewer => Edits::Nothing,
        }
    }

    /// How many digits the codes of the role's `--area` have (`None`: any unit's code), and
    /// what they name; `Err` when the role takes no area.
    fn area_codes(self) -> Result<Option<(usize, &'static str)>, ()> {
        match self {
            Role::Admin | Role::City => Err(()),
            Role::Town => Ok(Some((9, "a town's 9-digit code"))),
            Role::Village => Ok(Some((12, "a village's 12-digit code"))),
            Role::GridWorker => Ok(Some((15, "a grid's 15-digit code"))),
            Role::Alliance => Ok(None),
            Role::Viewer => Ok(None),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a role may change inside its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edits {
    /// Create, replace, patch and delete features, geometry included.
    Everything,
    /// Patch or replace attributes of existing features (not their geometry, key or parent).
    Attributes,
    Nothing,
}

/// An account as the store keeps it: the account and its token's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccount {
    pub account: Account,
    pub token: TokenHash,
}

/// How much of one feature a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum View {
    /// Public fields only (and contacts their owner consented to publish).
    Public,
    /// Public and staff fields; personal ones masked (`138****1234`, `张*`): a viewer's view
    /// inside its area.
    Masked,
    /// Every field.
    Full,
}

/// An account: a name, a role and the area it works on. Its token is kept only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// Unit codes (town, village or grid), or the alliance's id for an alliance account; empty
    /// for admin and city, whose area is everything.
    pub areas: Vec<String>,
    /// Unix seconds.
    pub created_s: i64,
    /// The token is refused from this moment (Unix seconds); `None`: never expires.
    pub expires_s: Option<i64>,
    /// When the account was revoked (Unix seconds); a revoked account's token is refused.
    pub revoked_s: Option<i64>,
}

impl Account {
    /// A new account, checked: a name of letters, digits, `_ . @ -`; areas as the role needs.
    pub fn new(
        name: &str,
        role: Role,
        areas: Vec<String>,
        created_s: i64,
        expires_s: Option<i64>,
    ) -> Result<Account, String> {
        check_name(name)?;
        match role.area_codes() {
            Err(()) if !areas.is_empty() => {
                return Err(format!(
                    "--area: a {role} account's area is everything; give no --area"
                ));
            }
            Err(()) => {}
            Ok(_) if areas.is_empty() => {
                return Err(format!(
                    "--area: a {role} account needs its area (--area CODE)"
                ));
            }
            Ok(Some((digits, what))) => {
                for code in &areas {
                    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!(
                            "--area: '{code}' is not {what}, which a {role} account's area is"
                        ));
                    }
                }
            }
            Ok(None) if role == Role::Alliance => {
                if areas.len() != 1 || areas[0].parse::<u64>().is_err() {
                    return Err(
                        "--area: an alliance account works for one alliance: give its id, as --area 3"
                            .into(),
                    );
                }
            }
            Ok(None) => {
                for code in &areas {
                    if ![9, 12, 15].contains(&code.len())
                        || !code.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(format!(
                            "--area: '{code}' is not a town (9 digits), village (12) or grid (15) code"
                        ));
                    }
                }
            }
        }
        if let Some(expires) = expires_s
            && expires <= created_s
        {
            return Err("--expires: the date has passed; give a later one".into());
        }
        let mut areas = areas;
        areas.sort();
        areas.dedup();
        Ok(Account {
            name: name.to_string(),
            role,
            areas,
            created_s,
            expires_s,
            revoked_s: None,
        })
    }

    /// Whether the token is accepted at `now_s`: not revoked, not expired.
    pub fn active_at(&self, now_s: i64) -> bool {
        self.revoked_s.is_none() && self.expires_s.is_none_or(|e| now_s < e)
    }

    /// The view the account gets of a feature its area holds.
    pub fn view_inside(&self) -> View {
        match self.role {
            Role::Viewer => View::Masked,
            _ => View::Full,
        }
    }

    /// The alliance of an alliance account.
    pub fn alliance(&self) -> Option<u64> {
        (self.role == Role::Alliance)
            .then(|| self.areas.first()?.parse().ok())
            .flatten()
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "NAME: '{name}' is not an account name; use up to 64 letters, digits, _ . @ or -"
        ))
    }
}

/// A personal value as a viewer sees it: a phone as `138****1234` (the first three and last four
/// digits), a name as its first character and a star per other character (`张*`); any other
/// value is withheld (null).
pub fn mask(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Value::String(s) = value else {
        return Value::Null;
    };
    let chars: Vec<char> = s.chars().collect();
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    if digits >= 7 && digits * 10 >= chars.len() * 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        return Value::String(format!("{head}****{tail}"));
    }
    match chars.split_first() {
        Some((first, rest)) => Value::String(format!("{first}{}", "*".repeat(rest.len()))),
        None => Value::String(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account(role: Role, areas: &[&str]) -> Result<Account, String> {
        Account::new(
            "a.user",
            role,
            areas.iter().map(|s| s.to_string()).collect(),
            1_000,
            None,
        )
    }

    #[test]
    fn phones_and_names_are_masked_as_the_issue_writes_them() {
        assert_eq!(mask(&json!("13812341234")), json!("138****1234"));
        assert_eq!(mask(&json!("0511-86881234")), json!("051****1234"));
        assert_eq!(mask(&json!("张三")), json!("张*"));
        assert_eq!(mask(&json!("欧阳小明")), json!("欧***"));
        assert_eq!(mask(&json!(12)), json!(null));
    }

    #[test]
    fn areas_are_checked_against_the_role() {
        assert!(account(Role::Town, &["321181100"]).is_ok());
        assert!(
            account(Role::Town, &["321181100001"])
                .unwrap_err()
                .contains("9-digit")
        );
        assert!(
            account(Role::Town, &[])
                .unwrap_err()
                .contains("needs its area")
        );
        assert!(
            account(Role::City, &["321181100"])
                .unwrap_err()
                .contains("everything")
        );
        assert!(account(Role::GridWorker, &["321181100001001"]).is_ok());
        assert!(account(Role::Alliance, &["3"]).is_ok());
        assert!(account(Role::Alliance, &["3", "4"]).is_err());
        assert!(account(Role::Viewer, &["321181100", "321181101001"]).is_ok());
        assert!(account(Role::Viewer, &["32118"]).is_err());
        assert!(Account::new("no spaces", Role::City, vec![], 0, None).is_err());
        assert!(Account::new("x", Role::City, vec![], 10, Some(5)).is_err());
    }

    #[test]
    fn expired_and_revoked_accounts_are_not_active() {
        let mut a = Account::new("x", Role::City, vec![], 0, Some(100)).unwrap();
        assert!(a.active_at(99));
        assert!(!a.active_at(100));
        a.expires_s = None;
        a.revoked_s = Some(50);
        assert!(!a.active_at(60));
    }
}
