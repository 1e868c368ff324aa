// Package docs holds the project's prose; its test keeps the prose's
// references to tests true.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testRef is a reference such as `relay/TestSilentChannelsClosed` or
// `daemon/TestConnectStorm/sub` in a document: a package directory and a
// test in it.
var testRef = regexp.MustCompile("`((?:[a-z0-9_-]+/)*[a-z0-9_-]+)/(Test[A-Za-z0-9_]+)")

// TestReferencedTestsExist checks that every test the README and docs/
// name as evidence exists where they say: a claim must not point at a
// test that moved or was removed.
func TestReferencedTestsExist(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range testRef.FindAllStringSubmatch(string(data), -1) {
			dir, name := m[1], m[2]
			n++
			if !definesTest(t, filepath.Join("..", dir), name) {
				t.Errorf("%s names %s/%s, but no such test is in %s/", f, dir, name, dir)
			}
		}
	}
	if n == 0 {
		t.Fatal("no test references found; is the pattern out of date?")
	}
}

// definesTest reports whether a _test.go file in dir declares test name.
func definesTest(t *testing.T, dir, name string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "func "+name+"(") {
			return true
		}
	}
	return false
}
