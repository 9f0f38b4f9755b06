package workflow

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Instance is a chain running (or ended) on a ticket or after-sales case.
type Instance struct {
	ID                string     `json:"id"`
	DefinitionID      string     `json:"definition_id"`
	DefinitionKey     string     `json:"definition_key"`
	DefinitionVersion int        `json:"definition_version" doc:"The version of the chain this instance runs; edits after it started do not change it"`
	Name              Text       `json:"name"`
	TicketID          string     `json:"ticket_id"`
	TicketKey         string     `json:"ticket_key"`
	Subject           string     `json:"subject"`
	CaseID            string     `json:"case_id,omitempty"`
	Cause             string     `json:"cause,omitempty"`
	Active            bool       `json:"active"`
	Stage             string     `json:"stage,omitempty" doc:"The current stage's key; empty once ended"`
	StageName         Text       `json:"stage_name,omitempty"`
	DepartmentID      string     `json:"department_id,omitempty" doc:"The department that owns the current stage"`
	Role              string     `json:"role,omitempty" doc:"The least role that may act on the current stage"`
	PickedBy          string     `json:"picked_by,omitempty"`
	PickedByName      string     `json:"picked_by_name,omitempty"`
	PickedAt          *time.Time `json:"picked_at,omitempty"`
	StageStartedAt    time.Time  `json:"stage_started_at"`
	// Deadline is the current stage's (or, once ended, the last stage's)
	// deadline as the SLA runs it; Pickup the time to pick it up.
	Deadline     *sla.DeadlineView `json:"deadline,omitempty"`
	Pickup       *sla.DeadlineView `json:"pickup_deadline,omitempty"`
	Escalated    bool              `json:"escalated" doc:"A deadline of the current stage went past its department to the escalation ladder"`
	FollowerID   string            `json:"follower_id,omitempty" doc:"The dedicated person who follows the request until it is solved"`
	FollowerName string            `json:"follower_name,omitempty"`
	Outcome      Outcome           `json:"outcome,omitempty"`
	Version      int               `json:"version" doc:"Grows with every hand-off; send it as If-Match"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	EndedAt      *time.Time        `json:"ended_at,omitempty"`
}

// ETagVersion is the version an ETag of the instance names.
func (i *Instance) ETagVersion() int { return i.Version }

// Detail is an instance with its history, what the viewer may see of the
// request and what they may do.
type Detail struct {
	Instance
	// Path is every hand-off so far, in order: the route drawn on the
	// chain's diagram.
	Path               []Hop         `json:"path"`
	Steps              []Step        `json:"steps"`
	ProgressUpdates    int           `json:"progress_updates" doc:"Public replies the customer has had on the ticket, across every stage"`
	MinProgressUpdates int           `json:"min_progress_updates" doc:"The ticket's SLA policy's minimum, else the chain's"`
	Context            *StageContext `json:"context"`
	Actions            Actions       `json:"actions"`
}

// Hop is one move along the chain.
type Hop struct {
	From     string       `json:"from"`
	Decision DecisionKind `json:"decision"`
	To       string       `json:"to,omitempty"`
	Outcome  Outcome      `json:"outcome,omitempty"`
}

// Actions is what the viewer may do now.
type Actions struct {
	PickUp    bool       `json:"pick_up"`
	Decide    bool       `json:"decide"`
	Note      bool       `json:"note"`
	Follow    bool       `json:"follow" doc:"May change the follower"`
	Decisions []Decision `json:"decisions" doc:"The current stage's decisions, when the viewer may decide"`
	Fields    []Field    `json:"fields" doc:"The current stage's results"`
	Blocked   string     `json:"blocked,omitempty" doc:"Why the viewer may not act, in words"`
}

// StartInput starts a chain.
type StartInput struct {
	TicketID   string `json:"ticket_id,omitempty" doc:"The ticket (id or key); or give case_id"`
	CaseID     string `json:"case_id,omitempty" doc:"An after-sales case; its ticket is the instance's ticket"`
	Cause      string `json:"cause,omitempty" doc:"quality, transport, billing, service_attitude, …; default the case's reason"`
	Definition string `json:"definition,omitempty" doc:"The chain (id or key); default the first enabled chain whose entry conditions hold"`
	FollowerID string `json:"follower_id,omitempty" doc:"The dedicated person who follows it until solved; default whoever starts it"`
	Note       string `json:"note,omitempty" maxLength:"10000"`
	Reply      string `json:"reply,omitempty" maxLength:"20000" doc:"A message to the customer, sent as a public reply on the ticket (a progress feedback)"`
}

// DecideInput is a decision at the current stage.
type DecideInput struct {
	Decision DecisionKind   `json:"decision" enum:"approve,reject,forward,return,arbitrate,close"`
	To       string         `json:"to,omitempty" doc:"The stage, when the stage offers this decision towards several"`
	Note     string         `json:"note,omitempty" maxLength:"10000"`
	Results  map[string]any `json:"results,omitempty" doc:"The stage's fields by key"`
	Reply    string         `json:"reply,omitempty" maxLength:"20000" doc:"A message to the customer, sent as a public reply on the ticket (a progress feedback)"`
	Files    []ticket.File  `json:"attachments,omitempty"`
}

// NoteInput adds a note, files, or both.
type NoteInput struct {
	Text  string        `json:"text,omitempty" maxLength:"10000"`
	Files []ticket.File `json:"attachments,omitempty"`
}

// Kinds of the SLA deadlines a stage runs (sla.StartDeadline).
const (
	StageDeadline  sla.TargetKind = "workflow_stage"
	PickupDeadline sla.TargetKind = "workflow_pickup"
)

// Step kinds.
const (
	stepStart    = "start"
	stepPickup   = "pickup"
	stepDecision = "decision"
	stepNote     = "note"
	stepFollower = "follower"
)

// Subject is what entry conditions are checked against.
type Subject struct {
	Cause, Category, CaseKind, Amount, Currency string
}

// Matches reports whether every condition holds for sub, and if not, the
// first that does not, in words.
func (e Entry) Matches(sub Subject) (bool, string) {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	switch {
	case !in(e.Causes, sub.Cause):
		return false, fmt.Sprintf("the cause %q is not one of %s", sub.Cause, strings.Join(e.Causes, ", "))
	case !in(e.Categories, sub.Category):
		return false, fmt.Sprintf("the ticket's category %q is not one of %s", sub.Category, strings.Join(e.Categories, ", "))
	case !in(e.CaseKinds, sub.CaseKind):
		if sub.CaseKind == "" {
			return false, "it applies to after-sales cases (" + strings.Join(e.CaseKinds, ", ") + ")"
		}
		return false, fmt.Sprintf("the case is a %s, not one of %s", sub.CaseKind, strings.Join(e.CaseKinds, ", "))
	case e.AmountOver != "" && (sub.Amount == "" || (e.Currency != "" && e.Currency != sub.Currency) || !amountOver(sub.Amount, e.AmountOver)):
		return false, fmt.Sprintf("it applies to claims over %s %s", e.AmountOver, e.Currency)
	}
	return true, ""
}

// Start runs a chain on a ticket or case from its first stage.
func (s *Service) Start(ctx context.Context, in StartInput) (*Detail, error) {
	a := audit.ActorOf(ctx)
	if err := requireWriter(a); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	if (in.TicketID == "") == (in.CaseID == "") {
		fs.Add("ticket_id", "give a ticket_id or a case_id")
	}
	in.Cause, in.Note = strings.TrimSpace(in.Cause), strings.TrimSpace(in.Note)
	if in.Cause != "" && !keyRE.MatchString(in.Cause) {
		fs.Add("cause", "use lower-case letters, digits, - and _, like \"quality\"")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var c *Case
	ticketRef := in.TicketID
	if in.CaseID != "" {
		if s.Cases == nil {
			return nil, kefu.Fieldf("case_id", "after-sales cases are not available here")
		}
		var err error
		if c, err = s.Cases.WorkflowCase(ctx, in.CaseID); err != nil {
			if kefu.IsCode(err, kefu.NotFound) {
				return nil, kefu.Fieldf("case_id", "no after-sales case %s", in.CaseID)
			}
			return nil, err
		}
		ticketRef = c.TicketID
	}
	t, err := s.Tickets.Get(ctx, ticketRef)
	if kefu.IsCode(err, kefu.NotFound) {
		return nil, kefu.Fieldf("ticket_id", "no ticket %s", ticketRef)
	}
	if err != nil {
		return nil, err
	}
	sub := Subject{Cause: in.Cause, Category: t.Category}
	if c != nil {
		if sub.Cause == "" {
			sub.Cause = c.Reason
		}
		sub.CaseKind, sub.Amount, sub.Currency = c.Kind, c.Amount, c.Currency
	}
	def, err := s.choose(ctx, in.Definition, &sub)
	if err != nil {
		return nil, err
	}
	follower := in.FollowerID
	if follower == "" && a.Kind == kefu.ActorStaff {
		follower = a.ID
	}
	if follower != "" {
		if err := s.checkFollower(ctx, "follower_id", follower); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	r := &instanceRow{ID: kefu.NewID(), DefinitionID: def.ID, DefVersion: def.Version, TicketID: t.ID, Cause: sub.Cause,
		FollowerID: follower, Version: 1, CreatedAt: now, UpdatedAt: now}
	if c != nil {
		r.CaseID = c.ID
	}
	doc := &def.Document
	first := doc.First()
	err = s.commit(ctx, t, in.Reply, func(tx *sql.Tx, messageID string) error {
		if err := s.enter(ctx, tx, r, doc, first, now); err != nil {
			return err
		}
		if err := insertInstance(ctx, tx, r); err != nil {
			if s.DB.Dialect.IsUniqueViolation(err) {
				return kefu.Errorf(kefu.Conflict, "workflow %s is already running on this %s", def.Key, map[bool]string{true: "case", false: "ticket"}[c != nil])
			}
			return fmt.Errorf("workflow: start: %w", err)
		}
		st := s.step(ctx, stepStart, first.Key, now)
		st.DepartmentID, st.Note, st.MessageID = r.DepartmentID, in.Note, messageID
		st.Results = map[string]any{"definition": def.Key, "version": def.Version}
		if err := insertStep(ctx, tx, r.ID, st); err != nil {
			return err
		}
		return s.changed(ctx, tx, r, t, "start", map[string]audit.Change{
			"workflow": {After: map[string]any{"key": def.Key, "version": def.Version, "stage": first.Key, "cause": r.Cause, "case_id": r.CaseID}}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, r.ID)
}

// choose returns the chain to start: ref, if its conditions hold, else
// the first enabled one whose conditions hold. A chain named without a
// cause gives the request its (first) cause.
func (s *Service) choose(ctx context.Context, ref string, sub *Subject) (*Definition, error) {
	if ref != "" {
		d, err := getDefinition(ctx, s.DB.Read, ref)
		if kefu.IsCode(err, kefu.NotFound) {
			return nil, kefu.Fieldf("definition", "no workflow %s", ref)
		}
		if err != nil {
			return nil, err
		}
		if d.Disabled {
			return nil, kefu.Fieldf("definition", "workflow %s is disabled", d.Key)
		}
		if sub.Cause == "" && len(d.Entry.Causes) > 0 {
			sub.Cause = d.Entry.Causes[0]
		}
		if ok, why := d.Entry.Matches(*sub); !ok {
			return nil, kefu.Fieldf("definition", "workflow %s does not apply: %s", d.Key, why)
		}
		return d, nil
	}
	ds, err := listDefinitions(ctx, s.DB.Read)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ok, _ := ds[i].Entry.Matches(*sub); ok && !ds[i].Disabled {
			return &ds[i], nil
		}
	}
	return nil, kefu.Fieldf("cause", "no enabled workflow applies to cause %q and category %q; name one with definition", sub.Cause, sub.Category)
}

func (s *Service) checkFollower(ctx context.Context, field, id string) error {
	st, err := s.Team.GetStaff(kefu.WithActor(ctx, kefu.System), id)
	if kefu.IsCode(err, kefu.NotFound) || (err == nil && st.Disabled) {
		return kefu.Fieldf(field, "no active staff member %s", id)
	}
	return err
}

// enter moves r into stage st at at: its owner, and its deadlines.
func (s *Service) enter(ctx context.Context, tx *sql.Tx, r *instanceRow, doc *Document, st *Stage, at time.Time) error {
	dept, err := s.departmentID(ctx, tx, st.Department)
	if err != nil {
		return err
	}
	r.Stage, r.DepartmentID, r.Role = st.Key, dept, string(st.Role)
	r.PickedBy, r.PickedAt, r.StageStartedAt = "", nil, at
	r.StageClockID, r.PickupClockID, err = s.startDeadlines(ctx, tx, r, doc, st)
	return err
}

func (s *Service) departmentID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, slug string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT CAST(id AS text) FROM departments WHERE slug = $1`, slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", kefu.Errorf(kefu.Conflict, "the department %q of this workflow no longer exists; an administrator must edit the workflow", slug)
	}
	return id, err
}

