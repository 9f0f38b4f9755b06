package customer_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		kind, in, want string
		ok             bool
	}{
		{"email", " Wang.Fang@Example.CN ", "wang.fang@example.cn", true},
		{"email", "王芳 <wf@example.cn>", "", false},
		{"email", "not-an-address", "", false},
		{"phone", "+86 138-0013-8000", "+8613800138000", true},
		{"phone", "0086 (138) 0013 8000", "+8613800138000", true},
		{"phone", "138.0013.8000", "13800138000", true},
		{"phone", "12", "", false},
		{"phone", "138x0013", "", false},
		{"wechat", "WangFang_88", "wangfang_88", true},
		{"wechat", "88wang", "", false},
		{"fax", "1", "", false},
	}
	for _, tt := range tests {
		got, msg := customer.Normalize(tt.kind, tt.in)
		if (msg == "") != tt.ok || got != tt.want {
			t.Errorf("Normalize(%s, %q) = %q, %q; want %q ok=%v", tt.kind, tt.in, got, msg, tt.want, tt.ok)
		}
	}
}

func service(db *database.DB) *customer.Service {
	base := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	return &customer.Service{DB: db, Now: func() time.Time { n++; return base.Add(time.Duration(n) * time.Second) }}
}

func TestCustomerProfileAndSearch(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := service(db)
		ctx := kefu.WithActor(context.Background(), kefu.System)
		c, err := s.Create(ctx, customer.NewCustomer{Name: "王芳", Language: "zh-CN", Tags: []string{"vip", "vip", "repeat"},
			Identities: []customer.NewIdent{{Kind: "phone", Value: "+86 138 0013 8000"}, {Kind: "email", Value: "wf@example.cn"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(c.Tags, []string{"repeat", "vip"}) || len(c.Identities) != 2 {
			t.Fatalf("created %+v", c)
		}
		// Another customer cannot take the same phone, however written.
		_, err = s.Create(ctx, customer.NewCustomer{Name: "x", Identities: []customer.NewIdent{{Kind: "phone", Value: "0086-138-0013-8000"}}})
		if e, ok := err.(*kefu.Error); !ok || e.Code != kefu.Conflict || e.Fields[0].Field != "identities[0].value" {
			t.Fatalf("duplicate phone: %v", err)
		}
		for _, q := range []string{"+86138", "wf@ex", "王芳"} {
			got, err := s.List(ctx, customer.Filter{Query: q})
			if err != nil || len(got) != 1 || got[0].ID != c.ID {
				t.Errorf("List(%q) = %v, %v", q, got, err)
			}
		}
		if got, _ := s.List(ctx, customer.Filter{Query: "nobody"}); len(got) != 0 {
			t.Errorf("List(nobody) = %v", got)
		}
		// Blocking needs a reason; a stale version is refused.
		yes := true
		if _, err := s.Update(ctx, c.ID, c.Version, customer.Patch{Blocked: &yes}); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("block without reason: %v", err)
		}
		reason := "abusive language on 3 calls"
		blocked, err := s.Update(ctx, c.ID, c.Version, customer.Patch{Blocked: &yes, BlockedReason: &reason})
		if err != nil || !blocked.Blocked || blocked.Version != 2 {
			t.Fatalf("block: %+v %v", blocked, err)
		}
		if _, err := s.Update(ctx, c.ID, c.Version, customer.Patch{Blocked: &yes, BlockedReason: &reason}); !kefu.IsCode(err, kefu.Stale) {
			t.Fatalf("stale update: %v", err)
		}
		if got, _ := s.List(ctx, customer.Filter{Blocked: &yes}); len(got) != 1 {
			t.Errorf("blocked filter found %d", len(got))
		}
		entries, err := audit.List(ctx, db.Read, audit.Filter{CustomerID: c.ID})
		if err != nil || len(entries) != 2 || entries[0].Action != "block" {
			t.Fatalf("audit: %+v %v", entries, err)
		}
	})
}

func TestMergeCustomers(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := service(db)
		ctx := kefu.WithActor(context.Background(), kefu.System)
		a, _ := s.Create(ctx, customer.NewCustomer{Name: "Olivia", Tags: []string{"vip"}, Identities: []customer.NewIdent{{Kind: "email", Value: "o@example.com"}}})
		b, _ := s.Create(ctx, customer.NewCustomer{Name: "", Birthday: "1990-05-17", Tags: []string{"repeat", "vip"}, Identities: []customer.NewIdent{{Kind: "wechat", Value: "olivia_88"}}})
		m, err := s.Merge(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Birthday != "1990-05-17" || len(m.Identities) != 2 || !cmp.Equal(m.Tags, []string{"repeat", "vip"}) {
			t.Fatalf("merged: %+v", m)
		}
		found, err := s.FindByIdentity(ctx, "wechat", "OLIVIA_88")
		if err != nil || found.ID != a.ID {
			t.Fatalf("identity after merge: %v %v", found, err)
		}
		gone, _ := s.Get(ctx, b.ID)
		if gone.MergedInto != a.ID {
			t.Fatalf("source not marked merged: %+v", gone)
		}
		if _, err := s.Merge(ctx, a.ID, b.ID); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("merging twice: %v", err)
		}
		// Auditors read, never write.
		actx := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAuditor})
		if _, err := s.Create(actx, customer.NewCustomer{Name: "x"}); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("auditor create: %v", err)
		}
	})
}
