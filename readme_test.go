package telephonyhook

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README stays true to the code: its layout lists every package under
// internal/, and every test it (or the security model) names as the proof
// of a guarantee exists.
func TestReadmeIsTrue(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	layout := string(readme)
	if i := strings.Index(layout, "## Layout"); i >= 0 {
		layout = layout[i:]
	} else {
		t.Fatal("README has no Layout section")
	}

	var pkgs []string
	_ = filepath.WalkDir("internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if goFiles, _ := filepath.Glob(filepath.Join(path, "*.go")); len(goFiles) > 0 {
			pkgs = append(pkgs, filepath.ToSlash(path))
		}
		return nil
	})
	for _, p := range pkgs {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p) + `\s`).MatchString(layout) {
			t.Errorf("README's layout does not list %s", p)
		}
	}

	tests := map[string]bool{}
	_ = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, _ := os.ReadFile(path)
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(`).FindAllStringSubmatch(string(src), -1) {
			tests[m[1]] = true
		}
		return nil
	})
	for _, doc := range []string{"README.md", "docs/security.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		named := regexp.MustCompile("`(Test\\w+)`").FindAllStringSubmatch(string(text), -1)
		if len(named) == 0 {
			t.Errorf("%s names no test", doc)
		}
		var missing []string
		for _, m := range named {
			if !tests[m[1]] && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s names tests that do not exist: %v", doc, missing)
		}
	}
}
