package shop_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
)

func event(t *testing.T, ev shop.WebhookEvent) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhook(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		now := e.clock.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		in := order("SO-7001")
		body := event(t, shop.WebhookEvent{ID: "evt_1", Type: shop.EventOrder, Order: &in})
		sig := shop.Sign(e.secret, now.Unix(), body)

		// Refused: a wrong secret, a changed body, a stale or future
		// timestamp, no timestamp, an unknown shop.
		for name, tc := range map[string]struct {
			code, ts, sig string
			body          []byte
		}{
			"wrong secret":    {"tianhe", ts, shop.Sign("kfwh_guess", now.Unix(), body), body},
			"tampered body":   {"tianhe", ts, sig, append([]byte(" "), body...)},
			"stale":           {"tianhe", strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), shop.Sign(e.secret, now.Add(-6*time.Minute).Unix(), body), body},
			"from the future": {"tianhe", strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), shop.Sign(e.secret, now.Add(6*time.Minute).Unix(), body), body},
			"no timestamp":    {"tianhe", "", sig, body},
			"unknown shop":    {"nanbei", ts, sig, body},
			"no signature":    {"tianhe", ts, "", body},
		} {
			if _, err := e.s.Receive(e.ctx, tc.code, tc.ts, tc.sig, tc.body); !kefu.IsCode(err, kefu.Unauthorized) {
				t.Errorf("%s: got %v, want unauthorized", name, err)
			}
		}
		if page, _ := e.s.Orders(e.ctx, shop.OrderFilter{}); len(page.Orders) != 0 {
			t.Fatalf("a refused delivery stored an order")
		}

		// Accepted once; the exact same request again is a replay.
		res, err := e.s.Receive(e.ctx, "tianhe", ts, sig, body)
		if err != nil || res.Result != shop.Created || res.Key != "SO-7001" || res.EventID != "evt_1" {
			t.Fatalf("accepted: %+v %v", res, err)
		}
		if _, err := e.s.Receive(e.ctx, "tianhe", ts, sig, body); !kefu.IsCode(err, kefu.Conflict) {
			t.Fatalf("replay: %v", err)
		}
		// A retry signed afresh is accepted and changes nothing.
		e.clock.Set(now.Add(2 * time.Second))
		later := now.Add(2 * time.Second).Unix()
		res, err = e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(later, 10), shop.Sign(e.secret, later, body), body)
		if err != nil || res.Result != shop.Unchanged || res.Version != 1 {
			t.Fatalf("fresh retry: %+v %v", res, err)
		}
		entries, _ := audit.List(e.ctx, db.Read, audit.Filter{Entity: "order", EntityID: res.ID})
		if len(entries) != 1 || entries[0].ActorID != "webhook:tianhe" {
			t.Errorf("audit names the webhook: %+v", entries)
		}

		// A shipment event, a product event, and bad bodies naming fields.
		send := func(ev shop.WebhookEvent) (*shop.WebhookResult, error) {
			b := event(t, ev)
			e.clock.Set(e.clock.Now().Add(time.Second)) // each delivery signed anew
			at := e.clock.Now().Unix()
			return e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(at, 10), shop.Sign(e.secret, at, b), b)
		}
		res, err = send(shop.WebhookEvent{Type: shop.EventShipment, Shipment: &shop.ShipmentOfOrder{OrderNumber: "so-7001",
			ShipmentInput: shop.ShipmentInput{Carrier: "中通快递", TrackingNumber: "ZT777", ShippedAt: ptr(now)}}})
		if err != nil || res.Result != shop.Updated || res.Version != 2 {
			t.Fatalf("shipment event: %+v %v", res, err)
		}
		p := dress()
		res, err = send(shop.WebhookEvent{Type: shop.EventProduct, Product: &p})
		if err != nil || res.Result != shop.Created || res.Key != "DRS-001" {
			t.Fatalf("product event: %+v %v", res, err)
		}
		res, err = send(shop.WebhookEvent{Type: shop.EventProduct, Product: &p})
		if err != nil || res.Result != shop.Unchanged || res.Version != 1 {
			t.Fatalf("product event again: %+v %v", res, err)
		}
		bad := order("SO-7002")
		bad.Items[0].Quantity = 0
		bad.Shop = "nanbei"
		_, err = send(shop.WebhookEvent{Type: shop.EventOrder, Order: &bad})
		wantFields(t, err, kefu.Invalid, "order.shop")
		bad.Shop = ""
		_, err = send(shop.WebhookEvent{Type: shop.EventOrder, Order: &bad})
		wantFields(t, err, kefu.Invalid, "order.items[0].quantity")
		_, err = send(shop.WebhookEvent{Type: shop.EventShipment, Shipment: &shop.ShipmentOfOrder{OrderNumber: "SO-404", ShipmentInput: shop.ShipmentInput{TrackingNumber: "X"}}})
		wantFields(t, err, kefu.Invalid, "shipment.order_number")
		_, err = send(shop.WebhookEvent{Type: "order.delete"})
		wantFields(t, err, kefu.Invalid, "type")
		raw := []byte(`{"type": "order.upsert", "order": {"number": 42}}`)
		at := e.clock.Now().Unix()
		_, err = e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(at, 10), shop.Sign(e.secret, at, raw), raw)
		wantFields(t, err, kefu.Invalid, "order.number")

		// After a rotation the old secret verifies for a day, then not.
		_, fresh, err := e.s.RotateSecret(e.ctx, "tianhe")
		if err != nil || fresh == e.secret {
			t.Fatalf("rotate: %v", err)
		}
		at = e.clock.Now().Unix()
		body = event(t, shop.WebhookEvent{Type: shop.EventOrder, Order: &in})
		if _, err := e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(at, 10), shop.Sign(e.secret, at, body), body); err != nil {
			t.Errorf("the old secret during its grace: %v", err)
		}
		e.clock.Set(e.clock.Now().Add(25 * time.Hour))
		at = e.clock.Now().Unix()
		if _, err := e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(at, 10), shop.Sign(e.secret, at, body), body); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Errorf("the old secret after its grace: %v", err)
		}
		if _, err := e.s.Receive(e.ctx, "tianhe", strconv.FormatInt(at, 10), "v1=00,"+shop.Sign(fresh, at, body), body); err != nil {
			t.Errorf("the new secret among several signatures: %v", err)
		}
		if n, err := e.s.PruneDeliveries(e.ctx); err != nil || n < 5 {
			t.Errorf("pruned %d deliveries: %v", n, err)
		}
	})
}
