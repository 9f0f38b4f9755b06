package team_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/team"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeHash stands in for argon2id: team only stores what Hash returns.
func fakeHash(p string) (string, error) {
	h := sha256.Sum256([]byte(p))
	return "fake$" + hex.EncodeToString(h[:]), nil
}

func newService(db *database.DB) *team.Service {
	return &team.Service{DB: db, Now: func() time.Time { return t0 }, Hash: fakeHash}
}

func asAdmin() context.Context {
	return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: "admin-x", Name: "Ada", Role: kefu.RoleAdmin})
}

func as(st team.Staff) context.Context {
	return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: st.ID, Name: st.Name, Role: st.Role})
}

func fieldsOf(t *testing.T, err error) []kefu.FieldError {
	t.Helper()
	var e *kefu.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *kefu.Error", err)
	}
	return e.Fields
}

func mustCode(t *testing.T, err error, code kefu.Code) {
	t.Helper()
	if got := kefu.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func seedDepartments(t *testing.T, s *team.Service) (sales, returns team.Department) {
	ctx := asAdmin()
	sales = must[team.Department](t)(s.CreateDepartment(ctx, team.NewDepartment{Slug: "sales", Name: "Sales", NameZh: "销售"}))
	returns = must[team.Department](t)(s.CreateDepartment(ctx, team.NewDepartment{Slug: "returns", Name: "Returns"}))
	return sales, returns
}

func TestCreateStaffReportsEveryProblem(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		seedDepartments(t, s)
		_, err := s.CreateStaff(asAdmin(), team.NewStaff{
			Email:       "Li Wei <li@example.com>",
			Name:        "  ",
			Role:        "owner",
			Language:    "fr",
			Departments: []string{"sales", "nowhere"},
			Password:    "short",
		})
		mustCode(t, err, kefu.Invalid)
		want := []string{"email", "name", "role", "language", "password", "departments[1]"}
		var got []string
		for _, f := range fieldsOf(t, err) {
			got = append(got, f.Field)
		}
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		list := must[[]team.Staff](t)(s.ListStaff(asAdmin(), team.StaffFilter{IncludeDisabled: true}))
		if len(list) != 0 {
			t.Errorf("invalid input created %d staff", len(list))
		}
	})
}

func TestCreateStaff(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		sales, returns := seedDepartments(t, s)
		ctx := asAdmin()
		st := must[team.Staff](t)(s.CreateStaff(ctx, team.NewStaff{
			Email: " Li.Wei@Example.COM ", Name: "Li Wei", Role: kefu.RoleAgent,
			Departments: []string{"returns", sales.ID, "sales"}, Password: "correct horse",
		}))
		wantDeps := []string{sales.ID, returns.ID}
		if wantDeps[0] > wantDeps[1] {
			wantDeps[0], wantDeps[1] = wantDeps[1], wantDeps[0]
		}
		want := team.Staff{ID: st.ID, Email: "li.wei@example.com", Name: "Li Wei", Role: kefu.RoleAgent, Language: "en",
			Departments: wantDeps, CreatedAt: t0, UpdatedAt: t0}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		got := must[team.Staff](t)(s.StaffByEmail(as(st), "LI.WEI@example.com"))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("read back (-want +got):\n%s", diff)
		}
		cred := must[team.Credentials](t)(s.Credentials(context.Background(), "li.wei@example.com"))
		if h, _ := fakeHash("correct horse"); cred.PasswordHash != h || cred.StaffID != st.ID {
			t.Errorf("credentials = %+v", cred)
		}

		_, err := s.CreateStaff(ctx, team.NewStaff{Email: "li.wei@EXAMPLE.com", Name: "Other", Role: kefu.RoleStaff})
		mustCode(t, err, kefu.Conflict)
		if diff := cmp.Diff([]kefu.FieldError{{Field: "email", Message: "already in use"}}, fieldsOf(t, err)); diff != "" {
			t.Error(diff)
		}

		entries := must[[]audit.Entry](t)(audit.List(ctx, db.Read, audit.Filter{Entity: "staff", EntityID: st.ID}))
		if len(entries) != 1 || entries[0].Action != "create" || entries[0].ActorID != "admin-x" {
			t.Fatalf("audit = %+v", entries)
		}
		for k, c := range entries[0].Changes {
			if strings.Contains(toString(c.After), "fake$") {
				t.Errorf("audit change %s holds the password hash", k)
			}
		}
	})
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

