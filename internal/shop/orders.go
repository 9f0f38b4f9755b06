package shop

import (
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
)

// OrderInput is an order as the shop's store has it.
type OrderInput struct {
	Shop             string          `json:"shop,omitempty" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Number           string          `json:"number" required:"false" maxLength:"100" doc:"The shop's order number (a leading # is dropped, letters are upper-cased); PUT takes it from the path"`
	Status           OrderStatus     `json:"status,omitempty" enum:"pending,paid,processing,shipped,delivered,completed,cancelled,refunded," doc:"Default pending"`
	Customer         CustomerRef     `json:"customer"`
	Currency         string          `json:"currency,omitempty" doc:"Default: the shop's"`
	Total            string          `json:"total,omitempty" doc:"Default: the sum of the items"`
	Paid             string          `json:"paid,omitempty" doc:"Default: the total once the order is paid, else 0"`
	PaymentMethod    string          `json:"payment_method,omitempty" maxLength:"50" doc:"Such as alipay, wechat_pay, card, cod"`
	OrderedAt        time.Time       `json:"ordered_at" doc:"RFC 3339"`
	ExpectedDelivery string          `json:"expected_delivery,omitempty" doc:"YYYY-MM-DD in the shop's zone; moving it later tells the customer"`
	DeliveredAt      *time.Time      `json:"delivered_at,omitempty" doc:"Default: when the last shipment was delivered, once all are"`
	ShippingAddress  string          `json:"shipping_address,omitempty" maxLength:"1000"`
	Note             string          `json:"note,omitempty" maxLength:"2000"`
	Items            []ItemInput     `json:"items"`
	Shipments        []ShipmentInput `json:"shipments,omitempty" doc:"Merged by tracking number with the shipments Kefu has; none is removed"`
}

// CustomerRef names the customer of an order: an existing id, or an email
// address or phone number that is looked up and becomes a new customer
// when nobody has it.
type CustomerRef struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty" maxLength:"200"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Language string `json:"language,omitempty" enum:"en,zh-CN," doc:"For a new customer: the language of the notices they get"`
}

// ItemInput is one line of an OrderInput.
type ItemInput struct {
	SKU            string `json:"sku" maxLength:"100"`
	Name           string `json:"name,omitempty" maxLength:"300"`
	Quantity       int    `json:"quantity" minimum:"1" maximum:"100000"`
	UnitPrice      string `json:"unit_price" doc:"Decimal amount such as 199.00"`
	TrackingNumber string `json:"tracking_number,omitempty" maxLength:"100" doc:"The shipment it went out in, when the order was split"`
}

// ShipmentInput is one parcel of an OrderInput.
type ShipmentInput struct {
	Carrier        string          `json:"carrier,omitempty" maxLength:"100" doc:"Such as SF Express, 顺丰速运"`
	TrackingNumber string          `json:"tracking_number" required:"false" maxLength:"100" doc:"Required; PUT …/shipments/{tracking} takes it from the path"`
	Status         ShipmentStatus  `json:"status,omitempty" enum:"pending,in_transit,out_for_delivery,delivered,exception,returned," doc:"Default: from the dates given"`
	ShippedAt      *time.Time      `json:"shipped_at,omitempty"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
	Events         []TrackingEvent `json:"events,omitempty" doc:"Added to the events Kefu has; an event repeated (same time and status) is kept once"`
}

// doc is an order validated for writing, with how to write it.
type doc struct {
	o          *Order
	ref        customer.Ref
	createOnly bool // refuse when the shop has the number already
	ifVersion  int  // when not 0, the stored version must be this
	line       int  // the import line it began on
}

// maxItems bounds one order's lines.
const maxItems = 1000

