package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Who may act on a stage: staff of the stage's department whose role is
// at least the stage's; supervisors of a department on the chain's
// escalation ladder (management steps in); administrators. Who may see an
// instance: whoever may act on it, whoever picked it up, follows it or
// acted on it before, whoever may open its ticket, and the roles that see
// every ticket.

func rank(r kefu.Role) int {
	return map[kefu.Role]int{kefu.RoleStaff: 1, kefu.RoleAgent: 2, kefu.RoleSupervisor: 3, kefu.RoleAdmin: 4}[r]
}

// rolesUpTo lists the stage roles a staff member of role r satisfies.
func rolesUpTo(r kefu.Role) []string {
	out := []string{""}
	for _, sr := range stageRoles {
		if rank(sr) <= rank(r) {
			out = append(out, string(sr))
		}
	}
	return out
}

// ladderDepartments are the ids of the departments on doc's ladder.
func (s *Service) ladderDepartments(ctx context.Context, q database.Querier, doc *Document) []string {
	var out []string
	for _, e := range doc.Escalation {
		var id string
		if q.QueryRowContext(ctx, `SELECT CAST(id AS text) FROM departments WHERE slug = $1`, e.Department).Scan(&id) == nil {
			out = append(out, id)
		}
	}
	return out
}

// overrides reports whether a may act on r's stage whoever holds it: an
// administrator, or a supervisor of the stage's department or of the
// escalation ladder.
func (s *Service) overrides(ctx context.Context, a kefu.Actor, r *instanceRow, doc *Document) bool {
	if a.Kind == kefu.ActorSystem || a.Role == kefu.RoleAdmin {
		return true
	}
	if a.Role != kefu.RoleSupervisor {
		return false
	}
	return a.InDepartment(r.DepartmentID) || slices.ContainsFunc(s.ladderDepartments(ctx, s.DB.Read, doc), a.InDepartment)
}

// mayAct reports whether a may pick up and decide r's current stage.
func (s *Service) mayAct(ctx context.Context, a kefu.Actor, r *instanceRow, doc *Document) bool {
	if !r.active() || !a.CanWrite() {
		return false
	}
	if a.InDepartment(r.DepartmentID) && rank(a.Role) >= rank(kefu.Role(r.Role)) {
		return true
	}
	return s.overrides(ctx, a, r, doc)
}

// checkAct explains why a may not act on r's stage, if so.
func (s *Service) checkAct(ctx context.Context, a kefu.Actor, r *instanceRow, doc *Document) error {
	if s.mayAct(ctx, a, r, doc) {
		return nil
	}
	return kefu.Errorf(kefu.Forbidden, "%s", s.blocked(ctx, r, doc))
}

func (s *Service) blocked(ctx context.Context, r *instanceRow, doc *Document) string {
	st := doc.Stage(r.Stage)
	if st == nil {
		return "the workflow has ended"
	}
	who := "staff of the " + st.Department + " department"
	if st.Role != "" {
		who = string(st.Role) + "s of the " + st.Department + " department"
	}
	return fmt.Sprintf("stage %q is for %s", st.Name.In("en"), who)
}

// checkHolder refuses to decide a stage someone else picked up, unless a
// overrides.
func (s *Service) checkHolder(ctx context.Context, a kefu.Actor, r *instanceRow, doc *Document) error {
	if r.PickedBy == "" || r.PickedBy == a.ID || s.overrides(ctx, a, r, doc) {
		return nil
	}
	name := r.PickedBy
	if st, err := s.Team.GetStaff(kefu.WithActor(ctx, kefu.System), r.PickedBy); err == nil {
		name = st.Name
	}
	return kefu.Errorf(kefu.Conflict, "%s picked up this stage; they (or a supervisor) decide it", name)
}

// mayFollow reports whether a may change r's follower.
func (s *Service) mayFollow(a kefu.Actor, r *instanceRow, doc *Document) bool {
	return a.ID == r.FollowerID || a.Role.Supervises() || s.mayAct(context.Background(), a, r, doc)
}

