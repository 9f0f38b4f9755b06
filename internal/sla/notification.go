package sla

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Notification is an in-app notice to a staff member.
type Notification struct {
	ID        string     `json:"id"`
	TicketID  string     `json:"ticket_id,omitempty"`
	Kind      string     `json:"kind" doc:"sla.warning, sla.breach, sla.escalation, or workflow.* for workflow hand-offs"`
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
		n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), database.TimePtr(read)
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
	n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), database.TimePtr(read)
	return &n, nil
}

// notify sends an in-app notice and an email job to every recipient of
// the firing's notify actions.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, eventID string, f *firing, t *ticket.Ticket) error {
	var to []string
	for _, a := range f.actions {
		if a.Kind != Notify {
			continue
		}
		ids, err := recipients(ctx, tx, a, t)
		if err != nil {
			return err
		}
		to = append(to, ids...)
	}
	slices.Sort(to)
	return s.NotifyStaff(ctx, tx, eventID, slices.Compact(to), t.ID, "sla."+f.kind, f.text)
}

// NotifyStaff gives each of staffIDs an in-app notice about ticketID and,
// with a job queue, an email notice, in tx. key makes the email jobs of
// one occasion unique per recipient.
func (s *Service) NotifyStaff(ctx context.Context, tx *sql.Tx, key string, staffIDs []string, ticketID, kind, text string) error {
	now := s.Now()
	for _, staffID := range staffIDs {
		_, err := tx.ExecContext(ctx, `INSERT INTO notifications (id, staff_id, ticket_id, kind, text, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, kefu.NewID(), staffID, ticketID, kind, text, now)
		if err != nil {
			return fmt.Errorf("sla: notification: %w", err)
		}
		if s.Enqueue == nil {
			continue
		}
		payload, err := jsonPayload(map[string]string{"staff_id": staffID, "ticket_id": ticketID, "text": text})
		if err != nil {
			return err
		}
		if err := s.Enqueue(ctx, tx, EmailKind, key+":"+staffID, payload, now); err != nil {
			return fmt.Errorf("sla: email job: %w", err)
		}
	}
	return nil
}

func jsonPayload(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sla: payload: %w", err)
	}
	return b, nil
}

// recipients resolves a notify action to staff ids ("supervisors" and
// "department" of the action's department, else the ticket's). An unassigned ticket's
// "assignee" notice goes to the supervisors; a department without
// supervisors hands "supervisors" to every supervisor, and with none at
// all to the administrators, so a breach is never announced to nobody.
func recipients(ctx context.Context, q database.Querier, a Action, t *ticket.Ticket) ([]string, error) {
	switch a.To {
	case ToAssignee:
		if t.AssigneeID != "" {
			return []string{t.AssigneeID}, nil
		}
		return supervisors(ctx, q, t.DepartmentID)
	case ToSupervisors:
		dep := a.DepartmentID
		if dep == "" {
			dep = t.DepartmentID
		}
		return supervisors(ctx, q, dep)
	case ToDepartment:
		dep := a.DepartmentID
		if dep == "" {
			dep = t.DepartmentID
		}
		return database.Strings(ctx, q, `SELECT CAST(s.id AS text) FROM staff s JOIN staff_departments sd ON sd.staff_id = s.id
			WHERE sd.department_id = $1 AND s.disabled_at IS NULL`, dep)
	case ToStaff:
		return []string{a.StaffID}, nil
	}
	return nil, nil
}

func supervisors(ctx context.Context, q database.Querier, department string) ([]string, error) {
	if department != "" {
		ids, err := database.Strings(ctx, q, `SELECT CAST(s.id AS text) FROM staff s JOIN staff_departments sd ON sd.staff_id = s.id
			WHERE sd.department_id = $1 AND s.role = 'supervisor' AND s.disabled_at IS NULL`, department)
		if err != nil || len(ids) > 0 {
			return ids, err
		}
	}
	ids, err := database.Strings(ctx, q, `SELECT CAST(id AS text) FROM staff WHERE role = 'supervisor' AND disabled_at IS NULL`)
	if err != nil || len(ids) > 0 {
		return ids, err
	}
	return database.Strings(ctx, q, `SELECT CAST(id AS text) FROM staff WHERE role = 'admin' AND disabled_at IS NULL`)
}
