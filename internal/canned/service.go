package canned

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Service reads and changes canned replies. Shared replies are admins'
// to change; a personal reply is only ever seen or changed by its owner.
type Service struct {
	DB  *database.DB
	Now func() time.Time
}

const columns = `id, title, body, language, COALESCE(CAST(owner_id AS text), ''), category, created_at, updated_at, version`

// List returns the replies the actor may use: the shared ones and their
// own, by title.
func (s *Service) List(ctx context.Context) ([]Reply, error) {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff && a.Kind != kefu.ActorSystem {
		return nil, kefu.Errorf(kefu.Forbidden, "only staff use canned replies")
	}
	q := `SELECT ` + columns + ` FROM canned_replies WHERE owner_id IS NULL`
	var args []any
	if a.Kind == kefu.ActorStaff && kefu.ValidID(a.ID) {
		q += ` OR owner_id = $1`
		args = append(args, a.ID)
	}
	rows, err := s.DB.Read.QueryContext(ctx, q+` ORDER BY title, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("canned: list: %w", err)
	}
	defer rows.Close()
	out := []Reply{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Get returns one reply the actor may use.
func (s *Service) Get(ctx context.Context, id string) (Reply, error) {
	r, err := get(ctx, s.DB.Read, id)
	if err != nil {
		return Reply{}, err
	}
	if !r.Shared() && r.OwnerID != kefu.ActorFrom(ctx).ID {
		return Reply{}, notFound(id)
	}
	return r, nil
}

// Create stores a new reply: shared when in.Shared (admins only), else
// the actor's own.
func (s *Service) Create(ctx context.Context, in Input) (Reply, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return Reply{}, kefu.Errorf(kefu.Forbidden, "you may not write canned replies")
	}
	if in.Shared && !a.CanAdmin() {
		return Reply{}, kefu.Errorf(kefu.Forbidden, "only admins keep shared canned replies")
	}
	if !in.Shared && a.Kind != kefu.ActorStaff {
		return Reply{}, kefu.Fieldf("shared", "only a staff member can own a personal reply")
	}
	if err := in.Validate(); err != nil {
		return Reply{}, err
	}
	now := s.Now().UTC()
	r := Reply{ID: kefu.NewID(), Title: strings.TrimSpace(in.Title), Body: in.Body, Language: in.Language,
		Category: strings.TrimSpace(in.Category), CreatedAt: now, UpdatedAt: now, Version: 1}
	if !in.Shared {
		r.OwnerID = a.ID
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO canned_replies (id, title, body, language, owner_id, category, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)`,
			r.ID, r.Title, r.Body, r.Language, database.Nullable(r.OwnerID), r.Category, now, now)
		if err != nil {
			return fmt.Errorf("canned: create: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "canned_reply", EntityID: r.ID,
			Changes: map[string]audit.Change{"title": {After: r.Title}, "body": {After: r.Body}, "owner_id": {After: r.OwnerID}}})
	})
	return r, err
}

// Update changes a reply's text. version, when not 0, must be the stored
// one, so an edit made over someone else's is refused instead of lost.
// in.Shared is ignored: a reply does not move between shared and personal.
func (s *Service) Update(ctx context.Context, id string, version int, in Input) (Reply, error) {
	if err := in.Validate(); err != nil {
		return Reply{}, err
	}
	var next Reply
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.writable(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && version != cur.Version {
			return &kefu.Error{Code: kefu.Stale, Message: "someone changed this canned reply", Current: cur}
		}
		next = cur
		next.Title, next.Body, next.Language, next.Category = strings.TrimSpace(in.Title), in.Body, in.Language, strings.TrimSpace(in.Category)
		next.UpdatedAt = s.Now().UTC()
		next.Version++
		if _, err := tx.ExecContext(ctx, `UPDATE canned_replies SET title = $1, body = $2, language = $3, category = $4, updated_at = $5, version = $6
			WHERE id = $7`, next.Title, next.Body, next.Language, next.Category, next.UpdatedAt, next.Version, id); err != nil {
			return fmt.Errorf("canned: update: %w", err)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "title", cur.Title, next.Title)
		audit.Diff(changes, "body", cur.Body, next.Body)
		audit.Diff(changes, "language", cur.Language, next.Language)
		audit.Diff(changes, "category", cur.Category, next.Category)
		return audit.Record(ctx, tx, next.UpdatedAt, audit.Entry{Action: "update", Entity: "canned_reply", EntityID: id, Changes: changes})
	})
	return next, err
}

// Delete removes a reply.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.writable(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM canned_replies WHERE id = $1`, id); err != nil {
			return fmt.Errorf("canned: delete: %w", err)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "delete", Entity: "canned_reply", EntityID: id,
			Changes: map[string]audit.Change{"title": {Before: cur.Title}, "body": {Before: cur.Body}}})
	})
}

// writable reads a reply the actor may change. Someone else's personal
// reply is "not found", so its existence is not revealed.
func (s *Service) writable(ctx context.Context, tx *sql.Tx, id string) (Reply, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return Reply{}, kefu.Errorf(kefu.Forbidden, "you may not write canned replies")
	}
	cur, err := get(ctx, tx, id)
	if err != nil {
		return Reply{}, err
	}
	switch {
	case cur.Shared() && !a.CanAdmin():
		return Reply{}, kefu.Errorf(kefu.Forbidden, "only admins change shared canned replies")
	case !cur.Shared() && cur.OwnerID != a.ID:
		return Reply{}, notFound(id)
	}
	return cur, nil
}

func get(ctx context.Context, q database.Querier, id string) (Reply, error) {
	if !kefu.ValidID(id) {
		return Reply{}, notFound(id)
	}
	r, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM canned_replies WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Reply{}, notFound(id)
	}
	return r, err
}

func scan(row interface{ Scan(...any) error }) (Reply, error) {
	var r Reply
	err := row.Scan(&r.ID, &r.Title, &r.Body, &r.Language, &r.OwnerID, &r.Category, &r.CreatedAt, &r.UpdatedAt, &r.Version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("canned: read: %w", err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

func notFound(id string) error { return kefu.Errorf(kefu.NotFound, "no canned reply %s", id) }
