//! Plugin options (`--option name=value`), for tasks and exporters alike: what a plugin declares, the
//! checks on its declaration, the checks on what a user gives, and the complete settings it receives.

use crate::bindings::task::cairn::plugin::types::OptionSpec;
use crate::error::{Failure, PluginError};

/// An option a plugin understands (`name=value`).
#[derive(Clone, Debug, PartialEq)]
pub struct PluginOption {
    pub name: String,
    pub description: String,
    pub default: Option<String>,
    pub choices: Vec<String>,
}

impl From<OptionSpec> for PluginOption {
    fn from(o: OptionSpec) -> PluginOption {
        PluginOption { name: o.name, description: o.description, default: o.default_value, choices: o.choices }
    }
}

/// Splits one `name=value` setting.
pub fn parse_option(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("option {pair:?}: expected name=value")),
    }
}

/// A plugin's declared options, checked: names unique and present, defaults among their choices.
pub(crate) fn from_declared(specs: Vec<OptionSpec>) -> Result<Vec<PluginOption>, String> {
    let options: Vec<PluginOption> = specs.into_iter().map(PluginOption::from).collect();
    for (i, o) in options.iter().enumerate() {
        if o.name.is_empty() || options[..i].iter().any(|p| p.name == o.name) {
            return Err(format!("option {:?} is empty or declared twice", o.name));
        }
        if let Some(default) = &o.default
            && !o.choices.is_empty()
            && !o.choices.contains(default)
        {
            return Err(format!("option {}: default {default:?} is not one of its choices", o.name));
        }
    }
    Ok(options)
}

/// Refuses a given option the plugin did not declare, or a value outside its choices.
pub(crate) fn check_given(plugin: &str, declared: &[PluginOption], given: &[(String, String)]) -> Result<(), PluginError> {
    let refuse = |message: String| PluginError::new(plugin, "options", Failure::Refused, message);
    for (name, value) in given {
        let Some(spec) = declared.iter().find(|o| &o.name == name) else {
            let known: Vec<_> = declared.iter().map(|o| o.name.as_str()).collect();
            return Err(refuse(format!(
                "unknown option {name:?}; {plugin} takes: {}",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            )));
        };
        if !spec.choices.is_empty() && !spec.choices.contains(value) {
            return Err(refuse(format!("option {name}: {value:?} is not one of {}", spec.choices.join(", "))));
        }
    }
    Ok(())
}

/// The given `name=value` pairs plus every declared default that was not given: plugins receive
/// complete settings and never need to call their own `describe` to learn defaults.
pub(crate) fn with_defaults(declared: &[PluginOption], given: &[(String, String)]) -> Vec<(String, String)> {
    let mut all = given.to_vec();
    for o in declared {
        if let Some(default) = &o.default
            && !given.iter().any(|(name, _)| name == &o.name)
        {
            all.push((o.name.clone(), default.clone()));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, default: Option<&str>, choices: &[&str]) -> OptionSpec {
        OptionSpec {
            name: name.into(),
            description: String::new(),
            default_value: default.map(Into::into),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn pairs(given: &[(&str, &str)]) -> Vec<(String, String)> {
        given.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(parse_option("ties=both-ways"), Ok(("ties".into(), "both-ways".into())));
        assert_eq!(parse_option("note=a=b"), Ok(("note".into(), "a=b".into())));
        assert_eq!(parse_option("empty="), Ok(("empty".into(), String::new())));
        assert_eq!(parse_option("ties").unwrap_err(), "option \"ties\": expected name=value");
        assert!(parse_option("=x").is_err());
    }

    #[test]
    fn declarations_are_checked() {
        assert_eq!(from_declared(vec![spec("a", Some("x"), &["x", "y"]), spec("b", None, &[])]).unwrap().len(), 2);
        assert!(from_declared(vec![spec("a", None, &[]), spec("a", None, &[])]).unwrap_err().contains("declared twice"));
        assert!(from_declared(vec![spec("", None, &[])]).is_err());
        assert!(from_declared(vec![spec("a", Some("z"), &["x", "y"])]).unwrap_err().contains("default \"z\" is not one of its choices"));
    }

    #[test]
    fn given_options_are_checked_and_completed_with_defaults() {
        let declared = from_declared(vec![spec("ties", Some("drop"), &["drop", "both-ways"]), spec("note", None, &[])]).unwrap();
        assert!(check_given("p", &declared, &pairs(&[("ties", "both-ways"), ("note", "anything")])).is_ok());
        let err = check_given("p", &declared, &pairs(&[("colour", "red")])).unwrap_err();
        assert_eq!((err.call.as_str(), err.failure), ("options", Failure::Refused));
        assert!(err.message.contains("unknown option \"colour\"; p takes: ties, note"), "{err}");
        assert!(check_given("p", &[], &pairs(&[("x", "1")])).unwrap_err().message.ends_with("p takes: none"));
        let err = check_given("p", &declared, &pairs(&[("ties", "never")])).unwrap_err();
        assert!(err.message.contains("option ties: \"never\" is not one of drop, both-ways"), "{err}");
        assert_eq!(with_defaults(&declared, &pairs(&[("note", "n")])), pairs(&[("note", "n"), ("ties", "drop")]));
        assert_eq!(with_defaults(&declared, &pairs(&[("ties", "both-ways")])), pairs(&[("ties", "both-ways")]));
    }
}
