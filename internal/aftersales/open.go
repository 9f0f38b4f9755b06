package aftersales

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// OpenInput opens a case.
type OpenInput struct {
	Kind        Kind   `json:"kind" enum:"return,exchange,repair,refund_only,complaint"`
	TicketID    string `json:"ticket_id" doc:"The ticket's id or key (KF-10234)"`
	OrderNumber string `json:"order_number,omitempty" doc:"Default: the ticket's order. Required but for complaints"`
	Reason      string `json:"reason" doc:"A key of GET /aftersales/reasons"`
	Description string `json:"description,omitempty" maxLength:"4000" doc:"The problem in the customer's words"`
	// Items name order items by id or SKU; complaints may name none.
	Items []ItemInput `json:"items,omitempty"`
	// OwnerID is a complaint's owner, a supervisor; default the ticket's
	// assignee if a supervisor, else a supervisor of its department, else
	// any supervisor.
	OwnerID string `json:"owner_id,omitempty"`
	// OverrideReason lets a supervisor open a request outside its terms.
	OverrideReason string `json:"override_reason,omitempty" maxLength:"1000" doc:"Supervisors: accept a request outside its terms, recording why"`
	// Photos are the customer's evidence, sent inline.
	Photos  []ticket.File `json:"photos,omitempty" doc:"Evidence photos, base64-encoded"`
	Uploads []Upload      `json:"-"`
}

// ItemInput names an order item and how many of it.
type ItemInput struct {
	Item     string `json:"item" doc:"The order item's id, or its SKU"`
	Quantity int    `json:"quantity" minimum:"1" doc:"How many units; at most those bought and not already in another case"`
}

// Open opens a case on a ticket. Its eligibility is checked item by item
// from the SKU's terms and the delivery date; a request outside its terms
// opens refused, with the check's explanation for the customer, unless a
// supervisor gives an override reason.
func (s *Service) Open(ctx context.Context, in OpenInput) (*Case, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not open after-sales cases")
	}
	var fs kefu.Fields
	if !slices.Contains(shop.Kinds, in.Kind) {
		fs.Add("kind", "must be one of return, exchange, repair, refund_only, complaint")
	}
	in.Description, in.OverrideReason = strings.TrimSpace(in.Description), strings.TrimSpace(in.OverrideReason)
	if len([]rune(in.Description)) > 4000 {
		fs.Add("description", "must be at most 4000 characters")
	}
	if in.OverrideReason != "" {
		if !isSupervisor(a) {
			fs.Add("override_reason", "only a supervisor or administrator may override the after-sales terms")
		} else if len([]rune(in.OverrideReason)) < 3 || len([]rune(in.OverrideReason)) > 1000 {
			fs.Add("override_reason", "must be 3 to 1000 characters")
		}
	}
	r, err := reason(ctx, s.DB.Read, in.Reason)
	switch {
	case kefu.IsCode(err, kefu.NotFound) || (err == nil && r.Archived):
		fs.Add("reason", "no reason %q: see GET /aftersales/reasons", in.Reason)
	case err != nil:
		return nil, err
	case in.Kind != "" && !r.AppliesTo(in.Kind):
		fs.Add("reason", "%q is not a reason for a %s", r.NameEn, kindWord(in.Kind))
	}
	if in.Kind != shop.Complaint && len(in.Items) == 0 {
		fs.Add("items", "name at least one item of the order")
	}
	ups := uploads(in.Photos, in.Uploads)
	checkPhotos(&fs, "photos", ups)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	t, err := s.Tickets.Get(ctx, in.TicketID)
	if err != nil {
		if kefu.IsCode(err, kefu.NotFound) {
			return nil, kefu.Fieldf("ticket_id", "no ticket %s", in.TicketID)
		}
		return nil, err
	}
	c := &Case{Kind: in.Kind, TicketID: t.ID, TicketKey: t.Key, CustomerID: t.CustomerID, Reason: r.Key, Description: in.Description,
		Suggested: r.Responsible, Step: Requested, Open: true, Eligible: true, Eligibility: []shop.ItemEligibility{}, deadlineIDs: map[string]string{}}
	// Orders are read as the system: an agent may open a case on an order
	// whatever the shop's own read rules, having seen the ticket.
	sys := kefu.WithActor(ctx, kefu.System)
	number := in.OrderNumber
	if number == "" {
		number = t.OrderNumber
	}
	var o *shop.Order
	if number != "" {
		o, err = s.Shop.ForTicket(sys, number, t.CustomerID)
		switch {
		case kefu.IsCode(err, kefu.NotFound) && in.Kind == shop.Complaint && in.OrderNumber == "":
			o = nil // a complaint about a number the shop does not have is still a complaint
		case kefu.IsCode(err, kefu.NotFound) || kefu.IsCode(err, kefu.Invalid):
			return nil, kefu.Fieldf("order_number", "no order %s: the shop's orders are mirrored through the API, the webhook or an import", shop.NormalizeNumber(number))
		case err != nil:
			return nil, err
		}
	}
	if o == nil && in.Kind != shop.Complaint {
		return nil, kefu.Fieldf("order_number", "a %s needs an order: the ticket names none", kindWord(in.Kind))
	}
	if o != nil {
		if o.CustomerID != t.CustomerID {
			return nil, kefu.Fieldf("order_number", "order %s belongs to another customer than ticket %s", o.Number, t.Key)
		}
		if err := s.fillItems(ctx, c, o, in.Items, r); err != nil {
			return nil, err
		}
	}
	if !c.Eligible && in.OverrideReason != "" {
		c.Eligible, c.Override = true, &Override{Reason: in.OverrideReason, By: a.Name, ByID: a.ID, At: s.Now()}
	}
	stored, err := s.putPhotos(ctx, "photos", ups)
	if err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		st, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		if c.Kind == shop.Complaint {
			if c.OwnerID, err = owner(ctx, tx, t, in.OwnerID); err != nil {
				return err
			}
		}
		return s.insert(ctx, tx, st, c, o, stored)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, c.ID)
}

