//! The accounts a server knows, looked up by their token's hash, and the count of failed tokens
//! per client. Kept in memory and replaced whole from the store (the follower re-reads it every
//! second), so checking a token costs a SHA-256 and a hash-map lookup, never a store round trip.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::{Account, StoredAccount, TokenHash};

/// Failed tokens a client may send within `FAILURE_WINDOW` before it is refused for a while.
pub const MAX_FAILURES: usize = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No account has this token (or it was rotated away).
    Unknown,
    Expired {
        name: String,
        at_s: i64,
    },
    Revoked {
        name: String,
    },
    /// This client sent too many failed tokens lately: try again after this many seconds.
    TooMany {
        retry_after_s: u64,
    },
}

#[derive(Default)]
pub struct Registry {
    by_token: ArcSwap<HashMap<TokenHash, Arc<Account>>>,
    /// Per client address, the moments of its recent failed tokens (at most `MAX_FAILURES`).
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Registry {
    pub fn new(accounts: Vec<StoredAccount>) -> Registry {
        let registry = Registry::default();
        registry.replace(accounts);
        registry
    }

    /// Replace every account (a revoked or rotated token stops working here).
    pub fn replace(&self, accounts: Vec<StoredAccount>) {
        let map = accounts
            .into_iter()
            .map(|a| (a.token, Arc::new(a.account)))
            .collect();
        self.by_token.store(Arc::new(map));
    }

    /// How many accounts are known (revoked ones included).
    pub fn len(&self) -> usize {
        self.by_token.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The account of `token` sent by `client` at `now_s`; a refusal counts against the client.
    pub fn check(&self, token: &str, client: IpAddr, now_s: i64) -> Result<Arc<Account>, Refusal> {
        let now = Instant::now();
        if let Some(wait) = self.blocked_for(client, now) {
            return Err(Refusal::TooMany {
                retry_after_s: wait.as_secs() + 1,
            });
        }
        let hash = TokenHash::of(token);
        let accounts = self.by_token.load();
        let found = accounts
            .get_key_value(&hash)
            .filter(|(stored, _)| stored.same(&hash))
            .map(|(_, a)| a.clone());
        let refusal = match found {
            Some(a) if a.active_at(now_s) => return Ok(a),
            Some(a) if a.revoked_s.is_some() => Refusal::Revoked {
                name: a.name.clone(),
            },
            Some(a) => Refusal::Expired {
                name: a.name.clone(),
                at_s: a.expires_s.unwrap_or_default(),
            },
            None => Refusal::Unknown,
        };
        self.count_failure(client, now);
        Err(refusal)
    }

    /// How long `client` must still wait, when it has used up its failures.
    fn blocked_for(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let seen = failures.get(&client)?;
        let oldest = *seen.front()?;
        (seen.len() >= MAX_FAILURES && now.duration_since(oldest) < FAILURE_WINDOW)
            .then(|| FAILURE_WINDOW - now.duration_since(oldest))
    }

    fn count_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget clients whose failures are all old, so the map stays small.
        if failures.len() > 10_000 {
            failures.retain(|_, seen| {
                seen.back()
                    .is_some_and(|t| now.duration_since(*t) < FAILURE_WINDOW)
            });
        }
        let seen = failures.entry(client).or_default();
        while seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
        {
            seen.pop_front();
        }
        if seen.len() == MAX_FAILURES {
            seen.pop_front();
        }
        seen.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Role, Token};

    #[test]
    fn tokens_find_their_account_and_failures_block_only_their_client() {
        let token = Token::generate().unwrap();
        let account = Account::new(
            "town.a",
            Role::Town,
            vec!["321181100".into()],
            0,
            Some(1_000),
        )
        .unwrap();
        let registry = Registry::new(vec![StoredAccount {
            account,
            token: token.hash(),
        }]);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(
            registry.check(token.as_str(), a, 10).unwrap().name,
            "town.a"
        );
        assert!(matches!(
            registry.check(token.as_str(), a, 1_000),
            Err(Refusal::Expired { .. })
        ));
        for _ in 1..MAX_FAILURES {
            assert_eq!(registry.check("gm_wrong", a, 10), Err(Refusal::Unknown));
        }
        // The tenth failure (the expired one counted) blocks the client, even with a good token.
        assert!(matches!(
            registry.check(token.as_str(), a, 10),
            Err(Refusal::TooMany { retry_after_s }) if (1..=60).contains(&retry_after_s)
        ));
        assert_eq!(
            registry.check(token.as_str(), b, 10).unwrap().name,
            "town.a"
        );
    }
}
