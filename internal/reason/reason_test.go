package reason

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type refusal struct{ r Reason }

func (e refusal) Error() string         { return "refused: " + e.r.String() }
func (e refusal) RefusalReason() Reason { return e.r }

func TestRefused(t *testing.T) {
	wrapped := fmt.Errorf("dial exit.test:80: %w", refusal{Policy})
	if r, ok := Refused(wrapped); !ok || r != Policy {
		t.Fatalf("Refused(wrapped refusal) = %v, %v; want %v, true", r, ok, Policy)
	}
	if r, ok := Refused(errors.New("plain")); ok {
		t.Fatalf("Refused(plain error) = %v, true; want false", r)
	}
	if r, ok := Refused(nil); ok {
		t.Fatalf("Refused(nil) = %v, true; want false", r)
	}
}

func TestString(t *testing.T) {
	for r := Unspecified; r <= Internal; r++ {
		if s := r.String(); s == "" || strings.HasPrefix(s, "reason(") {
			t.Errorf("Reason(%d) has no name: %q", r, s)
		}
	}
	if got, want := Reason(200).String(), "reason(200)"; got != want {
		t.Errorf("Reason(200).String() = %q, want %q", got, want)
	}
}