// canSee reports whether the actor in ctx may see r.
func (s *Service) canSee(ctx context.Context, r *instanceRow, doc *Document) (bool, error) {
	a := audit.ActorOf(ctx)
	switch {
	case a.Kind == kefu.ActorSystem || a.SeesAllTickets():
		return true, nil
	case a.Kind != kefu.ActorStaff:
		return false, nil
	case a.ID == r.FollowerID || a.ID == r.PickedBy || s.mayAct(ctx, a, r, doc):
		return true, nil
	}
	var n int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM workflow_steps WHERE instance_id = $1 AND actor_id = $2`, r.ID, a.ID).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	_, err := s.Tickets.Get(ctx, r.TicketID)
	if kefu.IsCode(err, kefu.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// Get returns an instance with its history, what the viewer may see of
// the request and what they may do.
func (s *Service) Get(ctx context.Context, id string) (*Detail, error) {
	r, doc, t, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	inst, err := s.instances(ctx, []*instanceRow{r})
	if err != nil {
		return nil, err
	}
	steps, err := loadSteps(ctx, s.DB.Read, r.ID)
	if err != nil {
		return nil, err
	}
	d := &Detail{Instance: inst[0], Steps: steps[r.ID], Path: []Hop{}}
	if d.Steps == nil {
		d.Steps = []Step{}
	}
	for _, st := range d.Steps {
		if st.Kind == stepDecision {
			d.Path = append(d.Path, Hop{From: st.Stage, Decision: st.Decision, To: st.ToStage, Outcome: st.Outcome})
		}
	}
	if d.ProgressUpdates, err = sla.ProgressUpdates(ctx, s.DB.Read, r.TicketID); err != nil {
		return nil, err
	}
	d.MinProgressUpdates = doc.MinProgressUpdates
	if pol, err := s.SLA.TicketPolicy(ctx, s.DB.Read, r.TicketID); err != nil {
		return nil, err
	} else if pol != nil && pol.MinProgressUpdates > 0 {
		d.MinProgressUpdates = pol.MinProgressUpdates
	}
	a := audit.ActorOf(ctx)
	st := doc.Stage(r.Stage)
	if st == nil && len(d.Path) > 0 {
		st = doc.Stage(d.Path[len(d.Path)-1].From) // ended: what its last stage saw
	}
	if st == nil {
		st = doc.First()
	}
	if d.Context, err = s.stageContext(ctx, a, r, t, st); err != nil {
		return nil, err
	}
	d.Actions = Actions{Note: a.CanWrite() && a.HasScope("tickets:write"), Decisions: []Decision{}, Fields: []Field{}}
	if r.active() {
		d.Actions.Follow = s.mayFollow(a, r, doc)
		if s.mayAct(ctx, a, r, doc) && a.HasScope("tickets:write") {
			d.Actions.PickUp = r.PickedBy != a.ID
			d.Actions.Decide = r.PickedBy == "" || r.PickedBy == a.ID || s.overrides(ctx, a, r, doc)
			if d.Actions.Decide {
				d.Actions.Decisions, d.Actions.Fields = doc.Stage(r.Stage).Decisions, doc.Stage(r.Stage).Fields
			} else {
				d.Actions.Blocked = fmt.Sprintf("%s picked up this stage", d.PickedByName)
			}
		} else {
			d.Actions.Blocked = s.blocked(ctx, r, doc)
		}
	}
	return d, nil
}

// instances fills in the list form of rows: names, ticket, deadlines.
func (s *Service) instances(ctx context.Context, rows []*instanceRow) ([]Instance, error) {
	out := make([]Instance, 0, len(rows))
	var clocks []string
	for _, r := range rows {
		clocks = append(clocks, r.StageClockID, r.PickupClockID)
	}
	views, err := s.SLA.Deadlines(ctx, s.DB.Read, clocks)
	if err != nil {
		return nil, err
	}
	byClock := map[string]*sla.DeadlineView{}
	for i := range views {
		byClock[views[i].ClockID] = &views[i]
	}
	var ticketIDs, staffIDs []string
	for _, r := range rows {
		ticketIDs = append(ticketIDs, r.TicketID)
		staffIDs = append(staffIDs, r.PickedBy, r.FollowerID)
	}
	tickets, err := s.ticketOutlines(ctx, ticketIDs)
	if err != nil {
		return nil, err
	}
	names, err := s.staffNames(ctx, staffIDs)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		doc, err := s.version(ctx, s.DB.Read, r.DefinitionID, r.DefVersion)
		if err != nil {
			return nil, err
		}
		t := tickets[r.TicketID]
		in := Instance{ID: r.ID, DefinitionID: r.DefinitionID, DefinitionKey: doc.Key, DefinitionVersion: r.DefVersion, Name: doc.Name,
			TicketID: r.TicketID, TicketKey: t.key, Subject: t.subject, CaseID: r.CaseID, Cause: r.Cause, Active: r.active(), Stage: r.Stage,
			DepartmentID: r.DepartmentID, Role: r.Role, PickedBy: r.PickedBy, PickedByName: names[r.PickedBy], PickedAt: r.PickedAt,
			StageStartedAt: r.StageStartedAt, Deadline: byClock[r.StageClockID], FollowerID: r.FollowerID, FollowerName: names[r.FollowerID],
			Outcome: r.Outcome, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, EndedAt: r.EndedAt}
		if r.active() {
			in.Pickup = byClock[r.PickupClockID]
			in.Escalated = (in.Deadline != nil && in.Deadline.Level >= 2) || (in.Pickup != nil && in.Pickup.Level >= 2)
		}
		if st := doc.Stage(r.Stage); st != nil {
			in.StageName = st.Name
		}
		out = append(out, in)
	}
	return out, nil
}

type ticketOutline struct{ key, subject string }

// ticketOutlines reads the key and subject of many tickets at once.
func (s *Service) ticketOutlines(ctx context.Context, ids []string) (map[string]ticketOutline, error) {
	out := map[string]ticketOutline{}
	err := database.InChunks(slices.Compact(slices.Sorted(slices.Values(ids))), func(args []any, in string) error {
		rows, err := s.DB.Read.QueryContext(ctx, `SELECT CAST(id AS text), number, subject FROM tickets WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("workflow: tickets: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, subject string
			var number int64
			if err := rows.Scan(&id, &number, &subject); err != nil {
				return err
			}
			out[id] = ticketOutline{key: ticket.Key(number), subject: subject}
		}
		return rows.Err()
	})
	return out, err
}

