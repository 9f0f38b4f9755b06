package aftersales

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// ActionInput is one action on a case. Which fields an action reads is
// said beside each; the rest are ignored.
type ActionInput struct {
	Action Action `json:"action" enum:"approve,refuse,override,arrange_return,ship_return,receive,inspect,reopen,refund,ship_exchange,assess,estimate,consent,repair,ship_back,reply,resolve,close,withdraw,note,photos,responsibility,remedy,assign"`
	Note   string `json:"note,omitempty" maxLength:"4000" doc:"What to record with any action; for inspect, the inspection notes"`
	// refuse
	Rule string `json:"rule,omitempty" doc:"refuse: a refusal rule of the settings, whose explanation the customer gets"`
	// override, reopen, withdraw
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"override, reopen, withdraw: why"`
	// arrange_return
	Method       string `json:"method,omitempty" enum:"pickup,self_ship," doc:"arrange_return: pickup or self_ship"`
	PickupDate   string `json:"pickup_date,omitempty" doc:"arrange_return (pickup): YYYY-MM-DD"`
	PickupWindow string `json:"pickup_window,omitempty" maxLength:"50" doc:"arrange_return (pickup): such as 09:00-12:00"`
	Address      string `json:"address,omitempty" maxLength:"500" doc:"arrange_return: where to collect, or where to send (default the settings' return address)"`
	// ship_return, ship_exchange, ship_back
	Carrier        string `json:"carrier,omitempty" maxLength:"100" doc:"ship_return, ship_exchange, ship_back"`
	TrackingNumber string `json:"tracking_number,omitempty" maxLength:"100" doc:"ship_return, ship_exchange, ship_back"`
	// receive, inspect
	Items []ItemCount `json:"items,omitempty" doc:"receive: units received per item (default all); inspect: units passed and failed per item (default all received passed)"`
	// inspect
	Passed *bool `json:"passed,omitempty" doc:"inspect without items: every unit received passed (true) or failed (false)"`
	// refund, remedy
	Amount    string `json:"amount,omitempty" doc:"refund: what was paid (default what is due; less is a partial refund); remedy: the value"`
	Reference string `json:"reference,omitempty" maxLength:"200" doc:"refund: the payment's reference"`
	// ship_exchange
	SKU      string `json:"sku,omitempty" maxLength:"100" doc:"ship_exchange: the SKU sent (default the one returned, as for a size swap give the new one)"`
	Quantity int    `json:"quantity,omitempty" doc:"ship_exchange: units sent (default those that passed)"`
	// estimate
	Plan string `json:"plan,omitempty" maxLength:"2000" doc:"estimate: what will be done"`
	Cost string `json:"cost,omitempty" doc:"estimate: the cost to the customer (0 under warranty)"`
	Days int    `json:"days,omitempty" doc:"estimate: expected working days once received"`
	// consent
	Accepted *bool     `json:"accepted,omitempty" doc:"consent: true agreed, false declined"`
	Channel  string    `json:"channel,omitempty" doc:"consent, reply, resolve: where the customer was told or answered (phone, chat, email, …)"`
	At       time.Time `json:"at,omitempty" doc:"consent: when the customer answered (default now)"`
	Words    string    `json:"words,omitempty" maxLength:"2000" doc:"consent: what the customer said"`
	// reply, resolve
	Text string `json:"text,omitempty" maxLength:"4000" doc:"reply, resolve: what the customer is told"`
	// responsibility
	Responsible Party  `json:"responsible,omitempty" enum:"shop,carrier,supplier,customer," doc:"responsibility: who it lies with"`
	Guidance    string `json:"guidance,omitempty" maxLength:"4000" doc:"responsibility (customer): the guidance given to the customer"`
	// remedy
	Remedy    RemedyKind `json:"remedy,omitempty" enum:"refund,replacement,voucher,goodwill_credit," doc:"remedy: which"`
	Code      string     `json:"code,omitempty" maxLength:"40" doc:"remedy (voucher): its code; default a generated one"`
	ExpiresOn string     `json:"expires_on,omitempty" doc:"remedy (voucher): its last day, YYYY-MM-DD"`
	// assign
	OwnerID string `json:"owner_id,omitempty" doc:"assign: a complaint's new owner, a supervisor"`
	// Photos go with any action: inspection photos with inspect, repair
	// photos with repair, evidence otherwise.
	Photos  []ticket.File `json:"photos,omitempty" doc:"Photos, base64-encoded"`
	Uploads []Upload      `json:"-"`
}

// ItemCount is a count per case item, by its position.
type ItemCount struct {
	Position int `json:"position"`
	Quantity int `json:"quantity,omitempty" doc:"receive"`
	Passed   int `json:"passed,omitempty" doc:"inspect"`
	Failed   int `json:"failed,omitempty" doc:"inspect"`
}

// Act takes an action on a case if it is still at version (0 skips the
// check). An action the case's step does not allow is refused with a
// Conflict naming the step.
func (s *Service) Act(ctx context.Context, idOrKey string, version int, in ActionInput) (*Case, error) {
	a := audit.ActorOf(ctx)
	cur, err := s.get(ctx, s.DB.Read, idOrKey)
	if err != nil {
		return nil, err
	}
	if a.Kind == kefu.ActorCustomer {
		if in.Action != ShipReturn && in.Action != AddPhotos {
			return nil, kefu.Errorf(kefu.Forbidden, "customers may add photos and the return's tracking number")
		}
	} else if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not change after-sales cases")
	}
	if slices.Contains(supervisorOnly, in.Action) && !isSupervisor(a) {
		return nil, kefu.Errorf(kefu.Forbidden, "only a supervisor or administrator may %s a case", in.Action)
	}
	ups := uploads(in.Photos, in.Uploads)
	var fs kefu.Fields
	checkPhotos(&fs, "photos", ups)
	if len([]rune(in.Note)) > 4000 {
		fs.Add("note", "must be at most 4000 characters")
	}
	if in.Action == AddPhotos && len(ups) == 0 {
		fs.Add("photos", "add at least one photo")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	photos, err := s.putPhotos(ctx, "photos", ups)
	if err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, cur.ID)
		if err != nil {
			return err
		}
		if version != 0 && c.Version != version {
			if err := s.loadDetail(ctx, tx, c); err != nil {
				return err
			}
			c.Next = allowed(c, a)
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("case %s changed since version %d; it is now version %d", c.Key, version, c.Version), Current: c}
		}
		if c.Remedies, err = remedies(ctx, tx, `r.case_id = $1`, c.ID); err != nil {
			return err
		}
		if why := canTake(c, in.Action); why != "" {
			return stepError(c, in.Action, why)
		}
		st, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		before := *c
		before.Items = slices.Clone(c.Items)
		next := c
		ch := &change{before: &before, c: next, action: in.Action, step: c.Step, note: strings.TrimSpace(in.Note), photos: photos,
			photoPurpose: PhotoEvidence, data: map[string]any{}}
		if tr, ok := lifecycles[c.Kind][in.Action]; ok && tr.to != "" {
			ch.step = tr.to
		}
		if err := s.apply(ctx, tx, st, ch, in); err != nil {
			return err
		}
		return s.commit(ctx, tx, st, ch)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, cur.ID)
}

// apply checks the action's input and makes its change to ch.c, setting
// the step it leads to where the action decides it.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, st *Settings, ch *change, in ActionInput) error {
	a := audit.ActorOf(ctx)
	c, now := ch.c, s.Now()
	var fs kefu.Fields
	text := func(field, v string, least, most int) string {
		v = strings.TrimSpace(v)
		if n := len([]rune(v)); n < least || n > most {
			if least > 0 {
				fs.Add(field, "is required, %d to %d characters", least, most)
			} else {
				fs.Add(field, "must be at most %d characters", most)
			}
		}
		return v
	}
	signed := &Signed{Note: ch.note, By: a.Name, ByID: a.ID, At: now}
	switch in.Action {
	case Approve:
		if c.PhotosRequired && !hasEvidence(ctx, tx, c.ID) && len(ch.photos) == 0 {
			return stepError(c, Approve, fmt.Sprintf("the terms ask for photos for this reason; case %s has none yet (the customer can add them in the portal)", c.Key))
		}
		c.Approval = signed
		ch.public = true
		if c.Kind == shop.RefundOnly {
			ch.step = RefundPending
			return s.startRefund(ctx, tx, st, c, c.claimed, signed.By, now, ch)
		}
	case Refuse:
		rule, ok := st.Rule(in.Rule)
		if !ok {
			keys := make([]string, len(st.RefusalRules))
			for i, r := range st.RefusalRules {
				keys[i] = r.Key
			}
			fs.Add("rule", "must be one of the settings' refusal rules: %s", strings.Join(keys, ", "))
			return fs.Err()
		}
		c.Refusal = &Refusal{Rule: rule.Key, Explanation: rule.Explanation, ExplanationZh: rule.ExplanationZh, Note: ch.note, By: a.Name, At: now}
		ch.data["rule"], ch.public = rule.Key, true
	case OverrideTerms:
		reason := text("reason", in.Reason, 3, 1000)
		if err := fs.Err(); err != nil {
			return err
		}
		c.Override = &Override{Reason: reason, By: a.Name, ByID: a.ID, At: now}
		c.Eligible, c.Refusal = true, nil
		ch.data["reason"], ch.public = reason, true
	case ArrangeReturn:
		r := c.Return
		if r == nil {
			r = &Return{}
		}
		r.Method = in.Method
		r.Address = text("address", in.Address, 0, 500)
		switch in.Method {
		case "pickup":
			if _, err := calendar.ParseDate(in.PickupDate); err != nil {
				fs.Add("pickup_date", "must be a date like 2025-05-08")
			}
			r.PickupDate, r.PickupWindow = in.PickupDate, text("pickup_window", in.PickupWindow, 0, 50)
			if r.Address == "" {
				fs.Add("address", "is required for a pickup: where the courier collects")
			}
		case "self_ship":
			r.PickupDate, r.PickupWindow = "", ""
			if r.Address == "" {
				r.Address = st.ReturnAddress
			}
			if r.Address == "" {
				fs.Add("address", "is required: the settings name no return address")
			}
		default:
			fs.Add("method", "must be pickup or self_ship")
		}
		r.Instructions = ch.note
		r.ArrangedAt = &now
		c.Return = r
		ch.data["method"], ch.public = in.Method, true
	case ShipReturn:
		r := c.Return
		if r == nil {
			r = &Return{Method: "self_ship"}
		}
		r.Carrier = text("carrier", in.Carrier, 0, 100)
		r.TrackingNumber = text("tracking_number", in.TrackingNumber, 1, 100)
		r.ShippedAt = &now
		c.Return = r
		ch.data["carrier"], ch.data["tracking_number"] = r.Carrier, r.TrackingNumber
		// The customer who typed it in needs no mail about it.
		ch.public = a.Kind != kefu.ActorCustomer
	case Receive:
		counts, err := itemCounts(c, in.Items, func(it Item, n ItemCount) (int, string) {
			if n.Quantity < 0 || n.Quantity > it.Quantity {
				return 0, fmt.Sprintf("must be 0 to %d", it.Quantity)
			}
			return n.Quantity, ""
		}, func(it Item) int { return it.Quantity })
		if err != nil {
			return err
		}
		total := 0
		for i := range c.Items {
			c.Items[i].Received, c.Items[i].Passed, c.Items[i].Failed = counts[i], 0, 0
			total += counts[i]
		}
		if total == 0 {
			return kefu.Fieldf("items", "nothing received: record at least one unit")
		}
		if c.Return == nil {
			c.Return = &Return{}
		}
		c.Return.ReceivedAt = &now
		ch.items, ch.public = true, true
		ch.data["received"] = receivedSummary(c)
	case Inspect:
		if err := s.inspect(ctx, tx, st, ch, in); err != nil {
			return err
		}
	case Reopen:
		reason := text("reason", in.Reason, 3, 1000)
		if err := fs.Err(); err != nil {
			return err
		}
		ch.data["reason"], ch.public = reason, true
		ch.note = strings.TrimSpace(reason + "\n" + ch.note)
		if c.Kind == shop.Complaint {
			c.Resolution = nil
			return s.startResolution(ctx, tx, st, c, now)
		}
		for i := range c.Items {
			c.Items[i].Passed, c.Items[i].Failed = 0, 0
		}
		ch.items = true
	case Refund:
		return s.payRefund(ctx, tx, st, ch, in)
	case ShipExchange:
		passed := 0
		for _, it := range c.Items {
			passed += it.Passed
		}
		sku := strings.TrimSpace(in.SKU)
		if sku == "" && len(c.Items) > 0 {
			sku = c.Items[0].SKU
		}
		qty := in.Quantity
		if qty == 0 {
			qty = passed
		}
		if qty < 1 || qty > max(passed, 1) {
			fs.Add("quantity", "must be 1 to %d: the units that passed inspection", max(passed, 1))
		}
		carrier, tracking := text("carrier", in.Carrier, 0, 100), text("tracking_number", in.TrackingNumber, 1, 100)
		if err := fs.Err(); err != nil {
			return err
		}
		c.Exchange = &Shipment{SKU: sku, Quantity: qty, Carrier: carrier, TrackingNumber: tracking, At: now, By: a.Name}
		if c.OrderID != "" {
			d, err := s.Shop.SKU(kefu.WithActor(ctx, kefu.System), c.Shop, sku)
			if kefu.IsCode(err, kefu.NotFound) {
				return kefu.Fieldf("sku", "the shop has no SKU %s", sku)
			} else if err != nil {
				return err
			}
			c.Exchange.Name = skuName(d)
			// The replacement goes on the order as a line of its own and
			// its parcel as one of the order's shipments, in this
			// transaction: the order panel, the portal and the store's
			// next upsert all see it, and the sales roll-up never counts it.
			if c.Exchange.OrderItemID, err = s.Shop.AddReplacement(ctx, tx, c.OrderID, shop.Replacement{CaseID: c.ID, CaseKey: c.Key, SKU: sku,
				Name: c.Exchange.Name, Quantity: qty, Carrier: carrier, TrackingNumber: tracking}); err != nil {
				return err
			}
			ch.data["order_item_id"] = c.Exchange.OrderItemID
		}
		if err := s.addRemedy(ctx, tx, c, Remedy{Kind: Replacement, State: Shipped, Currency: c.Currency, Reference: tracking,
			Note: fmt.Sprintf("%s × %d", sku, qty), ApprovedBy: approver(c, a), StartedAt: now, DoneAt: &now}); err != nil {
			return err
		}
		ch.data["sku"], ch.data["quantity"], ch.data["tracking_number"], ch.public = sku, qty, tracking, true
	case Assess:
		ch.public = true
	case GiveEstimate:
		plan := text("plan", in.Plan, 1, 2000)
		cost, msg := shop.ParseMoney(strings.TrimSpace(in.Cost), c.currency())
		if strings.TrimSpace(in.Cost) == "" {
			msg = "is required (0 for a repair under warranty)"
		}
		if msg != "" {
			fs.Add("cost", "%s", msg)
		} else if cost < 0 {
			fs.Add("cost", "must not be negative")
		}
		if in.Days < 1 || in.Days > 365 {
			fs.Add("days", "must be 1 to 365 working days")
		}
		if err := fs.Err(); err != nil {
			return err
		}
		c.Estimate = &Estimate{Plan: plan, Cost: shop.FormatMoney(cost, c.currency()), Days: in.Days, By: a.Name, At: now}
		c.Consent = nil
		ch.data["cost"], ch.data["days"], ch.public = c.Estimate.Cost, in.Days, true
	case RecordConsent:
		if in.Accepted == nil {
			fs.Add("accepted", "is required: true when the customer agreed, false when they declined")
		}
		channel := strings.TrimSpace(in.Channel)
		if !slices.Contains(ticket.Channels, channel) {
			fs.Add("channel", "must be one of %s", strings.Join(ticket.Channels, ", "))
		}
		words := text("words", in.Words, 1, 2000)
		at := in.At
		if at.IsZero() {
			at = now
		}
		if at.After(now) {
			fs.Add("at", "cannot be in the future")
		}
		if err := fs.Err(); err != nil {
			return err
		}
		c.Consent = &Consent{Accepted: *in.Accepted, Channel: channel, At: at.UTC(), Words: words, RecordedBy: a.Name}
		ch.step = Consented
		if !*in.Accepted {
			ch.step = Declined
		}
		ch.data["accepted"], ch.data["channel"], ch.data["words"], ch.public = *in.Accepted, channel, words, true
	case RepairDone:
		c.Repair = signed
		ch.photoPurpose = PhotoRepair
	case ShipBack:
		carrier, tracking := text("carrier", in.Carrier, 0, 100), text("tracking_number", in.TrackingNumber, 1, 100)
		if err := fs.Err(); err != nil {
			return err
		}
		c.ShipBack = &Shipment{Carrier: carrier, TrackingNumber: tracking, At: now, By: a.Name}
		ch.data["tracking_number"], ch.public = tracking, true
	case Reply, Resolve:
		body := text("text", in.Text, 1, 4000)
		channel := strings.TrimSpace(in.Channel)
		if channel == "" {
			channel = "email"
		}
		if !slices.Contains(ticket.Channels, channel) {
			fs.Add("channel", "must be one of %s", strings.Join(ticket.Channels, ", "))
		}
		if err := fs.Err(); err != nil {
			return err
		}
		stmt := &Statement{Text: body, Channel: channel, By: a.Name, At: now}
		ch.public = true
		if in.Action == Reply {
			c.Reply = stmt
			return s.endDeadline(ctx, tx, c, deadlineReply, now)
		}
		c.Resolution = stmt
		if err := s.endDeadline(ctx, tx, c, deadlineReply, now); err != nil {
			return err
		}
		return s.endDeadline(ctx, tx, c, deadlineResolution, now)
	case Close:
		if slices.Contains([]Party{Shop, Carrier, Supplier}, c.Responsible) && !hasRemedy(c) {
			return stepError(c, Close, fmt.Sprintf("the %s is responsible: record a remedy (refund, replacement, voucher or goodwill credit) before closing — the shop's fault means compensation", c.Responsible))
		}
		ch.public = true
		return s.cancelDeadlines(ctx, tx, c, now)
	case Withdraw:
		ch.data["reason"] = text("reason", in.Reason, 0, 1000)
		ch.public = true
		if err := fs.Err(); err != nil {
			return err
		}
		return s.cancelDeadlines(ctx, tx, c, now)
	case Note:
		if ch.note == "" && len(ch.photos) == 0 {
			return kefu.Fieldf("note", "is required")
		}
	case AddPhotos:
		// The photos are the change.
	case SetResponsible:
		if !slices.Contains(Parties, in.Responsible) {
			fs.Add("responsible", "must be shop, carrier, supplier or customer")
		}
		guidance := text("guidance", in.Guidance, 0, 4000)
		if in.Responsible == Customer && guidance == "" {
			fs.Add("guidance", "is required when the customer is responsible: the customer's fault means guidance, in words they can follow")
		}
		if in.Responsible == Customer && slices.ContainsFunc(c.Remedies, func(r Remedy) bool { return r.Kind == Voucher || r.Kind == Goodwill }) {
			fs.Add("responsible", "this case already has compensation; the customer cannot be responsible")
		}
		if err := fs.Err(); err != nil {
			return err
		}
		c.Responsible, c.ResponsibleNote = in.Responsible, ch.note
		c.Guidance = ""
		if in.Responsible == Customer {
			c.Guidance, ch.public = guidance, true
		}
		ch.data["responsible"] = string(in.Responsible)
	case AddRemedy:
		return s.remedy(ctx, tx, st, ch, in)
	case AssignOwner:
		id, err := owner(ctx, tx, &ticket.Ticket{}, strings.TrimSpace(in.OwnerID))
		if err != nil {
			return err
		}
		if in.OwnerID == "" {
			return kefu.Fieldf("owner_id", "is required")
		}
		c.OwnerID, ch.data["owner_id"] = id, id
	default:
		return kefu.Fieldf("action", "unknown action %q", in.Action)
	}
	return fs.Err()
}

// skuName is what a SKU is called on an order line: the variant's name,
// else the product's with what tells the variant apart.
func skuName(d *shop.SKUDetail) string {
	if d.Name != "" {
		return d.Name
	}
	parts := []string{d.ProductName}
	for _, p := range []string{d.Size, d.Colour} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// currency is the case's currency, that of its order; a complaint without
// an order counts in CNY.
func (c *Case) currency() string {
	if c.Currency != "" {
		return c.Currency
	}
	return "CNY"
}

func hasEvidence(ctx context.Context, q *sql.Tx, caseID string) bool {
	var n int
	_ = q.QueryRowContext(ctx, `SELECT count(*) FROM aftersales_photos WHERE case_id = $1 AND purpose = 'evidence'`, caseID).Scan(&n)
	return n > 0
}

func hasRemedy(c *Case) bool {
	return slices.ContainsFunc(c.Remedies, func(r Remedy) bool { return r.State != Cancelled })
}

// approver is who approved what a case gives back: the approval's author,
// else the actor.
func approver(c *Case, a kefu.Actor) string {
	if c.Approval != nil {
		return c.Approval.By
	}
	return a.Name
}

// itemCounts reads per-item counts by position; items left out get def.
func itemCounts(c *Case, in []ItemCount, check func(Item, ItemCount) (int, string), def func(Item) int) ([]int, error) {
	out := make([]int, len(c.Items))
	for i, it := range c.Items {
		out[i] = def(it)
	}
	if len(in) == 0 {
		return out, nil
	}
	var fs kefu.Fields
	seen := map[int]bool{}
	for i := range out {
		out[i] = 0
	}
	for i, n := range in {
		f := fmt.Sprintf("items[%d]", i)
		if n.Position < 0 || n.Position >= len(c.Items) || seen[n.Position] {
			fs.Add(f+".position", "must name a different item of the case (0 to %d)", len(c.Items)-1)
			continue
		}
		seen[n.Position] = true
		v, msg := check(c.Items[n.Position], n)
		if msg != "" {
			fs.Add(f, "%s", msg)
		}
		out[n.Position] = v
	}
	return out, fs.Err()
}

func receivedSummary(c *Case) []string {
	var out []string
	for _, it := range c.Items {
		out = append(out, fmt.Sprintf("%s ×%d/%d", it.SKU, it.Received, it.Quantity))
	}
	return out
}

// inspect records an inspection round: per item how many units passed
// and failed. What passed is refunded (a return), exchanged or shipped
// back (a repair); when nothing passed the case waits at qc_failed for a
// decision: reopen for another inspection, or close.
func (s *Service) inspect(ctx context.Context, tx *sql.Tx, st *Settings, ch *change, in ActionInput) error {
	c, a, now := ch.c, audit.ActorOf(ctx), s.Now()
	ch.photoPurpose = PhotoInspection
	base := func(it Item) int {
		if c.Kind == shop.Repair {
			return it.Quantity
		}
		return it.Received
	}
	var passed []int
	var err error
	if len(in.Items) == 0 {
		ok := in.Passed == nil || *in.Passed
		passed = make([]int, len(c.Items))
		for i, it := range c.Items {
			if ok {
				passed[i] = base(it)
			}
		}
	} else {
		passed, err = itemCounts(c, in.Items, func(it Item, n ItemCount) (int, string) {
			if n.Passed < 0 || n.Failed < 0 || n.Passed+n.Failed != base(it) {
				return 0, fmt.Sprintf("passed and failed must add up to the %d units received", base(it))
			}
			return n.Passed, ""
		}, func(Item) int { return 0 })
		if err != nil {
			return err
		}
	}
	total, ok := 0, 0
	for i := range c.Items {
		it := &c.Items[i]
		it.Passed, it.Failed = passed[i], base(*it)-passed[i]
		total += base(*it)
		ok += passed[i]
	}
	c.Round++
	if _, err := tx.ExecContext(ctx, `INSERT INTO aftersales_inspections (id, case_id, round, passed, notes, inspector_id, inspector_name, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, kefu.NewID(), c.ID, c.Round, ok == total, ch.note, a.ID, a.Name, now); err != nil {
		return fmt.Errorf("aftersales: inspection: %w", err)
	}
	ch.items, ch.public = true, true
	ch.data["round"], ch.data["passed"], ch.data["failed"] = c.Round, ok, total-ok
	if ok == 0 {
		ch.step = QCFailed
		if c.Kind == shop.Repair {
			ch.public = false // the repair is done again
		}
		return nil
	}
	switch c.Kind {
	case shop.Return:
		ch.step = RefundPending
		var value int64
		for _, it := range c.Items {
			value += it.price * int64(it.Passed)
		}
		return s.startRefund(ctx, tx, st, c, value, approver(c, a), now, ch)
	case shop.Exchange:
		ch.step = ExchangePending
	default:
		ch.step = Inspected
	}
	return nil
}

