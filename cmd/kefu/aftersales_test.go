package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// manualClock is the one clock every service of a scenario reads; the
// test moves it.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC().Truncate(time.Microsecond)
	c.mu.Unlock()
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// caseView is what the scenarios read of a case.
type caseView struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	Kind        string `json:"kind"`
	Step        string `json:"step"`
	Open        bool   `json:"open"`
	Version     int    `json:"version"`
	Eligible    bool   `json:"eligible"`
	Amount      string `json:"amount"`
	Refunded    string `json:"refunded"`
	Responsible string `json:"responsible"`
	OwnerID     string `json:"owner_id"`
	Eligibility []struct {
		Eligible      bool   `json:"eligible"`
		Explanation   string `json:"explanation"`
		ExplanationZh string `json:"explanation_zh"`
	} `json:"eligibility"`
	Override *struct{ Reason, By string } `json:"override"`
	Refusal  *struct {
		Rule          string `json:"rule"`
		Explanation   string `json:"explanation"`
		ExplanationZh string `json:"explanation_zh"`
	} `json:"refusal"`
	Items []struct {
		SKU                      string `json:"sku"`
		Quantity                 int    `json:"quantity"`
		Received, Passed, Failed int
	} `json:"items"`
	Remedies []struct {
		ID, Kind, State, Amount, Code, Reference string
		ApprovedBy                               string     `json:"approved_by"`
		DueAt                                    *time.Time `json:"due_at"`
	} `json:"remedies"`
	Deadlines []struct {
		Target, State string
		DueAt         time.Time  `json:"due_at"`
		BreachedAt    *time.Time `json:"breached_at"`
		Level         int        `json:"escalation_level"`
	} `json:"deadlines"`
	Notices []struct{ Subject, State, Language, Detail string } `json:"notices"`
	History []struct {
		Action, Step, By string
		Public           bool
	} `json:"history"`
	Inspections []struct {
		Round  int
		Passed bool
	} `json:"inspections"`
	Consent *struct {
		Accepted bool
		Channel  string
		Words    string
	} `json:"consent"`
	Exchange *struct {
		SKU, Name, Carrier string
		Quantity           int
		TrackingNumber     string `json:"tracking_number"`
		OrderItemID        string `json:"order_item_id"`
	} `json:"exchange"`
	Next []string `json:"next"`
}

// orderView is what the scenarios read of an order.
type orderView struct {
	Version int    `json:"version"`
	Total   string `json:"total"`
	Status  string `json:"status"`
	Items   []struct {
		ID, SKU, Name, Origin string
		Quantity              int
		UnitPrice             string `json:"unit_price"`
		TrackingNumber        string `json:"tracking_number"`
		CaseID                string `json:"case_id"`
		CaseKey               string `json:"case_key"`
	} `json:"items"`
	Shipments []struct {
		Carrier, Status string
		TrackingNumber  string `json:"tracking_number"`
		CaseKey         string `json:"case_key"`
		Events          []struct{ Status, Description string }
	} `json:"shipments"`
}

type scenario struct {
	t                 *testing.T
	app               *App
	clk               *manualClock
	admin, sup, agent *apiClient
	supID, agentID    string
	ctx               context.Context
}