// fillItems resolves the items asked about against order o and checks
// each against its terms for reason r.
func (s *Service) fillItems(ctx context.Context, c *Case, o *shop.Order, in []ItemInput, r *Reason) error {
	c.OrderID, c.OrderNumber, c.Shop, c.Currency = o.ID, o.Number, o.Shop, o.Currency
	ordered := o.OrderedAt
	c.orderedAt = &ordered
	sys := kefu.WithActor(ctx, kefu.System)
	sh, err := s.Shop.Shop(sys, o.Shop)
	if err != nil {
		return err
	}
	c.shopID = sh.ID
	c.orderedOn = calendar.DateOf(o.OrderedAt.In(sh.Location())).String()
	taken, err := s.taken(ctx, o.ID)
	if err != nil {
		return err
	}
	var fs kefu.Fields
	asked := map[string]int{}
	now := s.Now()
	for i, want := range in {
		f := fmt.Sprintf("items[%d]", i)
		j := slices.IndexFunc(o.Items, func(it shop.Item) bool { return it.ID == want.Item })
		if j < 0 {
			j = slices.IndexFunc(o.Items, func(it shop.Item) bool { return it.SKU == want.Item })
		}
		if j < 0 {
			fs.Add(f+".item", "order %s has no item %q", o.Number, want.Item)
			continue
		}
		it := o.Items[j]
		if asked[it.ID] > 0 {
			fs.Add(f+".item", "%s is named twice", it.SKU)
			continue
		}
		asked[it.ID] = want.Quantity
		left := it.Quantity
		if c.Kind != shop.Repair && c.Kind != shop.Complaint {
			left -= taken[it.ID]
		}
		switch {
		case want.Quantity < 1:
			fs.Add(f+".quantity", "must be at least 1")
		case want.Quantity > left && left < it.Quantity:
			fs.Add(f+".quantity", "%d of %s were bought and %d are in other cases: at most %d", it.Quantity, it.SKU, taken[it.ID], max(left, 0))
		case want.Quantity > left:
			fs.Add(f+".quantity", "only %d of %s were bought", it.Quantity, it.SKU)
		}
		price, _ := shop.ParseMoney(it.UnitPrice, o.Currency)
		item := Item{Position: len(c.Items), OrderItemID: it.ID, SKU: it.SKU, Name: it.Name, Quantity: want.Quantity, UnitPrice: it.UnitPrice, price: price}
		if d := it.Detail; d != nil {
			item.Product, item.ProductName, item.Supplier = d.Product, d.Name, d.Supplier
			if item.Name == "" {
				item.Name = d.Name
			}
		}
		c.Items = append(c.Items, item)
		c.claimed += price * int64(max(want.Quantity, 0))
		e := shop.Check(shop.Request{Kind: c.Kind, Reason: r.Basis, Terms: *it.Terms, OrderedAt: o.OrderedAt, DeliveredAt: it.DeliveredAt,
			Loc: sh.Location(), Now: now})
		c.Eligibility = append(c.Eligibility, shop.ItemEligibility{ItemID: it.ID, SKU: it.SKU, Eligibility: e})
		c.Eligible = c.Eligible && e.Eligible
		c.PhotosRequired = c.PhotosRequired || e.PhotosRequired
	}
	c.Amount = shop.FormatMoney(c.claimed, c.Currency)
	return fs.Err()
}

