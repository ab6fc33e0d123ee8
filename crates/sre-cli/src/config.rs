//! The one configuration file and the resolution of every setting.
//!
//! Precedence: command-line flag > `SRE_*` environment variable > config file > default.
//! The file is `--config FILE` (or `SRE_CONFIG`), else `./sre.yaml`, else
//! `<user config dir>/sre/config.yaml` (on Linux `~/.config/sre/config.yaml`). Unknown keys
//! are errors that name the key, its line and column, and the valid keys.
//! `docs/configuration.md` documents every key.

use crate::args::{ColorWhen, FailOn, GlobalArgs, LogFormat, LogLevel, ReportArgs};
use serde::{Deserialize, Deserializer};
use sre_render::Format;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A configuration problem, with where it is and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `message` starts with `path:line:column:` when the parser knows where.
    #[error("{message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value in environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid value for {flag}: {message}")]
    Flag { flag: String, message: String },
}

/// A value read from the file with `FromStr`, so that a bad value is reported by the YAML
/// parser with its line and column.
#[derive(Debug, Clone)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<T>().map(Parsed).map_err(serde::de::Error::custom)
    }
}

/// The config file as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub output: Option<Parsed<Format>>,
    pub fail_on: Option<Parsed<FailOn>>,
    pub log_level: Option<Parsed<LogLevel>>,
    pub log_format: Option<Parsed<LogFormat>>,
    pub color: Option<Parsed<ColorWhen>>,
    pub k8s_doctor: Option<K8sDoctorFile>,
}

/// The `k8s-doctor:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct K8sDoctorFile {
    pub restart_warning: Option<u32>,
    pub restart_critical: Option<u32>,
    pub node_load_percent: Option<u32>,
    #[serde(default)]
    pub suppressions: Vec<SuppressionRule>,
}

/// A day (`2027-01-31`), midnight UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub text: String,
    pub start: std::time::SystemTime,
}

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
        let start = ok
            .then(|| humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).ok())
            .flatten()
            .ok_or_else(|| format!("invalid date `{s}`: use YYYY-MM-DD, e.g. 2027-01-31"))?;
        Ok(Day {
            text: s.to_string(),
            start,
        })
    }
}

/// One entry of `k8s-doctor.suppressions`: silences findings of `code` (a code or check
/// name) on objects matching every given selector. `reason` is mandatory; after `expires`
/// the rule stops applying and is reported itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SuppressionRule {
    pub code: String,
    /// Namespace, `*` and `?` wildcards allowed.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Object name, `*` and `?` wildcards allowed.
    #[serde(default)]
    pub name: Option<String>,
    /// Labels the object (or its pod template) must carry.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    pub reason: String,
    #[serde(default)]
    pub expires: Option<Parsed<Day>>,
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(String),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(v) => write!(f, "env {v}"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A resolved value and its source.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// Settings every report-producing command uses.
#[derive(Debug, Clone)]
pub struct Common {
    pub output: Setting<Format>,
    pub output_file: Option<PathBuf>,
    pub fail_on: Setting<FailOn>,
    pub color: Setting<ColorWhen>,
}

/// Logging settings (resolved before anything else runs).
#[derive(Debug, Clone)]
pub struct Logging {
    pub level: Setting<LogLevel>,
    pub format: Setting<LogFormat>,
}

/// k8s-doctor thresholds.
#[derive(Debug, Clone)]
pub struct K8sDoctor {
    pub restart_warning: Setting<u32>,
    pub restart_critical: Setting<u32>,
    pub node_load_percent: Setting<u32>,
}

/// Flags of k8s-doctor that have config-file counterparts.
#[derive(Debug, Clone, Copy, Default)]
pub struct K8sDoctorFlags {
    pub restart_warning: Option<u32>,
    pub restart_critical: Option<u32>,
    pub node_load_percent: Option<u32>,
}

type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// The loaded config file plus access to the environment, ready to resolve settings.
pub struct Config {
    pub path: Option<PathBuf>,
    pub file: FileConfig,
    env: EnvLookup,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("file", &self.file)
            .finish()
    }
}

impl Config {
    /// Finds and reads the config file for `global` using the process environment.
    pub fn load(global: &GlobalArgs) -> Result<Config, ConfigError> {
        // `--config`, else a non-empty `SRE_CONFIG` (an empty one means "not set").
        let from_env = std::env::var_os("SRE_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let path = match (&global.config, from_env) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(p),
            (None, None) => discover(),
        };
        let file = match &path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        Ok(Config {
            path,
            file,
            env: Box::new(|k| std::env::var(k).ok()),
        })
    }

    /// Builds a config from YAML text and an explicit environment (for tests).
    pub fn from_parts(
        path: &Path,
        yaml: &str,
        env: impl Fn(&str) -> Option<String> + 'static,
    ) -> Result<Config, ConfigError> {
        Ok(Config {
            path: Some(path.to_path_buf()),
            file: parse_file(path, yaml)?,
            env: Box::new(env),
        })
    }

