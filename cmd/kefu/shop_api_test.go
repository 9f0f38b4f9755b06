package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/shop"
)

// ---- Shops, products and orders ----

// webhook posts a store's delivery signed with secret at the given time.
func (c *apiClient) webhook(code, secret string, at time.Time, body []byte, signature ...string) response {
	c.t.Helper()
	sig := shop.Sign(secret, at.Unix(), body)
	if len(signature) > 0 {
		sig = signature[0]
	}
	return c.do("POST", "/shops/"+code+"/webhook", string(body), "Kefu-Timestamp", strconv.FormatInt(at.Unix(), 10), "Kefu-Signature", sig)
}

// exerciseShop walks the shop routes: an administrator sets a shop up, an
// integration token feeds the catalogue and orders (idempotent creates,
// upserts with If-Match), the store's signed webhook is accepted once and
// refused when forged or replayed, and an agent reads the order of a
// ticket but changes nothing.
func exerciseShop(t *testing.T, app *App, c *apiClient) {
	// The blocks before left the client signed in as the admin.
	bad := c.want(c.do("POST", "/shops", map[string]any{"code": "Tian He", "name": "天河", "timezone": "Asia/Beijing", "currency": "rmb"}), 422)
	for _, f := range []string{"body.code", "body.timezone", "body.currency"} {
		if !strings.Contains(string(bad.body), `"`+f+`"`) {
			t.Errorf("bad shop: no error for %s in %s", f, bad.body)
		}
	}
	created := c.want(c.do("POST", "/shops", map[string]any{"code": "tianhe", "name": "天河新盟服饰", "timezone": "Asia/Shanghai", "currency": "CNY",
		"terms": map[string]any{"return_days": 7, "exchange_days": 15, "repair_days": 90}}, "Idempotency-Key", "shop-1"), 201)
	var setup struct {
		Shop          shop.Shop `json:"shop"`
		WebhookSecret string    `json:"webhook_secret"`
	}
	created.json(t, &setup)
	if !strings.HasPrefix(setup.WebhookSecret, "kfwh_") {
		t.Fatalf("no webhook secret: %s", created.body)
	}
	c.want(c.do("GET", "/shops", nil), 200)
	c.want(c.do("GET", "/shops/tianhe", nil), 200)
	c.want(c.do("PATCH", "/shops/tianhe", map[string]any{"notify_delay": true, "terms": map[string]any{"return_days": 7, "exchange_days": 15, "repair_days": 180}}, "If-Match", `"1"`), 200)
	c.want(c.do("PATCH", "/shops/tianhe", map[string]any{"name": "stale"}, "If-Match", `"1"`), 412)
	rotated := c.want(c.do("POST", "/shops/tianhe/secret", nil), 200)
	secret := rotated.field(t, "webhook_secret")

	// The shop's integration: a token with the shop scopes.
	tok := c.want(c.do("POST", "/tokens", map[string]any{"name": "tianhe store", "scopes": []string{"shop:read", "shop:write"}}), 201)
	store := c.as(tok.field(t, "token"))

	// Products: an idempotent create, an upsert, a stale one, a new one.
	dress := map[string]any{"code": "DRS-001", "name": "真丝连衣裙", "supplier": "杭州丝绸厂", "material": "100% 桑蚕丝",
		"skus": []map[string]any{
			{"code": "DRS-001-M-RED", "size": "M", "colour": "红", "price": "599.00", "stock_quantity": 12},
			{"code": "DRS-001-M-SALE", "size": "M", "colour": "灰", "price": "299.00", "terms": map[string]any{"return_days": 0}},
		}}
	p1 := store.want(store.do("POST", "/products", dress, "Idempotency-Key", "dress-1"), 201)
	p2 := store.want(store.do("POST", "/products", dress, "Idempotency-Key", "dress-1"), 201)
	if p1.field(t, "id") != p2.field(t, "id") || p2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retried create made a second product: %s / %s", p1.body, p2.body)
	}
	store.want(store.do("POST", "/products", dress), 409)
	dress["skus"] = []map[string]any{{"code": "DRS-001-M-RED", "size": "M", "colour": "红", "price": "559.00", "stock_status": "low_stock"}}
	if up := store.want(store.do("PUT", "/products/DRS-001", dress, "If-Match", `"1"`), 200); up.header.Get("ETag") != `"2"` {
		t.Errorf("upsert ETag %s", up.header.Get("ETag"))
	}
	if stale := store.want(store.do("PUT", "/products/DRS-001", dress, "If-Match", `"1"`), 412); !strings.Contains(string(stale.body), `"current"`) {
		t.Errorf("412 without the current product: %s", stale.body)
	}
	badProduct := store.want(store.do("PUT", "/products/TOP-1", map[string]any{"name": " ", "skus": []map[string]any{{"code": "TOP-1-S", "price": "9.999"}}}), 422)
	for _, f := range []string{"body.name", "body.skus[0].price"} {
		if !strings.Contains(string(badProduct.body), `"`+f+`"`) {
			t.Errorf("bad product: no error for %s in %s", f, badProduct.body)
		}
	}
	top := store.want(store.do("PUT", "/products/TOP-1", map[string]any{"name": "T-shirt", "skus": []map[string]any{{"code": "TOP-1-S", "price": "99"}}}), 201)
	if top.header.Get("Location") == "" {
		t.Errorf("created by PUT without a Location")
	}
	store.want(store.do("PUT", "/products/TOP-2", map[string]any{"code": "TOP-3", "name": "x", "skus": []map[string]any{{"code": "X", "price": "1"}}}), 422)
	store.want(store.do("GET", "/products?supplier=%E6%9D%AD%E5%B7%9E%E4%B8%9D%E7%BB%B8%E5%8E%82&limit=10", nil), 200)
	store.want(store.do("GET", "/products/DRS-001", nil), 200)
	store.want(store.do("GET", "/products/"+p1.field(t, "id")+"/audit", nil), 200)
	if sku := store.want(store.do("GET", "/skus/DRS-001-M-SALE", nil), 200); !strings.Contains(string(sku.body), `"archived":true`) {
		t.Errorf("the SKU dropped from its product is not archived: %s", sku.body)
	}

	// Orders: the number of the ticket created earlier, so it links.
	order := map[string]any{"number": "so-88001", "status": "paid", "ordered_at": app.Now().Add(-2 * time.Hour), "expected_delivery": app.Now().Add(72 * time.Hour).Format(time.DateOnly),
		"customer": map[string]any{"email": "wang.fang@example.cn"},
		"items":    []map[string]any{{"sku": "DRS-001-M-RED", "name": "真丝连衣裙 红 M", "quantity": 1, "unit_price": "559.00"}}}
	o1 := store.want(store.do("POST", "/orders", order, "Idempotency-Key", "so-88001"), 201)
	o2 := store.want(store.do("POST", "/orders", order, "Idempotency-Key", "so-88001"), 201)
	if o1.field(t, "id") != o2.field(t, "id") {
		t.Fatal("a retried create made a second order")
	}
	if same := store.want(store.do("PUT", "/orders/SO-88001", order), 200); same.header.Get("ETag") != `"1"` {
		t.Errorf("an unchanged upsert changed the version: %s", same.header.Get("ETag"))
	}
	order["status"] = "shipped"
	order["shipments"] = []map[string]any{{"carrier": "顺丰速运", "tracking_number": "SF1234567890", "shipped_at": app.Now().Add(-time.Hour)}}
	store.want(store.do("PUT", "/orders/SO-88001", order, "If-Match", `"1"`), 200)
	stale := store.want(store.do("PUT", "/orders/SO-88001", order, "If-Match", `"1"`), 412)
	if stale.header.Get("ETag") != `"2"` || !strings.Contains(string(stale.body), `"current"`) {
		t.Errorf("412 without the current order: %s %s", stale.header, stale.body)
	}
	badOrder := store.want(store.do("POST", "/orders", map[string]any{"number": "SO-X", "ordered_at": app.Now(), "customer": map[string]any{"email": "not an address"},
		"items": []map[string]any{{"sku": "A", "quantity": 1, "unit_price": "1.2.3"}}}), 422)
	for _, f := range []string{"body.customer.email", "body.items[0].unit_price"} {
		if !strings.Contains(string(badOrder.body), `"`+f+`"`) {
			t.Errorf("bad order: no error for %s in %s", f, badOrder.body)
		}
	}
	second := map[string]any{"ordered_at": app.Now().Add(-30 * 24 * time.Hour), "status": "delivered", "delivered_at": app.Now().Add(-25 * 24 * time.Hour),
		"customer": map[string]any{"phone": "+86 139 0000 1111"}, "items": []map[string]any{{"sku": "TOP-1-S", "quantity": 2, "unit_price": "99"}}}
	if o := store.want(store.do("PUT", "/orders/SO-88002", second), 201); o.header.Get("Location") == "" {
		t.Error("created by PUT without a Location")
	}
	store.want(store.do("PUT", "/orders/SO-88001/shipments/SF1234567890", map[string]any{"status": "in_transit",
		"events": []map[string]any{{"at": app.Now().Add(-30 * time.Minute), "status": "in_transit", "description": "运输中", "location": "杭州"}}}), 200)
	store.want(store.do("GET", "/orders?status=shipped,paid&limit=10", nil), 200)
	if late := store.want(store.do("GET", "/orders?overdue=true&sku=DRS-001-M-RED", nil), 200); strings.Contains(string(late.body), "SO-88001") {
		t.Errorf("an order expected in three days is overdue: %s", late.body)
	}
	got := store.want(store.do("GET", "/orders/SO-88001", nil), 200)
	if !strings.Contains(string(got.body), `"confirmation"`) || !strings.Contains(string(got.body), "运输中") {
		t.Errorf("order without its confirmation notice or tracking: %.1500s", got.body)
	}
	el := store.want(store.do("GET", "/orders/SO-88002/eligibility?kind=return&reason=size_fit", nil), 200)
	if !strings.Contains(string(el.body), `"eligible":false`) || !strings.Contains(string(el.body), "Returns close 7 days after delivery") {
		t.Errorf("eligibility of an order delivered 25 days ago: %s", el.body)
	}
	store.want(store.do("GET", "/orders/SO-88002/eligibility?kind=swap", nil), 422)
	store.want(store.do("GET", "/orders/"+o1.field(t, "id")+"/audit", nil), 200)

	// The store's webhook: accepted once, refused replayed, forged or late.
	ev, _ := json.Marshal(map[string]any{"id": "evt-1", "type": "shipment.upsert", "shipment": map[string]any{"order_number": "SO-88001",
		"tracking_number": "SF1234567890", "status": "delivered", "delivered_at": app.Now().Add(-5 * time.Minute)}})
	anon := c.as("")
	now := time.Now()
	if ok := anon.want(anon.webhook("tianhe", secret, now, ev), 200); !strings.Contains(string(ok.body), `"result":"updated"`) {
		t.Errorf("webhook: %s", ok.body)
	}
	anon.want(anon.webhook("tianhe", secret, now, ev), 409)
	anon.want(anon.webhook("tianhe", secret, now.Add(time.Second), ev, shop.Sign("kfwh_forged", now.Add(time.Second).Unix(), ev)), 401)
	anon.want(anon.webhook("tianhe", secret, now.Add(-10*time.Minute), ev), 401)
	anon.want(anon.webhook("nowhere", secret, now, ev), 401)
	badEvent := anon.want(anon.webhook("tianhe", secret, now.Add(2*time.Second), []byte(`{"type":"order.upsert","order":{"number":"SO-9","ordered_at":"2025-05-01T10:00:00Z","customer":{"email":"a@example.cn"},"items":[{"sku":"A","quantity":0,"unit_price":"1"}]}}`)), 422)
	if !strings.Contains(string(badEvent.body), `"body.order.items[0].quantity"`) {
		t.Errorf("bad event: %s", badEvent.body)
	}

	// An agent sees a ticket's order beside the conversation, and cannot
	// change orders; a token without the shop scope cannot read them.
	agent := c.as("")
	agent.want(agent.do("POST", "/auth/login", map[string]string{"email": "li@shop.cn", "password": "agent password 2"}), 200)
	var tickets struct{ Tickets []struct{ ID string } }
	agent.want(agent.do("GET", "/tickets?order_number=SO-88001", nil), 200).json(t, &tickets)
	if len(tickets.Tickets) == 0 {
		t.Fatal("no ticket names SO-88001")
	}
	linked := agent.want(agent.do("GET", "/tickets/"+tickets.Tickets[0].ID+"/order", nil), 200)
	if linked.field(t, "number") != "SO-88001" || !strings.Contains(string(linked.body), `"status":"delivered"`) {
		t.Errorf("the ticket's order: %.800s", linked.body)
	}
	agent.want(agent.do("PUT", "/orders/SO-88001", order), 403)
	reader := c.want(c.do("POST", "/tokens", map[string]any{"name": "tickets only", "scopes": []string{"tickets:read"}}), 201)
	c.as(reader.field(t, "token")).want(c.as(reader.field(t, "token")).do("GET", "/orders", nil), 403)
	// Only an administrator's token may write the shop.
	agent.want(agent.do("POST", "/tokens", map[string]any{"name": "agent integration", "scopes": []string{"shop:write"}}), 422)
}
