package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// wfInstance is what the scenarios read of an instance.
type wfInstance struct {
	ID                string `json:"id"`
	DefinitionKey     string `json:"definition_key"`
	DefinitionVersion int    `json:"definition_version"`
	Stage             string `json:"stage"`
	StageName         map[string]string
	PickedBy          string `json:"picked_by"`
	Active            bool   `json:"active"`
	Outcome           string `json:"outcome"`
	Version           int    `json:"version"`
	Escalated         bool   `json:"escalated"`
	FollowerID        string `json:"follower_id"`
	Deadline          *struct {
		State string    `json:"state"`
		DueAt time.Time `json:"due_at"`
		Level int       `json:"escalation_level"`
	} `json:"deadline"`
	Pickup *struct {
		State string `json:"state"`
		Level int    `json:"escalation_level"`
	} `json:"pickup_deadline"`
	Path []struct {
		From, Decision, To, Outcome string
	} `json:"path"`
	Steps []struct {
		Kind, Stage, Decision, ActorName string
		ToStage                          string         `json:"to_stage"`
		Results                          map[string]any `json:"results"`
		MessageID                        string         `json:"message_id"`
		Attachments                      []struct{ ID, Filename string }
	} `json:"steps"`
	ProgressUpdates    int `json:"progress_updates"`
	MinProgressUpdates int `json:"min_progress_updates"`
	Context            struct {
		Sees          []string `json:"sees"`
		TicketVisible bool     `json:"ticket_visible"`
		Customer      struct {
			Name   string   `json:"name"`
			Emails []string `json:"emails"`
			Phones []string `json:"phones"`
			Masked bool     `json:"masked"`
		} `json:"customer"`
		Conversation []struct{ From, Text string }   `json:"conversation"`
		Photos       []struct{ ID, Filename string } `json:"photos"`
		Items        []struct {
			SKU       string `json:"sku"`
			UnitPrice string `json:"unit_price"`
		} `json:"items"`
		Billing *struct{ Total, Paid string } `json:"billing"`
	} `json:"context"`
	Actions struct {
		PickUp    bool `json:"pick_up"`
		Decide    bool `json:"decide"`
		Decisions []struct{ Kind, To, Outcome string }
	} `json:"actions"`
}

func (c *apiClient) instance(t *testing.T, r response) wfInstance {
	t.Helper()
	var in wfInstance
	r.json(t, &in)
	return in
}

// wfWorld is a shop with the demo departments, one person per role
// needed, the seed calendars and SLA policies, and the shipped chains.
type wfWorld struct {
	app   *App
	clk   *manualClock
	admin *apiClient
	staff map[string]*apiClient // by login name
	ids   map[string]string     // staff ids by login name
	depts map[string]string     // department ids by slug
}

// wed is a moment on Wednesday 24 September 2025, Shanghai time: a
// working day in the seed-002 calendar (08:30–12:00, 13:30–17:30).
func wfWed(h, m int) time.Time { return time.Date(2025, 9, 24, h, m, 0, 0, shanghai) }

