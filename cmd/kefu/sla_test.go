package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
)

func TestSlaCommands(t *testing.T) {
	dir := t.TempDir()
	cal := filepath.Join(dir, "nanbei.json")
	os.WriteFile(cal, []byte(`{"name": "Nanbei Chao", "timezone": "Asia/Shanghai", "include": ["cn-statutory"],
		"weekly": {"mon": [["08:30","12:00"],["13:30","17:30"]], "tue": [["08:30","12:00"],["13:30","17:30"]],
		"wed": [["08:30","12:00"],["13:30","17:30"]], "thu": [["08:30","12:00"],["13:30","17:30"]], "fri": [["08:30","12:00"],["13:30","17:30"]]}}`), 0o600)
	var out strings.Builder
	sim := SlaSimulateCmd{Calendar: cal, Start: "2025-09-30T17:00:00+08:00", Minutes: 60}
	if err := sim.run(&out); err != nil {
		t.Fatal(err)
	}
	between := SlaBetweenCmd{Calendar: cal, From: "2025-09-26T17:25:00+08:00", To: "2025-09-28T09:00:00+08:00"}
	if err := between.run(&out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "2025-10-09T09:00:00+08:00\n35\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	err := run(context.Background(), []string{"sla", "simulate", "--calendar", cal, "--start", "tomorrow", "--minutes", "10"})
	var e *kefu.Error
	if !errors.As(err, &e) || e.Fields[0].Field != "start" {
		t.Fatalf("bad start: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"timezone": "Mars/Olympus", "weekly": {"mon": [["09:00","12:00"],["11:00","13:00"]]}}`), 0o600)
	err = run(context.Background(), []string{"sla", "between", "--calendar", bad, "--from", "2025-09-26T17:25:00Z", "--to", "2025-09-27T17:25:00Z"})
	if !strings.Contains(oneLine(err), "timezone") || !strings.Contains(oneLine(err), "weekly.mon[1]") {
		t.Fatalf("bad calendar: %v", err)
	}
}
