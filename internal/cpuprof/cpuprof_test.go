package cpuprof

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestMain fails the run if a test leaves a goroutine behind.
func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// TestSignalTogglesProfile sends the process SIGUSR2 twice around some
// work, twice over, and checks each round left a whole profile that names
// the work's function.
func TestSignalTogglesProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	stop := Listen(t.Logf)
	defer stop()
	for n := 1; n <= 2; n++ {
		signalSelf(t)
		testutil.WaitFor(t, "the profile to start", 10*time.Second, func() bool {
			_, err := os.Stat(Path(dir, os.Getpid(), n) + ".part")
			return err == nil
		})
		spin(300 * time.Millisecond)
		signalSelf(t)
		path := Path(dir, os.Getpid(), n)
		testutil.WaitFor(t, "profile "+path, 10*time.Second, func() bool {
			_, err := os.Stat(path)
			return err == nil
		})
		if !strings.Contains(unzip(t, path), "cpuprof.spin") {
			t.Errorf("profile %d does not name cpuprof.spin, the work done while it ran", n)
		}
	}
	if names := files(t, dir); len(names) != 2 {
		t.Errorf("profile directory holds %v, want the two profiles only", names)
	}
}

// TestStopWritesRunningProfile checks that a profile still running when
// the process stops listening is written, not lost.
func TestStopWritesRunningProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	stop := Listen(t.Logf)
	signalSelf(t)
	part := Path(dir, os.Getpid(), 1) + ".part"
	testutil.WaitFor(t, "the profile to start", 10*time.Second, func() bool {
		_, err := os.Stat(part)
		return err == nil
	})
	spin(100 * time.Millisecond)
	stop()
	unzip(t, Path(dir, os.Getpid(), 1))
	if names := files(t, dir); len(names) != 1 {
		t.Errorf("profile directory holds %v, want one profile", names)
	}
}

// TestUnsetDoesNothing checks that without the variable no profile is
// written and stop returns.
func TestUnsetDoesNothing(t *testing.T) {
	t.Setenv(Env, "")
	Listen(t.Logf)()
}

func signalSelf(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
}

// spin burns CPU for d.
func spin(d time.Duration) {
	b := make([]byte, 4096)
	for end := time.Now().Add(d); time.Now().Before(end); {
		s := sha256.Sum256(b)
		b[0] = s[0]
	}
}

// unzip returns the decompressed profile at path, failing the test if it
// is not a whole gzip stream.
func unzip(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(out)
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
