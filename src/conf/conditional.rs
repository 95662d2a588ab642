//! `<If>`, `<ElseIf>` and `<Else>`: per-directory configuration chosen per request by
//! an ap_expr condition. A chain is kept in the configuration of the context it was
//! written in; after the request's Directory, Files and Location merge, each chain in
//! force contributes its first branch whose condition holds (Apache's `ap_if_walk`).

use std::sync::Arc;

use rhttpd_config::{ConfigError, Location, Section};
use rhttpd_expr::{Context, Expr};

use super::DirConfig;
use super::values::err;

/// One `<If>` with the `<ElseIf>`s and the `<Else>` that follow it in the same scope.
#[derive(Clone, Debug, Default)]
pub struct IfChain {
    pub branches: Vec<IfBranch>,
}

#[derive(Clone, Debug)]
pub struct IfBranch {
    /// `None` for `<Else>`.
    pub condition: Option<Arc<Expr>>,
    pub config: Arc<DirConfig>,
    pub location: Location,
}

/// Chains evaluated per request at most (nested `<If>`s included): a bound on the
/// work a configuration can ask for.
const MAX_CHAINS: usize = 256;

/// The condition of `<If expr>` / `<ElseIf expr>`: the arguments as written, without
/// the quotes around them when they are one quoted word (`<If "-f %{REQUEST_FILENAME}">`).
pub fn condition(s: &Section) -> Result<Option<Arc<Expr>>, ConfigError> {
    let raw = s.raw_args.trim();
    if s.name == "Else" {
        if !raw.is_empty() {
            return Err(err(&s.location, "<Else> takes no arguments"));
        }
        return Ok(None);
    }
    let text = match raw.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) if raw.len() >= 2 && raw.as_bytes()[raw.len() - 1] == q => {
            &raw[1..raw.len() - 1]
        }
        _ => raw,
    };
    if text.trim().is_empty() {
        return Err(err(
            &s.location,
            format!("<{}> directive requires additional arguments", s.name),
        ));
    }
    let expr = Expr::parse(text).map_err(|e| {
        err(
            &s.location,
            format!("Cannot parse condition clause: {}", e.message()),
        )
    })?;
    Ok(Some(Arc::new(expr)))
}

/// Add a branch to the chains of one scope: `<If>` opens a chain, `<ElseIf>`/`<Else>`
/// continue the last one.
pub fn add_branch(
    chains: &mut Vec<Arc<IfChain>>,
    s: &Section,
    condition: Option<Arc<Expr>>,
    config: DirConfig,
) -> Result<(), ConfigError> {
    let branch = IfBranch {
        condition,
        config: Arc::new(config),
        location: s.location.clone(),
    };
    if s.name == "If" {
        chains.push(Arc::new(IfChain {
            branches: vec![branch],
        }));
        return Ok(());
    }
    let open = chains
        .last_mut()
        .filter(|c| c.branches.last().is_some_and(|b| b.condition.is_some()));
    match open {
        Some(chain) => {
            Arc::make_mut(chain).branches.push(branch);
            Ok(())
        }
        None => Err(err(
            &s.location,
            "<ElseIf> or <Else> section without previous <If> or <ElseIf> section in same scope",
        )),
    }
}

/// The configuration once the `<If>` chains in force in `dc` have been decided for this
/// request, `None` when there are none. The error is the condition's evaluation
/// failure (Apache answers 500).
pub fn resolve(dc: &DirConfig, ctx: &dyn Context) -> Result<Option<DirConfig>, String> {
    if dc.ifs.is_empty() {
        return Ok(None);
    }
    let mut out = dc.clone();
    out.ifs = Vec::new();
    let mut pending: std::collections::VecDeque<Arc<IfChain>> = dc.ifs.iter().cloned().collect();
    let mut done = 0;
    while let Some(chain) = pending.pop_front() {
        done += 1;
        if done > MAX_CHAINS {
            return Err(format!("more than {MAX_CHAINS} <If> sections to evaluate"));
        }
        for b in &chain.branches {
            let hit = match &b.condition {
                None => true,
                Some(e) => e.eval(ctx).map_err(|m| {
                    format!(
                        "Failed to evaluate <If > condition: {m} ({}:{})",
                        b.location.file.display(),
                        b.location.line
                    )
                })?,
            };
            if hit {
                // Nested chains of the chosen branch are decided right after it.
                for nested in b.config.ifs.iter().rev() {
                    pending.push_front(nested.clone());
                }
                out = out.merge(&b.config);
                out.ifs = Vec::new();
                break;
            }
        }
    }
    Ok(Some(out))
}