// startRefund records a pending refund of value (capped by what the
// order's customer paid and was not refunded yet) to the original payment
// method, due within the settings' working days, and starts its deadline.
func (s *Service) startRefund(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, value int64, approvedBy string, now time.Time, ch *change) error {
	if c.OrderID != "" {
		var paid, refunded int64
		if err := tx.QueryRowContext(ctx, `SELECT o.paid_minor, COALESCE((SELECT SUM(r.amount_minor) FROM aftersales_remedies r
			JOIN aftersales_cases k ON k.id = r.case_id WHERE k.order_id = o.id AND r.kind = 'refund' AND r.state IN ('pending', 'paid')), 0)
			FROM orders o WHERE o.id = $1`, c.OrderID).Scan(&paid, &refunded); err != nil {
			return fmt.Errorf("aftersales: refundable: %w", err)
		}
		value = min(value, max(paid-refunded, 0))
	}
	if value <= 0 {
		return stepError(c, ch.action, "nothing is left to refund on this order: what was paid has been refunded")
	}
	calID, err := s.calendarFor(ctx, tx, st, c.TicketID)
	if err != nil {
		return err
	}
	cal, err := s.SLA.Calendars.Compiled(ctx, tx, calID)
	if err != nil {
		return err
	}
	due := cal.AddWorkingDays(now, st.RefundWorkingDays)
	method := "original_payment"
	r := Remedy{Kind: RefundRemedy, State: Pending, amount: value, Currency: c.currency(), Method: method, ApprovedBy: approvedBy,
		StartedAt: now, DueAt: &due}
	if err := s.addRemedy(ctx, tx, c, r); err != nil {
		return err
	}
	ch.data["refund_due"], ch.data["refund_amount"] = due, shop.FormatMoney(value, c.currency())
	rule := st.rule(c, false, st.RefundWarnMinutes)
	id := c.Remedies[len(c.Remedies)-1].ID
	return s.startDeadline(ctx, tx, c, deadlineRefund+":"+id, calID, now, due, "refund of "+c.Key, rule)
}