func TestPermissions(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		seedDepartments(t, s)
		agent := must[team.Staff](t)(s.CreateStaff(asAdmin(), team.NewStaff{Email: "a@example.com", Name: "Agent", Role: kefu.RoleAgent}))
		other := must[team.Staff](t)(s.CreateStaff(asAdmin(), team.NewStaff{Email: "b@example.com", Name: "Bo", Role: kefu.RoleAgent}))
		ctx := as(agent)
		name := "Renamed"
		adminToken := func(scopes ...string) context.Context {
			return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: "admin-x", Role: kefu.RoleAdmin, Scopes: scopes, TokenID: "t"})
		}
		for _, tc := range []struct {
			name string
			err  error
			want kefu.Code
		}{
			{"create staff", second(s.CreateStaff(ctx, team.NewStaff{Email: "c@example.com", Name: "C", Role: kefu.RoleAdmin})), kefu.Forbidden},
			{"update staff", second(s.UpdateStaff(ctx, other.ID, team.StaffPatch{Name: &name})), kefu.Forbidden},
			{"disable staff", second(s.Disable(ctx, other.ID, "")), kefu.Forbidden},
			{"enable staff", second(s.Enable(ctx, other.ID)), kefu.Forbidden},
			{"create department", second(s.CreateDepartment(ctx, team.NewDepartment{Slug: "x", Name: "X"})), kefu.Forbidden},
			{"update department", second(s.UpdateDepartment(ctx, "sales", team.DepartmentPatch{Name: &name})), kefu.Forbidden},
			{"someone else's password", s.SetPassword(ctx, other.ID, "long enough password"), kefu.Forbidden},
			{"own password", s.SetPassword(ctx, agent.ID, "long enough password"), ""},
			{"admin token without the admin scope", second(s.CreateStaff(adminToken("tickets:read"), team.NewStaff{Email: "d@example.com", Name: "D", Role: kefu.RoleAgent})), kefu.Forbidden},
			{"admin token with the admin scope", second(s.CreateStaff(adminToken("admin"), team.NewStaff{Email: "e@example.com", Name: "E", Role: kefu.RoleAgent})), ""},
			{"list staff by unknown role", second(s.ListStaff(ctx, team.StaffFilter{Role: "boss"})), kefu.Invalid},
			{"list staff", second(s.ListStaff(ctx, team.StaffFilter{})), ""},
			{"list departments", second(s.ListDepartments(ctx)), ""},
			{"anonymous list", second(s.ListStaff(context.Background(), team.StaffFilter{})), kefu.Unauthorized},
			{"customer list", second(s.ListStaff(kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorCustomer, ID: "c"}), team.StaffFilter{})), kefu.Forbidden},
		} {
			if got := kefu.ErrorCode(tc.err); got != tc.want {
				t.Errorf("%s: code %q (%v), want %q", tc.name, got, tc.err, tc.want)
			}
		}
		if got := must[team.Staff](t)(s.GetStaff(ctx, other.ID)); got.Name != "Bo" {
			t.Errorf("agent's failed update changed the name to %q", got.Name)
		}
	})
}

func second[T any](_ T, err error) error { return err }

