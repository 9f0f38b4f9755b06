package customer_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func TestResolveAll(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := service(db)
		ctx := kefu.WithActor(context.Background(), kefu.System)
		known, err := s.Create(ctx, customer.NewCustomer{Name: "王芳", Identities: []customer.NewIdent{{Kind: "phone", Value: "+86 138 0013 8000"}}})
		if err != nil {
			t.Fatal(err)
		}
		merged, err := s.Create(ctx, customer.NewCustomer{Name: "Wang F."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Merge(ctx, known.ID, merged.ID); err != nil {
			t.Fatal(err)
		}
		refs := []customer.Ref{
			{Email: "new@example.cn", Phone: "+8613800138000"},            // the phone is known: that customer
			{Name: "Olivia", Language: "en", Email: "OLIVIA@example.com"}, // new
			{Email: "olivia@example.com", Phone: "+1 415 555 0100"},       // the same new customer
			{ID: merged.ID},            // followed to where it was merged
			{Phone: "+1 415 555 0100"}, // not attached to Olivia: a customer of its own
		}
		var ids []string
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			ids, err = s.ResolveAll(ctx, tx, refs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ids[0] != known.ID || ids[3] != known.ID {
			t.Errorf("known customer: got %s and %s, want %s", ids[0], ids[3], known.ID)
		}
		if ids[1] == known.ID || ids[1] != ids[2] || ids[4] == ids[1] {
			t.Errorf("new customers: %v", ids)
		}
		olivia, err := s.Get(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if olivia.Name != "Olivia" || olivia.Language != "en" || len(olivia.Identities) != 1 || olivia.Identities[0].Value != "OLIVIA@example.com" {
			t.Errorf("new customer as stored: %+v", olivia)
		}
		if found, err := s.FindByIdentity(ctx, "phone", "+1 (415) 555-0100"); err != nil || found.ID != ids[4] {
			t.Errorf("the phone-only customer is not found by phone: %v %v", found, err)
		}
		entries, err := audit.List(ctx, db.Read, audit.Filter{CustomerID: ids[1]})
		if err != nil || len(entries) != 1 || entries[0].Action != "create" {
			t.Errorf("audit of the new customer: %+v %v", entries, err)
		}

		// A bad identity or an unknown id is refused, naming the ref.
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := s.ResolveAll(ctx, tx, []customer.Ref{{Email: "x@example.cn"}, {Email: "not an address"}, {ID: kefu.NewID()}})
			return err
		})
		if !kefu.IsCode(err, kefu.Invalid) || !containsField(err, "refs[1].email") {
			t.Errorf("bad ref: %v", err)
		}
		if _, err := s.FindByIdentity(ctx, "email", "x@example.cn"); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("a refused batch created a customer: %v", err)
		}
	})
}

func containsField(err error, field string) bool {
	e, ok := err.(*kefu.Error)
	if !ok {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
