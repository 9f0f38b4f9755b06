package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/testclock"
)

type fixture struct {
	db    *database.DB
	clock *testclock.Clock
	team  *team.Service
	auth  *auth.Service
	admin team.Staff
	agent team.Staff
}

const password = "correct horse battery"

func setup(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	c := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), 0)
	f := &fixture{db: db, clock: c}
	f.auth = &auth.Service{DB: db, Now: c.Now, Params: auth.TestParams}
	f.team = &team.Service{DB: db, Now: c.Now, Hash: f.auth.HashPassword}
	f.auth.Team = f.team
	sys := kefu.WithActor(context.Background(), kefu.System)
	dep, err := f.team.CreateDepartment(sys, team.NewDepartment{Slug: "support", Name: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	f.admin, err = f.team.CreateStaff(sys, team.NewStaff{Email: "ada@example.com", Name: "Ada", Role: kefu.RoleAdmin, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	f.agent, err = f.team.CreateStaff(sys, team.NewStaff{Email: "li@example.com", Name: "Li", Role: kefu.RoleAgent,
		Departments: []string{dep.ID}, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) as(st team.Staff) context.Context {
	a, err := f.team.ActorFor(context.Background(), st.ID)
	if err != nil {
		panic(err)
	}
	return kefu.WithActor(context.Background(), a)
}

func wantCode(t *testing.T, err error, code kefu.Code) {
	t.Helper()
	if got := kefu.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func failures(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM login_failures`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLogin(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := context.Background()

		a, err := f.auth.Login(ctx, "  LI@Example.com", password, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != kefu.ActorStaff || a.ID != f.agent.ID || a.Role != kefu.RoleAgent || len(a.Departments) != 1 || a.Scopes != nil {
			t.Errorf("actor = %+v", a)
		}
		entries, _ := audit.List(ctx, db.Read, audit.Filter{Entity: "staff", EntityID: f.agent.ID})
		if entries[0].Action != "login" || entries[0].ActorID != f.agent.ID || entries[0].Changes["ip"].After != "192.0.2.1" {
			t.Errorf("login audit = %+v", entries[0])
		}

		if _, err := f.team.Disable(f.as(f.admin), f.agent.ID, "left the company"); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, tc := range []struct{ name, email, password string }{
			{"wrong password", "ada@example.com", "correct horse batterz"},
			{"unknown user", "nobody@example.com", password},
			{"disabled user", "li@example.com", password},
			{"empty password", "ada@example.com", ""},
		} {
			_, err := f.auth.Login(ctx, tc.email, tc.password, "192.0.2.1")
			wantCode(t, err, kefu.Unauthorized)
			msgs = append(msgs, err.Error())
		}
		for _, m := range msgs {
			if m != "wrong email or password" {
				t.Errorf("failure message %q differs: it would tell whether the account exists", m)
			}
		}
		var email, ip string
		if err := db.Read.QueryRow(`SELECT email, ip FROM login_failures WHERE email = 'nobody@example.com'`).Scan(&email, &ip); err != nil || ip != "192.0.2.1" {
			t.Errorf("failure row: %q %q %v", email, ip, err)
		}
		if n := failures(t, db); n != 4 {
			t.Errorf("%d failures recorded, want 4", n)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := context.Background()
		for i := range auth.MaxEmailFailures {
			_, err := f.auth.Login(ctx, "ada@example.com", "guess", "198.51.100.7")
			wantCode(t, err, kefu.Unauthorized)
			if i == 0 {
				f.clock.Advance(5 * time.Minute) // the first failure leaves the window first
			}
		}
		// The right password does not help now: the limit is checked first.
		_, err := f.auth.Login(ctx, "ADA@example.com", password, "203.0.113.9")
		wantCode(t, err, kefu.RateLimited)
		at, ok := auth.RetryAt(err)
		if want := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC); !ok || !at.Equal(want) {
			t.Errorf("RetryAt = %v %v, want %v", at, ok, want)
		}
		if !strings.Contains(err.Error(), "try again in 10 minutes") {
			t.Errorf("message %q does not say when to retry", err)
		}
		if n := failures(t, db); n != auth.MaxEmailFailures {
			t.Errorf("refused attempts were recorded: %d failures", n)
		}
		// Another account from the same address is not limited yet.
		if _, err := f.auth.Login(ctx, "li@example.com", password, "198.51.100.7"); err != nil {
			t.Errorf("other email: %v", err)
		}

		f.clock.Advance(10*time.Minute + time.Second) // the first failure is now outside the window
		if _, err := f.auth.Login(ctx, "ada@example.com", password, "203.0.113.9"); err != nil {
			t.Errorf("after the window: %v", err)
		}

		n, err := f.auth.PruneFailures(ctx, time.Hour)
		if err != nil || n != 0 {
			t.Errorf("prune within an hour: %d %v", n, err)
		}
		f.clock.Advance(time.Hour)
		n, err = f.auth.PruneFailures(ctx, time.Hour)
		if err != nil || n != int64(auth.MaxEmailFailures) {
			t.Errorf("prune after an hour: %d %v", n, err)
		}
	})
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := context.Background()
		// Spraying many emails from one address: 30 failures, none reaching
		// five for a single email.
		for i := range auth.MaxIPFailures {
			email := string(rune('a'+i%26)) + "x" + string(rune('a'+i/26)) + "@example.com"
			if _, err := f.auth.Login(ctx, email, "guess", "198.51.100.7"); !kefu.IsCode(err, kefu.Unauthorized) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		_, err := f.auth.Login(ctx, "ada@example.com", password, "198.51.100.7")
		wantCode(t, err, kefu.RateLimited)
		if _, err := f.auth.Login(ctx, "ada@example.com", password, "198.51.100.8"); err != nil {
			t.Errorf("from another address: %v", err)
		}
	})
}

func TestLoginRehashesOldHashes(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := context.Background()
		raised := auth.TestParams
		raised.Iterations = 2
		f.auth.Params = raised
		before, _ := f.team.Credentials(ctx, "ada@example.com")
		if _, err := f.auth.Login(ctx, "ada@example.com", password, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		after, _ := f.team.Credentials(ctx, "ada@example.com")
		if after.PasswordHash == before.PasswordHash || !strings.Contains(after.PasswordHash, "t=2") {
			t.Errorf("hash not upgraded: %q", after.PasswordHash)
		}
		if _, err := f.auth.Login(ctx, "ada@example.com", password, "192.0.2.1"); err != nil {
			t.Errorf("login with the upgraded hash: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := f.as(f.agent)
		err := f.auth.ChangePassword(ctx, "not my password", "a brand new password")
		wantCode(t, err, kefu.Invalid)
		if err := f.auth.ChangePassword(ctx, password, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Login(context.Background(), "li@example.com", "a brand new password", "192.0.2.1"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		entries, _ := audit.List(ctx, db.Read, audit.Filter{Entity: "staff", EntityID: f.agent.ID, Limit: 10})
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			for _, c := range e.Changes {
				if s, _ := c.After.(string); strings.Contains(s, "argon2") {
					t.Errorf("%s audit entry holds a password hash", e.Action)
				}
			}
		}
		if diff := cmp.Diff([]string{"login", "password", "create"}, actions); diff != "" {
			t.Errorf("audit actions (-want +got):\n%s", diff)
		}
	})
}

// TestLoginRateLimitUnderBurst sends many wrong passwords at once: the
// limit must hold even though every request starts before any has failed.
func TestLoginRateLimitUnderBurst(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		const n = 20
		var wg sync.WaitGroup
		codes := make([]kefu.Code, n)
		for i := range n {
			wg.Go(func() {
				_, err := f.auth.Login(context.Background(), "ada@example.com", "guess", "198.51.100.7")
				codes[i] = kefu.ErrorCode(err)
			})
		}
		wg.Wait()
		verified := 0
		for _, c := range codes {
			switch c {
			case kefu.Unauthorized:
				verified++
			case kefu.RateLimited:
			default:
				t.Errorf("unexpected outcome %q", c)
			}
		}
		// Attempts in flight count against each other, so a burst may be
		// refused entirely; what matters is that no more than the limit
		// ever reach the password check.
		if verified > auth.MaxEmailFailures {
			t.Errorf("%d guesses were checked, want at most %d", verified, auth.MaxEmailFailures)
		}
		if got := failures(t, db); got != verified {
			t.Errorf("%d failure rows for %d wrong passwords", got, verified)
		}
	})
}