func TestLastAdmin(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		a1 := must[team.Staff](t)(s.CreateStaff(asAdmin(), team.NewStaff{Email: "a1@example.com", Name: "A1", Role: kefu.RoleAdmin}))
		_, err := s.Disable(as(a1), a1.ID, "leaving")
		mustCode(t, err, kefu.Conflict)
		agent := kefu.RoleAgent
		_, err = s.UpdateStaff(as(a1), a1.ID, team.StaffPatch{Role: &agent})
		mustCode(t, err, kefu.Conflict)

		a2 := must[team.Staff](t)(s.CreateStaff(as(a1), team.NewStaff{Email: "a2@example.com", Name: "A2", Role: kefu.RoleAdmin}))
		st := must[team.Staff](t)(s.Disable(as(a1), a1.ID, "leaving"))
		if !st.Disabled || st.DisabledAt == nil || !st.DisabledAt.Equal(t0) {
			t.Errorf("disabled = %+v", st)
		}
		// a2 is now the last enabled admin.
		_, err = s.Disable(as(a2), a2.ID, "")
		mustCode(t, err, kefu.Conflict)

		entries := must[[]audit.Entry](t)(audit.List(asAdmin(), db.Read, audit.Filter{Entity: "staff", EntityID: a1.ID}))
		if entries[0].Action != "disable" || entries[0].Changes["reason"].After != "leaving" {
			t.Errorf("newest audit entry = %+v", entries[0])
		}
		// Disabled staff are left out of lists unless asked for.
		list := must[[]team.Staff](t)(s.ListStaff(as(a2), team.StaffFilter{Role: kefu.RoleAdmin}))
		if len(list) != 1 || list[0].ID != a2.ID {
			t.Errorf("enabled admins = %+v", list)
		}
		list = must[[]team.Staff](t)(s.ListStaff(as(a2), team.StaffFilter{Role: kefu.RoleAdmin, IncludeDisabled: true}))
		if len(list) != 2 {
			t.Errorf("all admins = %+v", list)
		}
		if _, err := s.ActorFor(context.Background(), a1.ID); kefu.ErrorCode(err) != kefu.Unauthorized {
			t.Errorf("ActorFor(disabled) error = %v, want unauthorized", err)
		}
		st = must[team.Staff](t)(s.Enable(as(a2), a1.ID))
		if st.Disabled || st.DisabledAt != nil {
			t.Errorf("enabled = %+v", st)
		}
		must[team.Staff](t)(s.Disable(as(a2), a2.ID, "")) // a1 is back, so a2 may go
	})
}

func TestUpdateStaffAndActorFor(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		sales, returns := seedDepartments(t, s)
		ctx := asAdmin()
		st := must[team.Staff](t)(s.CreateStaff(ctx, team.NewStaff{Email: "w@example.com", Name: "Wang", Role: kefu.RoleAgent, Departments: []string{"sales"}}))

		a := must[kefu.Actor](t)(s.ActorFor(context.Background(), st.ID))
		if diff := cmp.Diff(kefu.Actor{Kind: kefu.ActorStaff, ID: st.ID, Name: "Wang", Role: kefu.RoleAgent, Departments: []string{sales.ID}}, a); diff != "" {
			t.Errorf("ActorFor (-want +got):\n%s", diff)
		}

		role, lang, deps := kefu.RoleSupervisor, "zh-CN", []string{"returns"}
		up := must[team.Staff](t)(s.UpdateStaff(ctx, st.ID, team.StaffPatch{Role: &role, Language: &lang, Departments: &deps}))
		if up.Role != role || up.Language != lang || !cmp.Equal(up.Departments, []string{returns.ID}) {
			t.Errorf("updated = %+v", up)
		}
		a = must[kefu.Actor](t)(s.ActorFor(context.Background(), st.ID))
		if a.Role != role || !a.InDepartment(returns.ID) || a.InDepartment(sales.ID) {
			t.Errorf("ActorFor after update = %+v", a)
		}
		entries := must[[]audit.Entry](t)(audit.List(ctx, db.Read, audit.Filter{Entity: "staff", EntityID: st.ID}))
		want := map[string]audit.Change{
			"role":        {Before: "agent", After: "supervisor"},
			"language":    {Before: "en", After: "zh-CN"},
			"departments": {Before: []any{sales.ID}, After: []any{returns.ID}},
		}
		if diff := cmp.Diff(want, entries[0].Changes); entries[0].Action != "update" || diff != "" {
			t.Errorf("audit %s (-want +got):\n%s", entries[0].Action, diff)
		}

		bad := kefu.Role("boss")
		baddeps := []string{"returns", "nope"}
		_, err := s.UpdateStaff(ctx, st.ID, team.StaffPatch{Role: &bad, Departments: &baddeps})
		mustCode(t, err, kefu.Invalid)
		if len(fieldsOf(t, err)) != 2 {
			t.Errorf("fields = %+v", fieldsOf(t, err))
		}
		_, err = s.UpdateStaff(ctx, "not-an-id", team.StaffPatch{Role: &role})
		mustCode(t, err, kefu.NotFound)

		in := must[[]team.Staff](t)(s.ListStaff(ctx, team.StaffFilter{Department: "returns"}))
		out := must[[]team.Staff](t)(s.ListStaff(ctx, team.StaffFilter{Department: sales.ID}))
		if len(in) != 1 || len(out) != 0 {
			t.Errorf("by department: returns %d, sales %d", len(in), len(out))
		}
		_, err = s.ListStaff(ctx, team.StaffFilter{Department: "nowhere"})
		mustCode(t, err, kefu.Invalid)
	})
}