// newScenario starts Kefu at Monday 12 May 2025 10:00 in Shanghai with a
// shop (returns 7 days, exchanges 15, repairs 90; lingerie not returnable
// for personal reasons), the seed-002 calendar for working days, and an
// administrator, a supervisor and an agent signed in.
func newScenario(t *testing.T, db *database.DB) *scenario {
	clk := &manualClock{}
	clk.set(time.Date(2025, 5, 12, 10, 0, 0, 0, shanghai))
	app, c := startAPIAt(t, db, clk.Now)
	ctx := kefu.WithActor(context.Background(), kefu.System)
	s := &scenario{t: t, app: app, clk: clk, ctx: ctx}
	for _, st := range []team.NewStaff{
		{Email: "boss@shop.cn", Name: "老板", Role: kefu.RoleAdmin, Password: "correct horse battery"},
		{Email: "zhang@shop.cn", Name: "张主管", Role: kefu.RoleSupervisor, Password: "supervisor pass 1"},
		{Email: "li@shop.cn", Name: "李娜", Role: kefu.RoleAgent, Password: "agent password 1"},
	} {
		made, err := app.Team.CreateStaff(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		cl := c.as("")
		cl.want(cl.do("POST", "/auth/login", map[string]string{"email": st.Email, "password": st.Password}), 200)
		switch st.Role {
		case kefu.RoleAdmin:
			s.admin = cl
		case kefu.RoleSupervisor:
			s.sup, s.supID = cl, made.ID
		default:
			s.agent, s.agentID = cl, made.ID
		}
	}
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	cal := s.admin.want(s.admin.do("POST", "/calendars", map[string]any{"name": "Nanbei Chao", "timezone": "Asia/Shanghai", "include": []string{"cn-statutory"},
		"weekly": map[string]any{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}), 201)
	settings := s.admin.want(s.admin.do("GET", "/aftersales/settings", nil), 200)
	var st map[string]any
	settings.json(t, &st)
	st["calendar_id"] = cal.field(t, "id")
	st["return_address"] = "杭州市西湖区文三路 100 号 天河售后部"
	s.admin.want(s.admin.do("PUT", "/aftersales/settings", st, "If-Match", settings.header.Get("ETag")), 200)

	seven, fifteen, ninety, yes := 7, 15, 90, true
	if _, _, err := app.Shop.CreateShop(ctx, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰", Timezone: "Asia/Shanghai", Currency: "CNY",
		Terms: shop.Terms{ReturnDays: &seven, ExchangeDays: &fifteen, RepairDays: &ninety}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []shop.ProductInput{
		{Code: "DRS-001", Name: "真丝连衣裙", Supplier: "杭州丝绸厂", SKUs: []shop.SKUInput{{Code: "DRS-001-M", Size: "M", Price: "599.00"}, {Code: "DRS-001-L", Size: "L", Price: "599.00"}}},
		{Code: "TEE-001", Name: "棉质T恤", Supplier: "广州制衣", SKUs: []shop.SKUInput{{Code: "TEE-001-S", Size: "S", Price: "99.00"}}},
		{Code: "BRA-001", Name: "蕾丝文胸", Supplier: "佛山内衣", Terms: shop.Terms{NonReturnable: &yes, NonReturnableNote: "贴身衣物"},
			SKUs: []shop.SKUInput{{Code: "BRA-001-75B", Size: "75B", Price: "259.00"}}},
	} {
		if _, _, err := app.Shop.UpsertProduct(ctx, p, 0); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// order stores a delivered (or not yet delivered) order of the customer
// with email and opens a ticket naming it.
func (s *scenario) order(number, email string, ordered time.Time, delivered *time.Time, items ...shop.ItemInput) string {
	s.t.Helper()
	status := shop.Shipped
	if delivered != nil {
		status = shop.Delivered
	}
	if _, err := s.app.Shop.CreateOrder(s.ctx, shop.OrderInput{Number: number, Status: status, Customer: shop.CustomerRef{Email: email, Language: "zh-CN"},
		PaymentMethod: "alipay", OrderedAt: ordered, DeliveredAt: delivered, Items: items}); err != nil {
		s.t.Fatal(err)
	}
	tk, err := s.app.Tickets.Create(s.ctx, ticket.NewTicket{Subject: "订单 " + number + " 售后", Channel: "portal", Category: "return_exchange",
		OrderNumber: number, Customer: ticket.CustomerRef{Email: email}, Message: ticket.NewMessage{Text: "我想申请售后"}})
	if err != nil {
		s.t.Fatal(err)
	}
	return tk.Key
}

func (s *scenario) open(c *apiClient, status int, body map[string]any) (caseView, response) {
	s.t.Helper()
	r := c.want(c.do("POST", "/aftersales/cases", body), status)
	var v caseView
	if status < 300 {
		r.json(s.t, &v)
	}
	return v, r
}

// act takes an action with the case's ETag and wants status.
func (s *scenario) act(c *apiClient, v caseView, status int, body map[string]any) (caseView, response) {
	s.t.Helper()
	r := c.want(c.do("POST", "/aftersales/cases/"+v.ID+"/actions", body, "If-Match", fmt.Sprintf(`"%d"`, v.Version)), status)
	if status >= 300 {
		return v, r
	}
	var out caseView
	r.json(s.t, &out)
	return out, r
}

func (s *scenario) get(id string) caseView {
	s.t.Helper()
	var v caseView
	s.agent.want(s.agent.do("GET", "/aftersales/cases/"+id, nil), 200).json(s.t, &v)
	return v
}

func at(day, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+clock, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// photo is a tiny JPEG-labelled file, as a phone would send.
var photo = map[string]any{"filename": "拉链.jpg", "content_type": "image/jpeg", "data": base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xff\xe0 photo"))}

func wantStep(t *testing.T, v caseView, step string) {
	t.Helper()
	if v.Step != step {
		t.Fatalf("%s is at %s, want %s (next: %v)", v.Key, v.Step, step, v.Next)
	}
}

// TestAftersalesScenarios walks each kind of case end to end through the
// API, on both engines, with a clock the test moves.
func TestAftersalesScenarios(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newScenario(t, db)
		t.Run("return", s.returnLifecycle)
		t.Run("refused out of window, then overridden", s.refusedAndOverridden)
		t.Run("exchange failing inspection, reopened", s.exchangeReopened)
		t.Run("refund only, partial", s.partialRefund)
		t.Run("repair declined, repair done", s.repairs)
		t.Run("complaint breaching its target", s.complaintBreach)
		t.Run("remedies", s.remedies)
		t.Run("report", s.report)
	})
}

// returnLifecycle: two items of an order, one unit each of a dress bought
// twice and a T-shirt; the dress passes inspection, the T-shirt fails, so
// only the dress is refunded, within the working days promised.
func (s *scenario) returnLifecycle(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-05-12", "10:00"))
	key := s.order("SO-1001", "wang.fang@example.cn", at("2025-05-05", "09:00"), ptr(at("2025-05-08", "15:00")),
		shop.ItemInput{SKU: "DRS-001-M", Name: "真丝连衣裙 M", Quantity: 2, UnitPrice: "599.00"},
		shop.ItemInput{SKU: "TEE-001-S", Name: "棉质T恤 S", Quantity: 1, UnitPrice: "99.00"})
	// Bad input names every field and opens nothing.
	if _, bad := s.open(s.agent, 422, map[string]any{"kind": "swap", "ticket_id": key, "reason": "quality_defect"}); !strings.Contains(string(bad.body), `"body.kind"`) {
		t.Errorf("a kind of case that does not exist: %s", bad.body)
	}
	_, bad := s.open(s.agent, 422, map[string]any{"kind": "return", "ticket_id": key, "reason": "nope", "items": []map[string]any{}})
	for _, f := range []string{"body.reason", "body.items"} {
		if !strings.Contains(string(bad.body), `"`+f+`"`) {
			t.Errorf("bad open: no error for %s in %s", f, bad.body)
		}
	}
	_, tooMany := s.open(s.agent, 422, map[string]any{"kind": "return", "ticket_id": key, "reason": "quality_defect",
		"items": []map[string]any{{"item": "DRS-001-M", "quantity": 3}}})
	if !strings.Contains(string(tooMany.body), "body.items[0].quantity") {
		t.Errorf("three of two bought: %s", tooMany.body)
	}
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "return", "ticket_id": key, "reason": "quality_defect", "description": "拉链坏了，T恤开线",
		"items":  []map[string]any{{"item": "DRS-001-M", "quantity": 1}, {"item": "TEE-001-S", "quantity": 1}},
		"photos": []any{photo}})
	wantStep(t, c, "requested")
	if !c.Eligible || len(c.Eligibility) != 2 || !strings.Contains(c.Eligibility[0].Explanation, "Returns are open until 15 May") ||
		!strings.Contains(c.Eligibility[0].ExplanationZh, "退货可申请至5月15日") || c.Amount != "698.00" {
		t.Fatalf("eligibility of a return 4 days after delivery: %+v", c)
	}
	if len(c.Notices) != 1 || c.Notices[0].Language != "zh-CN" || !strings.Contains(c.Notices[0].Subject, c.Key) {
		t.Errorf("the customer was not told the request arrived: %+v", c.Notices)
	}
	// Steps out of order are refused, naming the step.
	_, wrong := s.act(s.agent, c, 409, map[string]any{"action": "refund"})
	if !strings.Contains(string(wrong.body), `"body.action"`) || !strings.Contains(string(wrong.body), `at step \"requested\"`) {
		t.Errorf("refund of a requested return: %s", wrong.body)
	}
	s.act(s.agent, c, 409, map[string]any{"action": "ship_exchange", "tracking_number": "SF1"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "approve", "note": "照片确认质量问题"})
	wantStep(t, c, "approved")
	// A second agent with the old version is told what changed.
	stale := s.sup.want(s.sup.do("POST", "/aftersales/cases/"+c.ID+"/actions", map[string]any{"action": "refuse", "rule": "no_evidence"}, "If-Match", `"1"`), 412)
	if stale.header.Get("ETag") != fmt.Sprintf(`"%d"`, c.Version) || !strings.Contains(string(stale.body), `"current"`) {
		t.Errorf("412 without the current case: %s %s", stale.header, stale.body)
	}
	// An idempotent retry acts once.
	arrange := map[string]any{"action": "arrange_return", "method": "self_ship", "note": "请在包裹内附上售后单号"}
	r1 := s.agent.want(s.agent.do("POST", "/aftersales/cases/"+c.ID+"/actions", arrange, "If-Match", `"2"`, "Idempotency-Key", "arrange-1"), 200)
	r2 := s.agent.want(s.agent.do("POST", "/aftersales/cases/"+c.ID+"/actions", arrange, "If-Match", `"2"`, "Idempotency-Key", "arrange-1"), 200)
	if r1.header.Get("ETag") != `"3"` || r2.header.Get("ETag") != `"3"` {
		t.Errorf("a retried action acted twice: %s then %s", r1.header.Get("ETag"), r2.header.Get("ETag"))
	}
	c = s.get(c.ID)
	wantStep(t, c, "return_arranged")
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "ship_return", "carrier": "顺丰速运", "tracking_number": "SF1029384756"})
	wantStep(t, c, "in_transit")
	s.clk.set(at("2025-05-14", "11:00"))
	_, badCount := s.act(s.agent, c, 422, map[string]any{"action": "receive", "items": []map[string]any{{"position": 0, "quantity": 5}}})
	if !strings.Contains(string(badCount.body), "body.items[0]") {
		t.Errorf("five received of one: %s", badCount.body)
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "receive"})
	wantStep(t, c, "received")
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "inspect", "note": "连衣裙拉链故障属实；T恤有水洗痕迹",
		"items":  []map[string]any{{"position": 0, "passed": 1}, {"position": 1, "failed": 1}},
		"photos": []any{map[string]any{"filename": "质检.png", "content_type": "image/png", "data": "iVBORw0KGgo="}}})
	wantStep(t, c, "refund_pending")
	// Only the dress is refunded, due within 3 working days of passing
	// inspection (Wednesday): Monday 19 May's close.
	if len(c.Remedies) != 1 || c.Remedies[0].Amount != "599.00" || c.Remedies[0].State != "pending" || c.Remedies[0].ApprovedBy != "李娜" ||
		!c.Remedies[0].DueAt.Equal(at("2025-05-19", "17:30")) {
		t.Fatalf("refund after a partial pass: %+v", c.Remedies)
	}
	if len(c.Deadlines) != 1 || c.Deadlines[0].Target != "refund" || c.Deadlines[0].State != "running" {
		t.Fatalf("refund deadline: %+v", c.Deadlines)
	}
	slaView := s.agent.want(s.agent.do("GET", "/tickets/"+key+"/sla", nil), 200)
	if !strings.Contains(string(slaView.body), `"target":"refund"`) {
		t.Errorf("the refund is not a clock of the ticket: %s", slaView.body)
	}
	_, over := s.act(s.agent, c, 422, map[string]any{"action": "refund", "amount": "699.00"})
	if !strings.Contains(string(over.body), "body.amount") {
		t.Errorf("refunding more than due: %s", over.body)
	}
	s.clk.set(at("2025-05-16", "10:00"))
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "refund", "reference": "ALI20250516001"})
	wantStep(t, c, "refunded")
	if c.Refunded != "599.00" || c.Deadlines[0].State != "met" || c.Remedies[0].State != "paid" {
		t.Errorf("after the refund: refunded %s, deadline %+v, remedy %+v", c.Refunded, c.Deadlines, c.Remedies)
	}
	// The shop's fault means compensation: the refund is one, so it closes.
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "responsibility", "responsible": "supplier", "note": "拉链供应商批次问题"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "close"})
	wantStep(t, c, "closed")
	if c.Open || len(c.Next) != 0 {
		t.Errorf("a closed case offers %v", c.Next)
	}
	var steps []string
	for _, h := range c.History {
		steps = append(steps, h.Action)
	}
	if got := strings.Join(steps, ","); got != "open,approve,arrange_return,ship_return,receive,inspect,refund,responsibility,close" {
		t.Errorf("tracking record %s", got)
	}
	audit := s.agent.want(s.agent.do("GET", "/aftersales/cases/"+c.ID+"/audit", nil), 200)
	for _, a := range []string{"aftersales.open", "aftersales.inspect", "aftersales.refund", "aftersales.close"} {
		if !strings.Contains(string(audit.body), a) {
			t.Errorf("audit lacks %s", a)
		}
	}
	if len(c.Notices) < 7 {
		t.Errorf("the customer was told %d steps, want every public one: %+v", len(c.Notices), c.Notices)
	}
	// The other dress of the order is still free; the refunded one is not.
	_, again := s.open(s.agent, 422, map[string]any{"kind": "return", "ticket_id": key, "reason": "quality_defect",
		"items": []map[string]any{{"item": "DRS-001-M", "quantity": 2}}})
	if !strings.Contains(string(again.body), "at most 1") {
		t.Errorf("returning again what was refunded: %s", again.body)
	}
}

