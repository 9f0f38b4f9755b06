package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// TestPgCreateFloor runs docs/bench/pg-create-floor.sh for two seconds,
// so that its statements keep up with the schema: a column the tickets
// table gains fails here, not in the next measurement.
func TestPgCreateFloor(t *testing.T) {
	databasetest.RequirePostgres(t)
	for _, tool := range []string{"psql", "pgbench"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian: postgresql-client, and pgbench with the server)", tool)
		}
	}
	cmd := exec.Command("sh", "../../docs/bench/pg-create-floor.sh", "2", "2")
	cmd.Env = append(os.Environ(), "KEFU="+buildKefu(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "number of failed transactions: 0 ") || !strings.Contains(string(out), "tps = ") {
		t.Fatalf("no clean pgbench run:\n%s", out)
	}
}
