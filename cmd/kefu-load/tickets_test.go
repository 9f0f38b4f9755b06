package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTickets runs the tickets scenario for a second against a kefu
// serve it starts, then against one at -url with a token that is not
// one, which must fail on the first request.
func TestTickets(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kefu")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/kefu-desk/kefu/cmd/kefu").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	if err := runTickets(ticketsConfig{kefu: bin, clients: 2, duration: time.Second}); err != nil {
		t.Fatal(err)
	}

	srv, err := startKefu(context.Background(), bin, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	err = runTickets(ticketsConfig{url: srv.base, token: "kefu_not-a-token", clients: 1, duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("with a wrong token: %v, want the server's 401", err)
	}
}
