package web

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// templVersion is the templ module this package is built with; the
// generator must be the same version.
func templVersion(t *testing.T) string {
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/a-h/templ" {
				return d.Version
			}
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/a-h/templ").Output()
	if err != nil {
		t.Fatalf("templ version: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// The committed *_templ.go files must be what `make generate` makes from
// the .templ files: generate into a copy and compare. The generator is
// run with `go run` at go.mod's version (cached after the first run).
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the templ generator")
	}
	dir := t.TempDir()
	templs, _ := filepath.Glob("*.templ")
	for _, f := range templs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", "github.com/a-h/templ/cmd/templ@"+templVersion(t), "generate", "-path", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, f := range templs {
		gen := strings.TrimSuffix(f, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%s is missing: run make generate", gen)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make generate and commit it", gen)
		}
	}
}