func newWorld(t *testing.T, db *database.DB) *wfWorld {
	t.Helper()
	clk := &manualClock{}
	clk.set(wfWed(9, 0))
	app, c := startAPIAt(t, db, clk.Now)
	w := &wfWorld{app: app, clk: clk, admin: c, staff: map[string]*apiClient{}, ids: map[string]string{}, depts: map[string]string{}}
	ctx := kefu.WithActor(context.Background(), kefu.System)
	if _, err := app.Team.CreateStaff(ctx, team.NewStaff{Email: "boss@shop.cn", Name: "老板", Role: kefu.RoleAdmin, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	c.want(c.do("POST", "/auth/login", map[string]string{"email": "boss@shop.cn", "password": "correct horse battery"}), 200)
	for _, d := range demo.Departments {
		w.depts[d.Slug] = c.want(c.do("POST", "/departments", d), 201).field(t, "id")
	}
	for _, p := range []struct{ login, name, role, dept string }{
		{"agent", "李娜", "agent", "customer-service"},
		{"manager", "陈静", "supervisor", "customer-service"},
		{"warehouse", "赵敏", "staff", "warehouse"},
		{"aftersales", "张伟", "agent", "after-sales"},
		{"quality", "郑丽", "staff", "quality"},
		{"legal", "吴刚", "staff", "legal"},
		{"finance", "周芳", "staff", "finance"},
		{"transport", "孙浩", "staff", "storage-transport"},
		{"gm", "黄总", "supervisor", "management"},
		{"ombudsman", "Daniel Brooks", "agent", "customer-relations"},
	} {
		st := c.want(c.do("POST", "/staff", map[string]any{"email": p.login + "@shop.cn", "name": p.name, "role": p.role,
			"departments": []string{p.dept}, "password": "staff password 1"}), 201)
		w.ids[p.login] = st.field(t, "id")
		s := c.as("")
		s.want(s.do("POST", "/auth/login", map[string]string{"email": p.login + "@shop.cn", "password": "staff password 1"}), 200)
		w.staff[p.login] = s
	}
	if err := demo.SeedSLA(ctx, app.Calendars, app.SLA); err != nil {
		t.Fatal(err)
	}
	res := c.want(c.do("POST", "/workflows/defaults", nil), 200)
	if !strings.Contains(string(res.body), `"action":"created"`) || strings.Count(string(res.body), `"key"`) != 5 {
		t.Fatalf("defaults: %s", res.body)
	}
	// A shop and an order, for the items and amounts stages show.
	c.want(c.do("POST", "/shops", map[string]any{"code": "nanbei", "name": "Nanbei Chao", "timezone": "Asia/Shanghai", "currency": "CNY"}), 201)
	c.want(c.do("POST", "/orders", map[string]any{"shop": "nanbei", "number": "NB-1001", "status": "delivered", "payment_method": "alipay",
		"customer": map[string]any{"email": "wang.fang@example.cn", "name": "王芳"}, "ordered_at": wfWed(9, 0).Add(-72 * time.Hour),
		"delivered_at":     wfWed(9, 0).Add(-24 * time.Hour),
		"shipping_address": "上海市浦东新区张江路88号", "items": []map[string]any{{"sku": "DRESS-M", "name": "真丝连衣裙 M", "quantity": 1, "unit_price": "399.00"}}}), 201)
	return w
}

// ticket opens a ticket as the agent, with a photo.
func (w *wfWorld) ticket(t *testing.T, category, subject string) string {
	t.Helper()
	a := w.staff["agent"]
	return a.want(a.do("POST", "/tickets", map[string]any{"subject": subject, "channel": "email", "category": category,
		"department_id": w.depts["customer-service"], "order_number": "NB-1001",
		"customer": map[string]any{"email": "wang.fang@example.cn", "name": "王芳", "phone": "+86 138 0013 8000"},
		"message": map[string]any{"text": subject + "，请处理。", "attachments": []map[string]any{
			{"filename": "photo.png", "content_type": "image/png", "data": "iVBORw0KGgo="}}}}), 201).field(t, "id")
}

// act sends an action as login and returns the instance it answers with.
func (w *wfWorld) act(t *testing.T, login, path string, body any, version int) wfInstance {
	t.Helper()
	c := w.staff[login]
	return c.instance(t, c.want(c.do("POST", path, body, "If-Match", fmt.Sprintf(`"%d"`, version)), 200))
}

func (w *wfWorld) get(t *testing.T, login, id string) wfInstance {
	t.Helper()
	c := w.staff[login]
	return c.instance(t, c.want(c.do("GET", "/workflow-instances/"+id, nil), 200))
}

func (w *wfWorld) decide(t *testing.T, login string, in wfInstance, body map[string]any) wfInstance {
	t.Helper()
	return w.act(t, login, "/workflow-instances/"+in.ID+"/decisions", body, in.Version)
}

func (w *wfWorld) pickUp(t *testing.T, login string, in wfInstance) wfInstance {
	t.Helper()
	return w.act(t, login, "/workflow-instances/"+in.ID+"/pickup", nil, in.Version)
}

func (w *wfWorld) queue(t *testing.T, login, queue string) string {
	t.Helper()
	c := w.staff[login]
	return string(c.want(c.do("GET", "/workflow-instances?queue="+queue, nil), 200).body)
}

func (w *wfWorld) notices(t *testing.T, login string) string {
	t.Helper()
	c := w.staff[login]
	return string(c.want(c.do("GET", "/notifications?unread=true", nil), 200).body)
}

// TestWorkflowChains runs each seed-002 chain through the API on both
// engines, stage by stage, each stage acted on by its own department
// from its own queue, with every decision type: forward, approve,
// return to the previous stage, send to arbitration, reject and close.
func TestWorkflowChains(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		t.Run("quality", func(t *testing.T) { qualityChain(t, w) })
		t.Run("transport", func(t *testing.T) { transportChain(t, w) })
		t.Run("billing", func(t *testing.T) { billingChain(t, w) })
		t.Run("service attitude", func(t *testing.T) { attitudeChain(t, w) })
	})
}