// step is a history entry by the actor in ctx.
func (s *Service) step(ctx context.Context, kind, stage string, at time.Time) *Step {
	a := audit.ActorOf(ctx)
	return &Step{ID: kefu.NewID(), Kind: kind, Stage: stage, ActorKind: string(a.Kind), ActorID: a.ID, ActorName: a.Name,
		Results: map[string]any{}, Attachments: []Attachment{}, At: at}
}

// changed audits a change of r and tells open consoles.
func (s *Service) changed(ctx context.Context, tx *sql.Tx, r *instanceRow, t *ticket.Ticket, action string, changes map[string]audit.Change) error {
	if err := audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "workflow." + action, Entity: "workflow_instance", EntityID: r.ID,
		TicketID: t.ID, CustomerID: t.CustomerID, Changes: changes}); err != nil {
		return err
	}
	if s.Changed == nil {
		return nil
	}
	return s.Changed(ctx, tx, t.ID)
}

// pendingKey carries a step to record in the transaction of the reply
// that tells the customer about it (see TicketChanged).
type pendingKey struct{}

type pending struct {
	ticketID string
	fn       func(tx *sql.Tx, messageID string) error
	done     bool
}

// commit runs fn in a transaction. With a reply, the transaction is the
// one that adds the reply to the ticket, so the step and the message to
// the customer are stored together or not at all.
func (s *Service) commit(ctx context.Context, t *ticket.Ticket, reply string, fn func(tx *sql.Tx, messageID string) error) error {
	if strings.TrimSpace(reply) == "" {
		return s.DB.InTx(ctx, func(tx *sql.Tx) error { return fn(tx, "") })
	}
	p := &pending{ticketID: t.ID, fn: fn}
	actx := kefu.WithActor(context.WithValue(ctx, pendingKey{}, p), acting(audit.ActorOf(ctx), t))
	_, _, err := s.Tickets.AddMessage(actx, t.ID, ticket.NewMessage{Kind: ticket.Reply, Text: strings.TrimSpace(reply)})
	var e *kefu.Error
	if errors.As(err, &e) {
		for i := range e.Fields {
			if e.Fields[i].Field == "text" {
				e.Fields[i].Field = "reply"
			}
		}
	}
	if err == nil && !p.done {
		err = fmt.Errorf("workflow: the reply to %s was stored without its step", t.Key)
	}
	return err
}

