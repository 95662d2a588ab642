//! mod_env: `SetEnv`, `PassEnv` and `UnsetEnv`, the variables a request carries into
//! CGI and FastCGI environments, `%{VAR}e` in access logs and mod_headers' `env=` and
//! `%{VAR}e`. Names compare case-insensitively, as in Apache's tables.

use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive};

/// One section's mod_env settings; after a merge, the variables in effect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvDir {
    /// Name → value, in the order first set.
    pub vars: Arc<Vec<(String, String)>>,
    /// `UnsetEnv` names of this section: removed from what the enclosing sections set
    /// (`merge_env_dir_configs`). Only read when this section is merged over a base.
    pub unset: Arc<Vec<String>>,
}

fn set(vars: &mut Vec<(String, String)>, name: &str, value: String) {
    match vars.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        Some(slot) => slot.1 = value,
        None => vars.push((name.to_string(), value)),
    }
}

impl EnvDir {
    pub fn merge(&self, more: &EnvDir) -> EnvDir {
        if more.vars.is_empty() && more.unset.is_empty() {
            return self.clone();
        }
        if self.vars.is_empty() {
            return more.clone();
        }
        let mut vars: Vec<(String, String)> = self
            .vars
            .iter()
            .filter(|(k, _)| !more.unset.iter().any(|u| u.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        for (k, v) in more.vars.iter() {
            set(&mut vars, k, v.clone());
        }
        EnvDir {
            vars: Arc::new(vars),
            unset: more.unset.clone(),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// `SetEnv`, `PassEnv`, `UnsetEnv` into `env`. Warnings (Apache's AH01506 for an
/// undefined PassEnv variable, AH10032 for `=` in a name) go to `warnings`.
pub fn directive(
    env: &mut EnvDir,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    match d.name {
        "SetEnv" => {
            let name = &d.args[0];
            if let Some((n, v)) = name.split_once('=') {
                warnings.push(format!(
                    "AH10032: Spurious usage of '=' in an environment variable name. '{} {n} {v}' expected instead?",
                    d.name
                ));
            }
            let value = d.args.get(1).cloned().unwrap_or_default();
            Arc::make_mut(&mut env.unset).retain(|u| !u.eq_ignore_ascii_case(name));
            set(Arc::make_mut(&mut env.vars), name, value);
        }
        "PassEnv" => {
            for name in &d.args {
                if name.contains('=') {
                    warnings.push(format!(
                        "AH10032: Spurious usage of '=' in an environment variable name. 'PassEnv {}' expected instead?",
                        name.split('=').next().unwrap_or("")
                    ));
                }
                match std::env::var_os(name) {
                    Some(v) if !name.is_empty() && !name.contains('=') => {
                        Arc::make_mut(&mut env.unset).retain(|u| !u.eq_ignore_ascii_case(name));
                        set(
                            Arc::make_mut(&mut env.vars),
                            name,
                            v.to_string_lossy().into_owned(),
                        );
                    }
                    _ => warnings.push(format!("AH01506: PassEnv variable {name} was undefined")),
                }
            }
        }
        _ => {
            for name in &d.args {
                let unset = Arc::make_mut(&mut env.unset);
                if !unset.iter().any(|u| u.eq_ignore_ascii_case(name)) {
                    unset.push(name.clone());
                }
                Arc::make_mut(&mut env.vars).retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(vars: &[(&str, &str)], unset: &[&str]) -> EnvDir {
        EnvDir {
            vars: Arc::new(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            unset: Arc::new(unset.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn merge_unsets_then_sets() {
        let base = dir(&[("A", "1"), ("B", "2")], &[]);
        let more = dir(&[("c", "3"), ("a", "9")], &["b"]);
        let m = base.merge(&more);
        assert_eq!(m.get("A"), Some("9"));
        assert_eq!(m.get("B"), None);
        assert_eq!(m.get("C"), Some("3"));
        // Nothing in the more specific section: the base's list is shared.
        let same = base.merge(&EnvDir::default());
        assert!(Arc::ptr_eq(&same.vars, &base.vars));
    }

    proptest::proptest! {
        /// The merge against a model: a name is set after the merge when the more
        /// specific section sets it, or the base does and the section does not unset it;
        /// names stay unique (case-insensitively).
        #[test]
        fn merge_matches_model(
            base in proptest::collection::vec(("[a-cA-C]", "[0-9]"), 0..6),
            more in proptest::collection::vec(("[a-cA-C]", "[0-9]"), 0..6),
            unset in proptest::collection::vec("[a-cA-C]", 0..3),
        ) {
            let mk = |v: &[(String, String)]| {
                let mut out: Vec<(String, String)> = Vec::new();
                for (k, val) in v {
                    set(&mut out, k, val.clone());
                }
                out
            };
            let b = EnvDir { vars: Arc::new(mk(&base)), unset: Arc::default() };
            let m = EnvDir { vars: Arc::new(mk(&more)), unset: Arc::new(unset.clone()) };
            let r = b.merge(&m);
            for name in ["a", "b", "c"] {
                let want = m.get(name).or_else(|| {
                    (!unset.iter().any(|u| u.eq_ignore_ascii_case(name)))
                        .then(|| b.get(name))
                        .flatten()
                });
                proptest::prop_assert_eq!(r.get(name), want);
                let n = r.vars.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).count();
                proptest::prop_assert!(n <= 1);
            }
        }
    }
}