func qualityChain(t *testing.T, w *wfWorld) {
	w.clk.set(wfWed(9, 0))
	tk := w.ticket(t, "return_exchange", "裙子开线了")
	a := w.staff["agent"]
	start := map[string]any{"ticket_id": tk, "cause": "quality", "note": "客户反映袖口开线",
		"reply": "您好，已为您登记质量问题，我们会尽快安排检验。"}
	first := a.want(a.do("POST", "/workflow-instances", start, "Idempotency-Key", "quality-"+tk), 201)
	again := a.want(a.do("POST", "/workflow-instances", start, "Idempotency-Key", "quality-"+tk), 201)
	in := a.instance(t, first)
	if again.field(t, "id") != in.ID || first.header.Get("ETag") != `"1"` {
		t.Fatalf("a retried start made a second instance: %s", again.body)
	}
	a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": tk, "cause": "quality"}), 409)
	if in.DefinitionKey != "quality" || in.Stage != "customer_service" || in.FollowerID != w.ids["agent"] || in.ProgressUpdates != 1 {
		t.Fatalf("started: %+v", in)
	}
	// Business time: 30 minutes from 09:00 on a working day.
	if in.Deadline == nil || !in.Deadline.DueAt.Equal(wfWed(9, 30)) {
		t.Fatalf("customer service deadline %+v, want 09:30", in.Deadline)
	}
	if strings.Contains(w.queue(t, "warehouse", "waiting"), in.ID) || !strings.Contains(w.queue(t, "agent", "waiting"), in.ID) {
		t.Fatal("the stage waits in the wrong department")
	}
	in = w.pickUp(t, "agent", in)
	in = w.decide(t, "agent", in, map[string]any{"decision": "forward", "note": "请仓库检验"})
	if in.Stage != "warehouse_inspection" || !strings.Contains(w.queue(t, "warehouse", "waiting"), in.ID) {
		t.Fatalf("after forward: %+v", in)
	}

	// The warehouse sees the items and the photos, not the amounts nor the
	// conversation, and the customer's contact data masked.
	in = w.get(t, "warehouse", in.ID)
	ctx := in.Context
	if len(ctx.Items) != 1 || ctx.Items[0].SKU != "DRESS-M" || ctx.Items[0].UnitPrice != "" || ctx.Billing != nil || len(ctx.Conversation) != 0 {
		t.Errorf("warehouse context: %+v", ctx)
	}
	if !ctx.Customer.Masked || ctx.Customer.Name == "王芳" || len(ctx.Customer.Emails) != 1 || !strings.Contains(ctx.Customer.Emails[0], "•••@example.cn") ||
		strings.Contains(strings.Join(ctx.Customer.Phones, ","), "0013") || ctx.TicketVisible {
		t.Errorf("the warehouse sees the customer unmasked: %+v", ctx.Customer)
	}
	if len(ctx.Photos) != 1 {
		t.Fatalf("photos: %+v", ctx.Photos)
	}
	wh := w.staff["warehouse"]
	if p := wh.want(wh.do("GET", "/workflow-instances/"+in.ID+"/photos/"+ctx.Photos[0].ID, nil), 200); p.header.Get("Content-Type") != "image/png" {
		t.Errorf("photo: %s", p.header)
	}
	wh.want(wh.do("GET", "/tickets/"+tk, nil), 404)

	// Results are required on approval; a return needs none.
	bad := wh.want(wh.do("POST", "/workflow-instances/"+in.ID+"/decisions", map[string]any{"decision": "approve"}, "If-Match", fmt.Sprintf(`"%d"`, in.Version)), 422)
	if !strings.Contains(string(bad.body), "body.results.findings") || !strings.Contains(string(bad.body), "body.results.matches_photos") {
		t.Errorf("approval without results: %s", bad.body)
	}
	in = w.decide(t, "warehouse", in, map[string]any{"decision": "return", "note": "照片不清楚，请客服补充"})
	if in.Stage != "customer_service" {
		t.Fatalf("return went to %s", in.Stage)
	}
	in = w.decide(t, "agent", in, map[string]any{"decision": "forward", "reply": "已收到补充照片，已转仓库检验。"})
	wh.want(wh.do("POST", "/workflow-instances/"+in.ID+"/attachments", map[string]any{"text": "检验照片",
		"attachments": []map[string]any{{"filename": "inspection.png", "content_type": "image/png", "data": "iVBORw0KGgo="}}}), 201)
	in = w.decide(t, "warehouse", in, map[string]any{"decision": "approve", "results": map[string]any{"findings": "袖口缝线断裂 3 cm", "matches_photos": "yes"}})
	if in.Stage != "after_sales_appraisal" {
		t.Fatalf("after approval: %s", in.Stage)
	}
	in = w.decide(t, "aftersales", in, map[string]any{"decision": "forward", "results": map[string]any{"appraisal": "疑似面料批次问题", "remedy": "replacement"}})
	// The warehouse, done with its stage, cannot act on another's.
	wh.want(wh.do("POST", "/workflow-instances/"+in.ID+"/decisions", map[string]any{"decision": "approve"}, "If-Match", fmt.Sprintf(`"%d"`, in.Version)), 403)
	in = w.decide(t, "quality", in, map[string]any{"decision": "arbitrate", "results": map[string]any{"verdict": "原厂认为属正常范围", "report": "F-2025-88"}})
	if in.Stage != "measurement_arbitration" {
		t.Fatalf("arbitration: %s", in.Stage)
	}
	in = w.decide(t, "legal", in, map[string]any{"decision": "approve", "reply": "仲裁结果支持您的主张，我们将为您换货。",
		"results": map[string]any{"institute": "上海市计量测试技术研究院", "measurement": "缝线强度 42 N，低于标准 60 N", "upheld": "yes"}})
	if in.Active || in.Outcome != "approved" || in.ProgressUpdates != 3 || in.MinProgressUpdates != 3 {
		t.Fatalf("ended: %+v", in)
	}
	var hops []string
	for _, h := range in.Path {
		hops = append(hops, h.From+">"+h.Decision)
	}
	if got := strings.Join(hops, " "); got != "customer_service>forward warehouse_inspection>return customer_service>forward warehouse_inspection>approve "+
		"after_sales_appraisal>forward factory_appraisal>arbitrate measurement_arbitration>approve" {
		t.Errorf("path %s", got)
	}
	var measured, attached bool
	for _, st := range in.Steps {
		measured = measured || st.Results["measurement"] == "缝线强度 42 N，低于标准 60 N"
		attached = attached || (len(st.Attachments) == 1 && st.Attachments[0].Filename == "inspection.png")
	}
	if !measured || !attached {
		t.Errorf("history lacks the arbitration measurement or the inspection photo: %+v", in.Steps)
	}
	svg := string(w.admin.want(w.admin.do("GET", "/workflows/quality/diagram?lang=zh-CN&instance="+in.ID, nil), 200).body)
	if !strings.Contains(svg, "<svg") || strings.Count(svg, ` on" d=`) != 6 {
		t.Errorf("the diagram does not show the instance's route")
	}
	progress, err := w.app.Workflows.CustomerProgress(context.Background(), in.ticket(t, w), "zh-CN")
	if err != nil || len(progress) != 1 || progress[0].Outcome != workflow.Approved || len(progress[0].Steps) != 7 || progress[0].Steps[6].Name != "计量仲裁" {
		t.Errorf("the customer's view: %+v %v", progress, err)
	}
}