// acting is a for the moment of writing a reply a stage sends: owning the
// stage entitles its staff to write to the customer on the stage's
// ticket, even when their department could not otherwise open it.
func acting(a kefu.Actor, t *ticket.Ticket) kefu.Actor {
	if a.Kind != kefu.ActorStaff || a.SeesAllTickets() {
		return a
	}
	if t.DepartmentID == "" {
		if a.Role == kefu.RoleStaff {
			a.Role = kefu.RoleAgent // agents see tickets not yet routed
		}
		return a
	}
	if !a.InDepartment(t.DepartmentID) {
		a.Departments = append(slices.Clone(a.Departments), t.DepartmentID)
	}
	return a
}

// TicketChanged records a pending step in the transaction of the reply
// that goes with it (ticket.Hook).
func (s *Service) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	p, ok := ctx.Value(pendingKey{}).(*pending)
	if !ok || p.done || c.Message == nil || c.After.ID != p.ticketID {
		return nil
	}
	p.done = true
	return p.fn(tx, c.Message.ID)
}

func requireWriter(a kefu.Actor) error {
	if !a.CanWrite() {
		return kefu.Errorf(kefu.Forbidden, "your role may not act on workflows")
	}
	if !a.HasScope("tickets:write") {
		return kefu.Errorf(kefu.Forbidden, "this token lacks the scope tickets:write")
	}
	return nil
}

