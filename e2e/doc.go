// Package e2e holds end-to-end tests that run Pexia's real binaries as
// separate processes. They build with the e2e tag: make e2e.
package e2e