// taken counts the units of each item of an order that other cases took
// or are taking back (goods or money): open cases but refused ones, and
// closed ones that ended in a refund or an exchange. A refused or
// withdrawn request, or goods sent back after failing inspection, leave
// the units free to ask about again.
func (s *Service) taken(ctx context.Context, orderID string) (map[string]int, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT i.order_item_id, i.quantity, c.step, c.detail FROM aftersales_case_items i
		JOIN aftersales_cases c ON c.id = i.case_id WHERE c.order_id = $1 AND c.kind IN ('return', 'exchange', 'refund_only')`, orderID)
	if err != nil {
		return nil, fmt.Errorf("aftersales: items in other cases: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id, detail string
		var n int
		var step Step
		if err := rows.Scan(&id, &n, &step, &detail); err != nil {
			return nil, err
		}
		if step == Refused || step == Withdrawn {
			continue
		}
		if step != Closed {
			out[id] += n
			continue
		}
		var st stored
		if err := json.Unmarshal([]byte(detail), &st); err != nil {
			return nil, err
		}
		if st.ClosedFrom == Refunded || st.ClosedFrom == ExchangeShipped {
			out[id] += n
		}
	}
	return out, rows.Err()
}

// owner picks a complaint's owner: the one asked for (a supervisor), else
// the ticket's assignee when a supervisor, else a supervisor of its
// department, else any supervisor, else an administrator.
func owner(ctx context.Context, tx *sql.Tx, t *ticket.Ticket, asked string) (string, error) {
	if asked != "" {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM staff WHERE id = $1 AND disabled_at IS NULL`, asked).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) || !kefu.ValidID(asked) {
			return "", kefu.Fieldf("owner_id", "no staff member %s", asked)
		}
		if err != nil {
			return "", err
		}
		if !kefu.Role(role).Supervises() {
			return "", kefu.Fieldf("owner_id", "a complaint is owned by a supervisor (seed 003), not a %s", role)
		}
		return asked, nil
	}
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`SELECT CAST(id AS text) FROM staff WHERE id = $1 AND role IN ('supervisor', 'admin') AND disabled_at IS NULL`, []any{t.AssigneeID}},
		{`SELECT CAST(s.id AS text) FROM staff s JOIN staff_departments d ON d.staff_id = s.id WHERE d.department_id = $1
			AND s.role = 'supervisor' AND s.disabled_at IS NULL ORDER BY s.created_at, s.id`, []any{t.DepartmentID}},
		{`SELECT CAST(id AS text) FROM staff WHERE role = 'supervisor' AND disabled_at IS NULL ORDER BY created_at, id`, nil},
		{`SELECT CAST(id AS text) FROM staff WHERE role = 'admin' AND disabled_at IS NULL ORDER BY created_at, id`, nil},
	} {
		if len(q.args) > 0 && !kefu.ValidID(fmt.Sprint(q.args[0])) {
			continue
		}
		ids, err := database.Strings(ctx, tx, q.query+` LIMIT 1`, q.args...)
		if err != nil {
			return "", err
		}
		if len(ids) > 0 {
			return ids[0], nil
		}
	}
	return "", kefu.Fieldf("owner_id", "a complaint needs a supervisor to own it, and there is none")
}

