package sla

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Enqueuer writes a job to the outbox in the caller's transaction; key
// deduplicates (the same kind and key are not enqueued twice while
// pending). The composition root adapts the job queue to it.
type Enqueuer func(ctx context.Context, q database.Querier, kind, key string, payload []byte, runAt time.Time) error

// EmailKind is the job kind of an email notice to a staff member; the
// email channel handles it.
const EmailKind = "email.notify"

// Service runs SLA policies and clocks. Register it as a ticket hook and a
// calendar hook, and run Sweep (or Run) on one instance of the cluster.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Calendars *calendar.Service
	// Tickets applies escalation actions that change a ticket (priority,
	// assignee, tags), so they are audited and seen by every hook.
	Tickets *ticket.Service
	// Enqueue sends email notices through the job queue; nil sends none.
	Enqueue Enqueuer
	// DeferRecompute moves the recomputation of open tickets after a
	// policy or calendar edit to the job queue (RecomputeKind, run by
	// Recompute), written in the edit's transaction, so the edit answers
	// at once however large the backlog. Without it the edit recomputes
	// before it answers. It needs Enqueue.
	DeferRecompute bool
}

// RecomputeKind is the job kind that recomputes open tickets after an
// edit; its payload is {"calendar_id": "…"}, empty after a policy edit.
const RecomputeKind = "sla.recompute"

func (s *Service) deferred() bool { return s.DeferRecompute && s.Enqueue != nil }

// deferRecompute enqueues the recomputation in the edit's transaction.
func (s *Service) deferRecompute(ctx context.Context, q database.Querier, calendarID string) error {
	payload, _ := json.Marshal(map[string]string{"calendar_id": calendarID})
	// After a policy edit, other instances may place tickets under the
	// old list until their cache expires; recomputing after that catches
	// those tickets too.
	runAt := s.Now()
	if calendarID == "" {
		runAt = runAt.Add(policyCacheTTL)
	}
	if err := s.Enqueue(ctx, q, RecomputeKind, "", payload, runAt); err != nil {
		return fmt.Errorf("sla: enqueue recompute: %w", err)
	}
	return nil
}

func requireAdmin(ctx context.Context) error {
	a := audit.ActorOf(ctx)
	if !a.CanAdmin() || !a.HasScope("admin") {
		return kefu.Errorf(kefu.Forbidden, "only administrators may change SLA policies")
	}
	return nil
}

// Policies returns every policy in match order.
func (s *Service) Policies(ctx context.Context) ([]Policy, error) {
	return listPolicies(ctx, s.DB.Read)
}

// Policy returns one policy.
func (s *Service) Policy(ctx context.Context, id string) (*Policy, error) {
	return getPolicy(ctx, s.DB.Read, id)
}

// CreatePolicy stores a new policy and applies it to the open tickets it
// now governs.
func (s *Service) CreatePolicy(ctx context.Context, p Policy) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	now := s.Now()
	p.ID, p.Version, p.CreatedAt, p.UpdatedAt = kefu.NewID(), 1, now, now
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkPolicy(ctx, tx, &p); err != nil {
			return err
		}
		if err := savePolicy(ctx, tx, &p, true); err != nil {
			return s.nameConflict(err)
		}
		if err := audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "sla_policy", EntityID: p.ID,
			Changes: map[string]audit.Change{"policy": {After: p}}}); err != nil {
			return err
		}
		if s.deferred() {
			return s.deferRecompute(ctx, tx, "")
		}
		return nil
	})
	s.dropPolicies()
	if err != nil {
		return nil, err
	}
	return &p, s.afterPolicyChange(ctx)
}

// UpdatePolicy replaces policy id if it is still at version (0 skips the
// check) and recomputes the open clocks of the tickets it governs or may
// now govern. A rejected policy changes nothing.
func (s *Service) UpdatePolicy(ctx context.Context, id string, version int, p Policy) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *Policy
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getPolicy(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("policy changed since version %d; it is now version %d", version, cur.Version), Current: cur}
		}
		p.ID, p.Version, p.CreatedAt, p.UpdatedAt = cur.ID, cur.Version+1, cur.CreatedAt, s.Now()
		if err := s.checkPolicy(ctx, tx, &p); err != nil {
			return err
		}
		if err := savePolicy(ctx, tx, &p, false); err != nil {
			if kefu.IsCode(err, kefu.Stale) {
				return err
			}
			return s.nameConflict(err)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "policy", *cur, p)
		if err := audit.Record(ctx, tx, p.UpdatedAt, audit.Entry{Action: "update", Entity: "sla_policy", EntityID: id, Changes: changes}); err != nil {
			return err
		}
		out = &p
		if s.deferred() {
			return s.deferRecompute(ctx, tx, "")
		}
		return nil
	})
	s.dropPolicies()
	if err != nil {
		return nil, err
	}
	return out, s.afterPolicyChange(ctx)
}