// payRefund records the payment of the pending refund: the amount due, or
// less for a partial refund (with a note saying why).
func (s *Service) payRefund(ctx context.Context, tx *sql.Tx, st *Settings, ch *change, in ActionInput) error {
	c, now := ch.c, s.Now()
	i := slices.IndexFunc(c.Remedies, func(r Remedy) bool { return r.Kind == RefundRemedy && r.State == Pending })
	if i < 0 {
		return stepError(c, Refund, "no refund is due on case "+c.Key)
	}
	r := &c.Remedies[i]
	amount := r.amount
	var fs kefu.Fields
	if strings.TrimSpace(in.Amount) != "" {
		var msg string
		if amount, msg = shop.ParseMoney(in.Amount, r.Currency); msg != "" {
			fs.Add("amount", "%s", msg)
		} else if amount <= 0 || amount > r.amount {
			fs.Add("amount", "must be more than 0 and at most the %s %s due", r.Currency, r.Amount)
		}
	}
	ref := strings.TrimSpace(in.Reference)
	if len(ref) > 200 {
		fs.Add("reference", "must be at most 200 characters")
	}
	if amount < r.amount && ch.note == "" {
		fs.Add("note", "say why the refund is partial (%s of %s %s)", shop.FormatMoney(amount, r.Currency), r.Currency, r.Amount)
	}
	if err := fs.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE aftersales_remedies SET state = 'paid', amount_minor = $2, reference = $3, done_at = $4, note = $5
		WHERE id = $1`, r.ID, amount, ref, now, ch.note); err != nil {
		return fmt.Errorf("aftersales: refund: %w", err)
	}
	ch.data["amount"], ch.data["due"], ch.data["reference"] = shop.FormatMoney(amount, r.Currency), r.Amount, ref
	if amount < r.amount {
		ch.data["partial"] = true
	}
	r.State, r.amount, r.Amount, r.Reference, r.DoneAt = Paid, amount, shop.FormatMoney(amount, r.Currency), ref, &now
	c.refunded += amount
	c.Refunded = shop.FormatMoney(c.refunded, c.Currency)
	ch.public = true
	if c.Step == RefundPending {
		ch.step = Refunded
	}
	return s.endDeadline(ctx, tx, c, deadlineRefund+":"+r.ID, now)
}

// remedy records a remedy outside a case's own flow: compensation for a
// fault (a voucher, goodwill credit, a refund, a replacement). Only a
// supervisor approves compensation, and never for the customer's own
// fault (seed 001: the customer's fault means guidance).
func (s *Service) remedy(ctx context.Context, tx *sql.Tx, st *Settings, ch *change, in ActionInput) error {
	c, a, now := ch.c, audit.ActorOf(ctx), s.Now()
	var fs kefu.Fields
	if !slices.Contains(RemedyKinds, in.Remedy) {
		fs.Add("remedy", "must be refund, replacement, voucher or goodwill_credit")
		return fs.Err()
	}
	if !isSupervisor(a) {
		return kefu.Errorf(kefu.Forbidden, "a %s is compensation: only a supervisor or administrator approves it", in.Remedy)
	}
	if c.Responsible == Customer {
		return stepError(c, AddRemedy, "the customer is responsible for this case: the customer's fault means guidance, not compensation")
	}
	cur := c.currency()
	amount, msg := shop.ParseMoney(strings.TrimSpace(in.Amount), cur)
	if in.Remedy != Replacement {
		switch {
		case strings.TrimSpace(in.Amount) == "":
			fs.Add("amount", "is required")
		case msg != "":
			fs.Add("amount", "%s", msg)
		case amount <= 0:
			fs.Add("amount", "must be more than 0")
		}
	}
	r := Remedy{Kind: in.Remedy, Currency: cur, amount: amount, ApprovedBy: a.Name, Note: ch.note, StartedAt: now}
	ch.data["remedy"], ch.data["amount"] = string(in.Remedy), shop.FormatMoney(amount, cur)
	ch.public = true
	switch in.Remedy {
	case Voucher:
		r.State = Issued
		r.Code = strings.ToUpper(strings.TrimSpace(in.Code))
		if r.Code == "" {
			r.Code = voucherCode()
		} else if !voucherPattern(r.Code) {
			fs.Add("code", "must be 4 to 40 letters, digits or dashes")
		}
		d, err := calendar.ParseDate(in.ExpiresOn)
		if err != nil {
			fs.Add("expires_on", "must be a date like 2025-12-31")
		} else if d.Before(calendar.DateOf(now.In(s.zone(ctx, tx, c)))) {
			fs.Add("expires_on", "must not be in the past")
		}
		r.ExpiresOn = in.ExpiresOn
		ch.data["code"], ch.data["expires_on"] = r.Code, r.ExpiresOn
	case Goodwill:
		r.State = Issued
	case Replacement:
		r.State, r.Reference = Pending, strings.TrimSpace(in.TrackingNumber)
		if r.Reference != "" {
			r.State, r.DoneAt = Shipped, &now
		}
		r.Note = strings.TrimSpace(strings.TrimSpace(in.SKU+" ") + ch.note)
	case RefundRemedy:
		if err := fs.Err(); err != nil {
			return err
		}
		return s.startRefund(ctx, tx, st, c, amount, a.Name, now, ch)
	}
	if err := fs.Err(); err != nil {
		return err
	}
	return s.addRemedy(ctx, tx, c, r)
}

func voucherPattern(code string) bool {
	if len(code) < 4 || len(code) > 40 {
		return false
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// voucherCode makes a code customers can type: 12 letters and digits
// without the ones people confuse (0/O, 1/I).
func voucherCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "AS-" + string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

// addRemedy stores r on c and appends it to c's remedies.
func (s *Service) addRemedy(ctx context.Context, tx *sql.Tx, c *Case, r Remedy) error {
	r.ID, r.CreatedAt = kefu.NewID(), s.Now()
	if r.Amount == "" {
		r.Amount = shop.FormatMoney(r.amount, r.Currency)
	}
	a := audit.ActorOf(ctx)
	var code any
	if r.Code != "" {
		code = r.Code
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO aftersales_remedies (id, case_id, kind, state, amount_minor, currency, method, reference, code,
		expires_on, approved_by_id, approved_by_name, note, started_at, due_at, done_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`, r.ID, c.ID, string(r.Kind), r.State, r.amount,
		r.Currency, r.Method, r.Reference, code, r.ExpiresOn, a.ID, r.ApprovedBy, r.Note, r.StartedAt, r.DueAt, r.DoneAt, r.CreatedAt)
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "voucher code taken", Fields: []kefu.FieldError{{Field: "code", Message: "another voucher has this code"}}}
	}
	if err != nil {
		return fmt.Errorf("aftersales: remedy: %w", err)
	}
	c.Remedies = append(c.Remedies, r)
	return nil
}