func TestDepartments(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		sales, _ := seedDepartments(t, s)
		ctx := asAdmin()
		_, err := s.CreateDepartment(ctx, team.NewDepartment{Slug: "sales", Name: "Sales again"})
		mustCode(t, err, kefu.Conflict)
		_, err = s.CreateDepartment(ctx, team.NewDepartment{Slug: "Bad Slug", Name: ""})
		mustCode(t, err, kefu.Invalid)
		if n := len(fieldsOf(t, err)); n != 2 {
			t.Errorf("fields = %+v", fieldsOf(t, err))
		}
		name, slug := "Pre-sales", "pre-sales"
		d := must[team.Department](t)(s.UpdateDepartment(ctx, "sales", team.DepartmentPatch{Name: &name, Slug: &slug}))
		if d.ID != sales.ID || d.Name != name || d.Slug != slug || d.NameZh != "销售" {
			t.Errorf("updated = %+v", d)
		}
		got := must[team.Department](t)(s.DepartmentBySlug(ctx, "pre-sales"))
		if diff := cmp.Diff(d, got); diff != "" {
			t.Error(diff)
		}
		_, err = s.DepartmentBySlug(ctx, "sales")
		mustCode(t, err, kefu.NotFound)
		taken := "returns"
		_, err = s.UpdateDepartment(ctx, d.ID, team.DepartmentPatch{Slug: &taken})
		mustCode(t, err, kefu.Conflict)
		list := must[[]team.Department](t)(s.ListDepartments(ctx))
		if len(list) != 2 || list[0].Slug != "pre-sales" || list[1].Slug != "returns" {
			t.Errorf("list = %+v", list)
		}
		entries := must[[]audit.Entry](t)(audit.List(ctx, db.Read, audit.Filter{Entity: "department", EntityID: d.ID}))
		if len(entries) != 2 || entries[0].Changes["slug"] != (audit.Change{Before: "sales", After: "pre-sales"}) {
			t.Errorf("audit = %+v", entries)
		}
	})
}

func TestSetPassword(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newService(db)
		st := must[team.Staff](t)(s.CreateStaff(asAdmin(), team.NewStaff{Email: "p@example.com", Name: "P", Role: kefu.RoleStaff}))
		if c := must[team.Credentials](t)(s.Credentials(context.Background(), "p@example.com")); c.PasswordHash != "" {
			t.Errorf("no password given, hash = %q", c.PasswordHash)
		}
		mustCode(t, s.SetPassword(asAdmin(), st.ID, "too short"), kefu.Invalid)
		if err := s.SetPassword(asAdmin(), st.ID, "a much longer password"); err != nil {
			t.Fatal(err)
		}
		c := must[team.Credentials](t)(s.Credentials(context.Background(), "p@example.com"))
		if h, _ := fakeHash("a much longer password"); c.PasswordHash != h {
			t.Errorf("hash = %q", c.PasswordHash)
		}
		entries := must[[]audit.Entry](t)(audit.List(asAdmin(), db.Read, audit.Filter{Entity: "staff", EntityID: st.ID}))
		if entries[0].Action != "password" || len(entries[0].Changes) != 0 {
			t.Errorf("audit = %+v", entries[0])
		}
		ok := must[bool](t)(s.ReplacePasswordHash(context.Background(), st.ID, c.PasswordHash, "new$hash"))
		stale := must[bool](t)(s.ReplacePasswordHash(context.Background(), st.ID, c.PasswordHash, "newer$hash"))
		if !ok || stale {
			t.Errorf("replace: first %v, second with stale old hash %v", ok, stale)
		}
	})
}