func (in wfInstance) ticket(t *testing.T, w *wfWorld) string {
	t.Helper()
	var v struct {
		TicketID string `json:"ticket_id"`
	}
	w.admin.want(w.admin.do("GET", "/workflow-instances/"+in.ID, nil), 200).json(t, &v)
	return v.TicketID
}

func transportChain(t *testing.T, w *wfWorld) {
	tk := w.ticket(t, "logistics", "包裹外箱破损")
	a := w.staff["agent"]
	in := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": tk, "cause": "transport"}), 201))
	if in.DefinitionKey != "transport" {
		t.Fatalf("cause transport started %s", in.DefinitionKey)
	}
	in = w.decide(t, "agent", in, map[string]any{"decision": "forward"})
	in = w.decide(t, "transport", in, map[string]any{"decision": "close", "reply": "承运商已确认破损，已为您补发。",
		"results": map[string]any{"carrier_findings": "运输途中挤压", "responsible": "carrier"}})
	if in.Active || in.Outcome != "resolved" {
		t.Fatalf("closed: %+v", in)
	}
	// Acting on an ended chain is a conflict.
	tr := w.staff["transport"]
	tr.want(tr.do("POST", "/workflow-instances/"+in.ID+"/pickup", nil), 409)
}

func billingChain(t *testing.T, w *wfWorld) {
	tk := w.ticket(t, "billing", "订单被重复扣款")
	a := w.staff["agent"]
	in := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": tk, "definition": "billing"}), 201))
	in = w.decide(t, "agent", in, map[string]any{"decision": "forward"})
	// Finance sees the amounts and the items with prices, no photos, and
	// the customer masked.
	in = w.get(t, "finance", in.ID)
	if b := in.Context.Billing; b == nil || b.Total != "399.00" || len(in.Context.Items) != 1 || in.Context.Items[0].UnitPrice != "399.00" ||
		len(in.Context.Photos) != 0 || !in.Context.Customer.Masked {
		t.Errorf("finance context: %+v", in.Context)
	}
	fin := w.staff["finance"]
	fin.want(fin.do("GET", "/workflow-instances/"+in.ID+"/photos/"+kefu.NewID(), nil), 404)
	in = w.pickUp(t, "finance", in)
	// Someone else of the department may not decide what finance picked up.
	in = w.decide(t, "finance", in, map[string]any{"decision": "forward", "results": map[string]any{"finding": "两笔扣款均已到账"}})
	in = w.decide(t, "legal", in, map[string]any{"decision": "forward", "results": map[string]any{"opinion": "需总裁决定是否全额退还"}})
	if in.Stage != "president" {
		t.Fatalf("at %s", in.Stage)
	}
	// The president's stage is for management's supervisors: a
	// customer-service agent can neither pick it up nor decide it.
	a.want(a.do("POST", "/workflow-instances/"+in.ID+"/pickup", nil), 403)
	in = w.decide(t, "gm", in, map[string]any{"decision": "reject", "results": map[string]any{"ruling": "第二笔为预授权，已自动撤销"}})
	if in.Outcome != "rejected" {
		t.Fatalf("rejected: %+v", in)
	}
}

