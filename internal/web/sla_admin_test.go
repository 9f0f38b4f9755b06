package web_test

import (
	"context"

	"github.com/kefu-desk/kefu"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/web"
)

// withSLA adds the calendar and SLA services to a console.
func withSLA(db *database.DB) (func(*web.Deps), *calendar.Service, *sla.Service) {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	cals := &calendar.Service{DB: db, Now: now}
	s := &sla.Service{DB: db, Now: now, Calendars: cals}
	cals.Hooks = append(cals.Hooks, s)
	return func(d *web.Deps) {
		s.Tickets = d.Tickets
		d.Tickets.Hooks = append(d.Tickets.Hooks, s)
		d.Calendars, d.SLA = cals, s
	}, cals, s
}

var calendarPath = regexp.MustCompile(`/admin/calendars/([0-9a-zA-Z_-]+)\?saved=`)

func TestCalendarAdminRefusesBadHoursAndSimulates(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		opt, cals, _ := withSLA(db)
		e := newEnv(t, db, opt)
		b := e.signin("admin@example.com")
		want(t, b.get("/admin/calendars"), 200, "09:00-18:00")
		form := url.Values{"name": {"Shanghai office"}, "timezone": {"Asia/Shanghai"},
			"weekly.mon": {"09:00-12:00, 13:30-18:00"}, "weekly.tue": {"09:00-18:00"},
			"ov_date": {"2026-10-01", ""}, "ov_hours": {"", ""}, "include": {calendar.CNStatutory}}
		p := b.post("/admin/calendars", form)
		want(t, p, 200, "Saved: Shanghai office")
		m := calendarPath.FindStringSubmatch(p.Request.URL.String())
		if m == nil {
			t.Fatalf("no calendar page: %s", p.Request.URL)
		}
		id := m[1]

		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("weekly.mon", "09:00-12:00, 11:00-18:00")
		bad.Set("version", "1")
		want(t, b.post("/admin/calendars/"+id, bad), 422, "Nothing was saved", `id="a-weekly.mon-error"`, `value="09:00-12:00, 11:00-18:00"`)
		rec, err := cals.Get(sysCtx(), id)
		if err != nil || len(rec.Spec.Weekly["mon"]) != 2 || rec.Spec.Weekly["mon"][1][0] != "13:30" {
			t.Fatalf("a refused edit changed the calendar: %+v %v", rec, err)
		}

		p = b.get("/admin/calendars/" + id + "?at=2026-03-02T11:55&minutes=10")
		want(t, p, 200, `id="sim-due"`, "2026-03-02 13:35", "Asia/Shanghai")
		p = b.get("/admin/calendars/" + id + "?from=2026-03-02T08:00&to=2026-03-02T14:00")
		want(t, p, 200, "210 business minutes")

		exp := b.get("/admin/calendars/" + id + "/export")
		want(t, exp, 200, `"13:30"`, `"2026-10-01": []`)
		if !strings.Contains(exp.Header.Get("Content-Disposition"), "attachment") {
			t.Error("export is not a download")
		}
	})
}

func sysCtx() context.Context { return kefu.WithActor(context.Background(), kefu.System) }

