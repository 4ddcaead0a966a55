//! Themes: TOML files in `themes/` (embedded) and the user's themes directory.
#[derive(Clone, Debug, Default)]
pub struct Theme {
    pub name: String,
}