// staffNames reads the names of many staff members at once.
func (s *Service) staffNames(ctx context.Context, ids []string) (map[string]string, error) {
	ids = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(ids))), func(id string) bool { return id == "" })
	out := map[string]string{}
	err := database.InChunks(ids, func(args []any, in string) error {
		rows, err := s.DB.Read.QueryContext(ctx, `SELECT CAST(id AS text), name FROM staff WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("workflow: staff: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			out[id] = name
		}
		return rows.Err()
	})
	return out, err
}

// Queues of ListFilter.
const (
	QueueWaiting   = "waiting"   // stages the viewer may act on: their departments' (by role), and escalated ones on their ladder
	QueueMine      = "mine"      // stages the viewer picked up
	QueueFollowing = "following" // running instances the viewer follows
)

// ListFilter selects instances.
type ListFilter struct {
	Queue    string // one of the queues, or "" for instances by ticket or case
	TicketID string
	CaseID   string
	Limit    int
}

// maxQueue bounds a queue: a department's open stages, due first.
const maxQueue = 200

// List returns instances the viewer may see. Queues list running
// instances by their stage deadline, overdue first (at most 200); by
// ticket or case, every instance, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Instance, error) {
	a, err := requireStaff(ctx)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 || limit > maxQueue {
		limit = maxQueue
	}
	const byDue = ` ORDER BY CASE WHEN c.due_at IS NULL THEN 1 ELSE 0 END, c.due_at, i.stage_started_at, i.id`
	from := ` FROM workflow_instances i LEFT JOIN sla_clocks c ON c.id = i.stage_clock_id`
	var rows []*instanceRow
	switch f.Queue {
	case QueueWaiting:
		if cond, args := waitingCondition(a); cond != "" {
			rows, err = queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+from+` WHERE `+cond+byDue+fmt.Sprintf(" LIMIT %d", limit), args...)
			if err != nil {
				return nil, err
			}
		}
		if a.Role.Supervises() {
			have := map[string]bool{}
			for _, r := range rows {
				have[r.ID] = true
			}
			esc, err := s.escalatedTo(ctx, a, have)
			if err != nil {
				return nil, err
			}
			rows = append(rows, esc...)
		}
	case QueueMine:
		rows, err = queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+from+` WHERE i.ended_at IS NULL AND i.picked_by = $1`+byDue+
			fmt.Sprintf(" LIMIT %d", limit), a.ID)
	case QueueFollowing:
		rows, err = queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+from+` WHERE i.ended_at IS NULL AND i.follower_id = $1`+byDue+
			fmt.Sprintf(" LIMIT %d", limit), a.ID)
	case "":
		switch {
		case f.TicketID != "":
			t, terr := s.Tickets.Get(kefu.WithActor(ctx, kefu.System), f.TicketID)
			if terr != nil {
				return nil, kefu.Fieldf("query.ticket_id", "no ticket %s", f.TicketID)
			}
			rows, err = queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+` FROM workflow_instances i WHERE i.ticket_id = $1 ORDER BY i.id DESC`+
				fmt.Sprintf(" LIMIT %d", limit), t.ID)
		case f.CaseID != "" && kefu.ValidID(f.CaseID):
			rows, err = queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+` FROM workflow_instances i WHERE i.case_id = $1 ORDER BY i.id DESC`+
				fmt.Sprintf(" LIMIT %d", limit), f.CaseID)
		case f.CaseID != "":
		default:
			return nil, kefu.Fieldf("query.queue", "choose a queue (waiting, mine, following), a ticket_id or a case_id")
		}
	default:
		return nil, kefu.Fieldf("query.queue", "must be waiting, mine or following")
	}
	if err != nil {
		return nil, err
	}
	if f.Queue != "" {
		// A queue holds what the viewer may act on, picked up or follows:
		// all of it visible to them.
		return s.instances(ctx, rows)
	}
	var visible []*instanceRow
	for _, r := range rows {
		doc, err := s.version(ctx, s.DB.Read, r.DefinitionID, r.DefVersion)
		if err != nil {
			return nil, err
		}
		ok, err := s.canSee(ctx, r, doc)
		if err != nil {
			return nil, err
		}
		if ok {
			visible = append(visible, r)
		}
	}
	return s.instances(ctx, visible)
}

// waitingCondition selects the running stages of a's departments that
// a's role may act on, or "" when a is in no department.
func waitingCondition(a kefu.Actor) (string, []any) {
	if len(a.Departments) == 0 {
		return "", nil
	}
	roles := rolesUpTo(a.Role)
	args := []any{}
	for _, d := range a.Departments {
		args = append(args, d)
	}
	for _, r := range roles {
		args = append(args, r)
	}
	return `i.ended_at IS NULL AND i.department_id IN (` + database.Placeholders(1, len(a.Departments)) + `) AND i.role IN (` +
		database.Placeholders(len(a.Departments)+1, len(roles)) + `)`, args
}

// Counts is how many instances each queue holds (at most 200 each), for
// the console's sidebar, which asks after every change: counting costs an
// index range read per queue, not the lists.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	a, err := requireStaff(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	waiting := map[string]bool{}
	if cond, args := waitingCondition(a); cond != "" {
		ids, err := database.Strings(ctx, s.DB.Read, `SELECT CAST(i.id AS text) FROM workflow_instances i WHERE `+cond+
			fmt.Sprintf(" LIMIT %d", maxQueue), args...)
		if err != nil {
			return nil, fmt.Errorf("workflow: count waiting: %w", err)
		}
		for _, id := range ids {
			waiting[id] = true
		}
	}
	out[QueueWaiting] = len(waiting)
	if a.Role.Supervises() {
		esc, err := s.escalatedTo(ctx, a, waiting)
		if err != nil {
			return nil, err
		}
		out[QueueWaiting] += len(esc)
	}
	for queue, col := range map[string]string{QueueMine: "picked_by", QueueFollowing: "follower_id"} {
		var n int
		if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM workflow_instances i WHERE i.ended_at IS NULL AND i.`+col+
			` = $1`+fmt.Sprintf(" LIMIT %d", maxQueue)+`) AS q`, a.ID).Scan(&n); err != nil {
			return nil, fmt.Errorf("workflow: count %s: %w", queue, err)
		}
		out[queue] = n
	}
	return out, nil
}

