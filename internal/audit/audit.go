// Package audit keeps the append-only record of every change: who, when,
// what, and each changed field's value before and after. Entries are
// written in the same transaction as the change they describe, so the
// trail never disagrees with the data.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// Change is one field's value before and after.
type Change struct {
	Before any `json:"before,omitempty" doc:"Absent when the field had no value"`
	After  any `json:"after,omitempty" doc:"Absent when the field was cleared"`
}

// Entry is one audited action.
type Entry struct {
	ID         string            `json:"id"`
	At         time.Time         `json:"at"`
	ActorKind  string            `json:"actor_kind"`
	ActorID    string            `json:"actor_id"`
	ActorName  string            `json:"actor_name"`
	Action     string            `json:"action"`
	Entity     string            `json:"entity"`
	EntityID   string            `json:"entity_id"`
	TicketID   string            `json:"ticket_id,omitempty"`
	CustomerID string            `json:"customer_id,omitempty"`
	Changes    map[string]Change `json:"changes"`
}

// Diff adds to changes every field whose value differs between before and
// after. Values are compared as they would be shown.
func Diff(changes map[string]Change, field string, before, after any) {
	if !reflect.DeepEqual(before, after) {
		changes[field] = Change{Before: before, After: after}
	}
}

// Record appends e, filling id, time and actor from ctx. Call it with the
// transaction that makes the change.
func Record(ctx context.Context, q database.Querier, now time.Time, e Entry) error {
	vals, err := row(ActorOf(ctx), now, e)
	if err != nil {
		return err
	}
	// The row is written with the change's next statement or its commit.
	_, err = q.ExecContext(database.Deferrable(ctx), `INSERT INTO audit_log
		(id, at, actor_kind, actor_id, actor_name, action, entity, entity_id, ticket_id, customer_id, changes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, vals...)
	if err != nil {
		return fmt.Errorf("audit: record %s %s: %w", e.Action, e.Entity, err)
	}
	return nil
}

// row is e as the values of an audit_log row.
func row(a kefu.Actor, now time.Time, e Entry) ([]any, error) {
	if e.Changes == nil {
		e.Changes = map[string]Change{}
	}
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return []any{kefu.NewID(), now.UTC(), string(a.Kind), a.ID, a.Name, e.Action, e.Entity, e.EntityID,
		database.Nullable(e.TicketID), database.Nullable(e.CustomerID), string(changes)}, nil
}

// RecordAll appends entries in as few statements as the database allows,
// for bulk changes (imports) that audit every row they write. Like Record
// it fills id, time and actor, and must run in the change's transaction.
func RecordAll(ctx context.Context, q database.Querier, d database.Dialect, now time.Time, entries []Entry) error {
	a := ActorOf(ctx)
	b := database.NewBulkInsert(d, "audit_log (id, at, actor_kind, actor_id, actor_name, action, entity, entity_id, ticket_id, customer_id, changes)", 11)
	for _, e := range entries {
		vals, err := row(a, now, e)
		if err != nil {
			return err
		}
		b.Add(vals...)
	}
	if err := b.Exec(ctx, q); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// ActorOf returns the actor in ctx, or System when nobody is named (a
// background job), so no entry is ever anonymous.
func ActorOf(ctx context.Context) kefu.Actor {
	a := kefu.ActorFrom(ctx)
	if a.Kind == "" {
		return kefu.System
	}
	return a
}

// Filter selects entries; empty fields select everything.
type Filter struct {
	TicketID   string
	CustomerID string
	Entity     string
	EntityID   string
	Before     string // cursor: entries with id < Before
	Limit      int
}

// List returns entries newest first.
func List(ctx context.Context, q database.Querier, f Filter) ([]Entry, error) {
	where, args := "WHERE 1=1", []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.TicketID != "" {
		add("ticket_id = $%d", f.TicketID)
	}
	if f.CustomerID != "" {
		add("customer_id = $%d", f.CustomerID)
	}
	if f.Entity != "" {
		add("entity = $%d", f.Entity)
	}
	if f.EntityID != "" {
		add("entity_id = $%d", f.EntityID)
	}
	if f.Before != "" {
		add("id < $%d", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := q.QueryContext(ctx, `SELECT id, at, actor_kind, actor_id, actor_name, action, entity, entity_id,
		COALESCE(CAST(ticket_id AS text), ''), COALESCE(CAST(customer_id AS text), ''), changes
		FROM audit_log `+where+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var changes string
		if err := rows.Scan(&e.ID, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.Entity, &e.EntityID,
			&e.TicketID, &e.CustomerID, &changes); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, fmt.Errorf("audit: entry %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
