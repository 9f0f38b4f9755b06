package customer

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Ref names a customer for ResolveAll: by id, or by an email address and
// a phone number, with what a new customer record would start with.
type Ref struct {
	ID       string
	Name     string
	Language string
	Email    string
	Phone    string
}

// ResolveAll returns the customer each ref names: the given id (following
// a merge), else the holder of its email, else of its phone, else a new
// customer with the ref's name, language and identities. Refs naming the
// same unknown identity get the same new customer. It runs in the
// caller's transaction with a few statements for the whole set rather
// than several per ref, for imports of many orders; the hooks (search)
// see each new customer. Identities must be valid (Normalize); an
// invalid one is an error naming refs[i].
func (s *Service) ResolveAll(ctx context.Context, tx *sql.Tx, refs []Ref) ([]string, error) {
	return s.NewResolver().Resolve(ctx, tx, refs)
}

// Resolver is ResolveAll for a sequence of batches in which customers
// recur (an import): it remembers who holds each identity it has looked
// up or created, so a customer is looked up once per import rather than
// once per order. What it remembers is as old as the import, which is
// the window in which a merge of one of its customers would go unseen.
type Resolver struct {
	s       *Service
	holders map[string]string // "kind:value_norm" → customer id
}

// NewResolver returns a Resolver with nothing remembered.
func (s *Service) NewResolver() *Resolver { return &Resolver{s: s, holders: map[string]string{}} }

// Resolve is ResolveAll, using and adding to what rv remembers. A batch
// whose transaction rolls back must not be followed by another with rv.
func (rv *Resolver) Resolve(ctx context.Context, tx *sql.Tx, refs []Ref) ([]string, error) {
	s := rv.s
	out := make([]string, len(refs))
	var fs kefu.Fields
	type norms struct{ email, phone string }
	ns := make([]norms, len(refs))
	var ids, values []string
	for i, r := range refs {
		if r.ID != "" {
			if !kefu.ValidID(r.ID) {
				fs.Add(fmt.Sprintf("refs[%d].id", i), "is not an id")
			}
			ids = append(ids, r.ID)
			continue
		}
		for _, ident := range []struct {
			kind, value string
			norm        *string
		}{{Email, r.Email, &ns[i].email}, {Phone, r.Phone, &ns[i].phone}} {
			if ident.value == "" {
				continue
			}
			n, msg := Normalize(ident.kind, ident.value)
			if msg != "" {
				fs.Add(fmt.Sprintf("refs[%d].%s", i, ident.kind), "%s", msg)
				continue
			}
			*ident.norm = n
			if _, known := rv.holders[ident.kind+":"+n]; !known {
				values = append(values, n)
			}
		}
		if ns[i].email == "" && ns[i].phone == "" && r.Email == "" && r.Phone == "" {
			fs.Add(fmt.Sprintf("refs[%d]", i), "needs an id, email or phone")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	current, err := currentIDs(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if err := holdersOf(ctx, tx, values, rv.holders); err != nil {
		return nil, err
	}
	holders := rv.holders
	now := s.Now()
	cust := database.NewBulkInsert(s.DB.Dialect, "customers (id, name, language, created_at, updated_at)", 5)
	idents := database.NewBulkInsert(s.DB.Dialect, "customer_identities (id, customer_id, kind, value, value_norm, created_at)", 6)
	var created []string
	var entries []audit.Entry
	for i, r := range refs {
		if r.ID != "" {
			id, ok := current[r.ID]
			if !ok {
				return nil, kefu.Fieldf(fmt.Sprintf("refs[%d].id", i), "no customer %s", r.ID)
			}
			out[i] = id
			continue
		}
		n := ns[i]
		if id := holders[Email+":"+n.email]; n.email != "" && id != "" {
			out[i] = id
			continue
		}
		if id := holders[Phone+":"+n.phone]; n.phone != "" && id != "" {
			out[i] = id
			continue
		}
		id := kefu.NewID()
		cust.Add(id, r.Name, r.Language, now, now)
		changes := map[string]audit.Change{}
		audit.Diff(changes, "name", "", r.Name)
		for _, ident := range []struct{ kind, value, norm string }{{Email, r.Email, n.email}, {Phone, r.Phone, n.phone}} {
			if ident.norm == "" {
				continue
			}
			idents.Add(kefu.NewID(), id, ident.kind, ident.value, ident.norm, now)
			holders[ident.kind+":"+ident.norm] = id
			audit.Diff(changes, ident.kind, "", ident.value)
		}
		entries = append(entries, audit.Entry{Action: "create", Entity: "customer", EntityID: id, CustomerID: id, Changes: changes})
		created = append(created, id)
		out[i] = id
	}
	if err := database.ExecBulk(ctx, tx, cust, idents); err != nil {
		return nil, fmt.Errorf("customer: create: %w", err)
	}
	if err := audit.RecordAll(ctx, tx, s.DB.Dialect, now, entries); err != nil {
		return nil, err
	}
	return out, s.runHooks(ctx, tx, created...)
}

// currentIDs maps each existing id to the customer it is now, following
// merges.
func currentIDs(ctx context.Context, q database.Querier, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	err := database.InChunks(ids, func(args []any, in string) error {
		rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), COALESCE(CAST(merged_into AS text), '') FROM customers
			WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("customer: resolve: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, merged string
			if err := rows.Scan(&id, &merged); err != nil {
				return err
			}
			out[id] = id
			if merged != "" {
				out[id] = merged
			}
		}
		return rows.Err()
	})
	return out, err
}

// holdersOf adds to out "kind:value_norm" → customer of every identity
// whose normalised value is among values.
func holdersOf(ctx context.Context, q database.Querier, values []string, out map[string]string) error {
	return database.InChunks(values, func(args []any, in string) error {
		rows, err := q.QueryContext(ctx, `SELECT kind, value_norm, CAST(customer_id AS text) FROM customer_identities
			WHERE value_norm IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("customer: resolve: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var kind, norm, id string
			if err := rows.Scan(&kind, &norm, &id); err != nil {
				return err
			}
			out[kind+":"+norm] = id
		}
		return rows.Err()
	})
}