// escalatedTo lists running instances whose deadline went up the ladder
// to one of a's departments, leaving out the ids in have.
func (s *Service) escalatedTo(ctx context.Context, a kefu.Actor, have map[string]bool) ([]*instanceRow, error) {
	rows, err := queryInstances(ctx, s.DB.Read, `SELECT `+instanceColumns+` FROM workflow_instances i
		JOIN sla_clocks c ON c.id = i.stage_clock_id OR c.id = i.pickup_clock_id
		WHERE i.ended_at IS NULL AND c.level >= 2 AND c.met_at IS NULL AND c.cancelled_at IS NULL ORDER BY c.due_at, i.id`+
		fmt.Sprintf(" LIMIT %d", maxQueue))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	maps.Copy(seen, have)
	ladders := map[*Document][]string{}
	var out []*instanceRow
	for _, r := range rows {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		doc, err := s.version(ctx, s.DB.Read, r.DefinitionID, r.DefVersion)
		if err != nil {
			return nil, err
		}
		ladder, ok := ladders[doc]
		if !ok {
			ladder = s.ladderDepartments(ctx, s.DB.Read, doc)
			ladders[doc] = ladder
		}
		if a.Role == kefu.RoleAdmin || slices.ContainsFunc(ladder, a.InDepartment) {
			out = append(out, r)
		}
	}
	return out, nil
}