// load reads an instance the actor in ctx may see, with its chain's
// version and ticket.
func (s *Service) load(ctx context.Context, id string) (*instanceRow, *Document, *ticket.Ticket, error) {
	if _, err := requireStaff(ctx); err != nil {
		return nil, nil, nil, err
	}
	r, err := getInstance(ctx, s.DB.Read, id)
	if err != nil {
		return nil, nil, nil, err
	}
	doc, err := s.version(ctx, s.DB.Read, r.DefinitionID, r.DefVersion)
	if err != nil {
		return nil, nil, nil, err
	}
	if ok, err := s.canSee(ctx, r, doc); err != nil || !ok {
		return nil, nil, nil, errors.Join(err, kefu.Errorf(kefu.NotFound, "no workflow instance %s", id))
	}
	t, err := s.Tickets.Get(kefu.WithActor(ctx, kefu.System), r.TicketID)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, doc, t, nil
}

// current checks that r is still running at version (0 skips the check).
func (s *Service) current(ctx context.Context, r *instanceRow, version int) error {
	if version != 0 && r.Version != version {
		cur, err := s.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("the workflow moved since version %d; it is now version %d", version, r.Version), Current: cur}
	}
	if !r.active() {
		return kefu.Errorf(kefu.Conflict, "the workflow has ended (%s)", r.Outcome)
	}
	return nil
}