func attitudeChain(t *testing.T, w *wfWorld) {
	tk := w.ticket(t, "complaint", "客服态度太差")
	a := w.staff["agent"]
	in := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": tk, "cause": "service_attitude",
		"reply": "非常抱歉，您的投诉已转交客服部经理处理。"}), 201))
	if in.DefinitionKey != "service_attitude" || in.Stage != "cs_manager" {
		t.Fatalf("started %s at %s", in.DefinitionKey, in.Stage)
	}
	// The manager's stage is for supervisors: the agent who started it
	// does not have it in their queue and may not pick it up.
	if strings.Contains(w.queue(t, "agent", "waiting"), in.ID) || !strings.Contains(w.queue(t, "manager", "waiting"), in.ID) {
		t.Fatal("the manager's stage is in the wrong queue")
	}
	a.want(a.do("POST", "/workflow-instances/"+in.ID+"/pickup", nil), 403)
	in = w.pickUp(t, "manager", in)
	if !strings.Contains(w.queue(t, "manager", "mine"), in.ID) {
		t.Fatal("not in the manager's own queue after picking it up")
	}
	in = w.decide(t, "manager", in, map[string]any{"decision": "forward", "results": map[string]any{"finding": "通话录音确认客服挂断电话"},
		"reply": "经理已核实情况，已提交总经理处理。"})
	in = w.pickUp(t, "gm", in)
	in = w.decide(t, "gm", in, map[string]any{"decision": "close", "results": map[string]any{"measures": "对当事客服进行培训并向客户致歉，赠送优惠券"},
		"reply": "总经理已处理您的投诉，向您致歉并赠送 50 元优惠券。"})
	if in.Outcome != "resolved" || in.ProgressUpdates != 3 {
		t.Fatalf("closed: %+v", in)
	}
	// The follower (the agent who started it) heard of every hand-off.
	var ns struct {
		Notifications []struct{ Kind, Text string }
	}
	w.staff["agent"].want(w.staff["agent"].do("GET", "/notifications?unread=true", nil), 200).json(t, &ns)
	n := 0
	for _, x := range ns.Notifications {
		if x.Kind == "workflow.handoff" && strings.Contains(x.Text, "客服态度太差") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the follower got %d hand-off notices, want 2", n)
	}
}

// TestWorkflowDeadlineEscalation: a stage nobody picks up goes to its
// department's supervisor at its pick-up time and to management up the
// ladder, through the SLA sweep, on business time.
func TestWorkflowDeadlineEscalation(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		w.clk.set(wfWed(11, 30))
		tk := w.ticket(t, "complaint", "多次投诉没人处理")
		a := w.staff["agent"]
		in := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": tk, "definition": "complaint"}), 201))
		// 450 business minutes from Wednesday 11:30 (30 before lunch, 240
		// in the afternoon, 180 on Thursday morning) end on Thursday at
		// 11:30; the 60 minutes to pick it up end at 14:00, after lunch.
		thu := func(h, m int) time.Time { return time.Date(2025, 9, 25, h, m, 0, 0, shanghai) }
		if !in.Deadline.DueAt.Equal(thu(11, 30)) {
			t.Fatalf("due %s", in.Deadline.DueAt.In(shanghai))
		}
		sweep := func(at time.Time) {
			t.Helper()
			w.clk.set(at)
			if _, err := w.app.SLA.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		sweep(wfWed(13, 0)) // lunch: no business time passes
		if n := w.notices(t, "manager"); strings.Contains(n, "pick-up") {
			t.Fatalf("escalated during lunch: %s", n)
		}
		sweep(wfWed(14, 1))
		if n := w.notices(t, "manager"); !strings.Contains(n, "sla.breach") || !strings.Contains(n, "pick-up of stage") {
			t.Fatalf("the unpicked stage did not reach the customer-service supervisor: %s", n)
		}
		// The ladder's 240 business minutes after the pick-up time end on
		// Thursday at 09:00: not yet at the close of Wednesday.
		sweep(wfWed(17, 29))
		if strings.Contains(w.notices(t, "gm"), "sla.") || strings.Contains(w.queue(t, "gm", "waiting"), in.ID) {
			t.Fatal("management was told before the ladder's time")
		}
		sweep(thu(9, 1))
		if n := w.notices(t, "gm"); !strings.Contains(n, "sla.escalation") {
			t.Fatalf("management was not told: %s", n)
		}
		in = w.get(t, "gm", in.ID)
		if !in.Escalated || in.Pickup == nil || in.Pickup.Level != 2 || !strings.Contains(w.queue(t, "gm", "waiting"), in.ID) {
			t.Fatalf("escalated instance: %+v", in)
		}
		// The stage deadline passes too: a breach with the stage's level.
		sweep(thu(11, 31))
		in = w.get(t, "manager", in.ID)
		if in.Deadline.State != "breached" || in.Deadline.Level != 1 {
			t.Fatalf("stage deadline %+v", in.Deadline)
		}
		// Management steps in: it may act on an escalated stage.
		in = w.decide(t, "gm", in, map[string]any{"decision": "forward", "note": "升级处理"})
		if in.Stage != "senior_staff" || in.Deadline.State != "running" {
			t.Fatalf("after management stepped in: %+v", in)
		}
		// Picked up, the stage warns whoever picked it up when 80% of its
		// time is used: 360 business minutes after Thursday 11:31.
		in = w.pickUp(t, "manager", in)
		sweep(time.Date(2025, 9, 26, 9, 59, 0, 0, shanghai))
		if strings.Contains(w.notices(t, "manager"), "sla.warning") {
			t.Fatal("warned early")
		}
		sweep(time.Date(2025, 9, 26, 10, 2, 0, 0, shanghai))
		if n := w.notices(t, "manager"); !strings.Contains(n, "sla.warning") || !strings.Contains(n, `stage \"Senior staff\"`) {
			t.Fatalf("the picker was not warned: %s", n)
		}
		// Sweeping again fires nothing twice.
		before := w.notices(t, "gm")
		sweep(time.Date(2025, 9, 26, 10, 3, 0, 0, shanghai))
		if w.notices(t, "gm") != before {
			t.Error("a sweep fired an escalation twice")
		}
	})
}

