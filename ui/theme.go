package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Appearance choices; the app keeps the user's in its preferences.
const (
	appearanceSystem = "System"
	appearanceLight  = "Light"
	appearanceDark   = "Dark"
	prefAppearance   = "appearance"
)

// variantTheme is the default theme held to one variant (light or dark)
// whatever the system prefers.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// themeFor returns the theme of an appearance choice.
func themeFor(choice string) fyne.Theme {
	switch choice {
	case appearanceLight:
		return variantTheme{theme.DefaultTheme(), theme.VariantLight}
	case appearanceDark:
		return variantTheme{theme.DefaultTheme(), theme.VariantDark}
	}
	return theme.DefaultTheme()
}

// SetAppearance sets "System", "Light" or "Dark" and remembers it.
func (a *App) SetAppearance(choice string) {
	a.fa.Preferences().SetString(prefAppearance, choice)
	a.fa.Settings().SetTheme(themeFor(choice))
	if a.settings != nil && a.settings.appearance.Selected != choice {
		a.settings.appearance.SetSelected(choice)
	}
}

// ApplyAppearance applies the remembered appearance (cmd/pexia-gui calls
// it at start).
func (a *App) ApplyAppearance() {
	a.fa.Settings().SetTheme(themeFor(a.fa.Preferences().StringWithFallback(prefAppearance, appearanceSystem)))
}