// order validates in against shop sh into an order ready to write.
func (in *OrderInput) order(sh *Shop) (*doc, error) {
	var fs kefu.Fields
	o := &Order{Shop: sh.Code, Number: NormalizeNumber(in.Number), Status: in.Status, Currency: strings.TrimSpace(in.Currency),
		PaymentMethod: strings.TrimSpace(in.PaymentMethod), ExpectedDelivery: strings.TrimSpace(in.ExpectedDelivery),
		ShippingAddress: strings.TrimSpace(in.ShippingAddress), Note: strings.TrimSpace(in.Note), Items: []Item{}, Shipments: []Shipment{}}
	checkCode(&fs, at{}, "number", o.Number)
	if o.Status == "" {
		o.Status = Pending
	}
	if !slices.Contains(OrderStatuses, o.Status) {
		fs.Add("status", "must be one of pending, paid, processing, shipped, delivered, completed, cancelled, refunded")
	}
	ref := in.Customer.check(&fs)
	if o.Currency == "" {
		o.Currency = sh.Currency
	}
	if msg := checkCurrency(o.Currency); msg != "" {
		fs.Add("currency", "%s", msg)
	}
	checkText(&fs, at{}, "payment_method", o.PaymentMethod, 0, 50)
	checkText(&fs, at{}, "shipping_address", o.ShippingAddress, 0, 1000)
	checkText(&fs, at{}, "note", o.Note, 0, 2000)
	if in.OrderedAt.IsZero() {
		fs.Add("ordered_at", "is required")
	}
	o.OrderedAt = utc(in.OrderedAt)
	if o.ExpectedDelivery != "" {
		if _, err := calendar.ParseDate(o.ExpectedDelivery); err != nil {
			fs.Add("expected_delivery", "must be a date like 2025-05-08")
		}
	}
	if in.DeliveredAt != nil {
		t := utc(*in.DeliveredAt)
		o.DeliveredAt = &t
		if t.Before(o.OrderedAt) {
			fs.Add("delivered_at", "is before ordered_at")
		}
	}
	switch {
	case len(in.Items) == 0:
		fs.Add("items", "must list at least one item")
	case len(in.Items) > maxItems:
		fs.Add("items", "must list at most %d items", maxItems)
	}
	var sum int64
	for i, it := range in.Items {
		f := at{list: "items", i: i}
		item := Item{SKU: strings.TrimSpace(it.SKU), Name: strings.TrimSpace(it.Name), Quantity: it.Quantity, TrackingNumber: strings.TrimSpace(it.TrackingNumber),
			Origin: OriginStore}
		checkCode(&fs, f, "sku", item.SKU)
		checkText(&fs, f, "name", item.Name, 0, 300)
		if it.Quantity < 1 || it.Quantity > 100000 {
			fs.Add(f.field("quantity"), "must be a whole number from 1 to 100000")
		}
		var msg string
		if strings.TrimSpace(it.UnitPrice) == "" {
			fs.Add(f.field("unit_price"), "is required")
		} else if item.price, msg = parseMoney(it.UnitPrice, o.Currency); msg != "" {
			fs.Add(f.field("unit_price"), "%s", msg)
		} else if item.price < 0 {
			fs.Add(f.field("unit_price"), "must not be negative")
		}
		checkText(&fs, f, "tracking_number", item.TrackingNumber, 0, 100)
		sum += item.price * int64(max(0, it.Quantity))
		o.Items = append(o.Items, item)
	}
	o.total = sum
	if strings.TrimSpace(in.Total) != "" {
		var msg string
		if o.total, msg = parseMoney(in.Total, o.Currency); msg != "" {
			fs.Add("total", "%s", msg)
		} else if o.total < 0 {
			fs.Add("total", "must not be negative")
		}
	}
	switch {
	case strings.TrimSpace(in.Paid) != "":
		var msg string
		if o.paid, msg = parseMoney(in.Paid, o.Currency); msg != "" {
			fs.Add("paid", "%s", msg)
		} else if o.paid < 0 {
			fs.Add("paid", "must not be negative")
		}
	case o.Status != Pending && o.Status != Cancelled:
		o.paid = o.total
	}
	seen := map[string]int{}
	for i, si := range in.Shipments {
		f := at{list: "shipments", i: i}
		sp := Shipment{Carrier: strings.TrimSpace(si.Carrier), TrackingNumber: strings.TrimSpace(si.TrackingNumber), Status: si.Status,
			ShippedAt: utcPtr(si.ShippedAt), DeliveredAt: utcPtr(si.DeliveredAt), Events: []TrackingEvent{}}
		checkCode(&fs, f, "tracking_number", sp.TrackingNumber)
		if j, dup := seen[sp.TrackingNumber]; dup && sp.TrackingNumber != "" {
			fs.Add(f.field("tracking_number"), "repeats shipments[%d]", j)
		}
		seen[sp.TrackingNumber] = i
		checkText(&fs, f, "carrier", sp.Carrier, 0, 100)
		if sp.Status != "" && !slices.Contains(ShipmentStatuses, sp.Status) {
			fs.Add(f.field("status"), "must be one of pending, in_transit, out_for_delivery, delivered, exception, returned")
		}
		for j, ev := range si.Events {
			ef := at{prefix: f.field(""), list: "events", i: j}
			ev.Status, ev.Description, ev.Location = strings.TrimSpace(ev.Status), strings.TrimSpace(ev.Description), strings.TrimSpace(ev.Location)
			if ev.At.IsZero() {
				fs.Add(ef.field("at"), "is required")
			}
			ev.At = utc(ev.At)
			checkText(&fs, ef, "status", ev.Status, 1, 50)
			checkText(&fs, ef, "description", ev.Description, 0, 500)
			checkText(&fs, ef, "location", ev.Location, 0, 200)
			sp.Events = append(sp.Events, ev)
		}
		o.Shipments = append(o.Shipments, sp)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return &doc{o: o, ref: ref}, nil
}

// check validates a customer reference under "customer.".
func (c CustomerRef) check(fs *kefu.Fields) customer.Ref {
	ref := customer.Ref{ID: strings.TrimSpace(c.ID), Name: strings.TrimSpace(c.Name), Email: strings.TrimSpace(c.Email),
		Phone: strings.TrimSpace(c.Phone), Language: c.Language}
	if ref.ID == "" && ref.Email == "" && ref.Phone == "" {
		fs.Add("customer", "needs an id, email or phone")
	}
	if ref.ID != "" && !kefu.ValidID(ref.ID) {
		fs.Add("customer.id", "is not an id")
	}
	for _, ident := range []struct{ kind, value string }{{customer.Email, ref.Email}, {customer.Phone, ref.Phone}} {
		if ident.value == "" {
			continue
		}
		if _, msg := customer.Normalize(ident.kind, ident.value); msg != "" {
			fs.Add("customer."+ident.kind, "%s", msg)
		}
	}
	checkText(fs, at{prefix: "customer."}, "name", ref.Name, 0, 200)
	if !slices.Contains(customer.Languages, ref.Language) {
		fs.Add("customer.language", "must be en or zh-CN")
	}
	return ref
}

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// merge folds d's order into what is stored (cur, nil when new): the
// order's own fields and the store's items are d's, and the replacement
// lines Kefu added stay after them; shipments are merged by tracking
// number and their events added to; a delivery date comes from d, else
// from the store's shipments once all are delivered, else stays as it was.
func merge(cur *Order, next *Order, now time.Time) *Order {
	m := *next
	m.Shipments = nil
	var stored []Shipment
	if cur != nil {
		m.ID, m.CustomerID, m.Version, m.CreatedAt, m.delayNoticed = cur.ID, cur.CustomerID, cur.Version, cur.CreatedAt, cur.delayNoticed
		stored = cur.Shipments
		var kept []Item // Kefu's lines
		for _, it := range cur.Items {
			if it.Origin != OriginStore {
				kept = append(kept, it)
			}
		}
		// Items keep their ids while their SKU stays on the order, so
		// after-sales cases can point at them across updates.
		used := map[string]bool{}
		m.Items = make([]Item, 0, len(next.Items)+len(kept))
		for _, it := range next.Items {
			// A store that records the replacement itself sends a line of
			// its SKU naming its parcel: that is Kefu's line, kept once,
			// so it is neither shown nor counted twice.
			if i := slices.IndexFunc(kept, func(k Item) bool {
				return !used[k.ID] && it.TrackingNumber != "" && k.SKU == it.SKU && k.TrackingNumber == it.TrackingNumber
			}); i >= 0 {
				used[kept[i].ID] = true
				continue
			}
			for _, old := range cur.Items {
				if !used[old.ID] && old.Origin == OriginStore && old.SKU == it.SKU {
					it.ID, used[old.ID] = old.ID, true
					break
				}
			}
			m.Items = append(m.Items, it)
		}
		m.Items = append(m.Items, kept...)
	}
	byTracking := map[string]int{}
	for _, sp := range stored {
		byTracking[sp.TrackingNumber] = len(m.Shipments)
		sp.Events = slices.Clone(sp.Events)
		m.Shipments = append(m.Shipments, sp)
	}
	for _, sp := range next.Shipments {
		i, ok := byTracking[sp.TrackingNumber]
		if !ok {
			byTracking[sp.TrackingNumber] = len(m.Shipments)
			m.Shipments = append(m.Shipments, Shipment{TrackingNumber: sp.TrackingNumber, Events: []TrackingEvent{}})
			i = len(m.Shipments) - 1
		}
		have := &m.Shipments[i]
		if sp.Carrier != "" {
			have.Carrier = sp.Carrier
		}
		if sp.ShippedAt != nil {
			have.ShippedAt = sp.ShippedAt
		}
		if sp.DeliveredAt != nil {
			have.DeliveredAt = sp.DeliveredAt
		}
		for _, ev := range sp.Events {
			if !slices.ContainsFunc(have.Events, func(e TrackingEvent) bool { return e.At.Equal(ev.At) && e.Status == ev.Status }) {
				have.Events = append(have.Events, ev)
			}
		}
		slices.SortStableFunc(have.Events, func(a, b TrackingEvent) int { return a.At.Compare(b.At) })
		if sp.Status != "" {
			have.Status = sp.Status
		}
		have.settle(now)
	}
	slices.SortStableFunc(m.Shipments, func(a, b Shipment) int { return strings.Compare(a.TrackingNumber, b.TrackingNumber) })
	if m.DeliveredAt == nil {
		m.DeliveredAt = allDelivered(m.Shipments)
	}
	if m.DeliveredAt == nil && cur != nil {
		m.DeliveredAt = cur.DeliveredAt
	}
	return &m
}

// settle fills a shipment's status and delivery time from each other and
// from its events when the shop left them out.
func (sp *Shipment) settle(now time.Time) {
	if sp.Status == "" {
		switch {
		case sp.DeliveredAt != nil:
			sp.Status = ShipDelivered
		case sp.ShippedAt != nil || len(sp.Events) > 0:
			sp.Status = InTransit
		default:
			sp.Status = ShipPending
		}
	}
	if sp.Status == ShipDelivered && sp.DeliveredAt == nil {
		at := now
		for _, ev := range sp.Events {
			if strings.EqualFold(ev.Status, string(ShipDelivered)) {
				at = ev.At
			}
		}
		sp.DeliveredAt = &at
	}
	if sp.ShippedAt == nil && len(sp.Events) > 0 {
		at := sp.Events[0].At
		sp.ShippedAt = &at
	}
}

// allDelivered is when the last of the shipments was delivered, if all
// were; nil otherwise. A replacement's parcel is left out: the order's
// delivery, from which its return windows run, is that of what was sold.
func allDelivered(ss []Shipment) *time.Time {
	var last *time.Time
	for _, sp := range ss {
		if sp.CaseID != "" {
			continue
		}
		if sp.DeliveredAt == nil {
			return nil
		}
		if last == nil || sp.DeliveredAt.After(*last) {
			last = sp.DeliveredAt
		}
	}
	return last
}

// same reports whether a and b mirror the same order: every field the
// shop states, items in order and shipments with their events.
func same(a, b *Order) bool {
	if a.Number != b.Number || a.Status != b.Status || a.CustomerID != b.CustomerID || a.Currency != b.Currency ||
		a.total != b.total || a.paid != b.paid || a.PaymentMethod != b.PaymentMethod || !a.OrderedAt.Equal(b.OrderedAt) ||
		a.ExpectedDelivery != b.ExpectedDelivery || !sameTime(a.DeliveredAt, b.DeliveredAt) || a.ShippingAddress != b.ShippingAddress ||
		a.Note != b.Note || len(a.Items) != len(b.Items) || len(a.Shipments) != len(b.Shipments) {
		return false
	}
	for i, x := range a.Items {
		y := b.Items[i]
		if x.SKU != y.SKU || x.Name != y.Name || x.Quantity != y.Quantity || x.price != y.price || x.TrackingNumber != y.TrackingNumber ||
			x.Origin != y.Origin || x.CaseID != y.CaseID {
			return false
		}
	}
	for i, x := range a.Shipments {
		y := b.Shipments[i]
		if x.TrackingNumber != y.TrackingNumber || x.Carrier != y.Carrier || x.Status != y.Status || x.CaseID != y.CaseID || !sameTime(x.ShippedAt, y.ShippedAt) ||
			!sameTime(x.DeliveredAt, y.DeliveredAt) || !slices.EqualFunc(x.Events, y.Events, func(e, f TrackingEvent) bool {
			return e.At.Equal(f.At) && e.Status == f.Status && e.Description == f.Description && e.Location == f.Location
		}) {
			return false
		}
	}
	return true
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// expectedBy is the instant an expected delivery date ends in loc: when
// an undelivered order becomes late.
func expectedBy(date string, loc *time.Location) *time.Time {
	d, err := calendar.ParseDate(date)
	if err != nil {
		return nil
	}
	t := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc).UTC()
	return &t
}

// fill completes an order read from storage with its derived fields.
func (o *Order) fill(sh *Shop, now time.Time) {
	o.Total, o.Paid = formatMoney(o.total, o.Currency), formatMoney(o.paid, o.Currency)
	for i := range o.Items {
		o.Items[i].UnitPrice = formatMoney(o.Items[i].price, o.Currency)
	}
	if by := expectedBy(o.ExpectedDelivery, sh.Location()); by != nil && o.DeliveredAt == nil && o.Status.underway() {
		o.Overdue = !now.Before(*by)
	}
}

// itemDelivery is when item reached the customer: its shipment's
// delivery when it names one, else the order's. A replacement arrives
// with its own parcel only, so it is undelivered until that is.
func (o *Order) itemDelivery(it Item) *time.Time {
	if it.TrackingNumber != "" {
		for _, sp := range o.Shipments {
			if sp.TrackingNumber == it.TrackingNumber && (sp.DeliveredAt != nil || it.Origin != OriginStore) {
				return sp.DeliveredAt
			}
		}
	}
	if it.Origin != OriginStore {
		return nil
	}
	return o.DeliveredAt
}