    fn pick<T>(
        &self,
        flag: Option<T>,
        var: &str,
        file: Option<T>,
        default: T,
    ) -> Result<Setting<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        if let Some(v) = flag {
            return Ok(Setting {
                value: v,
                source: Source::Flag,
            });
        }
        if let Some(raw) = (self.env)(var).filter(|s| !s.is_empty()) {
            let value = raw.parse::<T>().map_err(|e| ConfigError::Env {
                var: var.to_string(),
                message: e.to_string(),
            })?;
            return Ok(Setting {
                value,
                source: Source::Env(var.to_string()),
            });
        }
        if let (Some(v), Some(p)) = (file, &self.path) {
            return Ok(Setting {
                value: v,
                source: Source::File(p.clone()),
            });
        }
        Ok(Setting {
            value: default,
            source: Source::Default,
        })
    }

    /// Resolves logging settings.
    pub fn logging(&self, global: &GlobalArgs) -> Result<Logging, ConfigError> {
        let level_flag = match &global.log_level {
            Some(s) => Some(s.parse::<LogLevel>().map_err(|m| ConfigError::Flag {
                flag: "--log-level".to_string(),
                message: m,
            })?),
            None => None,
        };
        let format_flag = global.log_format.as_deref().and_then(|s| s.parse().ok());
        Ok(Logging {
            level: self.pick(
                level_flag,
                "SRE_LOG_LEVEL",
                self.file.log_level.clone().map(|p| p.0),
                LogLevel("warn".to_string()),
            )?,
            format: self.pick(
                format_flag,
                "SRE_LOG_FORMAT",
                self.file.log_format.clone().map(|p| p.0),
                LogFormat::Text,
            )?,
        })
    }

    /// Resolves the settings of a report-producing command.
    pub fn common(&self, global: &GlobalArgs, report: &ReportArgs) -> Result<Common, ConfigError> {
        let color_flag = global.color.as_deref().and_then(|s| s.parse().ok());
        Ok(Common {
            output: self.pick(
                report.output,
                "SRE_OUTPUT",
                self.file.output.clone().map(|p| p.0),
                Format::Table,
            )?,
            output_file: report.output_file.clone(),
            fail_on: self.pick(
                report.fail_on,
                "SRE_FAIL_ON",
                self.file.fail_on.clone().map(|p| p.0),
                FailOn::Critical,
            )?,
            color: self.pick(
                color_flag,
                "SRE_COLOR",
                self.file.color.clone().map(|p| p.0),
                ColorWhen::Auto,
            )?,
        })
    }

    /// Resolves k8s-doctor's thresholds.
    pub fn k8s_doctor(&self, flags: K8sDoctorFlags) -> Result<K8sDoctor, ConfigError> {
        let f = self.file.k8s_doctor.as_ref();
        Ok(K8sDoctor {
            restart_warning: self.pick(
                flags.restart_warning,
                "SRE_K8S_DOCTOR_RESTART_WARNING",
                f.and_then(|f| f.restart_warning),
                5,
            )?,
            restart_critical: self.pick(
                flags.restart_critical,
                "SRE_K8S_DOCTOR_RESTART_CRITICAL",
                f.and_then(|f| f.restart_critical),
                10,
            )?,
            node_load_percent: self.pick(
                flags.node_load_percent,
                "SRE_K8S_DOCTOR_NODE_LOAD_PERCENT",
                f.and_then(|f| f.node_load_percent),
                90,
            )?,
        })
    }

    /// Every resolved setting as `(key, value, source)` rows, for `sre config show`.
    pub fn show(&self, global: &GlobalArgs) -> Result<Vec<(String, String, Source)>, ConfigError> {
        let mut rows = Vec::new();
        let logging = self.logging(global)?;
        let common = self.common(global, &ReportArgs::default())?;
        let k8s = self.k8s_doctor(K8sDoctorFlags::default())?;
        let mut row = |k: &str, v: String, s: &Source| rows.push((k.to_string(), v, s.clone()));
        row(
            "output",
            common.output.value.to_string(),
            &common.output.source,
        );
        row(
            "fail-on",
            common.fail_on.value.to_string(),
            &common.fail_on.source,
        );
        row(
            "color",
            common.color.value.to_string(),
            &common.color.source,
        );
        row(
            "log-level",
            logging.level.value.to_string(),
            &logging.level.source,
        );
        row(
            "log-format",
            logging.format.value.to_string(),
            &logging.format.source,
        );
        row(
            "k8s-doctor.restart-warning",
            k8s.restart_warning.value.to_string(),
            &k8s.restart_warning.source,
        );
        row(
            "k8s-doctor.restart-critical",
            k8s.restart_critical.value.to_string(),
            &k8s.restart_critical.source,
        );
        row(
            "k8s-doctor.node-load-percent",
            k8s.node_load_percent.value.to_string(),
            &k8s.node_load_percent.source,
        );
        Ok(rows)
    }
}