// refusedAndOverridden: a return 20 days after delivery is refused with
// the rule in the customer's words; an agent cannot override, a
// supervisor can, with a reason.
func (s *scenario) refusedAndOverridden(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-05-23", "10:00"))
	key := s.order("SO-1002", "chen.jing@example.cn", at("2025-04-30", "09:00"), ptr(at("2025-05-03", "15:00")),
		shop.ItemInput{SKU: "DRS-001-L", Quantity: 1, UnitPrice: "599.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "return", "ticket_id": key, "reason": "wrong_size", "items": []map[string]any{{"item": "DRS-001-L", "quantity": 1}}})
	wantStep(t, c, "refused")
	if c.Open || c.Eligible || c.Refusal == nil || c.Refusal.Rule != "out_of_window" ||
		!strings.Contains(c.Refusal.Explanation, "Returns close 7 days after delivery; this order was delivered on 3 May, so the last day was 10 May.") ||
		!strings.Contains(c.Refusal.ExplanationZh, "退货须在签收后7天内申请；本订单于5月3日签收，最后一天是5月10日。") {
		t.Fatalf("refused return: %+v", c)
	}
	if len(c.Notices) != 1 || !strings.Contains(c.Notices[0].Subject, "申请未通过") {
		t.Errorf("the refusal was not mailed: %+v", c.Notices)
	}
	s.act(s.agent, c, 403, map[string]any{"action": "override", "reason": "老客户"})
	_, short := s.act(s.sup, c, 422, map[string]any{"action": "override"})
	if !strings.Contains(string(short.body), "body.reason") {
		t.Errorf("override without a reason: %s", short.body)
	}
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "override", "reason": "VIP customer, first return this year"})
	wantStep(t, c, "requested")
	if !c.Open || !c.Eligible || c.Override == nil || c.Override.By != "张主管" {
		t.Fatalf("after the override: %+v", c)
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "approve"})
	wantStep(t, c, "approved")
	// Intimate apparel is not returned for fit, not even on time; a
	// supervisor may open it anyway with a reason.
	s.clk.set(at("2025-05-24", "10:00"))
	key2 := s.order("SO-1003", "chen.jing@example.cn", at("2025-05-20", "09:00"), ptr(at("2025-05-22", "15:00")),
		shop.ItemInput{SKU: "BRA-001-75B", Quantity: 1, UnitPrice: "259.00"})
	bra, _ := s.open(s.agent, 201, map[string]any{"kind": "return", "ticket_id": key2, "reason": "wrong_size", "items": []map[string]any{{"item": "BRA-001-75B", "quantity": 1}}})
	if bra.Step != "refused" || bra.Refusal.Rule != "non_returnable" || !strings.Contains(bra.Refusal.ExplanationZh, "贴身衣物") {
		t.Fatalf("non-returnable for fit: %+v", bra)
	}
	_, agentOverride := s.open(s.agent, 422, map[string]any{"kind": "return", "ticket_id": key2, "reason": "wrong_size", "override_reason": "试试",
		"items": []map[string]any{{"item": "BRA-001-75B", "quantity": 1}}})
	if !strings.Contains(string(agentOverride.body), "body.override_reason") {
		t.Errorf("an agent's override: %s", agentOverride.body)
	}
	ok, _ := s.open(s.sup, 201, map[string]any{"kind": "return", "ticket_id": key2, "reason": "wrong_size", "override_reason": "包装未拆，吊牌完好",
		"items": []map[string]any{{"item": "BRA-001-75B", "quantity": 1}}})
	if ok.Step != "requested" || ok.Override == nil || !ok.Eligible {
		t.Errorf("a supervisor's override at opening: %+v", ok)
	}
}

