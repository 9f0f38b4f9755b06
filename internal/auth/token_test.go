package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func TestTokens(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		ctx := f.as(f.agent)
		exp := f.clock.Now().Add(24 * time.Hour)
		secret, tok, err := f.auth.CreateToken(ctx, f.agent.ID, " shop sync ", []string{auth.ScopeTicketsWrite, auth.ScopeTicketsRead, auth.ScopeTicketsRead}, &exp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "kfu_") || len(secret) != 47 || tok.Prefix != secret[:8] {
			t.Errorf("secret %q prefix %q", secret, tok.Prefix)
		}
		want := auth.Token{ID: tok.ID, StaffID: f.agent.ID, Name: "shop sync", Prefix: secret[:8],
			Scopes: []string{"tickets:read", "tickets:write"}, ExpiresAt: &exp, CreatedAt: f.clock.Now()}
		if diff := cmp.Diff(want, tok); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		var stored string
		db.Read.QueryRow(`SELECT token_hash FROM api_tokens`).Scan(&stored)
		if stored == "" || strings.Contains(stored, secret[4:]) {
			t.Errorf("stored hash %q", stored)
		}

		a, err := f.auth.Authenticate(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != f.agent.ID || a.Role != kefu.RoleAgent || a.TokenID != tok.ID || len(a.Departments) != 1 ||
			!a.HasScope(auth.ScopeTicketsWrite) || a.HasScope(auth.ScopeCustomersRead) {
			t.Errorf("actor = %+v", a)
		}
		lastUsed := func() time.Time {
			list, err := f.auth.ListTokens(ctx, f.agent.ID)
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
				t.Fatalf("list: %+v %v", list, err)
			}
			return *list[0].LastUsedAt
		}
		start := f.clock.Now()
		if got := lastUsed(); !got.Equal(start) {
			t.Errorf("last used %v, want %v", got, start)
		}
		f.clock.Advance(30 * time.Second)
		f.auth.Authenticate(context.Background(), secret)
		if got := lastUsed(); !got.Equal(start) {
			t.Errorf("last used rewritten within a minute: %v", got)
		}
		f.clock.Advance(31 * time.Second)
		f.auth.Authenticate(context.Background(), secret)
		if got := lastUsed(); !got.Equal(f.clock.Now()) {
			t.Errorf("last used %v, want %v", got, f.clock.Now())
		}

		other := secret[:46] + "A"
		if other == secret {
			other = secret[:46] + "Q"
		}
		for _, bad := range []string{"", "kfu_", "Bearer " + secret, other, strings.ToUpper(secret)} {
			_, err := f.auth.Authenticate(context.Background(), bad)
			wantCode(t, err, kefu.Unauthorized)
		}

		f.clock.Advance(24 * time.Hour)
		_, err = f.auth.Authenticate(context.Background(), secret)
		wantCode(t, err, kefu.Unauthorized)
		if !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired: %v", err)
		}
	})
}

