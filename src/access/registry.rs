//! The accounts a server knows, looked up by their token's hash, and the count of failed tokens
//! per client. Kept in memory and replaced whole from the store (the follower re-reads it every
//! second), so checking a known token costs a SHA-256 and a hash-map lookup, never a store round
//! trip. A well-formed token no account has is the one exception: the accounts are re-read before
//! it is refused (`check_or_reread`), so a token made a moment ago by `gridmap user add` or `user
//! rotate` works on its first request.
//!
//! Every read of the accounts takes a ticket as it starts, and what it read replaces the registry
//! only if no read that started later has been stored: the follower's turn and a re-read never
//! put back an older list (a rotated token known again, a new one lost).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::{Account, StoredAccount, Token, TokenHash};

/// Failed tokens a client may send within `FAILURE_WINDOW` before it is refused for a while.
pub const MAX_FAILURES: usize = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Re-reads for unknown tokens start at most this often, whoever sends them (requests arriving
/// meanwhile wait for the next one): guessing from many addresses costs the store ten reads a
/// second at most.
pub const REREAD_GAP: Duration = Duration::from_millis(100);

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
    /// The token is not known here and the store could not be read to look for it.
    Unchecked,
}

#[derive(Default)]
pub struct Registry {
    by_token: ArcSwap<HashMap<TokenHash, Arc<Account>>>,
    /// Per client address, the moments of its recent failed tokens (at most `MAX_FAILURES`).
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    /// The last ticket handed to a read of the accounts, and the ticket of the read stored.
    tickets: AtomicU64,
    stored: Mutex<u64>,
    /// Held by the task re-reading the accounts for unknown tokens (one at a time), with the
    /// moment its read started.
    reread: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl Registry {
    pub fn new(accounts: Vec<StoredAccount>) -> Registry {
        let registry = Registry::default();
        registry.replace(accounts);
        registry
    }

    /// Replace every account (a revoked or rotated token stops working here).
    pub fn replace(&self, accounts: Vec<StoredAccount>) {
        self.replace_read(self.ticket(), accounts);
    }

    /// A ticket for a read of the accounts about to start (then `replace_read` with it).
    pub fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Replace every account with what the read holding `ticket` found, unless a read that
    /// started later was stored already.
    pub fn replace_read(&self, ticket: u64, accounts: Vec<StoredAccount>) {
        let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        if ticket < *stored {
            return;
        }
        *stored = ticket;
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
        if verdict.is_err() {
            self.count_failure(client, now);
        }
        verdict
    }

    /// `check`, except that a well-formed token no account has makes the registry read the
    /// accounts with `read` (`None`: the store could not answer, `Refusal::Unchecked`) unless a
    /// read that started after the miss was stored meanwhile. The read runs in a task of its own
    /// holding the re-read lock, so a client that hangs up cannot start a second one beside it;
    /// the miss counts against the client until the read finds the token.
    pub async fn check_or_reread<F, Fut>(
        self: &Arc<Self>,
        token: &str,
        client: IpAddr,
        now_s: i64,
        read: F,
    ) -> Result<Arc<Account>, Refusal>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Option<Vec<StoredAccount>>> + Send + 'static,
    {
        let now = Instant::now();
        self.blocked(client, now)?;
        let verdict = self.look_up(token, now_s);
        if verdict.is_ok() {
            return verdict;
        }
        self.count_failure(client, now);
        if !matches!(verdict, Err(Refusal::Unknown)) || !Token::well_formed(token) {
            return verdict;
        }
        let missed = self.tickets.load(Ordering::Acquire);
        let registry = self.clone();
        let reread = async move { registry.reread_after(missed, read).await };
        let reread = tokio::spawn(tracing::Instrument::in_current_span(reread));
        match reread.await {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                self.forget_failure(client, now);
                return Err(Refusal::Unchecked);
            }
        }
        let verdict = self.look_up(token, now_s);
        if verdict.is_ok() {
            self.forget_failure(client, now);
        }
        verdict
    }

