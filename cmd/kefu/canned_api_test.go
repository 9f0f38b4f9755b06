package main

import (
	"strings"
	"testing"
)

// ---- Canned replies ----

// exerciseCanned walks the canned-reply routes: the admin keeps a shared
// reply, an agent keeps their own and may not touch the shared one, and
// an unknown variable is refused under the body field.
func exerciseCanned(t *testing.T, c *apiClient) {
	// The SLA block left the client signed in as the admin.
	bad := c.want(c.do("POST", "/canned-replies", map[string]any{"title": "Refund", "body": "Dear {{customer.email}}", "shared": true}), 422)
	if !strings.Contains(string(bad.body), "body.body") || !strings.Contains(string(bad.body), "{{customer.email}}") {
		t.Errorf("unknown variable refused without naming it: %s", bad.body)
	}
	shared := c.want(c.do("POST", "/canned-replies", map[string]any{"title": "退款说明", "body": "{{customer.name}}您好，工单 {{ticket.key}} 的退款已处理。",
		"language": "zh-CN", "category": "return_exchange", "shared": true}), 201)
	id := shared.field(t, "id")
	c.want(c.do("PUT", "/canned-replies/"+id, map[string]any{"title": "退款说明", "body": "{{customer.name}}您好，退款已原路退回。", "language": "zh-CN"}, "If-Match", `"1"`), 200)

	agent := c.as("")
	agent.want(agent.do("POST", "/auth/login", map[string]string{"email": "li@shop.cn", "password": "agent password 2"}), 200)
	own := agent.want(agent.do("POST", "/canned-replies", map[string]any{"title": "Checking", "body": "I am checking order {{order.number}}. {{agent.name}}"}), 201)
	agent.want(agent.do("POST", "/canned-replies", map[string]any{"title": "x", "body": "y", "shared": true}), 403)
	agent.want(agent.do("PUT", "/canned-replies/"+id, map[string]any{"title": "mine now", "body": "y"}), 403)
	list := agent.want(agent.do("GET", "/canned-replies", nil), 200)
	if !strings.Contains(string(list.body), "退款说明") || !strings.Contains(string(list.body), "Checking") {
		t.Errorf("the agent's list lacks the shared or their own reply: %s", list.body)
	}
	if mine := c.want(c.do("GET", "/canned-replies", nil), 200); strings.Contains(string(mine.body), "Checking") {
		t.Errorf("the admin sees the agent's personal reply: %s", mine.body)
	}
	c.want(c.do("DELETE", "/canned-replies/"+own.field(t, "id"), nil), 404)
	agent.want(agent.do("DELETE", "/canned-replies/"+own.field(t, "id"), nil), 204)
	c.want(c.do("DELETE", "/canned-replies/"+id, nil), 204)
}
