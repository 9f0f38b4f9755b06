package sla

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

const policyColumns = `CAST(id AS text), name, position, CAST(calendar_id AS text), definition, version, created_at, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (*Policy, error) {
	var p Policy
	var def string
	if err := row.Scan(&p.ID, &p.Name, &p.Position, &p.CalendarID, &def, &p.Version, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(def), &p.Definition); err != nil {
		return nil, fmt.Errorf("sla: policy %s: %w", p.ID, err)
	}
	p.Definition.normalize()
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

func listPolicies(ctx context.Context, q database.Querier) ([]Policy, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+policyColumns+` FROM sla_policies ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("sla: policies: %w", err)
	}
	defer rows.Close()
	out := []Policy{}
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

func getPolicy(ctx context.Context, q database.Querier, id string) (*Policy, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no SLA policy %s", id)
	}
	p, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM sla_policies WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no SLA policy %s", id)
	}
	return p, err
}

func savePolicy(ctx context.Context, q database.Querier, p *Policy, insert bool) error {
	def, err := json.Marshal(p.Definition)
	if err != nil {
		return err
	}
	if insert {
		_, err = q.ExecContext(ctx, `INSERT INTO sla_policies (id, name, position, calendar_id, definition, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $6)`, p.ID, p.Name, p.Position, p.CalendarID, string(def), p.CreatedAt)
		return err
	}
	// The version condition catches a concurrent edit that passed the
	// caller's check at the same time.
	res, err := q.ExecContext(ctx, `UPDATE sla_policies SET name = $2, position = $3, calendar_id = $4, definition = $5,
		version = $6, updated_at = $7 WHERE id = $1 AND version = $8`, p.ID, p.Name, p.Position, p.CalendarID, string(def),
		p.Version, p.UpdatedAt, p.Version-1)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, kefu.Errorf(kefu.Stale, "the policy changed while saving; try again"))
	}
	return nil
}

// ticketState is the per-ticket row: the governing policy and any waiver
// of the progress-update minimum.
type ticketState struct {
	exists       bool
	PolicyID     string
	WaiverReason string
	WaivedBy     string
	WaivedAt     *time.Time
}

// loadTicketStates returns the SLA rows of the given tickets; a ticket
// without one is absent (exists false).
func loadTicketStates(ctx context.Context, q database.Querier, ticketIDs []string) (map[string]ticketState, error) {
	rows, err := q.QueryContext(ctx, `SELECT CAST(ticket_id AS text), COALESCE(CAST(policy_id AS text), ''), waiver_reason,
		waived_by, waived_at FROM sla_tickets WHERE ticket_id IN (`+database.Placeholders(1, len(ticketIDs))+`)`, anys(ticketIDs)...)
	if err != nil {
		return nil, fmt.Errorf("sla: ticket state: %w", err)
	}
	defer rows.Close()
	out := map[string]ticketState{}
	for rows.Next() {
		var id string
		var waived sql.NullTime
		st := ticketState{exists: true}
		if err := rows.Scan(&id, &st.PolicyID, &st.WaiverReason, &st.WaivedBy, &waived); err != nil {
			return nil, err
		}
		st.WaivedAt = database.TimePtr(waived)
		out[id] = st
	}
	return out, rows.Err()
}

