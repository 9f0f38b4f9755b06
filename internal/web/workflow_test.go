package web_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/web"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// withWorkflows adds workflows (and the SLA they need) to a console.
func withWorkflows(t *testing.T) func(*web.Deps) {
	return func(d *web.Deps) {
		cals := &calendar.Service{DB: d.DB, Now: d.Now}
		s := &sla.Service{DB: d.DB, Now: d.Now, Calendars: cals, Tickets: d.Tickets}
		d.Workflows = &workflow.Service{DB: d.DB, Now: d.Now, Tickets: d.Tickets, Customers: d.Customers, Team: d.Team, SLA: s,
			Calendars: cals, Blobs: blob.Dir{Root: filepath.Join(t.TempDir(), "wf")}}
		d.Tickets.Hooks = append(d.Tickets.Hooks, d.Workflows)
	}
}

const returnsChain = `{
  "key": "returns",
  "name": {"en": "Returns", "zh-CN": "退货"},
  "stages": [
    {"key": "check", "name": {"en": "Check", "zh-CN": "核实"}, "department": "customer-service", "sla": {"minutes": 30},
     "customer": {"en": "We are checking.", "zh-CN": "正在核实。"},
     "fields": [{"key": "finding", "label": {"en": "Finding", "zh-CN": "核实结果"}, "type": "text", "required": true}],
     "decisions": [{"kind": "forward", "to": "warehouse"}, {"kind": "close", "outcome": "resolved"}]},
    {"key": "warehouse", "name": {"en": "Warehouse", "zh-CN": "仓库"}, "department": "warehouse", "sla": {"minutes": 60},
     "sees": ["items"], "decisions": [{"kind": "approve", "outcome": "approved"}, {"kind": "return"}]}
  ]
}`

// The console's workflow pages: the admin edits a chain as JSON (a broken
// one is refused naming its stage), an agent starts it on a ticket and
// decides its stage from the queue, and the warehouse, which cannot open
// the ticket, acts on its own stage seeing the customer masked.
func TestWorkflowPages(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withWorkflows(t))
		sys := kefu.WithActor(context.Background(), kefu.System)
		wh, err := e.team.CreateDepartment(sys, team.NewDepartment{Slug: "warehouse", Name: "Warehouse", NameZh: "仓库"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.team.CreateStaff(sys, team.NewStaff{Email: "zhao@example.com", Name: "赵敏", Role: kefu.RoleStaff,
			Departments: []string{wh.ID}, Password: password}); err != nil {
			t.Fatal(err)
		}
		admin := e.signin("admin@example.com")
		want(t, admin.get("/admin/workflows"), 200, "Install or update", `name="json"`)
		broken := strings.Replace(returnsChain, `"to": "warehouse"`, `"to": "wherehouse"`, 1)
		want(t, admin.send("POST", "/admin/workflows/preview", url.Values{"json": {broken}}), 200,
			"stages[0].decisions[0].to", `stage &#34;check&#34;: forward leads to &#34;wherehouse&#34;`)
		want(t, admin.post("/admin/workflows", url.Values{"json": {broken}}), 422, "wherehouse")
		want(t, admin.get("/admin/workflows/returns"), 404)
		created := admin.post("/admin/workflows", url.Values{"json": {returnsChain}})
		want(t, created, 200, "Workflow created.", "<svg", `data-stage="warehouse"`)
		// A new version; the first stays readable.
		v2 := strings.Replace(returnsChain, `"sla": {"minutes": 30}`, `"sla": {"minutes": 45}`, 1)
		want(t, admin.post("/admin/workflows/returns", url.Values{"json": {v2}, "version": {"1"}}), 200, "Saved as a new version", "45 min")
		want(t, admin.post("/admin/workflows/returns", url.Values{"json": {v2}, "version": {"1"}}), 409, "Someone saved this workflow meanwhile")
		want(t, admin.get("/admin/workflows/returns?version=1"), 200, "Version 1, as the instances started on it run it", "30 min")
		export := admin.get("/admin/workflows/returns/export")
		want(t, export, 200, `"minutes": 45`)
		if cd := export.Header.Get("Content-Disposition"); !strings.Contains(cd, "workflow-returns.json") {
			t.Errorf("export: %s", cd)
		}

		agent := e.signin("li.na@example.com")
		want(t, agent.get("/t/"+e.ticket.Key+"/workflows"), 200, "启动售后流程", `value="returns"`)
		started := agent.send("POST", "/t/"+e.ticket.Key+"/workflows", url.Values{"definition": {"returns"}})
		loc := started.Header.Get("HX-Location")
		if started.StatusCode != 204 || !strings.HasPrefix(loc, "/work/i/") {
			t.Fatalf("start: %d %s %s", started.StatusCode, loc, started.body)
		}
		want(t, agent.get("/work/waiting"), 200, "核实", e.ticket.Key)
		want(t, agent.get("/work/sidebar"), 200, `data-work-queue="waiting"`)
		page := agent.get(loc)
		want(t, page, 200, "认领", "核实结果", "王芳")
		want(t, agent.post(loc+"/pickup", url.Values{"version": {"1"}}), 200, "您已认领该环节。")
		want(t, agent.post(loc+"/decide", url.Values{"version": {"2"}, "decision": {"forward:warehouse"}}), 422, "Finding is required at stage")
		want(t, agent.post(loc+"/decide", url.Values{"version": {"2"}, "decision": {"forward:warehouse"}, "result.finding": {"包装破损"}}),
			200, "已提交决定。", "包装破损")

		// The warehouse cannot open the ticket, but works its stage with
		// the customer masked.
		zhao := e.signin("zhao@example.com")
		want(t, zhao.get("/t/"+e.ticket.Key), 404)
		stage := zhao.get(loc)
		want(t, stage, 200, "w•••@example.com", "contact data hidden")
		if strings.Contains(stage.body, "wang@example.com") || strings.Contains(stage.body, "王芳") {
			t.Error("the warehouse sees the customer's contact data")
		}
		want(t, zhao.post(loc+"/decide", url.Values{"version": {"3"}, "decision": {"return"}}), 200, "Decided.")
		want(t, agent.get(loc), 200, "核实")
		// A stale form is refused with the page as it is now.
		want(t, agent.post(loc+"/decide", url.Values{"version": {"3"}, "decision": {"close"}, "result.finding": {"x"}}), 409, "其他人已处理了这个环节")
	})
}
