// Package ui is the Fyne desktop app. It talks to pexiad over the local API
// only and holds no logic that the CLI would also need.
package ui
