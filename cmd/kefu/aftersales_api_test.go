package main

import (
	"strings"
	"testing"
)

// ---- After-sales cases ----

// exerciseAftersales walks every after-sales route once as the admin, on
// the shop, order and ticket the blocks before left: reasons and
// settings, eligibility, a return opened with a photo and approved, a
// complaint compensated with a voucher the shop then redeems, and the
// report. The lifecycles themselves are walked by TestAftersalesScenarios.
func exerciseAftersales(t *testing.T, c *apiClient) {
	c.want(c.do("GET", "/aftersales/reasons", nil), 200)
	saved := c.want(c.do("PUT", "/aftersales/reasons/wrong_colour", map[string]any{"name_en": "Wrong colour", "name_zh": "颜色不符",
		"basis": "not_as_described", "responsible": "shop", "kinds": []string{"return", "exchange"}, "position": 45}), 200)
	if !strings.Contains(string(saved.body), "颜色不符") {
		t.Errorf("saved reason missing: %s", saved.body)
	}
	c.want(c.do("PUT", "/aftersales/reasons/Bad Key", map[string]any{"name_en": "x", "basis": "whim"}), 422)
	st := c.want(c.do("GET", "/aftersales/settings", nil), 200)
	var settings map[string]any
	st.json(t, &settings)
	var cals struct{ Calendars []struct{ ID string } }
	c.want(c.do("GET", "/calendars", nil), 200).json(t, &cals)
	settings["calendar_id"] = cals.Calendars[0].ID
	settings["refund_working_days"] = 5
	c.want(c.do("PUT", "/aftersales/settings", settings, "If-Match", st.header.Get("ETag")), 200)
	c.want(c.do("PUT", "/aftersales/settings", settings, "If-Match", st.header.Get("ETag")), 412)
	settings["refund_working_days"] = 0
	c.want(c.do("PUT", "/aftersales/settings", settings), 422)

	el := c.want(c.do("GET", "/aftersales/eligibility?order=SO-88001&kind=return&reason=quality_defect", nil), 200)
	if !strings.Contains(string(el.body), `"eligible":true`) {
		t.Errorf("eligibility of a return just after delivery: %s", el.body)
	}
	var tickets struct{ Tickets []struct{ ID, Key string } }
	c.want(c.do("GET", "/tickets?order_number=SO-88001", nil), 200).json(t, &tickets)
	opened := c.want(c.do("POST", "/aftersales/cases", map[string]any{"kind": "return", "ticket_id": tickets.Tickets[0].Key, "reason": "quality_defect",
		"items": []map[string]any{{"item": "DRS-001-M-RED", "quantity": 1}}, "photos": []any{photo}}, "Idempotency-Key", "case-1"), 201)
	var cs caseView
	opened.json(t, &cs)
	var withPhotos struct{ Photos []struct{ ID string } }
	opened.json(t, &withPhotos)
	c.want(c.do("GET", "/aftersales/cases?ticket="+tickets.Tickets[0].Key+"&kind=return&open=true", nil), 200)
	c.want(c.do("GET", "/aftersales/cases?step=nowhere", nil), 422)
	c.want(c.do("GET", "/aftersales/cases/"+cs.Key, nil), 200)
	c.want(c.do("GET", "/aftersales/photos/"+withPhotos.Photos[0].ID, nil), 200)
	c.want(c.do("POST", "/aftersales/cases/"+cs.ID+"/actions", map[string]any{"action": "approve"}, "If-Match", `"1"`), 200)
	c.want(c.do("GET", "/aftersales/cases/"+cs.ID+"/audit", nil), 200)

	complaint := c.want(c.do("POST", "/aftersales/cases", map[string]any{"kind": "complaint", "ticket_id": tickets.Tickets[0].ID, "reason": "late_delivery"}), 201)
	comp := c.want(c.do("POST", "/aftersales/cases/"+complaint.field(t, "id")+"/actions", map[string]any{"action": "remedy", "remedy": "voucher",
		"amount": "30", "code": "SORRY-30", "expires_on": "2099-12-31"}, "If-Match", `"1"`), 200)
	if !strings.Contains(string(comp.body), "SORRY-30") {
		t.Errorf("voucher missing: %s", comp.body)
	}
	c.want(c.do("GET", "/aftersales/vouchers/sorry-30", nil), 200)
	c.want(c.do("POST", "/aftersales/vouchers/SORRY-30/redeem", map[string]string{"order_number": "SO-99001"}), 200)
	c.want(c.do("GET", "/aftersales/vouchers/NOPE-1", nil), 404)

	c.want(c.do("GET", "/aftersales/reports/returns?period=week", nil), 200)
	c.want(c.do("GET", "/aftersales/reports/returns.csv", nil), 200)
}