// TestWorkflowVersions: a chain edited while instances run; they keep the
// version they started with, new ones take the new one; a stale edit and
// an invalid chain are refused and change nothing.
func TestWorkflowVersions(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		c := w.admin
		a := w.staff["agent"]
		old := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": w.ticket(t, "complaint", "态度问题"), "cause": "service_attitude"}), 201))
		got := c.want(c.do("GET", "/workflows/service_attitude", nil), 200)
		var def map[string]any
		got.json(t, &def)
		doc := c.want(c.do("GET", "/workflows/service_attitude/export", nil), 200)
		var edited map[string]any
		doc.json(t, &edited)
		// Version 2: the manager may no longer close; a stage in between.
		stages := edited["stages"].([]any)
		mgr := stages[0].(map[string]any)
		mgr["decisions"] = []any{map[string]any{"kind": "forward", "to": "hr"}}
		stages = append(stages[:1], append([]any{map[string]any{"key": "hr", "name": map[string]any{"en": "Human resources", "zh-CN": "人力资源"},
			"department": "management", "sla": map[string]any{"minutes": 120},
			"decisions": []any{map[string]any{"kind": "forward", "to": "general_manager"}, map[string]any{"kind": "return"}}}}, stages[1:]...)...)
		edited["stages"] = stages

		// Invalid: a dead end, named by its stage; nothing changes.
		broken := map[string]any{}
		b, _ := json.Marshal(edited)
		json.Unmarshal(b, &broken)
		broken["stages"].([]any)[1].(map[string]any)["decisions"] = []any{}
		bad := c.want(c.do("PUT", "/workflows/service_attitude", broken, "If-Match", `"1"`), 422)
		if !strings.Contains(string(bad.body), `"body.stages[1].decisions"`) || !strings.Contains(string(bad.body), `stage \"hr\" is a dead end`) {
			t.Errorf("the dead end is not named: %s", bad.body)
		}
		badNew := c.want(c.do("POST", "/workflows", map[string]any{"key": "broken", "name": map[string]any{"en": "Broken"}, "stages": []any{
			map[string]any{"key": "a", "name": map[string]any{"en": "A"}, "department": "finance", "sla": map[string]any{"minutes": 5},
				"decisions": []any{map[string]any{"kind": "forward", "to": "nowhere"}}}}}), 422)
		if !strings.Contains(string(badNew.body), `"body.stages[0].decisions[0].to"`) || !strings.Contains(string(badNew.body), `stage \"a\": forward leads to \"nowhere\"`) {
			t.Errorf("an unknown stage is not named: %s", badNew.body)
		}
		if r := c.want(c.do("GET", "/workflows/service_attitude", nil), 200); r.header.Get("ETag") != `"1"` {
			t.Fatalf("a refused edit changed the chain: %s", r.header)
		}
		c.want(c.do("GET", "/workflows/broken", nil), 404)

		v2 := c.want(c.do("PUT", "/workflows/service_attitude", edited, "If-Match", `"1"`), 200)
		if v2.header.Get("ETag") != `"2"` || v2.field(t, "running") != "1" {
			t.Fatalf("version 2: %s %s", v2.header, v2.body)
		}
		c.want(c.do("PUT", "/workflows/service_attitude", edited, "If-Match", `"1"`), 412)
		c.want(c.do("GET", "/workflows/service_attitude/versions/1", nil), 200)

		// The running instance keeps version 1: the manager may still close.
		old = w.get(t, "manager", old.ID)
		if old.DefinitionVersion != 1 || len(old.Actions.Decisions) != 3 {
			t.Fatalf("the running instance: version %d, decisions %+v", old.DefinitionVersion, old.Actions.Decisions)
		}
		old = w.decide(t, "manager", old, map[string]any{"decision": "close", "results": map[string]any{"finding": "已道歉"}})
		if old.Outcome != "resolved" {
			t.Fatalf("closed on version 1: %+v", old)
		}
		fresh := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"ticket_id": w.ticket(t, "complaint", "又一次态度问题"), "cause": "service_attitude"}), 201))
		if fresh.DefinitionVersion != 2 {
			t.Fatalf("a new instance runs version %d", fresh.DefinitionVersion)
		}
		w.staff["manager"].want(w.staff["manager"].do("POST", "/workflow-instances/"+fresh.ID+"/decisions",
			map[string]any{"decision": "close", "results": map[string]any{"finding": "x"}}), 422)
		fresh = w.decide(t, "manager", fresh, map[string]any{"decision": "forward", "results": map[string]any{"finding": "需人事跟进"}})
		if fresh.Stage != "hr" {
			t.Fatalf("version 2 leads to %s", fresh.Stage)
		}
		// A chain that ran cannot be deleted.
		c.want(c.do("DELETE", "/workflows/service_attitude", nil), 409)
	})
}

