package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
)

// ---- The email channel: mailboxes, deny list, inbound, raw mail, outbound ----

// exerciseEmail walks the email routes as the admin: a mailbox (whose
// password never comes back), its connection test against closed ports, a
// mail from a relay becoming a ticket, its original downloadable, and a
// reply whose delivery fails, is listed as failed and is retried.
func exerciseEmail(t *testing.T, app *App, c *apiClient) {
	closed := map[string]any{"host": "127.0.0.1", "port": 1, "security": "none"}
	imap := map[string]any{"host": "127.0.0.1", "port": 1, "security": "none", "username": "kefu", "password": "s3cret-imap", "after_import": "flag"}
	body := map[string]any{"address": "Service@Shop.cn", "display_name": "小店客服", "is_default": true, "imap": imap, "smtp": closed,
		"ack_zh": "您好，已收到您的来信（{{key}}）。", "ack_en": "We got your mail ({{key}})."}
	mb := c.want(c.do("POST", "/mailboxes", body), 201)
	if strings.Contains(string(mb.body), "s3cret") || mb.field(t, "address") != "service@shop.cn" {
		t.Errorf("created mailbox: %s", mb.body)
	}
	id := mb.field(t, "id")
	c.want(c.do("GET", "/mailboxes", nil), 200)
	c.want(c.do("GET", "/mailboxes/"+id, nil), 200)
	imap["password"] = email.Hidden
	body["signature"] = "小店客服 · 工作日 9:00–18:00"
	c.want(c.do("PUT", "/mailboxes/"+id, body, "If-Match", `"1"`), 200)
	if got, err := app.Mail.Mailboxes.Get(context.Background(), id); err != nil || got.IMAP.Password != "s3cret-imap" {
		t.Errorf("a hidden password replaced the stored one: %v %+v", err, got)
	}
	check := c.want(c.do("POST", "/mailboxes/"+id+"/test", nil), 200)
	if !strings.Contains(string(check.body), `"smtp":{"configured":true,"ok":false`) {
		t.Errorf("connection test against a closed port: %s", check.body)
	}

	c.want(c.do("POST", "/mail-denylist", map[string]string{"pattern": "@Spam.Example", "note": "广告"}), 201)
	if list := c.want(c.do("GET", "/mail-denylist", nil), 200); !strings.Contains(string(list.body), `"spam.example"`) {
		t.Errorf("deny list: %s", list.body)
	}
	c.want(c.do("DELETE", "/mail-denylist/spam.example", nil), 204)

	raw := "From: =?UTF-8?B?546L6Iqz?= <wang.fang@example.cn>\r\nTo: service@shop.cn\r\nSubject: =?UTF-8?B?6YCA6LSn?=\r\n" +
		"Message-ID: <api-1@example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n我要退货\r\n"
	got := c.want(c.do("POST", "/inbound/email", raw, "Content-Type", "message/rfc822"), 201)
	var rec email.Received
	got.json(t, &rec)
	if rec.Outcome != email.NewTicket || rec.TicketID == "" {
		t.Fatalf("relayed mail: %s", got.body)
	}
	if again := c.want(c.do("POST", "/inbound/email", raw, "Content-Type", "message/rfc822"), 201); again.field(t, "outcome") != email.Duplicate {
		t.Errorf("the same mail again: %s", again.body)
	}
	c.want(c.do("GET", "/inbound?outcome=new_ticket&limit=10", nil), 200)
	if r := c.want(c.do("GET", "/inbound/"+rec.ID+"/raw", nil), 200); string(r.body) != raw {
		t.Errorf("raw inbound mail differs: %q", r.body)
	}
	if r := c.want(c.do("GET", "/messages/"+rec.MessageRef+"/raw", nil), 200); string(r.body) != raw {
		t.Errorf("raw message differs: %q", r.body)
	}

	// A reply goes out through the queue; the closed SMTP port fails it
	// (here on its last attempt), which the ticket and the admin list
	// show, and the admin retries it.
	c.want(c.do("POST", "/tickets/"+rec.TicketID+"/messages", map[string]any{"kind": "reply", "text": "请把商品寄回，我们收到后退款。"}), 201)
	ctx := kefu.WithActor(context.Background(), kefu.System)
	pending, err := app.Jobs.List(ctx, jobs.Filter{Kind: email.SendKind, State: jobs.Pending})
	if err != nil || len(pending) != 2 { // the acknowledgement and the reply
		t.Fatalf("send jobs: %v %d", err, len(pending))
	}
	for _, r := range pending {
		r.Attempts = r.MaxAttempts
		if err := app.Runner.Handlers[email.SendKind](ctx, r); err == nil {
			t.Fatal("a send to a closed port succeeded")
		}
		if err := app.Jobs.Cancel(ctx, r.ID); err != nil { // as the runner would have failed it
			t.Fatal(err)
		}
	}
	failed := c.want(c.do("GET", "/outbound?state=failed", nil), 200)
	var sent []email.Sent
	failed.json(t, &sent)
	if len(sent) != 2 || sent[0].LastError == "" {
		t.Fatalf("failed deliveries: %s", failed.body)
	}
	thread := c.want(c.do("GET", "/tickets/"+rec.TicketID+"/messages", nil), 200)
	if !strings.Contains(string(thread.body), "delivery failed") {
		t.Errorf("the ticket does not show the failed delivery: %s", thread.body)
	}
	if r := c.want(c.do("POST", "/outbound/"+sent[0].ID+"/retry", nil), 200); r.field(t, "state") != "pending" {
		t.Errorf("retried: %s", r.body)
	}
	c.want(c.do("DELETE", "/mailboxes/"+id, nil), 204)
}