fn discover() -> Option<PathBuf> {
    let local = PathBuf::from("sre.yaml");
    if local.is_file() {
        return Some(local);
    }
    let user = dirs::config_dir()?.join("sre").join("config.yaml");
    user.is_file().then_some(user)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(path, &text)
}

fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    let file = parse_yaml(path, text)?;
    for (i, rule) in file
        .k8s_doctor
        .iter()
        .flat_map(|k| k.suppressions.iter())
        .enumerate()
    {
        if rule.reason.trim().is_empty() {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!(
                    "{}: invalid config file: k8s-doctor.suppressions[{i}] (code {}) has an empty reason; say why the finding is accepted",
                    path.display(),
                    rule.code
                ),
            });
        }
    }
    Ok(file)
}

fn parse_yaml(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    serde_yaml_ng::from_str::<Option<FileConfig>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            let loc = e
                .location()
                .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
                .unwrap_or_else(|| path.display().to_string());
            // serde_yaml appends " at line L column C"; the location is printed first.
            let msg = e.to_string();
            let msg = msg
                .rfind(" at line ")
                .map_or(msg.as_str(), |i| &msg[..i])
                .to_string();
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("{loc}: invalid config file: {msg}"),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(
        yaml: &str,
        env: &'static [(&'static str, &'static str)],
    ) -> Result<Config, ConfigError> {
        Config::from_parts(Path::new("sre.yaml"), yaml, move |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn precedence_flag_env_file_default() -> Result<(), ConfigError> {
        let c = cfg(
            "output: yaml\nfail-on: warning\n",
            &[("SRE_OUTPUT", "json")],
        )?;
        let flags = ReportArgs {
            output: Some(Format::Markdown),
            ..Default::default()
        };
        let g = GlobalArgs::default();
        assert_eq!(c.common(&g, &flags)?.output.value, Format::Markdown);
        let none = ReportArgs::default();
        let common = c.common(&g, &none)?;
        assert_eq!(common.output.value, Format::Json);
        assert_eq!(common.output.source, Source::Env("SRE_OUTPUT".into()));
        assert_eq!(common.fail_on.value, FailOn::Warning);
        assert!(matches!(common.fail_on.source, Source::File(_)));
        assert_eq!(common.color.source, Source::Default);
        Ok(())
    }

    #[test]
    fn unknown_key_names_location_and_valid_keys() {
        let err = cfg("output: json\nfail_on: warning\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sre.yaml:2:1"), "{err}");
        assert!(err.contains("fail_on") && err.contains("fail-on"), "{err}");
    }

    #[test]
    fn bad_value_lists_valid_values() {
        let err = cfg("output: pdf\n", &[]).unwrap_err().to_string();
        assert!(
            err.contains("sre.yaml:1:") && err.contains("valid values"),
            "{err}"
        );
        let c = cfg("", &[("SRE_FAIL_ON", "sometimes")]).expect("empty file is valid");
        let err = c
            .common(&GlobalArgs::default(), &ReportArgs::default())
            .unwrap_err();
        assert!(err.to_string().contains("SRE_FAIL_ON"), "{err}");
    }

    #[test]
    fn suppressions_need_a_reason_and_a_valid_date() -> Result<(), ConfigError> {
        let ok = cfg("k8s-doctor:\n  suppressions:\n  - {code: KD313, namespace: monitoring, reason: eBPF agent, expires: 2030-01-31}\n", &[])?;
        let rules = &ok
            .file
            .k8s_doctor
            .as_ref()
            .map(|k| k.suppressions.clone())
            .unwrap_or_default();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].expires.as_ref().map(|d| d.0.text.as_str()),
            Some("2030-01-31")
        );
        let err = cfg("k8s-doctor:\n  suppressions:\n  - {code: KD313}\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("reason"), "{err}");
        let err = cfg(
            "k8s-doctor:\n  suppressions:\n  - {code: KD313, reason: ' '}\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("empty reason"), "{err}");
        let err = cfg(
            "k8s-doctor:\n  suppressions:\n  - {code: KD313, reason: x, expires: next week}\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("YYYY-MM-DD") && err.contains("sre.yaml:3:"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn k8s_section() -> Result<(), ConfigError> {
        let c = cfg("k8s-doctor:\n  restart-warning: 3\n", &[])?;
        let k = c.k8s_doctor(K8sDoctorFlags::default())?;
        assert_eq!(k.restart_warning.value, 3);
        assert_eq!(k.restart_critical.value, 10);
        let err = cfg("k8s-doctor:\n  restarts: 3\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("restart-warning"), "{err}");
        Ok(())
    }
}
