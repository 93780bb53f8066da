//! Colour themes: `themes/*.toml` built in, user themes in `$XDG_CONFIG_HOME/stagecraft/themes/`,
//! any file by path; `NO_COLOR` turns colour off and leaves bold, dim and reverse to carry meaning.

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

const BUILTIN: [(&str, &str); 4] = [
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    (
        "colorblind",
        include_str!("../../../themes/colorblind.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme {name:?} not found (built in: {builtin}; user themes: {dir})")]
    NotFound {
        name: String,
        builtin: String,
        dir: String,
    },
    #[error("cannot read theme {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("theme {origin}: {source}")]
    Parse {
        origin: String,
        #[source]
        source: toml::de::Error,
    },
    #[error(
        "theme {origin}: palette.{key} = {value:?} is not a colour (use a name, 0-255 or #rrggbb)"
    )]
    Colour {
        origin: String,
        key: String,
        value: String,
    },
}

macro_rules! palette {
    ($($role:ident),* $(,)?) => {
        /// One style per role the views draw; built from a palette of colours.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            /// Base style of the whole screen (background and default text).
            pub base: Style,
            $(pub $role: Style,)*
        }

        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Palette {
            $($role: String,)*
        }

        impl Theme {
            fn from_palette(name: String, background: Color, p: &Palette, origin: &str) -> Result<Self, ThemeError> {
                let colour = |key: &str, value: &str| {
                    value.parse::<Color>().map_err(|_| ThemeError::Colour {
                        origin: origin.to_string(),
                        key: key.to_string(),
                        value: value.to_string(),
                    })
                };
                $(let $role = Style::new().fg(colour(stringify!($role), &p.$role)?);)*
                let base = Style::new().fg(colour("text", &p.text)?).bg(background);
                Ok(Self { name, base, $($role,)* })
            }

            /// Colour off: every role is plain text; `styled` adds modifiers so state still shows.
            pub fn monochrome() -> Self {
                Self { name: "no-color".into(), base: Style::new(), $($role: Style::new(),)* }
            }
        }
    };
}

palette!(
    text,
    dim,
    border,
    border_focus,
    title,
    selection_bg,
    accent,
    pending,
    queued,
    running,
    paused,
    cached,
    done,
    failed,
    skipped,
    target,
    external,
    edge,
    edge_copy,
    keyword,
    flag,
    string,
    variable,
    operator,
    comment,
    stderr,
    match_fg,
    match_bg,
    status_fg,
    status_bg,
    added,
    modified,
    removed,
);

impl Default for Theme {
    fn default() -> Self {
        Self::builtin("dark").unwrap_or_else(|_| Self::monochrome())
    }
}

