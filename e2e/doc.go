// Package e2e holds end-to-end tests that run Pexia's real binaries as
// separate processes. They build with the e2e tag: make e2e. The soak
// test (soak_test.go) also needs the soak tag and runs alone: make soak.
package e2e