// exerciseWorkflows walks every workflow route once as the contract
// test's administrator (who may act on any stage).
func exerciseWorkflows(t *testing.T, c *apiClient) {
	// Without the departments they name, the shipped chains are refused.
	if bad := c.want(c.do("POST", "/workflows/defaults", nil), 422); !strings.Contains(string(bad.body), "body.workflows[0].stages[0].department") {
		t.Errorf("defaults without departments: %s", bad.body)
	}
	for _, d := range demo.Departments {
		if d.Slug != "after-sales" {
			c.want(c.do("POST", "/departments", d), 201)
		}
	}
	c.want(c.do("POST", "/workflows/defaults", nil), 200)
	c.want(c.do("GET", "/workflows", nil), 200)
	q := c.want(c.do("GET", "/workflows/quality", nil), 200)
	exported := c.want(c.do("GET", "/workflows/quality/export", nil), 200)
	var doc map[string]any
	exported.json(t, &doc)
	if res := c.want(c.do("POST", "/workflows/import", map[string]any{"workflows": []any{doc}}), 200); !strings.Contains(string(res.body), `"unchanged"`) {
		t.Errorf("re-importing an export: %s", res.body)
	}
	c.want(c.do("GET", "/workflows/"+q.field(t, "id")+"/versions/1", nil), 200)
	if svg := c.want(c.do("GET", "/workflows/quality/diagram?lang=zh-CN", nil), 200); svg.header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("diagram: %s", svg.header)
	}
	small := map[string]any{"key": "gift-wrap", "name": map[string]any{"en": "Gift wrap"}, "stages": []any{
		map[string]any{"key": "pack", "name": map[string]any{"en": "Pack"}, "department": "after-sales", "sla": map[string]any{"minutes": 60},
			"decisions": []any{map[string]any{"kind": "close", "outcome": "resolved"}}}}}
	created := c.want(c.do("POST", "/workflows", small, "Idempotency-Key", "gift-wrap-1"), 201)
	c.want(c.do("POST", "/workflows", small, "Idempotency-Key", "gift-wrap-1"), 201)
	small["position"] = 99
	c.want(c.do("PUT", "/workflows/gift-wrap", small, "If-Match", created.header.Get("ETag")), 200)
	c.want(c.do("DELETE", "/workflows/gift-wrap", nil), 204)

	tk := c.want(c.do("POST", "/tickets", map[string]any{"subject": "衣服褪色", "channel": "email", "category": "return_exchange",
		"customer": map[string]any{"email": "chen@example.cn"}, "message": map[string]any{"text": "洗了一次就褪色",
			"attachments": []map[string]any{{"filename": "fade.png", "content_type": "image/png", "data": "iVBORw0KGgo="}}}}), 201)
	start := map[string]any{"ticket_id": tk.field(t, "key"), "cause": "quality", "reply": "已登记，我们会尽快处理。"}
	in := c.instance(t, c.want(c.do("POST", "/workflow-instances", start, "Idempotency-Key", "fade-1"), 201))
	c.want(c.do("GET", "/workflow-instances?queue=waiting", nil), 200)
	c.want(c.do("GET", "/workflow-instances?ticket_id="+tk.field(t, "key"), nil), 200)
	c.want(c.do("GET", "/workflow-instances?queue=everything", nil), 422)
	in = c.instance(t, c.want(c.do("PATCH", "/workflow-instances/"+in.ID, map[string]any{"follower_id": ""}, "If-Match", fmt.Sprintf(`"%d"`, in.Version)), 200))
	in = c.instance(t, c.want(c.do("POST", "/workflow-instances/"+in.ID+"/pickup", nil, "If-Match", fmt.Sprintf(`"%d"`, in.Version)), 200))
	c.want(c.do("POST", "/workflow-instances/"+in.ID+"/notes", map[string]any{"text": "客户已寄回"}), 201)
	var step struct {
		Attachments []struct{ ID string }
	}
	c.want(c.do("POST", "/workflow-instances/"+in.ID+"/attachments", map[string]any{"attachments": []map[string]any{
		{"filename": "label.pdf", "content_type": "application/pdf", "data": "JVBERi0="}}}), 201).json(t, &step)
	if f := c.want(c.do("GET", "/workflow-instances/"+in.ID+"/attachments/"+step.Attachments[0].ID, nil), 200); string(f.body) != "%PDF-" {
		t.Errorf("attachment %q", f.body)
	}
	in = c.instance(t, c.want(c.do("GET", "/workflow-instances/"+in.ID, nil), 200))
	c.want(c.do("GET", "/workflow-instances/"+in.ID+"/photos/"+in.Context.Photos[0].ID, nil), 200)
	c.want(c.do("POST", "/workflow-instances/"+in.ID+"/decisions", map[string]any{"decision": "forward"}, "If-Match", `"1"`), 412)
	c.want(c.do("POST", "/workflow-instances/"+in.ID+"/decisions", map[string]any{"decision": "forward"}, "If-Match", fmt.Sprintf(`"%d"`, in.Version)), 200)
}