impl Theme {
    pub fn is_monochrome(&self) -> bool {
        self.name == "no-color"
    }

    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    pub fn builtin(name: &str) -> Result<Self, ThemeError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| not_found(name, None))?;
        Self::parse(text, &format!("built-in {name}"))
    }

    /// Reads a theme file; keys it leaves out come from the default dark theme.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ThemeError> {
        let parse = |t: &str, origin: &str| {
            toml::from_str::<toml::Table>(t).map_err(|source| ThemeError::Parse {
                origin: origin.into(),
                source,
            })
        };
        let mut merged = parse(BUILTIN[0].1, "built-in dark")?;
        let user = parse(text, origin)?;
        for (key, value) in user {
            match (merged.get_mut(&key), value) {
                (Some(toml::Value::Table(base)), toml::Value::Table(over)) => base.extend(over),
                (_, value) => {
                    merged.insert(key, value);
                }
            }
        }
        #[derive(serde::Deserialize)]
        struct File {
            name: String,
            background: String,
            palette: Palette,
        }
        let file: File = merged.try_into().map_err(|source| ThemeError::Parse {
            origin: origin.into(),
            source,
        })?;
        let background = file
            .background
            .parse::<Color>()
            .map_err(|_| ThemeError::Colour {
                origin: origin.into(),
                key: "background".into(),
                value: file.background.clone(),
            })?;
        Self::from_palette(file.name, background, &file.palette, origin)
    }

    /// `--theme NAME|PATH`: a path if it names a file, else a user theme, else a built-in one.
    /// With `no_color` (the `NO_COLOR` convention) the result is monochrome whatever was asked.
    pub fn load(
        spec: Option<&str>,
        user_dir: Option<&Path>,
        no_color: bool,
    ) -> Result<Self, ThemeError> {
        let theme = match spec {
            None => Self::builtin("dark")?,
            Some(spec) => Self::resolve(spec, user_dir)?,
        };
        Ok(if no_color { Self::monochrome() } else { theme })
    }

    fn resolve(spec: &str, user_dir: Option<&Path>) -> Result<Self, ThemeError> {
        let as_path = Path::new(spec);
        if spec.contains('/') || spec.ends_with(".toml") {
            return Self::read(as_path);
        }
        if let Some(dir) = user_dir {
            let candidate = dir.join(format!("{spec}.toml"));
            if candidate.is_file() {
                return Self::read(&candidate);
            }
        }
        Self::builtin(spec).map_err(|_| not_found(spec, user_dir))
    }

    fn read(path: &Path) -> Result<Self, ThemeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Where user themes live: `$XDG_CONFIG_HOME/stagecraft/themes`.
    pub fn user_dir() -> Option<PathBuf> {
        dirs_next::config_dir().map(|d| d.join("stagecraft").join("themes"))
    }

    pub fn selection(&self) -> Style {
        if self.is_monochrome() {
            return Style::new().add_modifier(Modifier::REVERSED);
        }
        Style::new().bg(self.selection_bg.fg.unwrap_or(Color::Reset))
    }

    pub fn search_match(&self) -> Style {
        if self.is_monochrome() {
            return Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        self.match_fg.bg(self.match_bg.fg.unwrap_or(Color::Reset))
    }

    pub fn status_bar(&self) -> Style {
        if self.is_monochrome() {
            return Style::new().add_modifier(Modifier::REVERSED);
        }
        self.status_fg.bg(self.status_bg.fg.unwrap_or(Color::Reset))
    }

    /// Without colour, failure stands out in bold and what is irrelevant recedes as dim.
    pub fn emphasis(&self, style: Style, strong: bool) -> Style {
        match (self.is_monochrome(), strong) {
            (true, true) => style.add_modifier(Modifier::BOLD),
            (true, false) => style.add_modifier(Modifier::DIM),
            (false, _) => style,
        }
    }
}

fn not_found(name: &str, user_dir: Option<&Path>) -> ThemeError {
    ThemeError::NotFound {
        name: name.to_string(),
        builtin: Theme::builtin_names().collect::<Vec<_>>().join(", "),
        dir: user_dir.map_or_else(|| "none".into(), |d| d.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_with_every_role() {
        for name in Theme::builtin_names() {
            let theme = Theme::builtin(name).expect(name);
            assert_eq!(theme.name, name);
            assert!(theme.failed.fg.is_some());
        }
    }

    #[test]
    fn a_partial_user_theme_falls_back_to_dark() {
        let theme = Theme::parse("name = \"mine\"\n[palette]\nfailed = \"#ff0000\"\n", "test")
            .expect("parse");
        assert_eq!(theme.failed.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(theme.done, Theme::builtin("dark").expect("dark").done);
    }

    #[test]
    fn bad_colours_name_the_key() {
        let err =
            Theme::parse("[palette]\ndone = \"greenish\"\n", "t.toml").expect_err("bad colour");
        assert!(err.to_string().contains("palette.done"), "{err}");
    }

    #[test]
    fn user_dir_themes_win_over_builtins_and_no_color_wins_over_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("light.toml"), "name = \"my-light\"\n").expect("write");
        let theme = Theme::load(Some("light"), Some(dir.path()), false).expect("load");
        assert_eq!(theme.name, "my-light");
        let theme = Theme::load(Some("light"), Some(dir.path()), true).expect("load");
        assert!(theme.is_monochrome());
        assert!(matches!(
            Theme::load(Some("nope"), None, false),
            Err(ThemeError::NotFound { .. })
        ));
    }
}
