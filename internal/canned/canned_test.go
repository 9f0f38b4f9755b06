package canned_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/canned"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    canned.Input
		field string // "" = valid
		want  string // part of the message
	}{
		{"ok", canned.Input{Title: "Refund", Body: "Hi {{customer.name}}, about {{ticket.key}} ({{ticket.subject}}), order {{order.number}}. {{agent.name}}"}, "", ""},
		{"spaces inside braces", canned.Input{Title: "x", Body: "{{ customer.name }}"}, "", ""},
		{"language", canned.Input{Title: "x", Body: "y", Language: "zh-CN"}, "", ""},
		{"no title", canned.Input{Title: "  ", Body: "y"}, "title", "required"},
		{"long title", canned.Input{Title: strings.Repeat("好", 201), Body: "y"}, "title", "200"},
		{"title of 200 Chinese characters", canned.Input{Title: strings.Repeat("好", 200), Body: "y"}, "", ""},
		{"no body", canned.Input{Title: "x", Body: "\n"}, "body", "required"},
		{"long body", canned.Input{Title: "x", Body: strings.Repeat("a", 20001)}, "body", "20000"},
		{"unknown variable", canned.Input{Title: "x", Body: "Dear {{customer.email}}"}, "body", "{{customer.email}}"},
		{"template action", canned.Input{Title: "x", Body: "{{.Secret}}"}, "body", "{{.Secret}}"},
		{"bad language", canned.Input{Title: "x", Body: "y", Language: "fr"}, "language", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var e *kefu.Error
			if !errors.As(err, &e) || e.Code != kefu.Invalid || len(e.Fields) == 0 || e.Fields[0].Field != tc.field || !strings.Contains(e.Fields[0].Message, tc.want) {
				t.Fatalf("Validate = %v, want a %s error mentioning %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	vars := canned.Vars{CustomerName: "王芳", TicketKey: "KF-10001", TicketSubject: "退款", AgentName: "{{ticket.key}}", OrderNumber: ""}
	for _, tc := range []struct{ body, want string }{
		{"您好 {{customer.name}}，工单 {{ticket.key}}", "您好 王芳，工单 KF-10001"},
		{"{{ ticket.subject }}", "退款"},
		// A value is never expanded again.
		{"{{agent.name}}", "{{ticket.key}}"},
		{"order: {{order.number}}.", "order: ."},
		{"{{unknown}} and {{.Field}} stay", "{{unknown}} and {{.Field}} stay"},
		{"unclosed {{customer.name", "unclosed {{customer.name"},
		{"no variables", "no variables"},
		{"<b>{{customer.name}}</b>", "<b>王芳</b>"},
	} {
		if got := canned.Render(tc.body, vars); got != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func staff(t *testing.T, db *database.DB, role kefu.Role, email string) context.Context {
	t.Helper()
	id := kefu.NewID()
	if _, err := db.Write.Exec(`INSERT INTO staff (id, email, name, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		id, email, email, string(role), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: id, Name: email, Role: role})
}

func TestSharedAndPersonal(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := &canned.Service{DB: db, Now: time.Now}
		admin := staff(t, db, kefu.RoleAdmin, "admin@shop.cn")
		li := staff(t, db, kefu.RoleAgent, "li@shop.cn")
		wang := staff(t, db, kefu.RoleAgent, "wang@shop.cn")
		auditor := staff(t, db, kefu.RoleAuditor, "audit@shop.cn")

		shared, err := s.Create(admin, canned.Input{Title: "Refund", Body: "Hi {{customer.name}}", Shared: true, Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(li, canned.Input{Title: "Shared?", Body: "x", Shared: true}); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("agent creating a shared reply: %v, want forbidden", err)
		}
		if _, err := s.Create(auditor, canned.Input{Title: "Mine", Body: "x"}); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("auditor creating a reply: %v, want forbidden", err)
		}
		own, err := s.Create(li, canned.Input{Title: "A mine", Body: "稍等 {{agent.name}}"})
		if err != nil {
			t.Fatal(err)
		}
		if own.OwnerID == "" || own.Shared() {
			t.Fatalf("personal reply %+v has no owner", own)
		}
		if _, err := s.Create(li, canned.Input{Title: "Bad", Body: "{{nope}}"}); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("unknown variable: %v, want invalid", err)
		}

		titles := func(ctx context.Context) string {
			rs, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ts []string
			for _, r := range rs {
				ts = append(ts, r.Title)
			}
			return strings.Join(ts, ",")
		}
		if got := titles(li); got != "A mine,Refund" {
			t.Errorf("li sees %q", got)
		}
		if got := titles(wang); got != "Refund" {
			t.Errorf("wang sees %q", got)
		}

		// Someone else's personal reply does not exist for them.
		if _, err := s.Get(wang, own.ID); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("wang reading li's reply: %v", err)
		}
		if _, err := s.Update(wang, own.ID, 0, canned.Input{Title: "x", Body: "y"}); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("wang editing li's reply: %v", err)
		}
		if err := s.Delete(admin, own.ID); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("admin deleting li's reply: %v", err)
		}
		if _, err := s.Update(li, shared.ID, 0, canned.Input{Title: "x", Body: "y"}); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("agent editing a shared reply: %v", err)
		}

		up, err := s.Update(admin, shared.ID, shared.Version, canned.Input{Title: "Refund policy", Body: "Hello {{customer.name}}", Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Title != "Refund policy" || !up.Shared() {
			t.Fatalf("updated %+v", up)
		}
		if _, err := s.Update(admin, shared.ID, 1, canned.Input{Title: "late", Body: "y"}); !kefu.IsCode(err, kefu.Stale) {
			t.Errorf("stale edit: %v", err)
		}
		if err := s.Delete(li, own.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(admin, shared.ID); err != nil {
			t.Fatal(err)
		}
		if got := titles(li); got != "" {
			t.Errorf("after deleting, li sees %q", got)
		}

		var n int
		if err := db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE entity = 'canned_reply'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 5 { // two creates, an update, two deletes
			t.Errorf("%d audit entries, want 5", n)
		}
	})
}