// exchangeReopened: an exchange fails inspection; a supervisor reopens it
// for a second inspection, which passes, and the replacement ships.
func (s *scenario) exchangeReopened(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-05-26", "10:00"))
	key := s.order("SO-1004", "liu.yang@example.cn", at("2025-05-18", "09:00"), ptr(at("2025-05-20", "15:00")),
		shop.ItemInput{SKU: "DRS-001-M", Quantity: 1, UnitPrice: "599.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "exchange", "ticket_id": key, "reason": "wrong_size", "items": []map[string]any{{"item": "DRS-001-M", "quantity": 1}}})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "approve"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "arrange_return", "method": "pickup", "pickup_date": "2025-05-27", "pickup_window": "09:00-12:00",
		"address": "上海市浦东新区世纪大道 1 号"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "receive"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "inspect", "passed": false, "note": "吊牌已剪"})
	wantStep(t, c, "qc_failed")
	if len(c.Inspections) != 1 || c.Inspections[0].Passed {
		t.Fatalf("inspections: %+v", c.Inspections)
	}
	s.act(s.agent, c, 403, map[string]any{"action": "reopen", "reason": "客户提供了购买时的照片"})
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "reopen", "reason": "客户提供了购买时的照片，吊牌为出厂缺失"})
	wantStep(t, c, "received")
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "inspect", "passed": true, "note": "复检通过"})
	wantStep(t, c, "exchange_pending")
	if len(c.Inspections) != 2 || !c.Inspections[1].Passed || c.Inspections[1].Round != 2 {
		t.Fatalf("second round: %+v", c.Inspections)
	}
	_, noSKU := s.act(s.agent, c, 422, map[string]any{"action": "ship_exchange", "sku": "DRS-999-XXL", "tracking_number": "SF555"})
	if !strings.Contains(string(noSKU.body), "body.sku") {
		t.Errorf("exchange for an unknown SKU: %s", noSKU.body)
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "ship_exchange", "sku": "DRS-001-L", "carrier": "顺丰速运", "tracking_number": "SF5550001"})
	wantStep(t, c, "exchange_shipped")
	if len(c.Remedies) != 1 || c.Remedies[0].Kind != "replacement" || c.Remedies[0].State != "shipped" || c.Remedies[0].Reference != "SF5550001" {
		t.Errorf("replacement remedy: %+v", c.Remedies)
	}
	// The replacement is on the order: a line of its own at no charge,
	// marked as the case's, and its parcel among the order's shipments.
	var o orderView
	s.agent.want(s.agent.do("GET", "/orders/SO-1004", nil), 200).json(t, &o)
	wantReplacement := func(o orderView, when string) {
		t.Helper()
		if c.Exchange == nil || len(o.Items) != 2 || o.Items[0].Origin != "store" || o.Total != "599.00" {
			t.Fatalf("%s: exchange %+v, order %+v", when, c.Exchange, o)
		}
		r := o.Items[1]
		if r.ID != c.Exchange.OrderItemID || r.Origin != "exchange" || r.CaseID != c.ID || r.CaseKey != c.Key || r.SKU != "DRS-001-L" ||
			r.Name != "真丝连衣裙 L" || r.Quantity != 1 || r.UnitPrice != "0.00" || r.TrackingNumber != "SF5550001" {
			t.Fatalf("%s: replacement line %+v", when, r)
		}
		if len(o.Shipments) != 1 || o.Shipments[0].TrackingNumber != "SF5550001" || o.Shipments[0].Carrier != "顺丰速运" ||
			o.Shipments[0].CaseKey != c.Key || o.Shipments[0].Status != "in_transit" || len(o.Shipments[0].Events) != 1 {
			t.Fatalf("%s: shipments %+v", when, o.Shipments)
		}
	}
	wantReplacement(o, "shipped")
	var byTicket orderView
	s.agent.want(s.agent.do("GET", "/tickets/"+key+"/order", nil), 200).json(t, &byTicket)
	wantReplacement(byTicket, "the ticket's order")
	audit := s.sup.want(s.sup.do("GET", "/orders/SO-1004/audit", nil), 200)
	if !strings.Contains(string(audit.body), "replacement for "+c.Key) || !strings.Contains(string(audit.body), "李娜") {
		t.Errorf("the order's audit trail: %s", audit.body)
	}
	// The store sends the order again, completed: its own line and status
	// change, Kefu's line and parcel stay, once.
	store := map[string]any{"status": "completed", "customer": map[string]any{"email": "liu.yang@example.cn"}, "payment_method": "alipay",
		"ordered_at": at("2025-05-18", "09:00"), "delivered_at": at("2025-05-20", "15:00"),
		"items": []map[string]any{{"sku": "DRS-001-M", "quantity": 1, "unit_price": "599.00"}}}
	s.admin.want(s.admin.do("PUT", "/orders/SO-1004", store), 200).json(t, &o)
	wantReplacement(o, "after the store's upsert")
	if o.Status != "completed" || o.Version != 3 {
		t.Errorf("the store's upsert: %s, version %d", o.Status, o.Version)
	}
	// The store records the replacement itself (its SKU in its parcel):
	// still one replacement line.
	store["items"] = append(store["items"].([]map[string]any), map[string]any{"sku": "DRS-001-L", "quantity": 1, "unit_price": "0", "tracking_number": "SF5550001"})
	s.admin.want(s.admin.do("PUT", "/orders/SO-1004", store), 200).json(t, &o)
	wantReplacement(o, "after the store sent the replacement too")
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "close"})
	wantStep(t, c, "closed")
}

