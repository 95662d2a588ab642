//! Second pass, Apache's `ap_walk_config`: every directive and section of the built tree
//! is looked up in the tables of the modules loaded at the end of reading (as in Apache,
//! where `LoadModule` adds a module's commands before the tree is walked), then checked
//! for context (`invoke_cmd`'s override test and `ap_check_cmd_context`) and argument
//! count (`invoke_cmd`'s per-`args_how` messages).

use crate::lexer::split_words;
use crate::types::*;

/// A node of the first pass: names as written, not yet looked up.
#[derive(Debug)]
pub(crate) enum Raw {
    /// `LoadModule` / `ServerRoot`: already executed and checked while reading.
    Done(Directive),
    Directive {
        name: String,
        words: Vec<String>,
        location: Location,
    },
    Section {
        /// As written, without the leading `<` (`directory`).
        name: String,
        /// Everything after the name, `>` included (`/x>`; `>` alone for `<Foo>`).
        raw_args: String,
        location: Location,
        children: Vec<Raw>,
    },
}

/// Where a directive stands.
#[derive(Clone, Debug)]
struct Ctx {
    here: Contexts,
    /// Innermost `<Directory>`-like section as written (`<location`), for messages.
    dir_section: Option<String>,
    in_limit: bool,
}

pub(crate) struct Checker<'a> {
    /// Directive tables of the loaded modules, in lookup order.
    pub tables: Vec<&'a [DirectiveSpec]>,
}

impl Checker<'_> {
    /// Check a tree read at `here`: the main configuration (`SERVER`) or a `.htaccess`
    /// file (`DIRECTORY`).
    pub(crate) fn walk(&self, nodes: Vec<Raw>, here: Contexts) -> Result<Vec<Node>, ConfigError> {
        let ctx = Ctx {
            here,
            dir_section: None,
            in_limit: false,
        };
        self.walk_in(nodes, &ctx)
    }

    fn find(&self, name: &str, section: bool) -> Option<&DirectiveSpec> {
        self.tables
            .iter()
            .flat_map(|t| t.iter())
            .find(|s| (s.arity == Arity::Section) == section && s.name.eq_ignore_ascii_case(name))
    }

    fn walk_in(&self, nodes: Vec<Raw>, ctx: &Ctx) -> Result<Vec<Node>, ConfigError> {
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            match node {
                Raw::Done(d) => out.push(Node::Directive(d)),
                Raw::Directive {
                    name,
                    words,
                    location,
                } => {
                    let spec = self
                        .find(&name, false)
                        .ok_or_else(|| ConfigError::at(&location, invalid_command(&name)))?;
                    check_context(spec, spec.name, false, ctx)
                        .and_then(|()| check_arity(spec.name, spec.arity, spec.help, &words))
                        .map_err(|m| ConfigError::at(&location, m))?;
                    out.push(Node::Directive(Directive {
                        name: spec.name,
                        args: words,
                        location,
                    }));
                }
                Raw::Section {
                    name,
                    raw_args,
                    location,
                    children,
                } => {
                    let spec = self.find(&name, true).ok_or_else(|| {
                        ConfigError::at(&location, invalid_command(&format!("<{name}")))
                    })?;
                    let cmd_name = format!("<{}", spec.name);
                    check_context(spec, &cmd_name, true, ctx)
                        .map_err(|m| ConfigError::at(&location, m))?;
                    let Some(end) = raw_args.rfind('>') else {
                        return Err(ConfigError::at(&location, missing_gt(&cmd_name)));
                    };
                    let args = split_words(&raw_args[..end]);
                    let inner = child_ctx(ctx, spec.name, &name);
                    let children = self.walk_in(children, &inner)?;
                    out.push(Node::Section(Section {
                        name: spec.name,
                        args,
                        raw_args: raw_args[..end].trim().to_string(),
                        location,
                        children,
                    }));
                }
            }
        }
        Ok(out)
    }
}

pub(crate) fn invalid_command(name: &str) -> String {
    format!(
        "Invalid command '{name}', perhaps misspelled or defined by a module not included in the server configuration"
    )
}

/// `unclosed_directive`: `cmd_name` is the table name with its `<` (`<Directory`).
pub(crate) fn missing_gt(cmd_name: &str) -> String {
    format!("{cmd_name}> directive missing closing '>'")
}

fn child_ctx(ctx: &Ctx, canonical: &str, written: &str) -> Ctx {
    let mut c = ctx.clone();
    let dir = |c: &mut Ctx, here| {
        c.here = here;
        c.dir_section = Some(format!("<{written}"));
    };
    match canonical.to_ascii_lowercase().as_str() {
        "virtualhost" => c.here = Contexts::VHOST,
        // <AuthnProviderAlias>'s body is read as a directory configuration, as in
        // mod_authn_core.
        "directory" | "directorymatch" | "proxy" | "proxymatch" | "authnprovideralias" => {
            dir(&mut c, Contexts::DIRECTORY)
        }
        "location" | "locationmatch" => dir(&mut c, Contexts::LOCATION),
        "files" | "filesmatch" => dir(&mut c, Contexts::FILES),
        "limit" | "limitexcept" => c.in_limit = true,
        // An <If> body is a per-directory configuration wherever it stands.
        "if" | "elseif" | "else" if ctx.here.0 & Contexts::DIR_ONLY.0 == 0 => {
            dir(&mut c, Contexts::DIRECTORY)
        }
        _ => {}
    }
    c
}