func loadTicketState(ctx context.Context, q database.Querier, ticketID string) (ticketState, error) {
	sts, err := loadTicketStates(ctx, q, []string{ticketID})
	return sts[ticketID], err
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func saveTicketState(ctx context.Context, q database.Querier, ticketID string, st ticketState, now time.Time) error {
	_, err := q.ExecContext(database.Deferrable(ctx), `INSERT INTO sla_tickets (ticket_id, policy_id, waiver_reason, waived_by, waived_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (ticket_id) DO UPDATE SET policy_id = $2, waiver_reason = $3, waived_by = $4, waived_at = $5, updated_at = $6`,
		ticketID, database.Nullable(st.PolicyID), st.WaiverReason, st.WaivedBy, st.WaivedAt, now)
	if err != nil {
		return fmt.Errorf("sla: ticket state: %w", err)
	}
	return nil
}

const clockColumns = `CAST(id AS text), CAST(ticket_id AS text), target, cycle, COALESCE(CAST(policy_id AS text), ''),
	COALESCE(CAST(calendar_id AS text), ''), business, budget_seconds, started_at, due_at, agreed_due_at, warn_at, pauses,
	paused_since, paused_seconds, used_seconds, met_at, breached_at, cancelled_at, warned, level, next_at, deadline`

func scanClock(row interface{ Scan(...any) error }) (*Clock, error) {
	var c Clock
	var budget, paused, used int64
	var pauses, deadline string
	var agreed, warn, pausedSince, met, breached, cancelled, next sql.NullTime
	err := row.Scan(&c.ID, &c.TicketID, &c.Target, &c.Cycle, &c.PolicyID, &c.CalendarID, &c.Business, &budget,
		&c.StartedAt, &c.DueAt, &agreed, &warn, &pauses, &pausedSince, &paused, &used, &met, &breached, &cancelled,
		&c.Warned, &c.Level, &next, &deadline)
	if err != nil {
		return nil, err
	}
	c.Budget, c.Paused, c.Used = time.Duration(budget)*time.Second, time.Duration(paused)*time.Second, time.Duration(used)*time.Second
	c.StartedAt, c.DueAt = c.StartedAt.UTC(), c.DueAt.UTC()
	c.AgreedDueAt, c.WarnAt, c.PausedSince = database.TimePtr(agreed), database.TimePtr(warn), database.TimePtr(pausedSince)
	c.MetAt, c.BreachedAt, c.CancelledAt, c.NextAt = database.TimePtr(met), database.TimePtr(breached), database.TimePtr(cancelled), database.TimePtr(next)
	if err := json.Unmarshal([]byte(pauses), &c.Pauses); err != nil {
		return nil, fmt.Errorf("sla: clock %s pauses: %w", c.ID, err)
	}
	if c.Deadline, err = decodeDeadline(deadline); err != nil {
		return nil, fmt.Errorf("sla: clock %s deadline: %w", c.ID, err)
	}
	return &c, nil
}

// queryClocks returns the clocks that rest selects: the conditions and
// order after "FROM sla_clocks".
func queryClocks(ctx context.Context, q database.Querier, rest string, args ...any) ([]*Clock, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+clockColumns+` FROM sla_clocks `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("sla: clocks: %w", err)
	}
	defer rows.Close()
	var out []*Clock
	for rows.Next() {
		c, err := scanClock(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// loadClocks returns the clocks of the given tickets by ticket, each
// ticket's in start order.
func loadClocks(ctx context.Context, q database.Querier, ticketIDs []string) (map[string][]*Clock, error) {
	clocks, err := queryClocks(ctx, q, `WHERE ticket_id IN (`+database.Placeholders(1, len(ticketIDs))+`)
		ORDER BY started_at, target, cycle`, anys(ticketIDs)...)
	if err != nil {
		return nil, err
	}
	out := map[string][]*Clock{}
	for _, c := range clocks {
		out[c.TicketID] = append(out[c.TicketID], c)
	}
	return out, nil
}

func ticketClocks(ctx context.Context, q database.Querier, ticketID string) ([]*Clock, error) {
	m, err := loadClocks(ctx, q, []string{ticketID})
	return m[ticketID], err
}

func getClock(ctx context.Context, q database.Querier, id string) (*Clock, error) {
	c, err := scanClock(q.QueryRowContext(ctx, `SELECT `+clockColumns+` FROM sla_clocks WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("sla: clock %s: %w", id, err)
	}
	return c, nil
}

// saveClock inserts or updates c.
func saveClock(ctx context.Context, q database.Querier, c *Clock, now time.Time) error {
	return saveClocks(ctx, q, []*Clock{c}, now)
}

// clockWrite lists the columns saveClocks writes; all but the first four
// are updated when the row exists.
var clockWrite = []string{"id", "ticket_id", "target", "cycle", "policy_id", "calendar_id", "business",
	"budget_seconds", "started_at", "due_at", "agreed_due_at", "warn_at", "pauses", "paused_since", "paused_seconds",
	"used_seconds", "met_at", "breached_at", "cancelled_at", "warned", "level", "next_at", "updated_at", "deadline"}

// saveClocks inserts or updates cs in one statement. Durations are
// stored in whole seconds: reports read minutes, and the exact instants
// are stored beside them.
func saveClocks(ctx context.Context, q database.Querier, cs []*Clock, now time.Time) error {
	if len(cs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO sla_clocks (" + strings.Join(clockWrite, ", ") + ") VALUES ")
	args := make([]any, 0, len(cs)*len(clockWrite))
	for i, c := range cs {
		if c.ID == "" {
			c.ID = kefu.NewID()
		}
		pauses := []byte("[]")
		if len(c.Pauses) > 0 {
			pauses, _ = json.Marshal(c.Pauses)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + database.Placeholders(len(args)+1, len(clockWrite)) + ")")
		args = append(args, c.ID, c.TicketID, string(c.Target), c.Cycle, database.Nullable(c.PolicyID), database.Nullable(c.CalendarID), c.Business,
			int64(c.Budget/time.Second), c.StartedAt.UTC(), c.DueAt.UTC(), c.AgreedDueAt, c.WarnAt, string(pauses), c.PausedSince,
			int64(c.Paused/time.Second), int64(c.Used/time.Second), c.MetAt, c.BreachedAt, c.CancelledAt, c.Warned, c.Level,
			c.NextAt, now, encodeDeadline(c.Deadline))
	}
	b.WriteString(" ON CONFLICT (id) DO UPDATE SET ")
	for i, col := range clockWrite[4:] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(col + " = excluded." + col)
	}
	if _, err := q.ExecContext(database.Deferrable(ctx), b.String(), args...); err != nil {
		return fmt.Errorf("sla: save clocks: %w", err)
	}
	return nil
}