// partialRefund: a parcel never arrived; the customer gets part of the
// price back for a damaged outer box the carrier will pay the rest of.
func (s *scenario) partialRefund(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-05-26", "14:00"))
	key := s.order("SO-1005", "zhao.min@example.cn", at("2025-05-10", "09:00"), nil,
		shop.ItemInput{SKU: "TEE-001-S", Quantity: 3, UnitPrice: "99.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "refund_only", "ticket_id": key, "reason": "not_received",
		"items": []map[string]any{{"item": "TEE-001-S", "quantity": 3}}})
	if !c.Eligible || !strings.Contains(c.Eligibility[0].Explanation, "not been delivered yet") {
		t.Fatalf("refund before delivery: %+v", c.Eligibility)
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "approve"})
	wantStep(t, c, "refund_pending")
	if c.Remedies[0].Amount != "297.00" {
		t.Fatalf("refund due %+v", c.Remedies)
	}
	_, noWhy := s.act(s.agent, c, 422, map[string]any{"action": "refund", "amount": "200.00"})
	if !strings.Contains(string(noWhy.body), "body.note") {
		t.Errorf("a partial refund without a reason: %s", noWhy.body)
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "refund", "amount": "200.00", "reference": "WX88", "note": "其余 97 元由承运商赔付"})
	wantStep(t, c, "refunded")
	if c.Refunded != "200.00" || c.Remedies[0].Amount != "200.00" {
		t.Errorf("partial refund: refunded %s, %+v", c.Refunded, c.Remedies)
	}
	// The carrier's fault: compensation was given, so it may close.
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "responsibility", "responsible": "carrier"})
	s.act(s.agent, c, 200, map[string]any{"action": "close"})
}

