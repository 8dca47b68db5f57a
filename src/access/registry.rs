//! The accounts a server knows, looked up by their token's hash, and the count of failed tokens
//! per client. Kept in memory and replaced whole from the store (the follower re-reads it every
//! second), so checking a known token costs a SHA-256 and a hash-map lookup, never a store round
//! trip. A token no account has is the one exception: the accounts are re-read once before it is
//! refused (`check_or_reread`), so a token made a moment ago by `gridmap user add` or `user rotate`
//! works on its first request.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Held while an unknown token re-reads the accounts: one read at a time, and the requests
    /// that waited for it use what it read instead of reading again.
    reread: tokio::sync::Mutex<()>,
    /// How many such reads have been done.
    rereads: AtomicU64,
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
        self.blocked(client, now)?;
        let verdict = self.look_up(token, now_s);
        self.counted(verdict, client, now)
    }

    /// `check`, except that a token no account has first makes the registry re-read the accounts
    /// with `read` (`None` when the store could not answer). One read at a time, shared by the
    /// requests that waited for it; a client's unknown tokens are limited like every failure
    /// (`MAX_FAILURES` a minute), so guessing costs a store read at most that often per address.
    /// Only the final verdict counts against the client.
    pub async fn check_or_reread<F, Fut>(
        &self,
        token: &str,
        client: IpAddr,
        now_s: i64,
        read: F,
    ) -> Result<Arc<Account>, Refusal>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<Vec<StoredAccount>>>,
    {
        let now = Instant::now();
        self.blocked(client, now)?;
        let before = self.rereads.load(Ordering::Acquire);
        let mut verdict = self.look_up(token, now_s);
        if matches!(verdict, Err(Refusal::Unknown)) {
            let _one_read = self.reread.lock().await;
            if self.rereads.load(Ordering::Acquire) == before {
                if let Some(accounts) = read().await {
                    self.replace(accounts);
                }
                self.rereads.fetch_add(1, Ordering::Release);
            }
            // Else a read finished while this request waited: what it read is what we look in.
            verdict = self.look_up(token, now_s);
        }
        self.counted(verdict, client, now)
    }

    /// `Err(TooMany)` while `client` has used up its failures.
    fn blocked(&self, client: IpAddr, now: Instant) -> Result<(), Refusal> {
        match self.blocked_for(client, now) {
            Some(wait) => Err(Refusal::TooMany {
                retry_after_s: wait.as_secs() + 1,
            }),
            None => Ok(()),
        }
    }

    /// The account of `token` at `now_s`, counting nothing.
    fn look_up(&self, token: &str, now_s: i64) -> Result<Arc<Account>, Refusal> {
        let hash = TokenHash::of(token);
        let accounts = self.by_token.load();
        let found = accounts
            .get_key_value(&hash)
            .filter(|(stored, _)| stored.same(&hash))
            .map(|(_, a)| a.clone());
        match found {
            Some(a) if a.active_at(now_s) => Ok(a),
            Some(a) if a.revoked_s.is_some() => Err(Refusal::Revoked {
                name: a.name.clone(),
            }),
            Some(a) => Err(Refusal::Expired {
                name: a.name.clone(),
                at_s: a.expires_s.unwrap_or_default(),
            }),
            None => Err(Refusal::Unknown),
        }
    }

    /// `verdict`, a refusal counted against `client`.
    fn counted(
        &self,
        verdict: Result<Arc<Account>, Refusal>,
        client: IpAddr,
        now: Instant,
    ) -> Result<Arc<Account>, Refusal> {
        if verdict.is_err() {
            self.count_failure(client, now);
        }
        verdict
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

    #[tokio::test]
    async fn an_unknown_token_rereads_the_accounts_once_and_is_not_counted_when_found() {
        use std::sync::atomic::AtomicUsize;
        let token = Token::generate().unwrap();
        let account = Account::new("made.now", Role::City, Vec::new(), 0, None).unwrap();
        let stored = StoredAccount {
            account,
            token: token.hash(),
        };
        let registry = Registry::new(Vec::new());
        let reads = AtomicUsize::new(0);
        let (reads, stored) = (&reads, &stored);
        let read = move || async move {
            reads.fetch_add(1, Ordering::SeqCst);
            // A store read takes a while: the other requests run meanwhile and wait for it.
            tokio::task::yield_now().await;
            Some(vec![stored.clone()])
        };
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        // Failures up to one short of the block, none re-reading a store that lacks the token.
        for _ in 1..MAX_FAILURES {
            assert_eq!(registry.check("gm_wrong", a, 10), Err(Refusal::Unknown));
        }
        // Eight requests with the new token at once: one read; the others find what it read.
        let checks = (0..8).map(|_| registry.check_or_reread(token.as_str(), a, 10, read));
        for verdict in futures_util::future::join_all(checks).await {
            assert_eq!(verdict.unwrap().name, "made.now");
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // The first lookup's miss was not a failure: the client is not blocked.
        assert_eq!(
            registry.check(token.as_str(), a, 10).unwrap().name,
            "made.now"
        );
        // A token still unknown after a read is refused and counted: now the client is blocked.
        assert_eq!(
            registry.check_or_reread("gm_wrong", a, 10, read).await,
            Err(Refusal::Unknown)
        );
        assert!(matches!(
            registry.check(token.as_str(), a, 10),
            Err(Refusal::TooMany { .. })
        ));
    }
}