func TestPolicyAdminShowsErrorsThenSaves(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		opt, cals, slas := withSLA(db)
		e := newEnv(t, db, opt)
		cal, err := cals.Create(sysCtx(), calendar.Spec{Name: "Office", Timezone: "Asia/Shanghai",
			Weekly: calendar.Week{"mon": {{"09:00", "18:00"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.signin("admin@example.com")
		want(t, b.get("/admin/sla"), 200, "Office (Asia/Shanghai)")
		form := url.Values{"name": {"VIP"}, "calendar_id": {cal.ID}, "priorities": {"urgent"},
			"t.first_response.minutes": {"30"}, "t.first_response.unit": {"business"}, "t.first_response.warn_before": {"45"},
			"t.resolution.minutes": {"480"}, "t.resolution.unit": {"calendar"},
			"t.resolution.actions": {`{"breach": [{"kind": "notify", "to": "nobody"}]}`}}
		p := b.post("/admin/sla", form)
		want(t, p, 422, "Nothing was saved", `id="a-t.first_response.warn_before-error"`, "less than the target", "breach[0].to", `value="45"`)
		if ps, _ := slas.Policies(sysCtx()); len(ps) != 0 {
			t.Fatalf("a refused policy was saved: %+v", ps)
		}
		want(t, b.post("/admin/sla", url.Values{"name": {"VIP"}, "calendar_id": {cal.ID}, "t.solution.minutes": {"60"},
			"t.solution.unit": {"business"}, "t.solution.actions": {"{not json"}}), 422, "is not valid JSON")

		form.Set("t.first_response.warn_before", "10")
		form.Set("t.resolution.actions", `{"breach": [{"kind": "notify", "to": "supervisors"}], "escalations": [{"after_minutes": 60, "actions": [{"kind": "raise_priority"}]}]}`)
		want(t, b.post("/admin/sla", form), 200, "Saved: VIP")
		form.Set("name", "Everyone")
		form.Del("priorities")
		want(t, b.post("/admin/sla", form), 200, "Saved: Everyone")
		ps, err := slas.Policies(sysCtx())
		if err != nil || len(ps) != 2 || ps[0].Name != "VIP" || len(ps[0].Targets[1].Escalations) != 1 {
			t.Fatalf("policies: %+v %v", ps, err)
		}
		want(t, b.get("/admin/sla/"+ps[0].ID), 200, "raise_priority", `value="10"`)
		want(t, b.post("/admin/sla/"+ps[1].ID+"/move", url.Values{"dir": {"up"}}), 200)
		if ps, _ = slas.Policies(sysCtx()); ps[0].Name != "Everyone" {
			t.Fatalf("move up: %s first", ps[0].Name)
		}
	})
}

func TestAgreedNextContactAndWaiver(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		opt, cals, slas := withSLA(db)
		e := newEnv(t, db, opt)
		week := calendar.Week{}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			week[d] = [][]string{{"00:00", "24:00"}}
		}
		cal, err := cals.Create(sysCtx(), calendar.Spec{Name: "Always", Timezone: "Asia/Shanghai", Weekly: week})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := slas.CreatePolicy(sysCtx(), sla.Policy{Name: "Default", CalendarID: cal.ID, Definition: sla.Definition{
			MinProgressUpdates: 2, Targets: []sla.Target{{Kind: sla.Resolution, Minutes: 600, Unit: sla.Business}}}}); err != nil {
			t.Fatal(err)
		}
		path := "/t/" + e.ticket.Key
		li := e.signin("li.na@example.com")
		p := li.get(path)
		want(t, p, 200, "sla/agreements")
		if strings.Contains(p.body, "sla/waiver") {
			t.Error("an agent is offered the waiver")
		}
		when := time.Now().In(time.FixedZone("CST", 8*3600)).Add(48 * time.Hour).Format("2006-01-02T15:04")
		want(t, li.send("POST", path+"/sla/agreements", url.Values{"next_contact_at": {when}, "channel": {"phone"}}), 422,
			"customer_words", `value="`+when+`"`)
		p = li.send("POST", path+"/sla/agreements", url.Values{"next_contact_at": {when}, "channel": {"phone"}, "customer_words": {"周五下午再联系我"}})
		want(t, p, 200, "周五下午再联系我", "约定下次联系")
		got, err := slas.ForTicket(sysCtx(), e.ticket.ID)
		if err != nil || len(got.Agreements) != 1 || got.Clocks[0].AgreedDueAt == nil {
			t.Fatalf("agreement: %+v %v", got, err)
		}

		ada := e.signin("admin@example.com")
		want(t, ada.get(path), 200, "sla/waiver")
		want(t, ada.send("POST", path+"/sla/waiver", url.Values{"reason": {""}}), 422, "3 to 1000 bytes")
		want(t, ada.send("POST", path+"/sla/waiver", url.Values{"reason": {"客户已确认解决"}}), 200, "Progress minimum waived: 客户已确认解决")
	})
}
