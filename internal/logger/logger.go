// Package logger holds the one log function type the module's packages
// take: a printf-style Logf, passed explicitly and wrapped per subsystem
// (Tailscale's types/logger does the same). Lines carry no trailing
// newline; the sink adds one if it needs it.
//
// It is a leaf: it imports no other package of the module, so every package
// may use it (internal/deptest enforces that). netstack is the exception
// that imports no Pexia package at all, so it declares its own, identical
// func type; a Logf converts to it and back without a conversion.
package logger

import (
	"io"
	"log"
	"strings"
)

// Logf logs one formatted line. A nil Logf in a config means silence; use
// [OrDiscard] to turn it into a function that may be called.
type Logf func(format string, args ...any)

// Discard drops every line.
func Discard(string, ...any) {}

// OrDiscard returns f, or [Discard] if f is nil.
func OrDiscard(f Logf) Logf {
	if f == nil {
		return Discard
	}
	return f
}

// WithPrefix returns a Logf that logs each line to f with prefix in front
// (such as "api: "). A nil f gives a silent Logf.
func WithPrefix(f Logf, prefix string) Logf {
	if f == nil {
		return Discard
	}
	return func(format string, args ...any) { f(prefix+format, args...) }
}

// StdLogger returns a *log.Logger whose lines go to f, for libraries that
// take one (such as net/http's Server.ErrorLog). A nil f discards them.
func StdLogger(f Logf) *log.Logger {
	if f == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(writer(f), "", 0)
}

type writer Logf

func (w writer) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