// TestWorkflowOnCases starts chains on after-sales cases: the case's
// kind, reason and claimed amount choose the chain, and the stage that
// shows amounts sees the claim.
func TestWorkflowOnCases(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		a, c := w.staff["agent"], w.admin
		// Refunds over 300 CNY go to finance first.
		c.want(c.do("POST", "/workflows", map[string]any{"key": "big-refunds", "name": map[string]any{"en": "Large refunds"}, "position": 5,
			"entry": map[string]any{"case_kinds": []string{"refund_only"}, "amount_over": "300", "currency": "CNY"},
			"stages": []any{map[string]any{"key": "finance", "name": map[string]any{"en": "Finance"}, "department": "finance",
				"sla": map[string]any{"minutes": 240}, "sees": []string{"billing"},
				"decisions": []any{map[string]any{"kind": "approve", "outcome": "approved"}, map[string]any{"kind": "reject", "outcome": "rejected"}}}}}), 201)
		refund := a.want(a.do("POST", "/aftersales/cases", map[string]any{"kind": "refund_only", "ticket_id": w.ticket(t, "billing", "多扣了一次款"),
			"reason": "billing_error", "items": []map[string]any{{"item": "DRESS-M", "quantity": 1}}}), 201).field(t, "id")
		in := a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"case_id": refund}), 201))
		if in.DefinitionKey != "big-refunds" {
			t.Fatalf("a refund of 399.00 started %s", in.DefinitionKey)
		}
		var v struct {
			CaseID  string `json:"case_id"`
			Cause   string `json:"cause"`
			Context struct {
				Case    struct{ Kind, Reason string }
				Billing struct{ Claim string }
			}
		}
		w.staff["finance"].want(w.staff["finance"].do("GET", "/workflow-instances/"+in.ID, nil), 200).json(t, &v)
		if v.CaseID != refund || v.Cause != "billing_error" || v.Context.Case.Kind != "refund_only" || v.Context.Billing.Claim != "399.00" {
			t.Errorf("on the case: %+v", v)
		}
		if list := a.want(a.do("GET", "/workflow-instances?case_id="+refund, nil), 200); !strings.Contains(string(list.body), in.ID) {
			t.Errorf("the case's instances: %s", list.body)
		}
		// A complaint about attitude takes the service-attitude chain by
		// its reason; the large-refund chain does not apply to it.
		complaint := a.want(a.do("POST", "/aftersales/cases", map[string]any{"kind": "complaint", "ticket_id": w.ticket(t, "complaint", "态度差"),
			"reason": "service_attitude"}), 201).field(t, "id")
		bad := a.want(a.do("POST", "/workflow-instances", map[string]any{"case_id": complaint, "definition": "big-refunds"}), 422)
		if !strings.Contains(string(bad.body), "the case is a complaint, not one of refund_only") {
			t.Errorf("a chain that does not apply: %s", bad.body)
		}
		in = a.instance(t, a.want(a.do("POST", "/workflow-instances", map[string]any{"case_id": complaint}), 201))
		if in.DefinitionKey != "service_attitude" || in.Stage != "cs_manager" {
			t.Fatalf("the complaint started %s at %s", in.DefinitionKey, in.Stage)
		}
	})
}
