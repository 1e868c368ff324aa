package logger

import (
	"fmt"
	"testing"
)

func TestWithPrefix(t *testing.T) {
	var got []string
	base := Logf(func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) })
	WithPrefix(WithPrefix(base, "daemon: "), "api: ")("refused %s (%d%%)", "uid 7", 50)
	if want := "daemon: api: refused uid 7 (50%)"; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want [%q]", got, want)
	}
}

func TestNilIsSilent(t *testing.T) {
	// Neither may panic.
	WithPrefix(nil, "x: ")("line %d", 1)
	OrDiscard(nil)("line %d", 2)
	var called bool
	OrDiscard(func(string, ...any) { called = true })("line")
	if !called {
		t.Error("OrDiscard replaced a non-nil Logf")
	}
}

func TestStdLogger(t *testing.T) {
	var got []string
	l := StdLogger(func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) })
	l.Printf("http: TLS handshake error from %s: %v", "127.0.0.1:1", "EOF")
	l.Print("100% done")
	want := []string{"http: TLS handshake error from 127.0.0.1:1: EOF", "100% done"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
	StdLogger(nil).Print("discarded")
}
