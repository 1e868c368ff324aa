package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// Version is the format of the rules file this package writes. A file of
// a later version (from a newer pexiad) is refused rather than read
// wrongly; an older one is read and written back as Version on the next
// change.
const Version = 1

// Set is the whole of the split-tunnel configuration: the rules in order,
// the default for a flow no rule matches, and the profiles.
type Set struct {
	Version  int       `json:"version"`
	Default  Target    `json:"default"`
	Profiles []Profile `json:"profiles,omitempty"`
	Rules    []Rule    `json:"rules,omitempty"`
}

// DefaultSet is what holds with no rules file: every flow through the
// connection's own circuit.
func DefaultSet() Set { return Set{Version: Version, Default: Target{Action: Tunnel}} }

// Clone returns a deep copy of s.
func (s Set) Clone() Set {
	c := s
	c.Profiles = make([]Profile, len(s.Profiles))
	for i, p := range s.Profiles {
		p.ExitCountries = slices.Clone(p.ExitCountries)
		p.Nodes = slices.Clone(p.Nodes)
		p.AddedBy = cloneUID(p.AddedBy)
		c.Profiles[i] = p
	}
	c.Rules = make([]Rule, len(s.Rules))
	for i, r := range s.Rules {
		m := r.Match
		r.Match = Match{Exe: slices.Clone(m.Exe), Name: slices.Clone(m.Name), Desktop: slices.Clone(m.Desktop),
			Cgroup: slices.Clone(m.Cgroup), UID: slices.Clone(m.UID), Domain: slices.Clone(m.Domain),
			Dst: slices.Clone(m.Dst), Port: slices.Clone(m.Port), Proto: slices.Clone(m.Proto)}
		r.AddedBy = cloneUID(r.AddedBy)
		c.Rules[i] = r
	}
	return c
}

func cloneUID(u *uint32) *uint32 {
	if u == nil {
		return nil
	}
	v := *u
	return &v
}

// RuleError is a problem with one rule of a Set.
type RuleError struct {
	Index int // 1-based position, as list shows it
	Name  string
	Err   error
}

func (e *RuleError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("rule %d (%q): %v", e.Index, e.Name, e.Err)
	}
	return fmt.Sprintf("rule %d: %v", e.Index, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Validate checks the whole set; the error names the rule or profile and
// the field.
func (s *Set) Validate() error {
	_, err := s.compile()
	return err
}

// program is a validated Set ready for matching.
type program struct {
	set   Set
	rules []*compiled
	// needOwner and needNames say whether any rule looks at the owner or
	// the names, so a flow needs no lookup when none does.
	needOwner, needNames bool
}

func (s *Set) compile() (*program, error) {
	if s.Version < 1 || s.Version > Version {
		if s.Version > Version {
			return nil, fmt.Errorf("version %d: written by a newer pexiad (this one reads up to %d)", s.Version, Version)
		}
		return nil, fmt.Errorf("version %d: want 1 to %d", s.Version, Version)
	}
	if len(s.Rules) > MaxRules {
		return nil, fmt.Errorf("%d rules, at most %d", len(s.Rules), MaxRules)
	}
	if len(s.Profiles) > MaxProfiles {
		return nil, fmt.Errorf("%d profiles, at most %d", len(s.Profiles), MaxProfiles)
	}
	names := map[string]bool{}
	for i, p := range s.Profiles {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("profile %d (%q): %w", i+1, p.Name, err)
		}
		if names[p.Name] {
			return nil, fmt.Errorf("profile %d (%q): name: a profile of that name exists already", i+1, p.Name)
		}
		names[p.Name] = true
	}
	if err := s.Default.validate(); err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	if p := s.Default.Profile; p != "" && !names[p] {
		return nil, fmt.Errorf("default: profile %q does not exist (profiles: %s)", p, profileList(s.Profiles))
	}
	pr := &program{set: s.Clone()}
	for i, r := range s.Rules {
		c, err := compile(r)
		if err == nil && r.Profile != "" && !names[r.Profile] {
			err = fmt.Errorf("profile %q does not exist (profiles: %s)", r.Profile, profileList(s.Profiles))
		}
		if err != nil {
			return nil, &RuleError{Index: i + 1, Name: r.Name, Err: err}
		}
		pr.rules = append(pr.rules, c)
		pr.needOwner = pr.needOwner || c.app || c.hasUID
		pr.needNames = pr.needNames || c.domain
	}
	return pr, nil
}

func profileList(ps []Profile) string {
	if len(ps) == 0 {
		return "none; add one first"
	}
	var b bytes.Buffer
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
	}
	return b.String()
}

// Parse reads a rules file's content strictly: unknown fields (a typo in
// a field name) and trailing data are errors, as is a set that does not
// validate.
func Parse(b []byte) (Set, error) {
	var s Set
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Set{}, jsonError(b, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Set{}, fmt.Errorf("unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return Set{}, err
	}
	return s, nil
}

// jsonError adds the line to a JSON error where the decoder gives an
// offset.
func jsonError(b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return err
	}
	return fmt.Errorf("line %d: %w", bytes.Count(b[:off], []byte("\n"))+1, err)
}

// Marshal returns s as the rules file holds it.
func Marshal(s Set) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrInvalid matches (errors.Is) the error of a change that does not
// validate.
var ErrInvalid = errors.New("invalid rules")

type invalidError struct{ error }

func (e invalidError) Unwrap() error        { return e.error }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// Store keeps a Set in a file and in an Engine: every change is checked,
// written to the file atomically and then used by the Engine for the next
// flow. Safe for concurrent use.
type Store struct {
	path   string
	engine *Engine

	mu sync.Mutex // serializes changes
}

// Open reads the rules file at path (DefaultSet if there is none) into a
// new Store. A file that does not parse or validate is an error naming the
// file, the rule and the field; the file is left as it is.
func Open(path string) (*Store, error) {
	s := DefaultSet()
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if s, err = Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	e, err := NewEngine(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{path: path, engine: e}, nil
}

// Path returns the file the Store writes.
func (st *Store) Path() string { return st.path }

// Engine returns the engine that classifies flows with the stored set.
func (st *Store) Engine() *Engine { return st.engine }

// Set returns a copy of the set in use.
func (st *Store) Set() Set { return st.engine.Set() }

// Update applies change to a copy of the set in use, validates the result,
// writes it to the file and puts it in use, in that order: if change
// fails, the result does not validate or the file cannot be written,
// nothing changes and the error says why. It returns the new set.
func (st *Store) Update(change func(*Set) error) (Set, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.engine.Set()
	if err := change(&s); err != nil {
		return Set{}, err
	}
	s.Version = Version
	p, err := s.compile()
	if err != nil {
		return Set{}, invalidError{err}
	}
	b, err := Marshal(s)
	if err != nil {
		return Set{}, err
	}
	if err := atomicfile.Write(st.path, b, 0o600); err != nil {
		return Set{}, fmt.Errorf("save rules: %w", err)
	}
	st.engine.prog.Store(p)
	return p.set.Clone(), nil
}