// insert writes a new case with its items, photos and first steps.
func (s *Service) insert(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, o *shop.Order, photos []storedPhoto) error {
	now := s.Now()
	c.ID, c.Version, c.CreatedAt, c.UpdatedAt = kefu.NewID(), 1, now, now
	if err := tx.QueryRowContext(ctx, `INSERT INTO counters (name, value) VALUES ('aftersales_case', 1001)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`).Scan(&c.Number); err != nil {
		return fmt.Errorf("aftersales: number: %w", err)
	}
	c.Key = Key(c.Number)
	refusal := (*Refusal)(nil)
	if !c.Eligible {
		refusal = eligibilityRefusal(c)
		c.Step, c.Refusal, c.ClosedAt, c.ClosedFrom, c.Open = Refused, refusal, &now, Requested, false
	}
	var orderID, shopID any
	if o != nil {
		orderID, shopID = o.ID, c.shopID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO aftersales_cases (id, number, kind, ticket_id, order_id, shop_id, customer_id, reason, step,
		owner_id, currency, claimed_minor, ordered_at, ordered_on, detail, created_at, updated_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6,
		$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)`, c.ID, c.Number, string(c.Kind), c.TicketID, orderID, shopID, c.CustomerID,
		c.Reason, string(c.Step), database.Nullable(c.OwnerID), c.Currency, c.claimed, c.orderedAt, c.orderedOn, c.stored(), now, c.ClosedAt)
	if err != nil {
		return fmt.Errorf("aftersales: open: %w", err)
	}
	items := database.NewBulkInsert(s.DB.Dialect, `aftersales_case_items (case_id, position, order_item_id, sku, name, product, product_name,
		supplier, quantity, unit_price_minor)`, 10)
	for _, it := range c.Items {
		items.Add(c.ID, it.Position, it.OrderItemID, it.SKU, it.Name, it.Product, it.ProductName, it.Supplier, it.Quantity, it.price)
	}
	if err := items.Exec(ctx, tx); err != nil {
		return fmt.Errorf("aftersales: items: %w", err)
	}
	data := map[string]any{"kind": c.Kind, "reason": c.Reason, "items": itemSummary(c), "eligible": c.Eligible}
	if c.Override != nil {
		data["override_reason"] = c.Override.Reason
	}
	ch := &change{c: c, action: Open, step: Requested, note: c.Description, data: data, public: c.Eligible, photos: photos, photoPurpose: PhotoEvidence}
	if _, err := s.record(ctx, tx, st, ch); err != nil {
		return err
	}
	if refusal != nil {
		ch := &change{c: c, action: Refuse, step: Refused, data: map[string]any{"rule": refusal.Rule}, public: true}
		if _, err := s.record(ctx, tx, st, ch); err != nil {
			return err
		}
	}
	if c.Kind == shop.Complaint {
		if err := s.startComplaintDeadlines(ctx, tx, st, c, now); err != nil {
			return err
		}
		return s.saveDetail(ctx, tx, c)
	}
	return nil
}

// eligibilityRefusal is the refusal of a request outside its terms: the
// check's outcome as the rule, its explanation of the first item outside
// them as the words.
func eligibilityRefusal(c *Case) *Refusal {
	for _, e := range c.Eligibility {
		if e.Eligible {
			continue
		}
		rule := RuleOutOfWindow
		switch e.Outcome {
		case shop.NonReturnable:
			rule = RuleNonReturnable
		case shop.NotOffered:
			rule = RuleNotOffered
		case shop.NotDelivered:
			rule = RuleNotDelivered
		}
		en, zh := e.Explanation, e.ExplanationZh
		if len(c.Items) > 1 {
			en, zh = e.SKU+": "+en, e.SKU+"："+zh
		}
		return &Refusal{Rule: rule, Explanation: en, ExplanationZh: zh, By: "Kefu", At: c.CreatedAt}
	}
	return nil
}

func itemSummary(c *Case) []string {
	out := make([]string, len(c.Items))
	for i, it := range c.Items {
		out[i] = fmt.Sprintf("%s ×%d", it.SKU, it.Quantity)
	}
	return out
}
