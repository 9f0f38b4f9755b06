package sla

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
)

// Notification is an in-app notice to a staff member.
type Notification struct {
	ID        string     `json:"id"`
	TicketID  string     `json:"ticket_id,omitempty"`
	Kind      string     `json:"kind" doc:"sla.warning, sla.breach or sla.escalation"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

func staffActor(ctx context.Context) (kefu.Actor, error) {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff {
		return a, kefu.Errorf(kefu.Forbidden, "notifications belong to signed-in staff")
	}
	return a, nil
}

// Notifications returns the signed-in staff member's notices, newest
// first; unread limits them to those not yet read. before is a cursor
// (the last id seen).
func (s *Service) Notifications(ctx context.Context, unread bool, before string, limit int) ([]Notification, error) {
	a, err := staffActor(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT CAST(id AS text), COALESCE(CAST(ticket_id AS text), ''), kind, text, created_at, read_at
		FROM notifications WHERE staff_id = $1`
	args := []any{a.ID}
	if unread {
		q += ` AND read_at IS NULL`
	}
	if before != "" {
		if !kefu.ValidID(before) {
			return nil, kefu.Fieldf("query.cursor", "is not a cursor from a previous page")
		}
		args = append(args, before)
		q += ` AND id < $2`
	}
	rows, err := s.DB.Read.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("sla: notifications: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var read sql.NullTime
		if err := rows.Scan(&n.ID, &n.TicketID, &n.Kind, &n.Text, &n.CreatedAt, &read); err != nil {
			return nil, err
		}
		n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), timePtr(read)
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkRead marks one of the signed-in staff member's notices read.
func (s *Service) MarkRead(ctx context.Context, id string) (*Notification, error) {
	a, err := staffActor(ctx)
	if err != nil {
		return nil, err
	}
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no notification %s", id)
	}
	now := s.Now()
	_, err = s.DB.Write.ExecContext(ctx, `UPDATE notifications SET read_at = $3 WHERE id = $1 AND staff_id = $2 AND read_at IS NULL`, id, a.ID, now)
	if err != nil {
		return nil, fmt.Errorf("sla: mark read: %w", err)
	}
	var n Notification
	var read sql.NullTime
	err = s.DB.Write.QueryRowContext(ctx, `SELECT CAST(id AS text), COALESCE(CAST(ticket_id AS text), ''), kind, text, created_at, read_at
		FROM notifications WHERE id = $1 AND staff_id = $2`, id, a.ID).Scan(&n.ID, &n.TicketID, &n.Kind, &n.Text, &n.CreatedAt, &read)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no notification %s", id)
	}
	if err != nil {
		return nil, err
	}
	n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), timePtr(read)
	return &n, nil
}
