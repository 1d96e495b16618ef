package telephonyhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Cloud Build upload is the module: Cloud Build runs go vet and go
// test ./... on it, so every directory holding Go files must be
// re-included by .gcloudignore, which leaves everything else out.
func TestUploadHoldsEveryPackage(t *testing.T) {
	raw, err := os.ReadFile(".gcloudignore")
	if err != nil {
		t.Fatal(err)
	}
	included := map[string]bool{}
	for line := range strings.Lines(string(raw)) {
		if dir, ok := strings.CutPrefix(strings.TrimSpace(line), "!/"); ok {
			included[strings.TrimSuffix(dir, "/")] = true
		}
	}
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".go" {
			return err
		}
		top, _, nested := strings.Cut(filepath.ToSlash(path), "/")
		if nested && !strings.HasPrefix(top, ".") && !included[top] {
			t.Errorf("%s is left out of the Cloud Build upload: .gcloudignore needs !/%s/", path, top)
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