    /// Make sure the accounts stored come from a read that started after ticket `missed`: wait
    /// for the re-read lock, then read (no sooner than `REREAD_GAP` after the last re-read
    /// started) unless another read did meanwhile. False when the store could not be read.
    async fn reread_after<F, Fut>(&self, missed: u64, read: F) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<Vec<StoredAccount>>>,
    {
        let fresh = || *self.stored.lock().unwrap_or_else(|e| e.into_inner()) > missed;
        let mut last = self.reread.clone().lock_owned().await;
        if fresh() {
            return true;
        }
        if let Some(wait) = last.and_then(|t| REREAD_GAP.checked_sub(t.elapsed())) {
            tokio::time::sleep(wait).await;
            if fresh() {
                return true;
            }
        }
        *last = Some(Instant::now());
        let ticket = self.ticket();
        match read().await {
            Some(accounts) => {
                self.replace_read(ticket, accounts);
                true
            }
            None => false,
        }
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

    /// Take back the failure counted against `client` at `now` (its token was found after all).
    fn forget_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seen) = failures.get_mut(&client)
            && let Some(at) = seen.iter().rposition(|&t| t == now)
        {
            seen.remove(at);
        }
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
        let account = |name: &str, token: &Token| StoredAccount {
            account: Account::new(name, Role::City, Vec::new(), 0, None).unwrap(),
            token: token.hash(),
        };
        let (first, second) = (Token::generate().unwrap(), Token::generate().unwrap());
        assert!(Token::well_formed(first.as_str()));
        // What the store holds, as `gridmap user add` leaves it.
        let store = Arc::new(Mutex::new(vec![account("first", &first)]));
        let registry = Arc::new(Registry::new(Vec::new()));
        let reads = Arc::new(AtomicUsize::new(0));
        let read = {
            let (reads, store) = (reads.clone(), store.clone());
            move || async move {
                reads.fetch_add(1, Ordering::SeqCst);
                // A store read takes a while: the other requests run meanwhile and wait for it.
                tokio::task::yield_now().await;
                Some(store.lock().unwrap().clone())
            }
        };
        let reads = || reads.load(Ordering::SeqCst);
        let (a, c): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.3".parse().unwrap());
        // Failures up to one short of the block; a malformed token reads nothing.
        for _ in 1..MAX_FAILURES {
            let refused = registry
                .check_or_reread("gm_wrong", a, 10, read.clone())
                .await;
            assert_eq!(refused, Err(Refusal::Unknown));
        }
        assert_eq!(reads(), 0);
        // The new token is read and found; its miss was not a failure: the client is not blocked.
        let found = registry
            .check_or_reread(first.as_str(), a, 10, read.clone())
            .await;
        assert_eq!(found.unwrap().name, "first");
        assert_eq!(reads(), 1);
        assert_eq!(registry.check(first.as_str(), a, 10).unwrap().name, "first");
        // Another account made; eight requests with its token at once: one read (the next one,
        // after `REREAD_GAP`); the others find what it read.
        store.lock().unwrap().push(account("second", &second));
        let checks = (0..8).map(|_| registry.check_or_reread(second.as_str(), c, 10, read.clone()));
        for verdict in futures_util::future::join_all(checks).await {
            assert_eq!(verdict.unwrap().name, "second");
        }
        assert_eq!(reads(), 2);
        // A well-formed token still unknown after a read is refused and counted: now the first
        // client is blocked.
        let other = Token::generate().unwrap();
        assert_eq!(
            registry
                .check_or_reread(other.as_str(), a, 10, read.clone())
                .await,
            Err(Refusal::Unknown)
        );
        assert_eq!(reads(), 3);
        assert!(matches!(
            registry.check(first.as_str(), a, 10),
            Err(Refusal::TooMany { .. })
        ));
        // A store that cannot answer: neither found nor counted.
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            let unread = registry.check_or_reread(other.as_str(), b, 10, || async { None });
            assert_eq!(unread.await, Err(Refusal::Unchecked));
        }
        assert_eq!(registry.check(first.as_str(), b, 10).unwrap().name, "first");
    }

    #[test]
    fn a_read_that_started_earlier_never_replaces_a_later_one() {
        let token = Token::generate().unwrap();
        let account = Account::new("new", Role::City, Vec::new(), 0, None).unwrap();
        let with = vec![StoredAccount {
            account,
            token: token.hash(),
        }];
        let registry = Registry::new(Vec::new());
        let (earlier, later) = (registry.ticket(), registry.ticket());
        registry.replace_read(later, with);
        registry.replace_read(earlier, Vec::new());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(registry.check(token.as_str(), a, 10).unwrap().name, "new");
        registry.replace(Vec::new());
        assert_eq!(registry.check(token.as_str(), a, 10), Err(Refusal::Unknown));
    }
}
