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

// lookupChunk bounds the values of one IN list.
const lookupChunk = 500

// ResolveAll returns the customer each ref names: the given id (following
// a merge), else the holder of its email, else of its phone, else a new
// customer with the ref's name, language and identities. Refs naming the
// same unknown identity get the same new customer. It runs in the
// caller's transaction with a few statements for the whole set rather
// than several per ref, for imports of many orders; the hooks (search)
// see each new customer. Identities must be valid (Normalize); an
// invalid one is an error naming refs[i].
func (s *Service) ResolveAll(ctx context.Context, tx *sql.Tx, refs []Ref) ([]string, error) {
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
			values = append(values, n)
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
	holders, err := holdersOf(ctx, tx, values)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	cust := database.NewBulkInsert("customers (id, name, language, created_at, updated_at)", 5)
	idents := database.NewBulkInsert("customer_identities (id, customer_id, kind, value, value_norm, created_at)", 6)
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
	if err := audit.RecordAll(ctx, tx, now, entries); err != nil {
		return nil, err
	}
	return out, s.runHooks(ctx, tx, created...)
}

// currentIDs maps each existing id to the customer it is now, following
// merges.
func currentIDs(ctx context.Context, q database.Querier, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += lookupChunk {
		chunk := ids[start:min(start+lookupChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), COALESCE(CAST(merged_into AS text), '') FROM customers
			WHERE id IN (`+database.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("customer: resolve: %w", err)
		}
		for rows.Next() {
			var id, merged string
			if err := rows.Scan(&id, &merged); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = id
			if merged != "" {
				out[id] = merged
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// holdersOf maps "kind:value_norm" of every identity whose normalised
// value is among values to the customer holding it.
func holdersOf(ctx context.Context, q database.Querier, values []string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for start := 0; start < len(values); start += lookupChunk {
		chunk := values[start:min(start+lookupChunk, len(values))]
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v
		}
		rows, err := q.QueryContext(ctx, `SELECT kind, value_norm, CAST(customer_id AS text) FROM customer_identities
			WHERE value_norm IN (`+database.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("customer: resolve: %w", err)
		}
		for rows.Next() {
			var kind, norm, id string
			if err := rows.Scan(&kind, &norm, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[kind+":"+norm] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