// repairs: one customer declines the estimate; another agrees, and the
// repair is redone after failing inspection before it ships back.
func (s *scenario) repairs(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-06-03", "10:00"))
	key := s.order("SO-1006", "sun.li@example.cn", at("2025-04-01", "09:00"), ptr(at("2025-04-03", "15:00")),
		shop.ItemInput{SKU: "BRA-001-75B", Quantity: 1, UnitPrice: "259.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "repair", "ticket_id": key, "reason": "quality_defect", "description": "肩带脱落",
		"items": []map[string]any{{"item": "BRA-001-75B", "quantity": 1}}})
	if !c.Eligible || !strings.Contains(c.Eligibility[0].Explanation, "Repairs under warranty are open until 2 July") {
		t.Fatalf("repair under warranty: %+v", c.Eligibility)
	}
	s.act(s.agent, c, 409, map[string]any{"action": "approve"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "assess", "note": "肩带扣断裂，可更换"})
	_, bad := s.act(s.agent, c, 422, map[string]any{"action": "estimate", "cost": "ten", "days": 0})
	for _, f := range []string{"body.plan", "body.cost", "body.days"} {
		if !strings.Contains(string(bad.body), `"`+f+`"`) {
			t.Errorf("bad estimate: no error for %s in %s", f, bad.body)
		}
	}
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "estimate", "plan": "更换肩带扣", "cost": "30", "days": 5})
	wantStep(t, c, "estimated")
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "consent", "accepted": false, "channel": "phone", "words": "太贵了，不修了"})
	wantStep(t, c, "declined")
	if c.Consent == nil || c.Consent.Accepted || c.Consent.Words != "太贵了，不修了" || c.Consent.Channel != "phone" {
		t.Fatalf("declined consent: %+v", c.Consent)
	}
	s.act(s.agent, c, 409, map[string]any{"action": "receive"})
	c, _ = s.act(s.agent, c, 200, map[string]any{"action": "close"})
	wantStep(t, c, "closed")

	key = s.order("SO-1007", "sun.li@example.cn", at("2025-04-05", "09:00"), ptr(at("2025-04-07", "15:00")),
		shop.ItemInput{SKU: "BRA-001-75B", Quantity: 1, UnitPrice: "259.00"})
	c, _ = s.open(s.agent, 201, map[string]any{"kind": "repair", "ticket_id": key, "reason": "quality_defect", "items": []map[string]any{{"item": "BRA-001-75B", "quantity": 1}}})
	for _, a := range []map[string]any{
		{"action": "assess"},
		{"action": "estimate", "plan": "更换背扣", "cost": "0", "days": 3},
		{"action": "consent", "accepted": true, "channel": "chat", "words": "好的，同意维修"},
		{"action": "ship_return", "carrier": "中通", "tracking_number": "ZT778899"},
		{"action": "receive"},
		{"action": "repair", "note": "已更换背扣"},
		{"action": "inspect", "passed": false, "note": "缝线不齐"},
		{"action": "repair", "note": "重新缝制"},
		{"action": "inspect", "passed": true},
		{"action": "ship_back", "carrier": "顺丰速运", "tracking_number": "SF4443332"},
		{"action": "close"},
	} {
		s.clk.set(s.clk.Now().Add(20 * time.Hour))
		c, _ = s.act(s.agent, c, 200, a)
	}
	wantStep(t, c, "closed")
	if len(c.Inspections) != 2 {
		t.Errorf("repair inspections %+v", c.Inspections)
	}
}

