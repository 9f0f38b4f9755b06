package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// TestEveryRouteNeedsAuthentication sends an anonymous request to every
// documented operation: all but the public ones answer 401 before doing
// anything.
func TestEveryRouteNeedsAuthentication(t *testing.T) {
	_, c := startAPI(t, databasetest.Open(t, "sqlite"))
	// The contact form's API is for a shop's customers, who have no
	// account: public by design, and rate-limited instead.
	public := map[string]bool{"login": true, "logout": true, "contact-categories": true, "submit-contact": true}
	n := 0
	for path, item := range c.doc.Paths.Map() {
		for method, o := range item.Operations() {
			if public[o.OperationID] {
				continue
			}
			p := strings.NewReplacer("{id}", kefu.NewID(), "{key}", "x").Replace(path)
			var body any
			if method != http.MethodGet && method != http.MethodDelete {
				body = "{}"
			}
			r := c.do(method, p, body)
			if r.status != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s (%s) → %d, want 401", method, p, o.OperationID, r.status)
			}
			n++
		}
	}
	if n < 30 {
		t.Fatalf("only %d operations checked", n)
	}
}

func TestUserCommands(t *testing.T) {
	db := t.TempDir() + "/kefu.db"
	ctx := context.Background()
	for _, args := range [][]string{
		{"user", "create", "li@shop.cn", "--name", "李娜", "--role", "supervisor", "--db", db},
		{"user", "create", "ops@shop.cn", "--name", "Ops", "--role", "admin", "--db", db},
		{"user", "disable", "li@shop.cn", "--reason", "on leave", "--db", db},
	} {
		if err := run(ctx, args); err != nil {
			t.Fatalf("kefu %v: %v", args, err)
		}
	}
	if err := run(ctx, []string{"user", "create", "li@shop.cn", "--name", "again", "--db", db}); !kefu.IsCode(err, kefu.Conflict) {
		t.Fatalf("duplicate user: %v", err)
	}
	if err := run(ctx, []string{"user", "disable", "nobody@shop.cn", "--db", db}); !kefu.IsCode(err, kefu.NotFound) {
		t.Fatalf("disabling an unknown user: %v", err)
	}
	app, err := openApp(ctx, StoreConfig{DB: db, DataDir: t.TempDir()}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	st, err := app.Team.StaffByEmail(kefu.WithActor(ctx, kefu.System), "li@shop.cn")
	if err != nil || !st.Disabled || st.Role != kefu.RoleSupervisor {
		t.Fatalf("li after commands: %+v %v", st, err)
	}
}