func TestTokenRevokeAndDisabledOwner(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		agentCtx, adminCtx := f.as(f.agent), f.as(f.admin)
		s1, t1, err := f.auth.CreateToken(agentCtx, f.agent.ID, "one", []string{auth.ScopeTicketsRead}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s2, _, err := f.auth.CreateToken(adminCtx, f.agent.ID, "made by admin", []string{auth.ScopeCustomersRead}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, adminTok, err := f.auth.CreateToken(adminCtx, f.admin.ID, "admin's", []string{auth.ScopeAdmin}, nil)
		if err != nil {
			t.Fatal(err)
		}

		// The agent cannot see or revoke the admin's token.
		_, err = f.auth.RevokeToken(agentCtx, adminTok.ID)
		wantCode(t, err, kefu.NotFound)
		_, err = f.auth.ListTokens(agentCtx, "")
		wantCode(t, err, kefu.Forbidden)
		_, err = f.auth.ListTokens(agentCtx, f.admin.ID)
		wantCode(t, err, kefu.Forbidden)
		// An admin signed in with a token lacking the admin scope is not an
		// admin for other people's tokens.
		narrowAdmin, _ := f.team.ActorFor(context.Background(), f.admin.ID)
		narrowAdmin.Scopes, narrowAdmin.TokenID = []string{auth.ScopeTicketsRead}, "x"
		_, err = f.auth.ListTokens(kefu.WithActor(context.Background(), narrowAdmin), f.agent.ID)
		wantCode(t, err, kefu.Forbidden)
		all, err := f.auth.ListTokens(adminCtx, "")
		if err != nil || len(all) != 3 {
			t.Errorf("admin lists %d tokens, %v", len(all), err)
		}

		rt, err := f.auth.RevokeToken(agentCtx, t1.ID)
		if err != nil || rt.RevokedAt == nil {
			t.Fatalf("revoke: %+v %v", rt, err)
		}
		_, err = f.auth.Authenticate(context.Background(), s1)
		wantCode(t, err, kefu.Unauthorized)
		if _, err := f.auth.RevokeToken(agentCtx, t1.ID); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if _, err := f.auth.Authenticate(context.Background(), s2); err != nil {
			t.Errorf("the other token stopped working: %v", err)
		}

		if _, err := f.team.Disable(adminCtx, f.agent.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = f.auth.Authenticate(context.Background(), s2)
		wantCode(t, err, kefu.Unauthorized)

		entries, _ := audit.List(adminCtx, db.Read, audit.Filter{Entity: "api_token", EntityID: t1.ID})
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if diff := cmp.Diff([]string{"revoke", "create"}, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

func TestCreateTokenValidation(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		agentCtx := f.as(f.agent)
		past := f.clock.Now().Add(-time.Minute)

		_, _, err := f.auth.CreateToken(agentCtx, f.agent.ID, "", []string{"tickets:read", "tickets:delete", auth.ScopeAdmin, auth.ScopeAuditRead}, &past)
		wantCode(t, err, kefu.Invalid)
		var e *kefu.Error
		errors.As(err, &e)
		var fields []string
		for _, fe := range e.Fields {
			fields = append(fields, fe.Field)
		}
		if diff := cmp.Diff([]string{"name", "scopes[1]", "scopes[2]", "scopes[3]", "expires_at"}, fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		_, _, err = f.auth.CreateToken(agentCtx, f.agent.ID, "none", nil, nil)
		wantCode(t, err, kefu.Invalid)

		// Someone else's token needs an admin.
		_, _, err = f.auth.CreateToken(agentCtx, f.admin.ID, "sneaky", []string{auth.ScopeTicketsRead}, nil)
		wantCode(t, err, kefu.Forbidden)
		_, _, err = f.auth.CreateToken(context.Background(), f.agent.ID, "anon", []string{auth.ScopeTicketsRead}, nil)
		wantCode(t, err, kefu.Unauthorized)

		// A token-authenticated caller cannot mint broader tokens.
		secret, _, err := f.auth.CreateToken(agentCtx, f.agent.ID, "read only", []string{auth.ScopeTicketsRead}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokActor, err := f.auth.Authenticate(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.auth.CreateToken(kefu.WithActor(context.Background(), tokActor), f.agent.ID, "escalate", []string{auth.ScopeTicketsWrite}, nil)
		wantCode(t, err, kefu.Invalid)
	})
}

func TestRoleAllowsScope(t *testing.T) {
	for _, tc := range []struct {
		role  kefu.Role
		allow []string
	}{
		{kefu.RoleAdmin, auth.Scopes},
		{kefu.RoleSupervisor, []string{"tickets:read", "tickets:write", "customers:read", "customers:write", "shop:read"}},
		{kefu.RoleAgent, []string{"tickets:read", "tickets:write", "customers:read", "customers:write", "shop:read"}},
		{kefu.RoleStaff, []string{"tickets:read", "tickets:write", "customers:read", "customers:write", "shop:read"}},
		{kefu.RoleAuditor, []string{"tickets:read", "customers:read", "audit:read", "shop:read"}},
		{"", nil},
	} {
		var got []string
		for _, sc := range auth.Scopes {
			if auth.RoleAllowsScope(tc.role, sc) {
				got = append(got, sc)
			}
		}
		if diff := cmp.Diff(tc.allow, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.role, diff)
		}
	}
	if auth.ValidScope("tickets:delete") || !auth.ValidScope("audit:read") {
		t.Error("ValidScope")
	}
}