// complaintBreach: seed 003's complaint, owned by a supervisor, replied
// to within 24 hours but not resolved within 3 working days: the sweep
// breaches it, tells the owner, and escalates.
func (s *scenario) complaintBreach(t *testing.T) {
	s.t = t
	// Thursday 5 June 2025 16:00; the Dragon Boat holiday is 31 May – 2 June.
	s.clk.set(at("2025-06-05", "16:00"))
	key := s.order("SO-1008", "qian.hui@example.cn", at("2025-05-28", "09:00"), ptr(at("2025-05-30", "15:00")),
		shop.ItemInput{SKU: "TEE-001-S", Quantity: 1, UnitPrice: "99.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "complaint", "ticket_id": key, "reason": "service_attitude", "description": "客服态度恶劣"})
	if c.OwnerID != s.supID {
		t.Fatalf("complaint owner %s, want the supervisor %s", c.OwnerID, s.supID)
	}
	if len(c.Deadlines) != 2 || !c.Deadlines[0].DueAt.Equal(at("2025-06-06", "16:00")) || !c.Deadlines[1].DueAt.Equal(at("2025-06-10", "17:30")) {
		t.Fatalf("complaint deadlines (reply in 24 h, resolution in 3 working days): %+v", c.Deadlines)
	}
	s.clk.set(at("2025-06-06", "09:00"))
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "reply", "channel": "phone", "text": "非常抱歉给您带来不好的体验，我们正在调查，会在3个工作日内给您答复。"})
	wantStep(t, c, "replied")
	// Wednesday 11 June: the resolution was due Tuesday's close.
	s.clk.set(at("2025-06-11", "09:00"))
	if _, err := s.app.SLA.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	c = s.get(c.ID)
	if c.Deadlines[0].State != "met" || c.Deadlines[1].State != "breached" || c.Deadlines[1].Level != 1 {
		t.Fatalf("after the sweep: %+v", c.Deadlines)
	}
	notes := s.sup.want(s.sup.do("GET", "/notifications?unread=true", nil), 200)
	if !strings.Contains(string(notes.body), "resolution of complaint "+c.Key) || !strings.Contains(string(notes.body), "sla.breach") {
		t.Errorf("the owner was not told of the breach: %s", notes.body)
	}
	// Four business hours later it escalates: the ticket's priority rises.
	s.clk.set(at("2025-06-11", "14:05"))
	if _, err := s.app.SLA.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	tk := s.agent.want(s.agent.do("GET", "/tickets/"+key, nil), 200)
	if tk.field(t, "priority") != "high" || !strings.Contains(string(tk.body), "aftersales-overdue") {
		t.Errorf("escalation left the ticket %s", tk.body)
	}
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "resolve", "text": "已对相关客服进行培训并向您致歉，赠送优惠券一张。"})
	wantStep(t, c, "resolved")
	if c.Deadlines[1].State != "met" || c.Deadlines[1].BreachedAt == nil {
		t.Errorf("resolved late: %+v", c.Deadlines)
	}
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "close"})
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "reopen", "reason": "客户不满意处理结果"})
	wantStep(t, c, "replied")
	if len(c.Deadlines) != 3 || c.Deadlines[2].State != "running" {
		t.Errorf("a reopened complaint has a new resolution deadline: %+v", c.Deadlines)
	}
}

// remedies: a voucher is compensation, approved by a supervisor, used
// once; never for the customer's own fault.
func (s *scenario) remedies(t *testing.T) {
	s.t = t
	s.clk.set(at("2025-06-12", "10:00"))
	key := s.order("SO-1009", "zhou.xun@example.cn", at("2025-06-05", "09:00"), ptr(at("2025-06-08", "15:00")),
		shop.ItemInput{SKU: "DRS-001-M", Quantity: 1, UnitPrice: "599.00"})
	c, _ := s.open(s.agent, 201, map[string]any{"kind": "complaint", "ticket_id": key, "reason": "late_delivery"})
	s.act(s.agent, c, 403, map[string]any{"action": "remedy", "remedy": "voucher", "amount": "50", "expires_on": "2025-12-31"})
	_, bad := s.act(s.sup, c, 422, map[string]any{"action": "remedy", "remedy": "voucher", "amount": "-5", "expires_on": "2025-01-01"})
	for _, f := range []string{"body.amount", "body.expires_on"} {
		if !strings.Contains(string(bad.body), `"`+f+`"`) {
			t.Errorf("bad voucher: no error for %s in %s", f, bad.body)
		}
	}
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "remedy", "remedy": "voucher", "amount": "50", "expires_on": "2025-12-31", "note": "延迟发货补偿"})
	v := c.Remedies[0]
	if v.Kind != "voucher" || v.State != "issued" || v.Code == "" || v.ApprovedBy != "张主管" {
		t.Fatalf("voucher %+v", v)
	}
	c, _ = s.act(s.sup, c, 200, map[string]any{"action": "remedy", "remedy": "goodwill_credit", "amount": "20"})
	if !strings.Contains(string(s.agent.want(s.agent.do("GET", "/aftersales/vouchers/"+v.Code, nil), 200).body), `"usable":true`) {
		t.Error("a fresh voucher is not usable")
	}
	s.agent.want(s.agent.do("POST", "/aftersales/vouchers/"+v.Code+"/redeem", map[string]string{"order_number": "so-2001"}), 200)
	used := s.agent.want(s.agent.do("POST", "/aftersales/vouchers/"+v.Code+"/redeem", map[string]string{"order_number": "so-2002"}), 409)
	if !strings.Contains(string(used.body), "SO-2001") {
		t.Errorf("a used voucher: %s", used.body)
	}
	c = s.get(c.ID)
	if c.Remedies[0].State != "redeemed" {
		t.Errorf("voucher after redeeming: %+v", c.Remedies[0])
	}
	// The customer's own fault means guidance, not compensation.
	key2 := s.order("SO-1010", "zhou.xun@example.cn", at("2025-06-05", "09:00"), ptr(at("2025-06-08", "15:00")),
		shop.ItemInput{SKU: "TEE-001-S", Quantity: 1, UnitPrice: "99.00"})
	d, _ := s.open(s.agent, 201, map[string]any{"kind": "complaint", "ticket_id": key2, "reason": "other"})
	_, noGuidance := s.act(s.agent, d, 422, map[string]any{"action": "responsibility", "responsible": "customer"})
	if !strings.Contains(string(noGuidance.body), "body.guidance") {
		t.Errorf("customer's fault without guidance: %s", noGuidance.body)
	}
	d, _ = s.act(s.agent, d, 200, map[string]any{"action": "responsibility", "responsible": "customer", "guidance": "洗涤请使用冷水手洗，勿用烘干机。"})
	s.act(s.sup, d, 409, map[string]any{"action": "remedy", "remedy": "voucher", "amount": "10", "expires_on": "2025-12-31"})
	// The shop's fault: closing without compensation is refused.
	e, _ := s.open(s.agent, 201, map[string]any{"kind": "complaint", "ticket_id": key2, "reason": "billing_error"})
	e, _ = s.act(s.agent, e, 200, map[string]any{"action": "responsibility", "responsible": "shop"})
	e, _ = s.act(s.sup, e, 200, map[string]any{"action": "resolve", "text": "已核实为系统计费错误。"})
	_, noRemedy := s.act(s.sup, e, 409, map[string]any{"action": "close"})
	if !strings.Contains(string(noRemedy.body), "compensation") {
		t.Errorf("closing a shop fault without a remedy: %s", noRemedy.body)
	}
	e, _ = s.act(s.sup, e, 200, map[string]any{"action": "remedy", "remedy": "refund", "amount": "15.00"})
	if e.Remedies[0].State != "pending" || e.Remedies[0].DueAt == nil {
		t.Errorf("a refund remedy is due: %+v", e.Remedies)
	}
	e, _ = s.act(s.agent, e, 200, map[string]any{"action": "refund", "reference": "ALI-15"})
	s.act(s.sup, e, 200, map[string]any{"action": "close"})
}

