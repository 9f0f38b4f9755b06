package shop

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Replacement is what Kefu sends a customer for an after-sales exchange:
// units of a SKU in a parcel, for a case.
type Replacement struct {
	CaseID, CaseKey string
	SKU             string
	Name            string
	Quantity        int
	Carrier         string
	TrackingNumber  string
}

// AddReplacement records on order orderID, in tx (the transaction of the
// case's step), that a replacement shipped: a line of its own (origin
// exchange, at no charge, in the replacement's parcel, naming the case)
// and the parcel as one of the order's shipments, in transit from now,
// with a first tracking event. The order's status, amounts and delivery
// stay what the store sent; its version moves on and its audit trail
// records the change. A line of the store's that already names this SKU
// and parcel is that replacement, and becomes its line rather than
// counting twice; a parcel the store already sent comes to name the case.
//
// The caller has checked that the actor may take the step: the store
// owns orders, but recording what Kefu sent is the desk's to do. It
// returns the line's id.
func (s *Service) AddReplacement(ctx context.Context, tx *sql.Tx, orderID string, r Replacement) (string, error) {
	r.SKU, r.Name = strings.TrimSpace(r.SKU), strings.TrimSpace(r.Name)
	r.Carrier, r.TrackingNumber = strings.TrimSpace(r.Carrier), strings.TrimSpace(r.TrackingNumber)
	var fs kefu.Fields
	checkCode(&fs, at{}, "sku", r.SKU)
	checkText(&fs, at{}, "name", r.Name, 0, 300)
	if r.Quantity < 1 || r.Quantity > 100000 {
		fs.Add("quantity", "must be a whole number from 1 to 100000")
	}
	checkText(&fs, at{}, "carrier", r.Carrier, 0, 100)
	checkCode(&fs, at{}, "tracking_number", r.TrackingNumber)
	if err := fs.Err(); err != nil {
		return "", err
	}
	if r.CaseID == "" || r.CaseKey == "" {
		return "", fmt.Errorf("shop: a replacement names its case")
	}
	os, err := loadOrders(ctx, tx, `o.id = $1`, "", orderID)
	if err != nil {
		return "", err
	}
	if len(os) == 0 {
		return "", kefu.Errorf(kefu.NotFound, "no order %s", orderID)
	}
	cur := os[0]
	sh, err := s.shop(ctx, tx, cur.Shop)
	if err != nil {
		return "", err
	}
	now := s.Now()
	m := *cur
	m.Items = slices.Clone(cur.Items)
	m.Shipments = make([]Shipment, len(cur.Shipments))
	for i, sp := range cur.Shipments {
		sp.Events = slices.Clone(sp.Events)
		m.Shipments[i] = sp
	}
	line := Item{SKU: r.SKU, Name: r.Name, Quantity: r.Quantity, TrackingNumber: r.TrackingNumber, Origin: OriginExchange,
		CaseID: r.CaseID, CaseKey: r.CaseKey}
	if i := slices.IndexFunc(m.Items, func(it Item) bool {
		return it.Origin == OriginStore && it.SKU == r.SKU && it.TrackingNumber == r.TrackingNumber
	}); i >= 0 {
		line.ID = m.Items[i].ID
		m.Items = slices.Delete(m.Items, i, i+1)
	}
	m.Items = append(m.Items, line)
	if j := slices.IndexFunc(m.Shipments, func(sp Shipment) bool { return sp.TrackingNumber == r.TrackingNumber }); j >= 0 {
		sp := &m.Shipments[j]
		if sp.CaseID == "" {
			sp.CaseID, sp.CaseKey = r.CaseID, r.CaseKey
		}
		if sp.Carrier == "" {
			sp.Carrier = r.Carrier
		}
	} else {
		m.Shipments = append(m.Shipments, Shipment{Carrier: r.Carrier, TrackingNumber: r.TrackingNumber, Status: InTransit, ShippedAt: &now,
			Events: []TrackingEvent{{At: now, Status: string(InTransit), Description: fmt.Sprintf("Replacement for %s: %s × %d", r.CaseKey, r.SKU, r.Quantity)}},
			CaseID: r.CaseID, CaseKey: r.CaseKey})
		slices.SortStableFunc(m.Shipments, func(a, b Shipment) int { return strings.Compare(a.TrackingNumber, b.TrackingNumber) })
	}
	w := newWriter(s.DB.Dialect)
	if err := w.updateOrder(ctx, tx, sh, cur, &m, now); err != nil {
		return "", err
	}
	if err := database.ExecBulk(ctx, tx, w.items, w.shipments, w.events); err != nil {
		return "", fmt.Errorf("shop: replacement: %w", err)
	}
	if err := audit.RecordAll(ctx, tx, s.DB.Dialect, now, w.entries); err != nil {
		return "", err
	}
	return m.Items[len(m.Items)-1].ID, nil
}