// StageContext is what the viewer sees of the request at a stage: the
// ticket's outline always; the conversation, items, photos, amounts and
// unmasked contact data only as far as the stage shows them (and, for
// contact data, as far as the viewer's role allows).
type StageContext struct {
	Sees          []string         `json:"sees"`
	TicketVisible bool             `json:"ticket_visible" doc:"The viewer may open the whole ticket"`
	Category      string           `json:"category"`
	Channel       string           `json:"channel"`
	OrderNumber   string           `json:"order_number,omitempty"`
	Received      time.Time        `json:"received"`
	Customer      ContextCustomer  `json:"customer"`
	Conversation  []ContextMessage `json:"conversation,omitempty"`
	Photos        []ContextFile    `json:"photos,omitempty"`
	Items         []ContextItem    `json:"items,omitempty"`
	Billing       *ContextBilling  `json:"billing,omitempty"`
	Case          *ContextCase     `json:"case,omitempty"`
}

// ContextCustomer is the customer, masked unless the viewer may see
// contact data.
type ContextCustomer struct {
	Name     string   `json:"name"`
	Language string   `json:"language,omitempty"`
	Emails   []string `json:"emails"`
	Phones   []string `json:"phones"`
	WeChat   []string `json:"wechat"`
	Address  string   `json:"address,omitempty" doc:"The order's shipping address; only with contact data"`
	Masked   bool     `json:"masked"`
}

