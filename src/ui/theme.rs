//! Themes: TOML files in `themes/` (embedded) and the user's themes directory.
//! (Placeholder signatures; the themes land with the UI work.)
use std::path::Path;

#[derive(Clone, Debug, Default)]
pub struct Theme {
    pub name: String,
}

impl Theme {
    pub fn load(spec: &str, _user_dir: &Path) -> Result<Theme, String> {
        Ok(Theme { name: spec.into() })
    }
    pub fn for_environment(_no_color: bool) -> Theme {
        Theme::default()
    }
    pub fn available(_user_dir: &Path) -> Vec<String> {
        Vec::new()
    }
}
