//! `gridmap user add|list|revoke|rotate` and `gridmap audit`: accounts and the audit log, run as
//! the store's owner (the CLI holds the store). A token is printed once, on standard output, and
//! only its hash is kept.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::Ctx;
use crate::access::audit::AuditQuery;
use crate::access::{Account, Role, StoredAccount, Token};
use crate::model::date::{days_since_epoch, now_s, parse_utc, utc_text};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Make an account and print its token (once: only its hash is kept).
    Add(AddArgs),
    /// List the accounts: name, role, area, created, expires, status. Never a token.
    List,
    /// Refuse the account's token from now on (servers notice within a second).
    Revoke { name: String },
    /// Give the account a new token (printed once); the old one stops working.
    Rotate { name: String },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Letters, digits, _ . @ or -, up to 64.
    name: String,
    /// admin, city, town, village, grid_worker, alliance or viewer.
    #[arg(long)]
    role: String,
    /// A unit code the account works on (repeatable): a town's 9 digits for `town`, a
    /// village's 12 for `village`, a grid's 15 for `grid_worker`, any of them for `viewer`;
    /// the alliance's id for `alliance`; none for `admin` and `city`.
    #[arg(long = "area")]
    areas: Vec<String>,
    /// The last day the token works (YYYY-MM-DD, China Standard Time); no end when omitted.
    #[arg(long)]
    expires: Option<String>,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only this account's rows.
    #[arg(long)]
    user: Option<String>,
    /// Only rows at or after this day (YYYY-MM-DD, UTC) or moment (YYYY-MM-DDThh:mm:ssZ).
    #[arg(long)]
    since: Option<String>,
    /// Only rows about this layer.
    #[arg(long)]
    layer: Option<String>,
    /// Only rows naming this feature key.
    #[arg(long)]
    key: Option<String>,
    /// At most this many rows, newest first.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// The end of `day` in China Standard Time (UTC+8), in Unix seconds: when a token given
/// `--expires day` stops working.
fn end_of_day_cst(day: &str) -> anyhow::Result<i64> {
    let days = days_since_epoch(day)
        .with_context(|| format!("--expires: '{day}' is not a date; write YYYY-MM-DD"))?;
    Ok((days + 1) * 86_400 - 8 * 3600)
}

pub fn user(ctx: &Ctx, command: UserCommand) -> anyhow::Result<()> {
    let store = ctx.open()?;
    match command {
        UserCommand::Add(args) => add(store.as_ref(), args),
        UserCommand::List => list(store.as_ref()),
        UserCommand::Revoke { name } => {
            let mut stored = find(store.as_ref(), &name)?;
            if stored.account.revoked_s.is_some() {
                bail!("account '{name}' is already revoked");
            }
            stored.account.revoked_s = Some(now_s());
            store.put_account(&stored)?;
            eprintln!("revoked '{name}': servers refuse its token within a second");
            Ok(())
        }
        UserCommand::Rotate { name } => {
            let mut stored = find(store.as_ref(), &name)?;
            if stored.account.revoked_s.is_some() {
                bail!("account '{name}' is revoked; make a new one with `gridmap user add`");
            }
            let token = Token::generate().map_err(anyhow::Error::msg)?;
            stored.token = token.hash();
            store.put_account(&stored)?;
            eprintln!("new token for '{name}' (shown once; the old one no longer works):");
            println!("{}", token.as_str());
            Ok(())
        }
    }
}

fn find(store: &dyn Store, name: &str) -> anyhow::Result<StoredAccount> {
    store
        .accounts()?
        .into_iter()
        .find(|a| a.account.name == name)
        .with_context(|| format!("no account is named '{name}'; `gridmap user list` shows them"))
}

fn add(store: &dyn Store, args: AddArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let expires_s = args.expires.as_deref().map(end_of_day_cst).transpose()?;
    let account = Account::new(&args.name, role, args.areas, now_s(), expires_s)
        .map_err(anyhow::Error::msg)?;
    if store
        .accounts()?
        .iter()
        .any(|a| a.account.name == account.name)
    {
        bail!(
            "an account named '{}' exists; `gridmap user rotate {}` gives it a new token",
            account.name,
            account.name
        );
    }
    // The area must name what the store holds: a typo would make an account that sees nothing.
    let data = store.load()?;
    for area in &account.areas {
        let known = match role {
            Role::Alliance => data.alliances.iter().any(|a| a.id.to_string() == *area),
            _ => {
                data.towns.iter().any(|t| t.code == *area)
                    || data.villages.iter().any(|v| v.code == *area)
                    || data.grids.iter().any(|g| g.code == *area)
            }
        };
        if !known {
            bail!(
                "--area: the store has no {} '{area}'; `gridmap export --layer {}` lists them",
                if role == Role::Alliance {
                    "alliance"
                } else {
                    "unit coded"
                },
                if role == Role::Alliance {
                    "alliances"
                } else {
                    "towns"
                }
            );
        }
    }
    let token = Token::generate().map_err(anyhow::Error::msg)?;
    store.put_account(&StoredAccount {
        account: account.clone(),
        token: token.hash(),
    })?;
    eprintln!(
        "added {} account '{}'{}; its token (shown once, keep it secret):",
        role,
        account.name,
        match account.areas.as_slice() {
            [] => String::new(),
            areas => format!(" for {}", areas.join(", ")),
        }
    );
    println!("{}", token.as_str());
    Ok(())
}

fn list(store: &dyn Store) -> anyhow::Result<()> {
    let now = now_s();
    println!("name\trole\tarea\tcreated\texpires\tstatus");
    for StoredAccount { account: a, .. } in store.accounts()? {
        let status = if a.revoked_s.is_some() {
            "revoked"
        } else if a.active_at(now) {
            "active"
        } else {
            "expired"
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{status}",
            a.name,
            a.role,
            if a.areas.is_empty() {
                "*".to_string()
            } else {
                a.areas.join(",")
            },
            utc_text(a.created_s),
            a.expires_s.map_or("-".to_string(), utc_text),
        );
    }
    Ok(())
}

/// `gridmap audit`: rows of the audit log as JSON lines, newest first.
pub fn audit(ctx: &Ctx, args: AuditArgs) -> anyhow::Result<()> {
    let since_s = args
        .since
        .as_deref()
        .map(|s| {
            parse_utc(s).with_context(|| {
                format!("--since: '{s}' is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
            })
        })
        .transpose()?;
    let rows = ctx.open()?.read_audit(&AuditQuery {
        account: args.user,
        since_s,
        layer: args.layer,
        key: args.key,
        limit: args.limit,
    })?;
    for row in rows {
        println!("{}", row.to_json());
    }
    Ok(())
}
