package email

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusDir is the shared real-world corpus (third-party, partly copyleft:
// read from there, never copied into the project).
const corpusDir = "../../../shared/testdata/email"

// TestCorpus parses every message of the shared corpus: each must parse,
// without panicking, within a time bound. Set KEFU_CORPUS_DUMP to a
// directory to write each result as JSON for inspection.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	dump := os.Getenv("KEFU_CORPUS_DUMP")
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.EqualFold(d.Name(), "README.md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var garbled, withProblems int
	for _, path := range files {
		rel, _ := filepath.Rel(corpusDir, path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseWithin(raw, 10*time.Second)
		if err != nil {
			if strings.TrimSpace(string(raw)) == "" {
				continue
			}
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if m.Problems == nil || m.To == nil || m.Cc == nil || m.References == nil || m.Attachments == nil {
			t.Errorf("%s: nil slice in result", rel)
		}
		if hasReplacement(m) {
			garbled++
			t.Logf("garbled: %s", rel)
		}
		if len(m.Problems) > 0 {
			withProblems++
		}
		if dump != "" {
			out, _ := json.MarshalIndent(m, "", "  ")
			name := filepath.Join(dump, strings.ReplaceAll(rel, string(filepath.Separator), "__")+".json")
			if err := os.WriteFile(name, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d files: %d with U+FFFD in subject, names, text or filenames; %d with problems", len(files), garbled, withProblems)
}

// parseWithin fails the parse when it takes longer than d, so a hang on
// some input shows up as a test failure instead of a stuck run.
func parseWithin(raw []byte, d time.Duration) (*Message, error) {
	type result struct {
		m   *Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := ParseBytes(raw)
		done <- result{m, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.m, r.err
	case <-timer.C:
		return nil, errTimeout
	}
}

type timeoutError struct{}

func (timeoutError) Error() string { return "parse did not finish in time" }

var errTimeout = timeoutError{}

func hasReplacement(m *Message) bool {
	s := []string{m.Subject, m.From.Name, m.Text}
	for _, a := range append(append([]Address{}, m.To...), m.Cc...) {
		s = append(s, a.Name)
	}
	for _, a := range m.Attachments {
		s = append(s, a.Filename)
	}
	return strings.Contains(strings.Join(s, "\n"), "\uFFFD")
}
