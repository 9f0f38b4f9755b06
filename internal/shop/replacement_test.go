package shop_test

import (
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
)

// TestReplacementLines: an exchange's replacement goes on its order as a
// line of Kefu's and a shipment naming the case; whatever the store
// sends afterwards (API, shipment, webhook, CSV) keeps both, once.
func TestReplacementLines(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		if _, err := e.s.CreateProduct(e.ctx, dress()); err != nil {
			t.Fatal(err)
		}
		in := order("SO-1001")
		in.Status = shop.Delivered
		in.Shipments = []shop.ShipmentInput{{Carrier: "顺丰速运", TrackingNumber: "SF100", DeliveredAt: ptr(cst("2025-05-03 09:00"))}}
		o, err := e.s.CreateOrder(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		caseID := kefu.NewID()
		add := func(orderID string, r shop.Replacement) (string, error) {
			var id string
			err := db.InTx(e.ctx, func(tx *sql.Tx) error {
				var err error
				id, err = e.s.AddReplacement(e.ctx, tx, orderID, r)
				return err
			})
			return id, err
		}
		swap := shop.Replacement{CaseID: caseID, CaseKey: "AS-1001", SKU: "DRS-001-L-RED", Name: "真丝连衣裙 红 L", Quantity: 1,
			Carrier: "顺丰速运", TrackingNumber: "SF200"}

		bad := swap
		bad.Quantity, bad.TrackingNumber = 0, "SF/200"
		_, err = add(o.ID, bad)
		wantFields(t, err, kefu.Invalid, "quantity", "tracking_number")

		e.clock.Set(cst("2025-05-10 11:00"))
		lineID, err := add(o.ID, swap)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.s.Order(e.ctx, "", "SO-1001")
		if err != nil {
			t.Fatal(err)
		}
		want := func(got *shop.Order, step string) {
			t.Helper()
			if len(got.Items) != 3 || got.Items[0].Origin != shop.OriginStore || got.Items[0].ID != o.Items[0].ID {
				t.Fatalf("%s: items %+v", step, got.Items)
			}
			r := got.Items[2]
			if r.ID != lineID || r.Origin != shop.OriginExchange || r.CaseID != caseID || r.CaseKey != "AS-1001" || r.SKU != "DRS-001-L-RED" ||
				r.Quantity != 1 || r.UnitPrice != "0.00" || r.TrackingNumber != "SF200" {
				t.Fatalf("%s: replacement line %+v", step, r)
			}
			i := slices.IndexFunc(got.Shipments, func(sp shop.Shipment) bool { return sp.TrackingNumber == "SF200" })
			if len(got.Shipments) != 2 || i < 0 || got.Shipments[i].CaseKey != "AS-1001" || got.Shipments[i].CaseID != caseID {
				t.Fatalf("%s: shipments %+v", step, got.Shipments)
			}
			// The delivery the return windows run from is the store's.
			if got.DeliveredAt == nil || !got.DeliveredAt.Equal(cst("2025-05-03 09:00")) {
				t.Fatalf("%s: order delivered %v", step, got.DeliveredAt)
			}
		}
		want(got, "added")
		if got.Total != "644.00" || got.Paid != "644.00" || got.Status != shop.Delivered {
			t.Errorf("the store's amounts and status changed: %s, paid %s, %s", got.Total, got.Paid, got.Status)
		}
		sp := got.Shipments[slices.IndexFunc(got.Shipments, func(sp shop.Shipment) bool { return sp.TrackingNumber == "SF200" })]
		if sp.Status != shop.InTransit || sp.Carrier != "顺丰速运" || sp.ShippedAt == nil || len(sp.Events) != 1 ||
			!strings.Contains(sp.Events[0].Description, "AS-1001") {
			t.Errorf("the replacement's parcel: %+v", sp)
		}
		if got.Version != 2 || got.Items[2].DeliveredAt != nil {
			t.Errorf("version %d; the replacement delivered %v before its parcel", got.Version, got.Items[2].DeliveredAt)
		}
		entries, err := audit.List(e.ctx, db.Read, audit.Filter{Entity: "order", EntityID: o.ID})
		if err != nil || len(entries) != 2 || !strings.Contains(fmtChange(entries[0].Changes["items"]), "replacement for AS-1001") {
			t.Fatalf("audit of the replacement: %+v %v", entries, err)
		}

		// The store sends the order again as it has it: nothing changes.
		_, result, err := e.s.UpsertOrder(e.ctx, in, 0)
		if err != nil || result != shop.Unchanged {
			t.Fatalf("the store's order again: %s %v", result, err)
		}
		// The store changes its order: its lines and amounts change,
		// Kefu's line and parcel stay.
		in.Status, in.Paid = shop.Completed, "600.00"
		in.Items[1].Quantity = 2
		got, result, err = e.s.UpsertOrder(e.ctx, in, 0)
		if err != nil || result != shop.Updated || got.Items[1].Quantity != 2 || got.Paid != "600.00" || got.Total != "629.00" {
			t.Fatalf("the store's change: %s %+v %v", result, got, err)
		}
		want(got, "after the store's change")

		// The store records the replacement itself: a line of its SKU in
		// its parcel. It is Kefu's line, not a second one.
		in.Items = append(in.Items, shop.ItemInput{SKU: "DRS-001-L-RED", Name: "换货 L", Quantity: 1, UnitPrice: "0", TrackingNumber: "SF200"})
		got, result, err = e.s.UpsertOrder(e.ctx, in, 0)
		if err != nil || result != shop.Unchanged {
			t.Fatalf("the store's own replacement line: %s %+v %v", result, got.Items, err)
		}
		want(got, "the store's own replacement line")
		// The carrier delivers the replacement: its line is delivered, the
		// order's delivery stays that of what was sold.
		got, _, err = e.s.UpsertShipment(e.ctx, "", "SO-1001", shop.ShipmentInput{TrackingNumber: "SF200", DeliveredAt: ptr(cst("2025-05-12 15:00"))})
		if err != nil || got.Items[2].DeliveredAt == nil || !got.Items[2].DeliveredAt.Equal(cst("2025-05-12 15:00")) ||
			!got.DeliveredAt.Equal(cst("2025-05-03 09:00")) || got.Items[2].Windows[1].Kind != shop.Exchange || got.Items[2].Windows[1].LastDay != "2025-05-27" {
			t.Fatalf("the replacement delivered: %+v %v", got, err)
		}
		if got.Shipments[1].CaseKey != "AS-1001" || len(got.Shipments[1].Events) != 1 {
			t.Errorf("the store's update of the replacement's parcel: %+v", got.Shipments[1])
		}

		// The webhook and a CSV import keep it too.
		whOrder := order("SO-1001")
		whOrder.Status = shop.Completed
		body := event(t, shop.WebhookEvent{ID: "evt_9", Type: shop.EventOrder, Order: &whOrder})
		now := e.clock.Now().Unix()
		if _, err := e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(now, 10), shop.Sign(e.secret, now, body), body); err != nil {
			t.Fatal(err)
		}
		csv := "order_number,ordered_at,status,customer_email,sku,item_name,quantity,unit_price\n" +
			"SO-1001,2025-05-02 20:15,completed,wang.fang@example.cn,DRS-001-M-RED,真丝连衣裙 红 M,1,599.00\n"
		if _, err := e.s.ImportOrders(e.ctx, strings.NewReader(csv), shop.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err = e.s.Order(e.ctx, "", "SO-1001")
		if err != nil || len(got.Items) != 2 || got.Items[0].Origin != shop.OriginStore || got.Items[1].ID != lineID ||
			got.Items[1].Origin != shop.OriginExchange || len(got.Shipments) != 2 || got.Total != "599.00" {
			t.Fatalf("after the webhook and an import: %+v %v", got, err)
		}
		page, err := e.s.Orders(e.ctx, shop.OrderFilter{SKU: "DRS-001-L-RED"})
		if err != nil || len(page.Orders) != 1 || page.Orders[0].Items[1].CaseKey != "AS-1001" {
			t.Errorf("orders holding the replacement's SKU: %+v %v", page, err)
		}

		// A store that recorded the parcel and its line before Kefu did:
		// the line becomes the replacement's, the parcel names the case.
		in2 := order("SO-1002")
		in2.Items = append(in2.Items, shop.ItemInput{SKU: "DRS-001-L-RED", Quantity: 1, UnitPrice: "0.00", TrackingNumber: "YT300"})
		in2.Shipments = []shop.ShipmentInput{{Carrier: "圆通速递", TrackingNumber: "YT300"}}
		o2, err := e.s.CreateOrder(e.ctx, in2)
		if err != nil {
			t.Fatal(err)
		}
		early := swap
		early.CaseID, early.CaseKey, early.TrackingNumber, early.Carrier = kefu.NewID(), "AS-1002", "YT300", ""
		id2, err := add(o2.ID, early)
		if err != nil {
			t.Fatal(err)
		}
		got, err = e.s.Order(e.ctx, "", "SO-1002")
		if err != nil || len(got.Items) != 3 || id2 != o2.Items[2].ID || got.Items[2].Origin != shop.OriginExchange || got.Items[2].CaseKey != "AS-1002" ||
			len(got.Shipments) != 1 || got.Shipments[0].CaseKey != "AS-1002" || got.Shipments[0].Carrier != "圆通速递" || len(got.Shipments[0].Events) != 0 {
			t.Fatalf("a replacement the store recorded first: %+v %v", got, err)
		}
		if _, result, err := e.s.UpsertOrder(e.ctx, in2, 0); err != nil || result != shop.Unchanged {
			t.Errorf("the store's order again: %s %v", result, err)
		}
	})
}

func fmtChange(c audit.Change) string {
	var b strings.Builder
	for _, v := range []any{c.Before, c.After} {
		if xs, ok := v.([]any); ok {
			for _, x := range xs {
				b.WriteString(" ")
				b.WriteString(x.(string))
			}
		} else if xs, ok := v.([]string); ok {
			b.WriteString(strings.Join(xs, " "))
		}
	}
	return b.String()
}
