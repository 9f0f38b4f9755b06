package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// TestGracefulShutdown stops the server while a ticket is still being
// uploaded: the request finishes and its ticket is stored, and the server
// then refuses new connections.
func TestGracefulShutdown(t *testing.T) {
	db := databasetest.Open(t, "sqlite")
	app := newApp(db, t.TempDir(), false, clock, auth.TestParams)
	sys := kefu.WithActor(context.Background(), kefu.System)
	admin, err := app.Team.CreateStaff(sys, team.NewStaff{Email: "ops@shop.cn", Name: "Ops", Role: kefu.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := app.Auth.CreateToken(sys, admin.ID, "test", []string{auth.ScopeTicketsWrite, auth.ScopeTicketsRead}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, app, "127.0.0.1:0", 10*time.Second, func(u string) { urls <- u }) }()
	base := <-urls

	body, w := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/api/v1/tickets", body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	result := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		result <- res
	}()
	payload := `{"subject":"停机时的请求","channel":"api","customer":{"email":"late@example.cn"},"message":{"text":"` + strings.Repeat("很长的描述", 2000) + `"}}`
	half := len(payload) / 2
	io.WriteString(w, payload[:half])
	time.Sleep(100 * time.Millisecond) // the server is now reading this body
	stop()                             // as SIGTERM does
	time.Sleep(100 * time.Millisecond)
	io.WriteString(w, payload[half:])
	w.Close()

	res := <-result
	if res == nil {
		t.Fatal("in-flight request failed")
	}
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("in-flight request: %d %s", res.StatusCode, b)
	}
	var created ticket.Ticket
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := app.Tickets.Get(sys, created.ID); err != nil {
		t.Fatalf("ticket of the in-flight request not stored: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

// TestConfigPrecedence: a flag beats the environment, which beats the
// configuration file.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "kefu.toml")
	fileDB, envDB, flagDB := filepath.Join(dir, "file.db"), filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[migrate]\ndb = %q\n", fileDB)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	migrated := func(path string) bool { _, err := os.Stat(path); return err == nil }

	if err := run(ctx, []string{"migrate", "--config", conf}); err != nil {
		t.Fatal(err)
	}
	if !migrated(fileDB) {
		t.Fatal("the file's db was not used")
	}
	t.Setenv("KEFU_DB", envDB)
	if err := run(ctx, []string{"migrate", "--config", conf}); err != nil {
		t.Fatal(err)
	}
	if !migrated(envDB) {
		t.Fatal("KEFU_DB did not win over the file")
	}
	if err := run(ctx, []string{"migrate", "--config", conf, "--db", flagDB}); err != nil {
		t.Fatal(err)
	}
	if !migrated(flagDB) {
		t.Fatal("--db did not win over KEFU_DB")
	}
	if err := os.WriteFile(conf, []byte("db = [unclosed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"migrate", "--config", conf}); err == nil || !strings.Contains(err.Error(), "config file") {
		t.Fatalf("a broken config file: %v", err)
	}
}
