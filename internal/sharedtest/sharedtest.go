// Package sharedtest holds what tests across packages share: the shared
// contracts (Okta and 8x8 specs and fixtures) that sit beside the
// repository on developer machines and in CI, and the Redis servers to run
// on (redis.go).
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar overrides where the shared directory is.
const EnvVar = "SHARED_DIR"

// Dir returns the shared directory (the one holding contracts/ and docs/):
// $SHARED_DIR, else ../shared beside the module root.
func Dir() (string, bool) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, isDir(filepath.Join(d, "contracts"))
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			s := filepath.Join(filepath.Dir(d), "shared")
			return s, isDir(filepath.Join(s, "contracts"))
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Require returns the shared directory or skips the test, saying why. CI
// (.ci/run) fails before the tests when it is absent, so a skip there
// cannot hide a missing dependency.
func Require(t testing.TB) string {
	t.Helper()
	d, ok := Dir()
	if !ok {
		t.Skipf("shared contracts not found (set %s to the shared/ directory, or clone beside it): skipping contract test", EnvVar)
	}
	return d
}

// Path joins elem under the shared directory, skipping the test if absent.
func Path(t testing.TB, elem ...string) string {
	return filepath.Join(append([]string{Require(t)}, elem...)...)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