// afterPolicyChange brings open tickets under the changed policy list.
// The policy is saved whatever happens here, so a failure is reported as
// such rather than as a refused edit.
func (s *Service) afterPolicyChange(ctx context.Context) error {
	if s.deferred() {
		return nil
	}
	if err := s.Recompute(ctx, ""); err != nil {
		return &kefu.Error{Code: kefu.Unavailable, Err: err,
			Message: "the policy was saved, but recomputing open tickets stopped; each catches up at its next change"}
	}
	return nil
}

func (s *Service) nameConflict(err error) error {
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "policy name taken",
			Fields: []kefu.FieldError{{Field: "name", Message: "another SLA policy has this name"}}}
	}
	return fmt.Errorf("sla: save policy: %w", err)
}

func (s *Service) checkPolicy(ctx context.Context, q database.Querier, p *Policy) error {
	p.Definition.normalize()
	return p.validate(func(kind, id string) bool {
		table := map[string]string{"calendar": "calendars", "department": "departments", "staff": "staff"}[kind]
		var n int
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n)
		return err == nil && n > 0
	})
}

// CalendarChanged recomputes the open clocks counted in calendar id; the
// calendar service calls it inside the transaction of the edit.
func (s *Service) CalendarChanged(ctx context.Context, tx *sql.Tx, id string) error {
	if s.deferred() {
		return s.deferRecompute(ctx, tx, id)
	}
	ids, err := database.Strings(ctx, tx, `SELECT DISTINCT CAST(ticket_id AS text) FROM sla_clocks
		WHERE calendar_id = $1 AND met_at IS NULL AND cancelled_at IS NULL`, id)
	if err != nil {
		return err
	}
	return s.reevaluate(ctx, tx, ids)
}

// ReapplyBatch is how many tickets one transaction of a re-evaluation
// after a policy change covers.
const ReapplyBatch = 500

// Recompute re-evaluates open tickets after an edit: every open ticket
// after a policy edit (a policy may start or stop matching any of them),
// or those with open clocks in calendarID after a calendar edit. It works
// in batches that each commit, so a large backlog never holds the write
// lock for long, and it is safe to repeat: a job that stops half-way runs
// again, and each ticket also catches up at its next change.
func (s *Service) Recompute(ctx context.Context, calendarID string) error {
	q := `SELECT CAST(id AS text) FROM tickets WHERE status NOT IN ('solved', 'closed') AND merged_into IS NULL
		AND id > $1 ORDER BY id LIMIT ` + fmt.Sprint(ReapplyBatch)
	args := []any{}
	if calendarID != "" {
		q = `SELECT DISTINCT CAST(ticket_id AS text) FROM sla_clocks WHERE calendar_id = $2 AND met_at IS NULL
			AND cancelled_at IS NULL AND ticket_id > $1 ORDER BY 1 LIMIT ` + fmt.Sprint(ReapplyBatch)
		args = append(args, calendarID)
	}
	after := "00000000-0000-0000-0000-000000000000"
	for {
		ids, err := database.Strings(ctx, s.DB.Read, q, append([]any{after}, args...)...)
		if err != nil || len(ids) == 0 {
			return err
		}
		if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.reevaluate(ctx, tx, ids) }); err != nil {
			return err
		}
		after = ids[len(ids)-1]
	}
}

// reevaluate recomputes the given tickets' clocks from their start,
// reading their SLA rows and clocks a batch at a time.
func (s *Service) reevaluate(ctx context.Context, tx *sql.Tx, ids []string) error {
	sys := kefu.WithActor(ctx, kefu.System)
	now := s.Now()
	for chunk := range slices.Chunk(ids, ReapplyBatch) {
		b, err := s.loadBatch(ctx, tx, chunk, false)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			t, err := s.Tickets.Get(sys, id)
			if err != nil {
				return err
			}
			if err := s.evaluate(ctx, tx, ticket.Change{Before: t, After: t, At: now}, true, b); err != nil {
				return err
			}
		}
	}
	return nil
}