// ContextMessage is a public message of the ticket.
type ContextMessage struct {
	From   string        `json:"from" enum:"customer,shop"`
	Text   string        `json:"text"`
	At     time.Time     `json:"at"`
	Photos []ContextFile `json:"photos,omitempty"`
}

// ContextFile is a customer's file the stage may open.
type ContextFile struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// ContextItem is an order line.
type ContextItem struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unit_price,omitempty" doc:"Only with billing"`
}

// ContextBilling is what finance needs.
type ContextBilling struct {
	Currency      string `json:"currency"`
	Total         string `json:"total"`
	Paid          string `json:"paid"`
	PaymentMethod string `json:"payment_method"`
	Claim         string `json:"claim,omitempty" doc:"The after-sales case's claimed amount"`
}

// ContextCase is the after-sales case.
type ContextCase struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// imageTypes are the customer files a photo-showing stage may open.
func isImage(ct string) bool { return strings.HasPrefix(ct, "image/") }

func (s *Service) stageContext(ctx context.Context, a kefu.Actor, r *instanceRow, t *ticket.Ticket, st *Stage) (*StageContext, error) {
	sys := kefu.WithActor(ctx, kefu.System)
	c := &StageContext{Sees: st.Sees, Category: t.Category, Channel: t.Channel, OrderNumber: t.OrderNumber, Received: t.CreatedAt}
	if _, err := s.Tickets.Get(ctx, t.ID); err == nil {
		c.TicketVisible = true
	}
	contact := st.Shows(SeeContact) || (a.Kind != kefu.ActorStaff || rank(a.Role) >= rank(kefu.RoleAgent) || a.Role == kefu.RoleAuditor)
	cu, err := s.Customers.Get(sys, t.CustomerID)
	if err != nil {
		return nil, err
	}
	c.Customer = ContextCustomer{Name: cu.Name, Language: cu.Language, Emails: []string{}, Phones: []string{}, WeChat: []string{}, Masked: !contact}
	if !contact {
		c.Customer.Name = customer.MaskName(cu.Name)
	}
	for _, id := range cu.Identities {
		v := id.Value
		if !contact {
			v = customer.Mask(id.Kind, v)
		}
		switch id.Kind {
		case customer.Email:
			c.Customer.Emails = append(c.Customer.Emails, v)
		case customer.Phone:
			c.Customer.Phones = append(c.Customer.Phones, v)
		case customer.WeChat:
			c.Customer.WeChat = append(c.Customer.WeChat, v)
		}
	}
	if st.Shows(SeeConversation) || st.Shows(SeePhotos) {
		if err := s.conversation(sys, c, t, st); err != nil {
			return nil, err
		}
	}
	if (st.Shows(SeeItems) || st.Shows(SeeBilling) || contact) && s.Orders != nil && t.OrderNumber != "" {
		o, err := s.Orders.ForTicket(sys, t.OrderNumber, t.CustomerID)
		switch {
		case kefu.IsCode(err, kefu.NotFound):
		case err != nil:
			return nil, err
		default:
			if st.Shows(SeeItems) {
				for _, it := range o.Items {
					ci := ContextItem{SKU: it.SKU, Name: it.Name, Quantity: it.Quantity}
					if st.Shows(SeeBilling) {
						ci.UnitPrice = it.UnitPrice
					}
					c.Items = append(c.Items, ci)
				}
			}
			if st.Shows(SeeBilling) {
				c.Billing = &ContextBilling{Currency: o.Currency, Total: o.Total, Paid: o.Paid, PaymentMethod: o.PaymentMethod}
			}
			if contact {
				c.Customer.Address = o.ShippingAddress
			}
		}
	}
	if r.CaseID != "" && s.Cases != nil {
		cs, err := s.Cases.WorkflowCase(sys, r.CaseID)
		if err != nil && !kefu.IsCode(err, kefu.NotFound) {
			return nil, err
		}
		if cs != nil {
			c.Case = &ContextCase{ID: cs.ID, Kind: cs.Kind, Reason: cs.Reason}
			if st.Shows(SeeBilling) {
				if c.Billing == nil {
					c.Billing = &ContextBilling{Currency: cs.Currency}
				}
				c.Billing.Claim = cs.Amount
			}
		}
	}
	return c, nil
}