// report: the analytics over what the scenarios did, as JSON and CSV.
func (s *scenario) report(t *testing.T) {
	s.t = t
	s.agent.want(s.agent.do("GET", "/aftersales/reports/returns", nil), 403)
	var r struct {
		Orders    int                       `json:"orders"`
		UnitsSold int                       `json:"units_sold"`
		Returns   int                       `json:"returns"`
		ByReason  []struct{ Reason string } `json:"by_reason"`
		BySKU     []struct {
			Key  string
			Sold int `json:"units_sold"`
		} `json:"by_sku"`
		BySupplier []struct{ Key string } `json:"by_supplier"`
		Refunds    struct {
			Count      int     `json:"count"`
			TargetDays int     `json:"target_days"`
			Within     float64 `json:"within_target"`
		} `json:"refund_lead_time"`
		QC         struct{ Inspections, Failed int }
		Repairs    struct{ Count int } `json:"repair_turnaround"`
		Complaints struct {
			Opened   int
			Breached int
			Resolved struct{ Count int }
		}
	}
	s.sup.want(s.sup.do("GET", "/aftersales/reports/returns?from=2025-04-01&to=2025-07-01&period=month", nil), 200).json(t, &r)
	// Returns: SO-1001, the overridden SO-1002 and SO-1003, the exchange
	// SO-1004. Inspections failing a unit: the T-shirt of SO-1001, the
	// exchange's first round, the repair's first.
	if r.Orders != 10 || r.Returns != 4 || r.Refunds.Count != 3 || r.Refunds.TargetDays != 3 || r.QC.Inspections != 5 || r.QC.Failed != 3 ||
		r.Repairs.Count != 1 || r.Complaints.Opened != 4 || r.Complaints.Breached != 1 || r.Complaints.Resolved.Count != 2 {
		t.Errorf("report: %+v", r)
	}
	if len(r.BySKU) == 0 || r.BySKU[0].Key != "DRS-001-M" || len(r.BySupplier) == 0 {
		t.Errorf("report by SKU %+v, supplier %+v", r.BySKU, r.BySupplier)
	}
	// The exchange's replacement (DRS-001-L on SO-1004) was not sold: the
	// one unit sold is SO-1003's. The orders' units are 2+1, 1, 1, 1, 3, 1,
	// 1, 1, 1 and 1.
	for _, row := range r.BySKU {
		if row.Key == "DRS-001-L" && row.Sold != 1 {
			t.Errorf("DRS-001-L sold %d, want 1: a replacement counted as a sale", row.Sold)
		}
	}
	if r.UnitsSold != 14 {
		t.Errorf("units sold %d, want 14", r.UnitsSold)
	}
	// Over a year the returns are read by scanning the cases: the same
	// counts.
	var year struct{ Orders, Returns int }
	s.sup.want(s.sup.do("GET", "/aftersales/reports/returns?from=2025-01-01&to=2026-01-01&period=month", nil), 200).json(t, &year)
	if year.Orders != r.Orders || year.Returns != r.Returns {
		t.Errorf("over a year: %d orders, %d returns; over the quarter %d, %d", year.Orders, year.Returns, r.Orders, r.Returns)
	}
	csv := s.sup.want(s.sup.do("GET", "/aftersales/reports/returns.csv?from=2025-04-01&to=2025-07-01", nil), 200)
	if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csv.body), "DRS-001-M") ||
		!strings.Contains(string(csv.body), "refund lead time") {
		t.Errorf("CSV: %s", csv.body)
	}
	s.sup.want(s.sup.do("GET", "/aftersales/reports/returns?period=year", nil), 422)
}