/// Apache's two checks in the order it makes them: `invoke_cmd`'s override test
/// ("X not allowed here": a server-only directive inside a per-directory section, or a
/// per-directory one outside), then the handler's `ap_check_cmd_context`.
fn check_context(
    spec: &DirectiveSpec,
    cmd_name: &str,
    section: bool,
    ctx: &Ctx,
) -> Result<(), String> {
    let c = spec.contexts;
    let server_ok = c.0 & Contexts::SERVER_VHOST.0 != 0;
    let dir_ok = c.0 & Contexts::DIR_ONLY.0 != 0;
    let in_dir = ctx.here.0 & Contexts::DIR_ONLY.0 != 0;
    let gt = if section { ">" } else { "" };
    if (in_dir && !dir_ok) || (!in_dir && !server_ok) {
        return Err(format!("{cmd_name} not allowed here"));
    }
    if ctx.here == Contexts::VHOST && !c.contains(Contexts::VHOST) {
        return Err(format!(
            "{cmd_name}{gt} cannot occur within <VirtualHost> section"
        ));
    }
    if ctx.here == Contexts::SERVER && !c.contains(Contexts::SERVER) {
        return Err(format!("{cmd_name} not allowed here"));
    }
    if ctx.in_limit && !dir_ok {
        return Err(format!(
            "{cmd_name}{gt} cannot occur within <Limit> or <LimitExcept> section"
        ));
    }
    if in_dir && !c.contains(ctx.here) {
        let found = ctx.dir_section.as_deref().unwrap_or("<Directory");
        return Err(format!(
            "{cmd_name}{gt} cannot occur within {found}> section"
        ));
    }
    Ok(())
}

/// `invoke_cmd`'s argument checks, word for word (an empty quoted word `""` counts as
/// missing where Apache tests `*w == '\0'`).
pub(crate) fn check_arity(
    name: &str,
    arity: Arity,
    help: &str,
    w: &[String],
) -> Result<(), String> {
    let n = w.len();
    let filled = |i: usize| w.get(i).is_some_and(|s| !s.is_empty());
    let (ok, what) = match arity {
        Arity::NoArgs => {
            return if n == 0 {
                Ok(())
            } else {
                Err(format!("{name} takes no arguments"))
            };
        }
        Arity::Flag => {
            let v = w.first().map(String::as_str).unwrap_or("");
            return if v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("off") {
                Ok(())
            } else {
                Err(format!("{name} must be On or Off"))
            };
        }
        Arity::Take1 => (n == 1 && filled(0), "takes one argument"),
        Arity::Take2 => (n == 2 && filled(0) && filled(1), "takes two arguments"),
        Arity::Take3 => (n == 3 && (0..3).all(filled), "takes three arguments"),
        Arity::Take12 => ((1..=2).contains(&n) && filled(0), "takes 1-2 arguments"),
        Arity::Take23 => (
            (2..=3).contains(&n) && filled(0) && filled(1),
            "takes two or three arguments",
        ),
        Arity::Take123 => (
            (1..=3).contains(&n) && filled(0),
            "takes one, two or three arguments",
        ),
        Arity::Take13 => (
            filled(0) && (n == 1 || n == 3 || (n == 2 && !filled(1))),
            "takes one or three arguments",
        ),
        Arity::OneOrMore => (filled(0), "requires at least one argument"),
        Arity::TwoOrMore => (filled(0) && n >= 2, "requires at least two arguments"),
        Arity::Any | Arity::Section => (true, ""),
    };
    if ok {
        Ok(())
    } else if help.is_empty() {
        Err(format!("{name} {what}"))
    } else {
        Err(format!("{name} {what}, {help}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arity_messages() {
        assert_eq!(
            check_arity("DocumentRoot", Arity::Take1, "Root directory", &w(&[])),
            Err("DocumentRoot takes one argument, Root directory".into())
        );
        assert!(check_arity("A", Arity::Take1, "", &w(&[""])).is_err());
        assert_eq!(
            check_arity("A", Arity::Take2, "", &w(&["a"])),
            Err("A takes two arguments".into())
        );
        assert!(check_arity("A", Arity::Take12, "", &w(&["a", ""])).is_ok());
        assert_eq!(
            check_arity("A", Arity::Take12, "h", &w(&["a", "b", "c"])),
            Err("A takes 1-2 arguments, h".into())
        );
        assert_eq!(
            check_arity("A", Arity::Take123, "", &w(&[])),
            Err("A takes one, two or three arguments".into())
        );
        assert!(check_arity("A", Arity::Take13, "", &w(&["a", "b"])).is_err());
        assert!(check_arity("A", Arity::Take13, "", &w(&["a", "b", "c"])).is_ok());
        assert_eq!(
            check_arity("A", Arity::Flag, "h", &w(&["yes"])),
            Err("A must be On or Off".into())
        );
        assert!(check_arity("A", Arity::Flag, "", &w(&["oFF"])).is_ok());
        assert_eq!(
            check_arity("A", Arity::NoArgs, "h", &w(&["x"])),
            Err("A takes no arguments".into())
        );
        assert_eq!(
            check_arity("A", Arity::OneOrMore, "h", &w(&[])),
            Err("A requires at least one argument, h".into())
        );
        assert!(check_arity("A", Arity::TwoOrMore, "", &w(&["a"])).is_err());
        assert!(check_arity("A", Arity::Any, "", &w(&[])).is_ok());
    }
}