// conversation fills the public thread and/or the customer's photos.
func (s *Service) conversation(sys context.Context, c *StageContext, t *ticket.Ticket, st *Stage) error {
	for after := ""; ; {
		page, err := s.Tickets.Messages(sys, t.ID, after, 500)
		if err != nil {
			return err
		}
		for _, m := range page {
			if m.Kind != ticket.FromCustomer && m.Kind != ticket.Reply {
				continue
			}
			var photos []ContextFile
			if m.Kind == ticket.FromCustomer && st.Shows(SeePhotos) {
				for _, at := range m.Attachments {
					if isImage(at.ContentType) {
						photos = append(photos, ContextFile{ID: at.ID, Filename: at.Filename, ContentType: at.ContentType, Size: at.Size})
					}
				}
				c.Photos = append(c.Photos, photos...)
			}
			if st.Shows(SeeConversation) {
				from := "shop"
				if m.Kind == ticket.FromCustomer {
					from = "customer"
				}
				c.Conversation = append(c.Conversation, ContextMessage{From: from, Text: m.Text, At: m.CreatedAt, Photos: photos})
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// Photo opens a picture the customer sent on the instance's ticket, for
// a viewer whose stage shows photos.
func (s *Service) Photo(ctx context.Context, instanceID, attachmentID string) (*ticket.Attachment, io.ReadSeekCloser, error) {
	r, doc, t, err := s.load(ctx, instanceID)
	if err != nil {
		return nil, nil, err
	}
	st := doc.Stage(r.Stage)
	if st == nil {
		st = doc.First()
		if steps, err := loadSteps(ctx, s.DB.Read, r.ID); err == nil {
			for _, sp := range steps[r.ID] {
				if sp.Kind == stepDecision {
					st = doc.Stage(sp.Stage)
				}
			}
		}
	}
	notFound := kefu.Errorf(kefu.NotFound, "no photo %s", attachmentID)
	if !st.Shows(SeePhotos) {
		return nil, nil, notFound
	}
	if !kefu.ValidID(attachmentID) {
		return nil, nil, notFound
	}
	var ticketID, kind, ct string
	err = s.DB.Read.QueryRowContext(ctx, `SELECT CAST(a.ticket_id AS text), m.kind, a.content_type FROM attachments a
		JOIN messages m ON m.id = a.message_id WHERE a.id = $1`, attachmentID).Scan(&ticketID, &kind, &ct)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (ticketID != t.ID || kind != string(ticket.FromCustomer) || !isImage(ct))) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, err
	}
	return s.Tickets.OpenAttachment(kefu.WithActor(ctx, kefu.System), attachmentID)
}

// OpenAttachment opens a file added to an instance.
func (s *Service) OpenAttachment(ctx context.Context, instanceID, attachmentID string) (*Attachment, io.ReadSeekCloser, error) {
	r, _, _, err := s.load(ctx, instanceID)
	if err != nil {
		return nil, nil, err
	}
	if !kefu.ValidID(attachmentID) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", attachmentID)
	}
	var at Attachment
	err = s.DB.Read.QueryRowContext(ctx, `SELECT CAST(id AS text), CAST(step_id AS text), filename, content_type, size, sha256
		FROM workflow_attachments WHERE id = $1 AND instance_id = $2`, attachmentID, r.ID).Scan(&at.ID, &at.StepID, &at.Filename,
		&at.ContentType, &at.Size, &at.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", attachmentID)
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := s.Blobs.Open(ctx, at.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return &at, f, nil
}