// actionOn loads running instance id for an action by the actor in ctx,
// refusing it when the instance moved past version (0 skips the check).
func (s *Service) actionOn(ctx context.Context, id string, version int) (kefu.Actor, *instanceRow, *Document, *ticket.Ticket, error) {
	a := audit.ActorOf(ctx)
	if err := requireWriter(a); err != nil {
		return a, nil, nil, nil, err
	}
	r, doc, t, err := s.load(ctx, id)
	if err == nil {
		err = s.current(ctx, r, version)
	}
	return a, r, doc, t, err
}

// reread reads r again in tx and refuses when it moved meanwhile.
func reread(ctx context.Context, tx *sql.Tx, r *instanceRow) (*instanceRow, error) {
	cur, err := getInstance(ctx, tx, r.ID)
	if err != nil {
		return nil, err
	}
	if cur.Version != r.Version {
		return nil, kefu.Errorf(kefu.Stale, "the workflow moved at the same moment (now version %d); look again", cur.Version)
	}
	return cur, nil
}

// PickUp takes the current stage: its deadline notices now go to whoever
// picked it up, and the pick-up deadline is met.
func (s *Service) PickUp(ctx context.Context, id string, version int) (*Detail, error) {
	a, r, doc, t, err := s.actionOn(ctx, id, version)
	if err != nil {
		return nil, err
	}
	if r.PickedBy == a.ID {
		return s.Get(ctx, id)
	}
	if err := s.checkAct(ctx, a, r, doc); err != nil {
		return nil, err
	}
	st := doc.Stage(r.Stage)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := reread(ctx, tx, r)
		if err != nil {
			return err
		}
		now := s.Now()
		before := cur.PickedBy
		cur.PickedBy, cur.PickedAt = a.ID, &now
		if err := s.pickedUp(ctx, tx, cur, doc, st, now); err != nil {
			return err
		}
		cur.Version, cur.UpdatedAt = cur.Version+1, now
		if err := updateInstance(ctx, tx, cur); err != nil {
			return err
		}
		step := s.step(ctx, stepPickup, cur.Stage, now)
		step.DepartmentID = cur.DepartmentID
		if err := insertStep(ctx, tx, cur.ID, step); err != nil {
			return err
		}
		return s.changed(ctx, tx, cur, t, "pickup", map[string]audit.Change{"picked_by": {Before: orNil(before), After: a.ID}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Decide takes a decision at the current stage: the request moves to the
// stage the decision leads to, back to where it came from, or the chain
// ends with the decision's outcome.
func (s *Service) Decide(ctx context.Context, id string, version int, in DecideInput) (*Detail, error) {
	a, r, doc, t, err := s.actionOn(ctx, id, version)
	if err != nil {
		return nil, err
	}
	if err := s.checkAct(ctx, a, r, doc); err != nil {
		return nil, err
	}
	if err := s.checkHolder(ctx, a, r, doc); err != nil {
		return nil, err
	}
	st := doc.Stage(r.Stage)
	steps, err := loadSteps(ctx, s.DB.Read, r.ID)
	if err != nil {
		return nil, err
	}
	dc, to, err := resolveDecision(doc, st, in, steps[r.ID])
	if err != nil {
		return nil, err
	}
	results, err := checkResults(st, dc, in.Results)
	if err != nil {
		return nil, err
	}
	files, err := s.putFiles(ctx, in.Files)
	if err != nil {
		return nil, err
	}
	in.Note = strings.TrimSpace(in.Note)
	err = s.commit(ctx, t, in.Reply, func(tx *sql.Tx, messageID string) error {
		cur, err := reread(ctx, tx, r)
		if err != nil {
			return err
		}
		now := s.Now()
		step := s.step(ctx, stepDecision, cur.Stage, now)
		step.Decision, step.ToStage, step.Outcome = dc.Kind, to, dc.Outcome
		step.DepartmentID, step.Note, step.Results, step.MessageID, step.Attachments = cur.DepartmentID, in.Note, results, messageID, files
		if err := s.stopDeadlines(ctx, tx, cur, now); err != nil {
			return err
		}
		from := cur.Stage
		if dc.Ends() {
			cur.Stage, cur.DepartmentID, cur.Role, cur.PickedBy, cur.PickedAt = "", "", "", "", nil
			cur.Outcome, cur.EndedAt = dc.Outcome, &now
		} else if err := s.enter(ctx, tx, cur, doc, doc.Stage(to), now); err != nil {
			return err
		}
		cur.Version, cur.UpdatedAt = cur.Version+1, now
		if err := updateInstance(ctx, tx, cur); err != nil {
			return err
		}
		if err := insertStep(ctx, tx, cur.ID, step); err != nil {
			return err
		}
		if err := s.tellFollower(ctx, tx, cur, doc, t, step, from); err != nil {
			return err
		}
		return s.changed(ctx, tx, cur, t, "decide", map[string]audit.Change{
			"stage":    {Before: from, After: orNil(cur.Stage)},
			"decision": {After: map[string]any{"kind": dc.Kind, "to": to, "outcome": dc.Outcome, "results": results}}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// resolveDecision finds the stage's decision that in names, and the stage
// it leads to ("" when it ends the chain).
func resolveDecision(doc *Document, st *Stage, in DecideInput, steps []Step) (Decision, string, error) {
	var matches []Decision
	for _, d := range st.Decisions {
		if d.Kind == in.Decision && (in.To == "" || d.To == in.To || (d.Kind == Return && d.To == "")) {
			matches = append(matches, d)
		}
	}
	switch {
	case len(matches) == 0:
		kinds := make([]string, len(st.Decisions))
		for i, d := range st.Decisions {
			kinds[i] = string(d.Kind)
		}
		return Decision{}, "", kefu.Fieldf("decision", "stage %q offers %s", st.Key, strings.Join(slices.Compact(kinds), ", "))
	case len(matches) > 1:
		var tos []string
		for _, d := range matches {
			tos = append(tos, d.To)
		}
		return Decision{}, "", kefu.Fieldf("to", "stage %q offers %s towards %s: name one", st.Key, in.Decision, strings.Join(tos, ", "))
	}
	d := matches[0]
	switch {
	case d.Ends():
		return d, "", nil
	case d.Kind == Return && d.To == "":
		if in.To != "" {
			// A bare return goes back one step; naming where is allowed
			// when it is that step.
			if prev := previous(doc, steps); prev != in.To {
				return Decision{}, "", kefu.Fieldf("to", "stage %q returns to %q, where the request came from", st.Key, prev)
			}
		}
		prev := previous(doc, steps)
		if prev == "" {
			return Decision{}, "", kefu.Errorf(kefu.Conflict, "stage %q is where the request started: there is no previous stage to return to", st.Key)
		}
		return d, prev, nil
	}
	return d, d.To, nil
}

// route is the stack of stages that led to the current one: a return
// goes back down it.
func route(doc *Document, steps []Step) []string {
	stack := []string{doc.First().Key}
	for _, st := range steps {
		if st.Kind != stepDecision || st.ToStage == "" {
			continue
		}
		if st.Decision == Return {
			if i := slices.Index(stack[:len(stack)-1], st.ToStage); i >= 0 {
				stack = stack[:i+1]
				continue
			}
		}
		stack = append(stack, st.ToStage)
	}
	return stack
}

func previous(doc *Document, steps []Step) string {
	stack := route(doc, steps)
	if len(stack) < 2 {
		return ""
	}
	return stack[len(stack)-2]
}

// checkResults validates the stage's results: every required field on
// any decision but a return, each value of its type, no unknown field.
func checkResults(st *Stage, d Decision, in map[string]any) (map[string]any, error) {
	var fs kefu.Fields
	out := map[string]any{}
	for k := range in {
		if !slices.ContainsFunc(st.Fields, func(f Field) bool { return f.Key == k }) {
			fs.Add("results."+k, "stage %q records no %q", st.Key, k)
		}
	}
	for _, f := range st.Fields {
		v, ok := in[f.Key]
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
			ok = false
		}
		if !ok || v == nil {
			if f.Required && d.Kind != Return {
				fs.Add("results."+f.Key, "%s is required at stage %q", f.Label.In("en"), st.Key)
			}
			continue
		}
		switch f.Type {
		case FieldText:
			s, isStr := v.(string)
			if !isStr || len(s) > 10000 {
				fs.Add("results."+f.Key, "must be text of at most 10000 bytes")
				continue
			}
			out[f.Key] = strings.TrimSpace(s)
		case FieldNumber:
			switch n := v.(type) {
			case float64:
				out[f.Key] = n
			case string:
				x, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
				if err != nil {
					fs.Add("results."+f.Key, "must be a number")
					continue
				}
				out[f.Key] = x
			default:
				fs.Add("results."+f.Key, "must be a number")
			}
		case FieldChoice:
			s, isStr := v.(string)
			if !isStr || !slices.Contains(f.Options, s) {
				fs.Add("results."+f.Key, "must be one of %s", strings.Join(f.Options, ", "))
				continue
			}
			out[f.Key] = s
		}
	}
	return out, fs.Err()
}

// putFiles stores attachments before the transaction, so a large file
// never holds the write lock.
func (s *Service) putFiles(ctx context.Context, files []ticket.File) ([]Attachment, error) {
	l := ticket.DefaultLimits
	if len(files) > l.Attachments {
		return nil, kefu.Fieldf("attachments", "at most %d files at once", l.Attachments)
	}
	out := make([]Attachment, 0, len(files))
	for i, f := range files {
		f.Filename = strings.TrimSpace(f.Filename)
		if f.Filename == "" || len(f.Filename) > 255 {
			return nil, kefu.Fieldf(fmt.Sprintf("attachments[%d].filename", i), "is required, at most 255 bytes")
		}
		if f.ContentType == "" {
			f.ContentType = "application/octet-stream"
		}
		if slices.Contains(l.DeniedTypes, f.ContentType) {
			return nil, kefu.Fieldf(fmt.Sprintf("attachments[%d].content_type", i), "%s files are not accepted", f.ContentType)
		}
		sum, size, err := s.Blobs.Put(ctx, bytes.NewReader(f.Data), l.AttachmentBytes)
		if kefu.IsCode(err, kefu.TooLarge) {
			return nil, &kefu.Error{Code: kefu.TooLarge, Message: "attachment too large", Fields: []kefu.FieldError{{
				Field: fmt.Sprintf("attachments[%d]", i), Message: fmt.Sprintf("%s is larger than %d MB", f.Filename, l.AttachmentBytes>>20)}}}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Attachment{ID: kefu.NewID(), Filename: f.Filename, ContentType: f.ContentType, Size: size, SHA256: sum})
	}
	return out, nil
}

// AddNote adds a note and/or files to an instance's history, at its
// current stage (or its last, once ended).
func (s *Service) AddNote(ctx context.Context, id string, in NoteInput) (*Step, error) {
	a := audit.ActorOf(ctx)
	if err := requireWriter(a); err != nil {
		return nil, err
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" && len(in.Files) == 0 {
		return nil, kefu.Fieldf("text", "write a note or attach a file")
	}
	r, _, t, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	files, err := s.putFiles(ctx, in.Files)
	if err != nil {
		return nil, err
	}
	stage := r.Stage
	if stage == "" {
		steps, err := loadSteps(ctx, s.DB.Read, r.ID)
		if err != nil {
			return nil, err
		}
		stage = steps[r.ID][len(steps[r.ID])-1].Stage
	}
	step := s.step(ctx, stepNote, stage, s.Now())
	step.DepartmentID, step.Note, step.Attachments = r.DepartmentID, in.Text, files
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := insertStep(ctx, tx, r.ID, step); err != nil {
			return err
		}
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Filename
		}
		return s.changed(ctx, tx, r, t, "note", map[string]audit.Change{"note": {After: map[string]any{"text": in.Text, "files": names}}})
	})
	if err != nil {
		return nil, err
	}
	return step, nil
}

// SetFollower changes the dedicated person who follows the request.
func (s *Service) SetFollower(ctx context.Context, id string, version int, followerID string) (*Detail, error) {
	a, r, doc, t, err := s.actionOn(ctx, id, version)
	if err != nil {
		return nil, err
	}
	if !s.mayFollow(a, r, doc) {
		return nil, kefu.Errorf(kefu.Forbidden, "only the follower, whoever may act on the stage, or a supervisor may hand the follow-up on")
	}
	if followerID != "" {
		if err := s.checkFollower(ctx, "follower_id", followerID); err != nil {
			return nil, err
		}
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := reread(ctx, tx, r)
		if err != nil {
			return err
		}
		before := cur.FollowerID
		now := s.Now()
		cur.FollowerID, cur.Version, cur.UpdatedAt = followerID, cur.Version+1, now
		if err := updateInstance(ctx, tx, cur); err != nil {
			return err
		}
		step := s.step(ctx, stepFollower, cur.Stage, now)
		step.Results = map[string]any{"follower_id": followerID}
		if err := insertStep(ctx, tx, cur.ID, step); err != nil {
			return err
		}
		if followerID != "" && followerID != a.ID {
			text := fmt.Sprintf("%s %q: you now follow the workflow %q until it is solved", t.Key, t.Subject, doc.Name.In("en"))
			if err := s.SLA.NotifyStaff(ctx, tx, step.ID, []string{followerID}, t.ID, "workflow.follow", text); err != nil {
				return err
			}
		}
		return s.changed(ctx, tx, cur, t, "follower", map[string]audit.Change{"follower_id": {Before: orNil(before), After: orNil(followerID)}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// tellFollower notifies the follower of a hand-off they did not make.
func (s *Service) tellFollower(ctx context.Context, tx *sql.Tx, r *instanceRow, doc *Document, t *ticket.Ticket, step *Step, from string) error {
	if r.FollowerID == "" || r.FollowerID == step.ActorID {
		return nil
	}
	name := func(key string) string {
		if st := doc.Stage(key); st != nil {
			return st.Name.In("en")
		}
		return key
	}
	text := fmt.Sprintf("%s %q: %s %s at %q", t.Key, t.Subject, step.ActorName, step.Decision, name(from))
	if step.Outcome != "" {
		text += fmt.Sprintf("; the workflow ended %s", step.Outcome)
	} else {
		text += fmt.Sprintf("; now at %q", name(step.ToStage))
	}
	return s.SLA.NotifyStaff(ctx, tx, step.ID, []string{r.FollowerID}, t.ID, "workflow.handoff", text)
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
